"""The leakage certificate of encoder features against the experiment's test folds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from serkit.encoders.leakage import DEPENDENT, INDEPENDENT, TRANSDUCTIVE, certify_encoder
from serkit.errors import ConfigError
from serkit.protocols import Fold, certify

from ._data import DIM
from .test_package import _save, _tiny


def _rows() -> pd.DataFrame:
    speakers = ["c/s1", "c/s1", "c/s2", "c/s2", "c/s3", "c/s3"]
    return pd.DataFrame({"id": [f"c/{i}" for i in range(6)], "speaker": speakers})


def _folds():
    return [
        Fold("f1", np.array([2, 3, 4, 5]), np.array([0, 1])),
        Fold("f2", np.array([0, 1, 4, 5]), np.array([2, 3])),
        Fold("f3", np.array([0, 1, 2, 3]), np.array([4, 5])),
    ]


def _labelled(folder, speakers, **kw):
    import torch

    from serkit.encoders.package import save_encoder
    from serkit.features import get_extractor
    from serkit.features.frontend import Frontend

    torch.manual_seed(0)
    net = _tiny.TinyClf(DIM, num_classes=2, hidden=3)
    return save_encoder(
        net,
        folder,
        frontend=Frontend(get_extractor("logmel", n_mels=DIM)),
        input_dim=DIM,
        ids=["c/0"],
        speakers=speakers,
        classes=["a", "b"],
        **kw,
    )


def _certify(path, allow=False, fold=""):
    df, folds = _rows(), _folds()
    base = certify(df, folds, ("speaker",), complete=True, protocol="t")
    params = {"path": str(path), **({"fold": fold} if fold else {})}
    cfg = {"features": {"name": "encoder", "params": params}, "allow_speaker_dependent": allow}
    return certify_encoder(cfg, df, folds, base)


def test_a_labelled_encoder_trained_on_a_test_speaker_is_refused(tmp_path):
    folder = _labelled(tmp_path / "p", ["c/s1", "c/s9"])
    with pytest.raises(ConfigError, match=r"WITH labels .* fold f1: c/s1.*exclude_speakers"):
        _certify(folder)
    cert = _certify(folder, allow=True)
    assert cert.encoder["status"] == DEPENDENT and cert.to_dict()["speaker_independent"] is False
    assert "SPEAKER-DEPENDENT encoder" in cert.statement()


def test_an_unlabelled_encoder_on_test_speakers_is_transductive(tmp_path):
    cert = _certify(_save(tmp_path / "p", speakers=("c/s2", "c/s3")))
    d = cert.to_dict()
    assert d["encoder"]["status"] == TRANSDUCTIVE and d["transductive"] is True
    assert d["encoder"]["shared"] == {"f2": ["c/s2"], "f3": ["c/s3"]}
    assert "TRANSDUCTIVE encoder" in d["statement"] and d["speaker_independent"] is True


def test_a_disjoint_labelled_encoder_is_certified(tmp_path):
    cert = _certify(_labelled(tmp_path / "p", ["c/s8", "c/s9"]))
    assert cert.encoder["status"] == INDEPENDENT
    assert "share no speaker" in cert.statement()


def test_per_fold_packages_are_assigned_disjoint_from_each_test_fold(tmp_path):
    run = tmp_path / "run" / "encoder"
    _labelled(run / "f1", ["c/s2", "c/s3"])
    _labelled(run / "f2", ["c/s1", "c/s3"])
    _labelled(run / "f3", ["c/s1", "c/s2"])
    cert = _certify(tmp_path / "run")
    assert cert.encoder["assignment"] == {"f1": "f1", "f2": "f2", "f3": "f3"}
    assert cert.encoder["status"] == INDEPENDENT
    with pytest.raises(ConfigError, match="fold f2: c/s2"):  # one package for every fold
        _certify(tmp_path / "run", fold="f1")


def test_validation_speakers_count_as_heard_by_the_package(tmp_path):
    from serkit.encoders.package import read_encoder_meta

    kw = {"validation_ids": ["c/2", "c/3"], "validation_speakers": ["c/s2", "c/s2"]}
    folder = _labelled(tmp_path / "p", ["c/s8"], **kw)
    meta = read_encoder_meta(folder)
    assert meta["validation_speakers"] == ["c/s2"] and meta["validation_ids"] == ["c/2", "c/3"]
    assert meta["speakers"] == ["c/s2", "c/s8"] and meta["ids"] == ["c/0", "c/2", "c/3"]
    with pytest.raises(ConfigError, match=r"WITH labels .* fold f2: c/s2"):
        _certify(folder)
    assert _certify(_labelled(tmp_path / "q", ["c/s8"])).encoder["status"] == INDEPENDENT
    plain = read_encoder_meta(_labelled(tmp_path / "r", ["c/s8"], validation_ids=[]))
    assert "validation_ids" not in plain and "validation_speakers" not in plain


def test_features_from_no_encoder_keep_the_protocol_certificate(tmp_path):
    df, folds = _rows(), _folds()
    base = certify(df, folds, ("speaker",), complete=True, protocol="t")
    cfg = {"features": {"name": "logmel", "params": {}}}
    assert certify_encoder(cfg, df, folds, base) is base
