"""benchmarks/rhemo.py without running anything: pretraining on the other corpora only, the
experiment configs of each variant (valid experiment configs), and the table."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture
def bench(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    sys.modules.pop("rhemo", None)
    module = importlib.import_module("rhemo")
    args = module._parser().parse_args(["--work", str(tmp_path), "--manifests", "m"])
    return module, args


def test_rhemo_is_pretrained_on_corpora_sharing_no_speaker_with_the_test_corpus(bench):
    module, args = bench
    for corpus in ("ravdess", "turev-db"):
        stage1, stage2 = module.pretrain_configs(args, corpus)
        used = [Path(m).stem for m in stage1["data"]["manifests"]]
        assert corpus not in used and len(used) == 2
        assert stage2["encoder"]["init"].endswith(f"rhemo_stage1_for_{corpus}")
        assert stage2["encoder"]["params"]["beta"] > 0 and stage1["encoder"]["params"]["beta"] == 0
        for speaker in stage1["data"]["exclude_speakers"]:  # held-out speakers that exist there
            assert speaker.split("/")[0] in used
    turev = module.pretrain_configs(args, "turev-db")[0]["data"]["exclude_speakers"]
    assert turev and all(s.startswith("urdu/") for s in turev)


@pytest.mark.parametrize("variant", ["quaternion", "real", "finetune"])
def test_experiment_configs_are_valid(bench, variant, tmp_path):
    from serkit.experiment import validate_config

    module, args = bench
    cfg = module.experiment_config(args, "ravdess", "alexnet", variant, tmp_path / "pkg")
    model = cfg["model"]["params"]
    assert model["net"] == ("r" if variant == "real" else "q") + "alexnet"
    assert cfg["protocol"]["name"] == "speaker-kfold" and cfg["protocol"]["params"]["k"] == 6
    if variant == "quaternion":
        assert cfg["features"]["name"] == "encoder"
        assert cfg["features"]["params"]["layer"] == "map"
    else:
        assert cfg["features"]["params"] == {"preset": "rhemo"}
        assert ("encoder" in model) == (variant == "finetune")
        validate_config(cfg)  # (the encoder extractor needs the package: not validated here)


def test_table_lists_runs_heads_and_the_authors_figures(bench):
    module, _ = bench
    figures = {
        "ravdess/alexnet/quaternion/cpu/e15": {
            "uar": 0.4,
            "ci95": {"uar": [0.35, 0.45]},
            "certificate": "speaker-disjoint",
            "seconds_per_fold": 12.0,
            "params": 1000,
        },
        "ravdess/alexnet/real/cpu/e15": {
            "uar": 0.3,
            "ci95": None,
            "certificate": "no encoder",
            "seconds_per_fold": 20.0,
            "params": 4000,
        },
        "ravdess/heads": {
            "rows": 10,
            "recon_bce": None,
            "emotion_acc": 0.5,
            "emotion_uar": 0.4,
            "emotion_rows": 8,
            **{f"{d}_acc": 0.6 for d in ("valence", "arousal", "dominance")},
            **{f"{d}_majority": 0.55 for d in ("valence", "arousal", "dominance")},
        },
        "ravdess/heads_heldout": {
            "rows": 20,
            "recon_bce": 0.25,
            "emotion_acc": 0.7,
            "emotion_uar": 0.65,
            "emotion_rows": 20,
            **{f"{d}_acc": 0.8 for d in ("valence", "arousal", "dominance")},
            **{f"{d}_majority": 0.5 for d in ("valence", "arousal", "dominance")},
        },
    }
    text = module.table(figures)
    assert (
        "| ravdess | alexnet | quaternion on RH-emo (frozen) | cpu, 15 ep. | 1,000 | 40.0 | "
        "[35.0, 45.0] | 12 | speaker-disjoint | 43.9 |" in text
    )
    assert (
        "| real twin on spectrogram | cpu, 15 ep. | 4,000 | 30.0 | - | 20 | no encoder | 46.4 |"
        in text
    )
    assert "| ravdess | the test corpus | 10 | - | 50.0 | 40.0 | 8 | 60.0 (55.0) |" in text
    assert (
        "| ravdess | held-out speakers of turev-db + urdu | 20 | 0.2500 | 70.0 | 65.0 | 20 | "
        "80.0 (50.0) |" in text
    )
