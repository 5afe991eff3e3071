"""Pure parts of the study: the config's defaults, the paired change against REC, the explain
summary and row picking, the report's condition table."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from serkit.errors import ConfigError


def _raw(**changes):
    return {
        "name": "s",
        "encoder": "x",
        "corpora": {"a": ["a.parquet"], "b": "b.parquet"},
        "inside": [{"corpus": "a"}],
        "across": [{"train": "a", "test": "b"}],
        "model": {"name": "acrnn"},
        **changes,
    }


def test_the_config_puts_rec_first_and_fills_defaults():
    pytest.importorskip("serkit.encoders.speechflow")
    from serkit.encoders.speechflow import CONDITIONS
    from serkit.study.config import validate_study

    cfg = validate_study(_raw(conditions=["NR", "NF", "NR", "REC"]))
    assert cfg["conditions"] == ["REC", "NR", "NF"]
    assert cfg["corpora"]["b"] == ["b.parquet"]
    assert cfg["inside"][0]["protocol"]["name"] == "speaker-kfold"
    assert validate_study(_raw())["conditions"] == list(CONDITIONS)
    with pytest.raises(ConfigError, match="same|both"):
        validate_study(_raw(across=[{"train": "a", "test": "a"}]))
    with pytest.raises(ConfigError, match="explain.limit needs"):
        validate_study(_raw(final_model="none"))
    with pytest.raises(ConfigError, match="at least one entry"):
        validate_study(_raw(inside=[], across=[]))
    with pytest.raises(ConfigError, match="raw: true"):
        validate_study(_raw(conditions=["RAW"]))


def _run(folder, preds: list[tuple[str, str, str]], classes=("a", "b")):
    """A run folder with predictions ``(speaker, true, pred)`` (ids in order)."""
    folder.mkdir(parents=True)
    rows = [
        {"id": f"c/{i}", "seed": 0, "fold": "f", "speaker": s, "true": t, "pred": p}
        for i, (s, t, p) in enumerate(preds)
    ]
    pd.DataFrame(rows).to_parquet(folder / "predictions.parquet")
    (folder / "metrics.json").write_text(json.dumps({"classes": list(classes)}))
    return folder


@pytest.mark.parametrize(("name", "expected"), [("../up", "must be letters"), (3, "a study name")])
def test_a_study_name_that_cannot_name_a_folder_is_refused(name, expected):
    from serkit.study.config import validate_study

    with pytest.raises(ConfigError, match=f"config key name.*{expected}|{expected}"):
        validate_study(_raw(name=name))


def test_the_paired_delta_draws_the_same_speakers_for_both(tmp_path):
    from serkit.study.decomposition import paired_delta

    speakers = [f"s{i}" for i in range(6) for _ in range(4)]
    truth = ["a", "a", "b", "b"] * 6
    right = list(truth)
    worse = [("b" if i % 4 == 0 else t) for i, t in enumerate(truth)]  # one error per speaker
    ref = _run(tmp_path / "ref", list(zip(speakers, truth, right, strict=True)))
    run = _run(tmp_path / "run", list(zip(speakers, truth, worse, strict=True)))
    delta, interval = paired_delta(run, ref, reps=200)
    assert delta == pytest.approx(-0.25)
    # every speaker loses exactly the same: every paired replicate is -0.25 (an unpaired
    # difference of two intervals would not be)
    assert interval == pytest.approx([-0.25, -0.25])
    same, interval = paired_delta(ref, ref, reps=50)
    assert same == 0.0 and interval == [0.0, 0.0]
    one = _run(tmp_path / "one", [("s0", "a", "a"), ("s0", "b", "a")])
    assert paired_delta(one, one)[1] is None  # one speaker: no interval


def test_summary_means_per_emotion_and_all():
    from serkit.explain import summarize

    table = pd.DataFrame(
        {
            "emotion": ["angry", "angry", "sad", None],
            "predicted": ["angry", "sad", "sad", "angry"],
            "delta_NR": [-0.4, -0.2, 0.1, -0.3],
            "delta_NF": [0.0, 0.2, -0.1, 0.1],
        }
    )
    out = summarize(table, ["NR", "NF"])
    assert list(out.index) == ["angry", "sad", "all"]
    assert out.loc["angry", "NR"] == pytest.approx((-0.4 - 0.2 - 0.3) / 3)  # unknown: predicted
    assert out.loc["sad", "NF"] == pytest.approx(-0.1)
    assert out.loc["all", "NR"] == pytest.approx(-0.2)
    assert out["n"].tolist() == [3, 1, 4]


def test_pick_rows_spreads_over_emotions_and_keeps_order():
    from serkit.explain import pick_rows

    df = pd.DataFrame({"id": [str(i) for i in range(30)], "emotion": ["a"] * 20 + ["b"] * 10})
    out = pick_rows(df, 6)
    assert len(out) == 6 and out["emotion"].value_counts().to_dict() == {"a": 3, "b": 3}
    assert list(out.index) == sorted(out.index)
    assert pick_rows(df, 0) is df and pick_rows(df, 40) is df


def test_the_condition_table_marks_the_reference_and_signs_the_changes():
    from serkit.study.report import condition_rows

    table = pd.DataFrame(
        {
            "scope": ["a", "a"],
            "condition": ["REC", "NR"],
            "uar": [0.5, 0.4],
            "uar_low": [0.4, 0.3],
            "uar_high": [0.6, 0.5],
            "delta_rec": [0.0, -0.1],
            "delta_low": [np.nan, -0.2],
            "delta_high": [np.nan, 0.05],
            "n_test": [10, 10],
            "certificate": ["transductive", "transductive"],
        }
    )
    rows = condition_rows(table, "a")
    assert rows[1][:5] == ["REC", "50.0", "[40.0, 60.0]", "ref.", "-"]
    assert rows[2][3:5] == ["-10.0", "[-20.0, +5.0]"]


@pytest.mark.parametrize(
    "path",
    sorted((Path(__file__).resolve().parents[2] / "configs" / "studies").glob("*.yaml")),
    ids=lambda p: p.name,
)
def test_the_shipped_study_configs_validate(path):
    pytest.importorskip("serkit.encoders.speechflow")
    from serkit.study.config import load_study

    cfg = load_study(path)
    assert cfg["name"] == path.stem and cfg["conditions"][0] == "REC"
    assert cfg["model"]["name"] == "acrnn" and cfg["features"]["params"]["deltas"] == 2


def test_the_benchmark_builds_a_valid_study_and_its_table(monkeypatch, tmp_path):
    pytest.importorskip("serkit.encoders.speechflow")
    from serkit.study.config import validate_study

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2] / "benchmarks"))
    import decomposition as bench

    args = bench._parser().parse_args(["--encoder", "pkg", "--conditions", "NR", "--k", "3"])
    study = validate_study(bench.study_config(args, Path("pkg")))
    assert study["conditions"] == ["REC", "NR"] and study["raw"]
    assert [(a["train"], a["test"]) for a in study["across"]] == [
        ("ravdess", "turev-db"),
        ("ravdess", "urdu"),
    ]
    assert study["inside"][0]["protocol"]["params"]["k"] == 3
    table = pd.DataFrame(
        {
            "scope": ["ravdess", "ravdess", "ravdess_to_urdu"],
            "condition": ["REC", "NR", "REC"],
            "uar": [0.5, 0.45, 0.3],
            "uar_low": [0.4, 0.35, 0.2],
            "uar_high": [0.6, 0.55, 0.4],
            "delta_rec": [0.0, -0.05, 0.0],
            "delta_low": [np.nan, -0.1, np.nan],
            "delta_high": [np.nan, 0.0, np.nan],
            "certificate": ["speaker-disjoint", "speaker-disjoint", "transductive"],
        }
    )
    facts = {
        "package": "pkg",
        "epochs": 2,
        "pretrain_seconds": 60.0,
        "train_speakers": 3,
        "last_epoch": {"recon": 0.01, "seconds": 30.0},
        "speed_utt_per_s": 2.0,
        "speed_seconds_audio": 10.0,
    }
    text = bench.tables(table, facts)
    assert "| NR | 45.0 [35.0, 55.0] | -5.0 [-10.0, +0.0] | - | - |" in text
    assert "RAVDESS -> URDU UAR %" in text and "recon 0.0100" in text and "seconds 30" not in text
    assert "ravdess_to_urdu: transductive" in text


def test_the_leakage_certificate_reads_the_speechflow_package_path():
    from serkit.encoders.leakage import encoder_path

    cfg = {"features": {"name": "speechflow", "params": {"encoder": "runs/sf", "condition": "NR"}}}
    assert encoder_path(cfg) == ("runs/sf", "")
    assert encoder_path(
        {"features": {"name": "encoder", "params": {"path": "p", "fold": "f"}}}
    ) == (
        "p",
        "f",
    )
    assert encoder_path({"features": {"name": "logmel", "params": {"encoder": "x"}}}) is None
