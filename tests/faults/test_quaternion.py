"""Wrong inputs for the quaternion nets are refused by ``serkit train --dry-run`` with one
``error:`` naming the option and what to do (features of the wrong kind for a quaternion net,
a bad window or channel count, an encoder on a real twin), before any feature is extracted."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ._cli import one_error, serkit


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Path:
    from serkit.corpora import prepare
    from serkit.demo import make_corpus

    root = tmp_path_factory.mktemp("qnet_faults")
    small = {"speakers": 2, "sentences": 1, "repetitions": 1, "emotions": ("neutral", "angry")}
    prepare("ravdess", make_corpus(root / "demo", **small).root, output=root / "manifests")
    return root


def _config(root: Path, model: dict) -> Path:
    cfg = {
        "name": "q",
        "data": {"manifests": [str(root / "manifests" / "ravdess.parquet")]},
        "features": {
            "name": "spectrogram",
            "params": {"preset": "rhemo"},
            "store": str(root / "f"),
        },
        "model": {"name": "rhemo-cnn", "params": model},
        "protocol": {"name": "loso"},
        "output": str(root / "runs"),
    }
    path = root / "q.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.mark.parametrize(
    "model,expected",
    [
        (
            {"net": "qresnet50"},
            ["model.params", "map_shape", "the features have 128", "'map' layer"],
        ),
        ({"net": "qvgg16", "net_params": {"widths": [6, 8, 8, 8, 8]}}, ["multiple of 4", "6"]),
        ({"net": "rvgg16", "encoder": "runs/x"}, ["real twin", "qalexnet"]),
        ({"net": "rvgg16", "window_frames": 0}, ["window_frames must be >= 1, found 0"]),
        ({"net": "ralexnet", "net_params": {"preset": "big"}}, ["unknown preset 'big'"]),
    ],
)
def test_bad_quaternion_configs_are_refused_before_extraction(
    ws, model, expected, capsys, monkeypatch
):
    path = _config(ws, model)
    message = one_error(*serkit(["train", str(path), "--dry-run"], capsys, monkeypatch))
    for part in expected:
        assert part in message, message
    assert not (ws / "f").exists() and not (ws / "runs").exists()
