"""Faults of ``serkit fuse``: runs that do not match, unfinished or damaged runs, bad weights,
an existing or self-overlapping output, a writer that fails mid-way, two writers."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import pandas as pd
import pytest
from tests.faults._cli import serkit
from tests.test_fuse import predictions

from serkit.errors import ConfigError
from serkit.experiment import fuse


def fake_run(folder: Path, frame: pd.DataFrame, name: str | None = None) -> Path:
    """A minimal finished run folder holding ``frame`` as its predictions."""
    folder.mkdir(parents=True)
    frame.to_parquet(folder / "predictions.parquet")
    (folder / "config.yaml").write_text(f"name: {name or folder.name}\nbootstrap: {{reps: 20}}\n")
    cert = {"speaker_independent": True, "statement": "certified"}
    (folder / "dataset.json").write_text(json.dumps({"certification": cert}))
    return folder


@pytest.fixture
def runs(tmp_path):
    return fake_run(tmp_path / "a", predictions()), fake_run(
        tmp_path / "b", predictions(rng_seed=3)
    )


def fuse_cli(args, capsys, monkeypatch):
    code, out, err = serkit(["fuse", *map(str, args)], capsys, monkeypatch)
    assert "Traceback" not in out + err
    return code, out + err


def test_runs_with_other_folds_are_refused(tmp_path, runs, capsys, monkeypatch):
    other = predictions(rng_seed=3)
    other.loc[other["id"] == "r1", "fold"] = "fold0"
    c = fake_run(tmp_path / "c", other)
    code, text = fuse_cli([runs[0], c, "-o", tmp_path / "out"], capsys, monkeypatch)
    assert code != 0
    assert "r1: fold is 'fold0' in c but 'fold1' in a" in text
    assert "same protocol" in text and not (tmp_path / "out").exists()


def test_runs_of_other_rows_labels_or_classes_are_refused(tmp_path, runs):
    fewer = fake_run(tmp_path / "fewer", predictions(n=5))
    with pytest.raises(ConfigError, match=r"different rows \(1 of a's missing, 0 extra; e.g. r5\)"):
        fuse.fuse_runs([runs[0], fewer], tmp_path / "out")
    relabelled = predictions()
    relabelled.loc[0, "true"] = "b"
    wrong = fake_run(tmp_path / "wrong", relabelled)
    with pytest.raises(ConfigError, match="r0: true is 'b' in wrong but 'a' in a"):
        fuse.fuse_runs([runs[0], wrong], tmp_path / "out")
    renamed = fake_run(tmp_path / "renamed", predictions().rename(columns={"prob_c": "prob_z"}))
    with pytest.raises(ConfigError, match="renamed has classes"):
        fuse.fuse_runs([runs[0], renamed], tmp_path / "out")


def test_an_unfinished_or_damaged_run_is_named(tmp_path, runs, capsys, monkeypatch):
    (tmp_path / "unfinished").mkdir()
    code, text = fuse_cli(
        [runs[0], tmp_path / "unfinished", "-o", tmp_path / "o"], capsys, monkeypatch
    )
    assert code != 0 and "unfinished: no predictions.parquet" in text
    (runs[1] / "predictions.parquet").write_bytes(b"not parquet")
    code, text = fuse_cli([runs[0], runs[1], "-o", tmp_path / "o"], capsys, monkeypatch)
    assert code != 0 and "damaged run file" in text and "predictions.parquet" in text


def test_a_run_missing_a_seed_or_predicting_twice_is_refused(tmp_path, runs):
    two = predictions(seeds=(0, 1))
    partial = fake_run(tmp_path / "partial", two.drop(index=two.index[-1]))
    with pytest.raises(ConfigError, match="in 1 of the run's 2 seeds; finish the run"):
        fuse.fuse_runs([runs[0], partial], tmp_path / "out")
    frame = predictions()
    twice = fake_run(tmp_path / "twice", pd.concat([frame, frame.iloc[:1]]))
    with pytest.raises(ConfigError, match="r0 is predicted more than once in seed 0"):
        fuse.fuse_runs([runs[0], twice], tmp_path / "out")


def test_bad_weights_and_outputs(tmp_path, runs, capsys, monkeypatch):
    code, text = fuse_cli([*runs, "-o", tmp_path / "o", "--weight", "1"], capsys, monkeypatch)
    assert code != 0 and "1 weight(s) for 2 run(s)" in text
    code, text = fuse_cli([*runs, "-o", runs[0]], capsys, monkeypatch)
    assert code != 0 and "the output is one of the fused runs" in text
    code, text = fuse_cli([runs[0], "-o", tmp_path / "o"], capsys, monkeypatch)
    assert code != 0 and "one run of one seed; nothing to fuse" in text
    (tmp_path / "taken").mkdir()
    code, text = fuse_cli([*runs, "-o", tmp_path / "taken"], capsys, monkeypatch)
    assert code != 0 and "exists; choose another folder or pass --overwrite" in text
    code, text = fuse_cli([*runs, "-o", tmp_path / "taken", "--overwrite"], capsys, monkeypatch)
    assert code == 0, text
    assert (tmp_path / "taken" / "metrics.json").is_file()


def test_a_failing_writer_leaves_no_output(tmp_path, runs, monkeypatch):
    from serkit.experiment import runs as run_files

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(run_files, "evaluate", broken)
    with pytest.raises(OSError, match="disk full"):
        fuse.fuse_runs(runs, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_two_writers_leave_one_complete_run(tmp_path, runs):
    errors = []

    def write():
        try:
            fuse.fuse_runs(runs, tmp_path / "out", overwrite=True)
        except Exception as exc:  # noqa: BLE001 - collected and checked below
            errors.append(exc)

    threads = [threading.Thread(target=write) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["n_predictions"] == 6
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "out"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("fuse: {members: [a.yaml, b.yaml]}\nmodel: {name: svm}\n", "takes only"),
        ("fuse: {members: [a.yaml]}\n", "lists 1 config"),
        ("fuse: {members: [a.yaml, missing.yaml]}\n", r"members\[1\]: no config file"),
        ("fuse: {members: [a.yaml, b.yaml], weights: [1]}\n", "fuse.weights: 1 weight"),
        ("fuse: {members: [a.yaml, {path: b.yaml}]}\n", r"members\[1\] must be a config path"),
        ("fuse: [a.yaml, b.yaml]\n", "list `members`"),
    ],
)
def test_bad_recipes_are_refused(tmp_path, text, message, capsys, monkeypatch):
    for name in ("a", "b"):
        (tmp_path / f"{name}.yaml").write_text("name: x\n")
    (tmp_path / "recipe.yaml").write_text(text)
    code, out, err = serkit(["train", tmp_path / "recipe.yaml"], capsys, monkeypatch)
    assert code != 0 and "Traceback" not in out + err
    assert re.search(message, out + err), out + err


def test_a_recipe_does_not_overwrite_a_run_that_is_not_a_fusion(tmp_path):
    from serkit.experiment.recipe import load_recipe, run_recipe

    for name in ("a", "b"):
        (tmp_path / f"{name}.yaml").write_text("name: x\n")
    (tmp_path / "recipe.yaml").write_text("fuse: {members: [a.yaml, b.yaml]}\n")
    spec = load_recipe(tmp_path / "recipe.yaml")
    (tmp_path / "runs" / "recipe").mkdir(parents=True)
    with pytest.raises(ConfigError, match="exists and is not a run folder"):
        run_recipe(spec, tmp_path / "runs")
    (tmp_path / "runs" / "recipe" / "config.yaml").write_text("name: recipe\nmodel: {name: svm}\n")
    with pytest.raises(ConfigError, match="holds a run that is not a fusion"):
        run_recipe(spec, tmp_path / "runs")


def test_a_member_that_is_not_speaker_independent_marks_the_fusion(tmp_path, runs):
    dataset = {"certification": {"speaker_independent": False, "statement": "speaker-dependent"}}
    (runs[1] / "dataset.json").write_text(json.dumps(dataset))
    fuse.fuse_runs(runs, tmp_path / "out")
    cert = json.loads((tmp_path / "out" / "dataset.json").read_text())["certification"]
    assert cert["speaker_independent"] is False
    assert "a: certified" in cert["statement"] and "b: speaker-dependent" in cert["statement"]
    assert "NOT speaker-independent" in (tmp_path / "out" / "report.md").read_text()
