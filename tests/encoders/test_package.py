"""Encoder packages: what they record, and damaged or mixed packages refused by name."""

from __future__ import annotations

import json

import pytest
import torch

from serkit.encoders.package import encoder_folders, load_encoder, read_encoder_meta, save_encoder
from serkit.errors import ConfigError, PackageError
from serkit.features import get_extractor
from serkit.features.frontend import Frontend

from . import _tiny
from ._data import DIM


def _save(folder, speakers=("c/s1", "c/s2"), **kw):
    torch.manual_seed(0)
    net = _tiny.TinyAE(DIM, hidden=4, latent=2)
    return save_encoder(
        net,
        folder,
        frontend=Frontend(get_extractor("logmel", n_mels=DIM)),
        input_dim=DIM,
        ids=[f"c/{i}" for i in range(len(speakers))],
        speakers=list(speakers),
        **kw,
    )


def test_package_records_its_facts(tmp_path):
    folder = _save(tmp_path / "p", norm={"mean": [0.0] * DIM, "std": [1.0] * DIM})
    meta = json.loads((folder / "encoder.json").read_text())
    assert meta["family"] == "tiny-ae" and meta["params"] == {"hidden": 4, "latent": 2}
    assert meta["speakers"] == ["c/s1", "c/s2"] and meta["uses_labels"] is False
    assert meta["frontend"]["extractor"]["name"] == "logmel" and meta["condition"] is None
    assert meta["versions"]["serkit"]
    pkg = load_encoder(folder)
    assert not pkg.net.training and pkg.ids == {"c/0", "c/1"}


def test_a_changed_weight_file_is_refused(tmp_path):
    folder = _save(tmp_path / "p")
    data = bytearray((folder / "weights.pt").read_bytes())
    data[-40] ^= 0xFF
    (folder / "weights.pt").write_bytes(bytes(data))
    with pytest.raises(PackageError, match=r"weights\.pt: SHA-256 .* does not match"):
        load_encoder(folder)


def test_an_edited_fact_is_refused_naming_the_field(tmp_path):
    folder = _save(tmp_path / "p")
    meta = json.loads((folder / "encoder.json").read_text())
    meta["speakers"] = ["c/s1"]  # hiding a training speaker would defeat the certificate
    (folder / "encoder.json").write_text(json.dumps(meta))
    with pytest.raises(PackageError, match="speakers changed since the package was saved"):
        read_encoder_meta(folder)


def test_weights_of_another_package_are_refused(tmp_path):
    a, b = _save(tmp_path / "a"), _save(tmp_path / "b", speakers=("c/x",))
    torch.manual_seed(1)
    torch.save(_tiny.TinyAE(DIM, hidden=4, latent=2).state_dict(), b / "weights.pt")
    (a / "weights.pt").write_bytes((b / "weights.pt").read_bytes())
    with pytest.raises(PackageError, match=r"weights\.pt: SHA-256"):
        load_encoder(a)


def test_missing_and_per_fold_paths_say_what_to_do(tmp_path):
    with pytest.raises(ConfigError, match="not an encoder package"):
        load_encoder(tmp_path)
    _save(tmp_path / "run" / "encoder" / "f1")
    _save(tmp_path / "run" / "encoder" / "f2")
    assert list(encoder_folders(tmp_path / "run")) == ["f1", "f2"]
    with pytest.raises(ConfigError, match=r"one encoder per fold \(f1, f2\); pass fold=NAME"):
        load_encoder(tmp_path / "run")
    assert load_encoder(tmp_path / "run", fold="f2").folder.name == "f2"
    with pytest.raises(ConfigError, match="no encoder for fold 'f3'"):
        load_encoder(tmp_path / "run", fold="f3")


def test_the_extractor_key_follows_the_package_content(tmp_path):
    folder = _save(tmp_path / "p")
    first = get_extractor("encoder", path=str(folder))
    assert first.config.package_key == load_encoder(folder).key()
    _save(folder, speakers=("c/other",))  # retrained in place
    second = get_extractor("encoder", path=str(folder))
    assert second.key() != first.key()
    with pytest.raises(ConfigError, match="retrained or replaced"):
        get_extractor("encoder", path=str(folder), package_key=first.config.package_key)


def test_condition_vectors_are_computed_once_per_signal():
    from serkit.encoders.package import cached_condition

    calls = []

    class Counting:
        def to_dict(self):
            return {"name": "counting", "params": {}}

        def __call__(self, signal, rate):
            calls.append(rate)
            return signal[:3] * 2

    signal = torch.linspace(0, 1, 100).numpy()
    first = cached_condition(Counting(), signal, 16000)
    again = cached_condition(Counting(), signal.copy(), 16000)
    other = cached_condition(Counting(), signal[::-1].copy(), 16000)
    assert calls == [16000, 16000] and (first == again).all() and not (first == other).all()
