"""benchmarks/fusion.py and benchmarks/quality_gap.py: parsers, tables and readers (made-up
figures and a fake run folder; nothing is measured)."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest
import yaml

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))

    def load(name: str):
        sys.modules.pop(name, None)
        return importlib.import_module(name)

    return load


@pytest.mark.parametrize("name", ["fusion", "quality_gap"])
def test_out_option_has_a_default(bench, name):
    module = bench(name)
    assert module._parser().parse_args([]).out == Path(f"{name}.md")
    assert module._parser().parse_args(["--out", "t/x.md"]).out == Path("t/x.md")


def test_fusion_table_lists_measured_and_quoted_rows(bench):
    fusion = bench("fusion")
    row = {
        "label": "fused",
        "uar": 0.6312,
        "uar_ci": [0.57, 0.68],
        "wa": 0.64,
        "wa_ci": [0.58, 0.7],
        "fold_uar_mean": 0.63,
        "fold_uar_std": 0.07,
        "weights": [[0.4, 0.6], [1.0, 0.0]],
        "train_seconds": 616.0,
        "bootstrap": {"method": "speaker", "reps": 1000},
    }
    text = fusion.table([row])
    assert "| fused | 63.1 [57.0, 68.0] | 64.0 [58.0, 70.0] | 63.0 ± 7.0 | 0.4/0.6 1/0 |" in text
    assert "65.0 [58.5, 70.6]" in text  # the quoted speaker-normalised ComParE row


def test_fusion_config_names_the_blocks_of_its_parts(bench):
    from serkit import experiment

    cfg = experiment.load_config(BENCHMARKS.parent / "configs" / "ravdess_fusion.yaml")
    assert cfg["features"]["params"]["parts"] == ["egemaps", "compare"]
    assert cfg["model"]["params"]["blocks"] == [88, 6373]
    assert cfg["protocol"] == {
        "name": "speaker-kfold",
        "params": {"k": 6, "seed": 0},
        "disjoint": ["speaker"],
    }


def test_quality_gap_reads_a_run_folder(bench, tmp_path):
    gap = bench("quality_gap")
    assert gap.fit_utterances(1200, "speaker-disjoint: 3 of 20 speakers") == 1020
    assert gap.fit_utterances(1200, "stratified") == 1200
    run = tmp_path / "run"
    run.mkdir()
    params = {"epochs": 30, "batch_size": 32}
    (run / "config.yaml").write_text(yaml.safe_dump({"model": {"params": params}}))
    (run / "dataset.json").write_text(json.dumps({"folds": [{"fold": "f0", "n_train": 200}]}))
    hist = [
        {
            "epoch": e,
            "val_uar": u,
            "val_loss": 1.0,
            "val_split": "speaker-disjoint: 1 of 4 speakers",
        }
        for e, u in [(1, 0.2), (2, 0.5), (3, 0.4)]
    ]
    (run / "history.json").write_text(json.dumps([{"fold": "f0", "history": hist}]))
    fold = gap.run_figures(run)["folds"][0]
    assert fold == {
        "fold": "f0",
        "fit_utterances": 150,
        "epochs_run": 3,
        "best_epoch": 2,
        "epochs_max": 30,
        "segments_seen": 450,
        "steps": 15,
    }
