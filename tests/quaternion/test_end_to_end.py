"""Demo corpus end to end: ``serkit pretrain`` of a tiny RH-emo (configs/pretrain/demo_rhemo.yaml
on two speakers) -> ``serkit train`` of a quaternion net on its ``map`` features (frozen,
through the ``encoder`` extractor) and with the package fine-tuned inside ``rhemo-cnn``, on the
other speakers (the leakage certificate must find them speaker-disjoint)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from tests.faults._cli import serkit

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
PRETRAINED = ["ravdess/Actor_01", "ravdess/Actor_02"]
TESTED = ["ravdess/Actor_03", "ravdess/Actor_04", "ravdess/Actor_05", "ravdess/Actor_06"]
TINY_Q = {"widths": [4, 4, 8, 8], "blocks": [1, 1, 1, 1]}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    from serkit.corpora import prepare
    from serkit.demo import make_corpus

    root = tmp_path_factory.mktemp("qnet_e2e")
    make_corpus(root / "demo" / "corpus", speakers=6, sentences=1, seed=0)
    prepare("ravdess", root / "demo" / "corpus", output=root / "demo" / "manifests")
    cfg = yaml.safe_load((CONFIGS / "pretrain" / "demo_rhemo.yaml").read_text())
    cfg["data"]["exclude_speakers"] = TESTED
    cfg["encoder"]["params"]["beta"] = 0.01  # the emotion heads on: a labelled encoder
    (root / "demo_rhemo.yaml").write_text(yaml.safe_dump(cfg))
    return root


def _experiment(root: Path, name: str, features: dict, model: dict) -> Path:
    cfg = {
        "name": name,
        "data": {
            "manifests": ["demo/manifests/ravdess.parquet"],
            "filter": {"mode": "speech", "speaker": TESTED},
        },
        "features": {**features, "store": "features/"},
        "model": {"name": "rhemo-cnn", "params": model},
        "protocol": {"name": "speaker-kfold", "params": {"k": 2, "seed": 0}},
        "seeds": [0],
        "output": "runs/",
        "bootstrap": {"reps": 50},
    }
    path = root / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _check_run(run: Path) -> None:
    metrics = json.loads((run / "metrics.json").read_text())
    assert "uar" in json.dumps(metrics)
    preds = pd.read_parquet(run / "predictions.parquet")
    assert set(preds["speaker"]) == set(TESTED) and preds["id"].is_unique
    report = (run / "report.md").read_text()
    assert "verified to share no speaker with the test rows" in report


def test_pretrain_then_quaternion_net_on_map_features_and_fine_tuned(project, capsys, monkeypatch):
    monkeypatch.chdir(project)
    code, out, err = serkit(
        ["pretrain", "demo_rhemo.yaml", "training.epochs=1"], capsys, monkeypatch
    )
    assert code == 0, err
    common = {"epochs": 1, "batch_size": 8, "device": "cpu", "num_threads": 1}

    frozen = _experiment(
        project,
        "demo_rhemo_qresnet50",
        {
            "name": "encoder",
            "params": {"path": "runs/demo_rhemo", "layer": "map", "pooling": "none"},
        },
        {"net": "qresnet50", "net_params": {**TINY_Q, "map_shape": [4, 8, 64]}, **common},
    )
    code, out, err = serkit(["train", frozen], capsys, monkeypatch)
    assert code == 0, err
    _check_run(project / "runs" / "demo_rhemo_qresnet50")

    tuned = _experiment(
        project,
        "demo_rhemo_qresnet50_ft",
        {"name": "spectrogram", "params": {"preset": "rhemo"}},
        {
            "net": "qresnet50",
            "net_params": TINY_Q,
            "encoder": "runs/demo_rhemo",
            "finetune": True,
            "normalize": "none",
            "window_frames": 64,
            **common,
        },
    )
    code, out, err = serkit(["train", tuned], capsys, monkeypatch)
    assert code == 0, err
    _check_run(project / "runs" / "demo_rhemo_qresnet50_ft")

    # the same encoder on its own training speakers' rows is refused (trained with labels)
    leaky = yaml.safe_load(tuned.read_text())
    leaky["name"] = "leaky"
    leaky["data"]["filter"]["speaker"] = PRETRAINED + TESTED[:2]
    (project / "leaky.yaml").write_text(yaml.safe_dump(leaky))
    code, out, err = serkit(["train", "leaky.yaml"], capsys, monkeypatch)
    assert code != 0 and "WITH labels" in err + out
    shutil.rmtree(project / "runs" / "leaky", ignore_errors=True)
