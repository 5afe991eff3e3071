"""Faults of the experiment runner: cached folds of other data, damaged or edited fold files,
failed starts, bad manifests and paths.

Cached fold results (``<run>/partial/``) are keyed by the rows, labels, features and front end
they were computed from and checked when read back; a re-run after the manifest at the same path
changed recomputes what changed and never reports a removed speaker. A run that failed before
its first fold does not block the corrected config; finished results of another config are
never touched without ``overwrite``. Bad manifests and paths are one clear error before any
work.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from serkit import experiment
from serkit import manifest as mf
from serkit.errors import ConfigError, ProtocolError

from ._cli import one_error, serkit

JUNK = b"RIFF....WAVEjunk" * 8


@pytest.fixture
def project(tmp_path) -> dict:
    """A demo corpus (4 speakers, 12 rows), its manifest, and a logreg / loso config."""
    from serkit.corpora import prepare
    from serkit.demo import make_corpus

    small = {"speakers": 4, "sentences": 1, "repetitions": 1, "emotions": ("neutral", "angry")}
    corpus = make_corpus(tmp_path / "demo", **small).root
    prepare("ravdess", corpus, output=tmp_path / "manifests")
    config = {
        "name": "victim",
        "data": {"manifests": [str(tmp_path / "manifests" / "ravdess.parquet")]},
        "features": {"name": "mfcc-stats", "params": {"n_mfcc": 8}, "store": str(tmp_path / "f")},
        "model": {"name": "logreg"},
        "protocol": {"name": "loso"},
        "bootstrap": {"reps": 20},
        "output": str(tmp_path / "runs"),
    }
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(config))
    return {
        "root": tmp_path,
        "corpus": corpus,
        "manifest": tmp_path / "manifests" / "ravdess.parquet",
        "cfg": config,
        "exp": tmp_path / "exp.yaml",
        "run": tmp_path / "runs" / "victim",
    }


def _run(cfg: dict, **options) -> tuple[Path, list[str]]:
    lines: list[str] = []
    return experiment.run(cfg, log=lines.append, **options), lines


def _remove_speaker(path: Path, speaker: str) -> None:
    """Rewrite the manifest at ``path`` (same path) without ``speaker``."""
    df = mf.read(path)
    kept = df[df["speaker"] != speaker]
    kept.attrs = dict(df.attrs)
    mf.write(kept, path)


# -- cached folds are keyed by their rows and front end, and verified when read -----------------


def test_removed_speaker_recomputes_folds_and_never_reaches_predictions(project):
    run, _ = _run(project["cfg"])
    gone = "ravdess/Actor_01"
    assert gone in set(pd.read_parquet(run / "predictions.parquet")["speaker"])
    _remove_speaker(project["manifest"], gone)

    run, lines = _run(project["cfg"])
    log = "\n".join(lines)
    predictions = pd.read_parquet(run / "predictions.parquet")
    rows = mf.read(project["manifest"])
    assert gone not in set(predictions["speaker"])
    assert sorted(predictions["id"]) == sorted(rows["id"])  # every row once, nothing else
    # the three remaining folds moved to other slots: each is recomputed, not reused
    assert log.count("cached result not used") == 3, log
    assert "(cached)" not in log
    assert "seed0__0003" in log and not list((run / "partial").glob("seed0__0003.*"))
    assert "every one of the 9 rows is predicted exactly once" in log
    assert "predictions verified: 9 over 1 seed(s)" in log
    certification = json.loads((run / "dataset.json").read_text())["certification"]
    assert certification["n_rows"] == 9 and certification["complete"]
    assert "refitted on all 9 rows" in log  # the final model is of the new rows too
    assert json.loads((run / "metrics.json").read_text())["n_predictions"] == 9

    _, lines = _run(project["cfg"])  # nothing changed since: every fold and the model cached
    assert sum("(cached)" in line for line in lines) == 4, lines
    assert not any("cached result not used" in line for line in lines)


def test_changed_label_recomputes_the_folds_that_hold_it(project):
    cfg = {**project["cfg"], "final_model": False}
    _run(cfg)
    df = mf.read(project["manifest"])
    df.loc[0, "emotion"] = "angry" if df.loc[0, "emotion"] == "neutral" else "neutral"
    mf.write(df, project["manifest"])
    run, lines = _run(cfg)
    assert sum("cached result not used" in line for line in lines) == 4  # in every LOSO fold
    predictions = pd.read_parquet(run / "predictions.parquet").set_index("id")
    assert predictions.loc[df.loc[0, "id"], "true"] == df.loc[0, "emotion"]


def test_an_edited_partial_file_is_detected_and_recomputed(project):
    cfg = {**project["cfg"], "final_model": False}
    run, _ = _run(cfg)
    reference = pd.read_parquet(run / "predictions.parquet").sort_values("id")
    target = run / "partial" / "seed0__0001.parquet"
    edited = pd.read_parquet(target)
    foreign = reference.loc[reference["fold"] != edited["fold"].iloc[0], "id"].iloc[0]
    edited.loc[0, "id"] = foreign  # a row id swapped for one of another fold
    edited.to_parquet(target)
    (run / "partial" / "seed0__0002.parquet").write_bytes(b"PAR1 damaged")  # and one truncated

    run, lines = _run(cfg)
    log = "\n".join(lines)
    assert f"{target} holds row(s) {foreign} not in the fold's test rows" in log, log
    assert f"{run / 'partial' / 'seed0__0002.parquet'} is damaged" in log, log
    assert log.count("recomputing") == 2 and log.count("(cached)") == 2
    again = pd.read_parquet(run / "predictions.parquet").sort_values("id")
    assert again["id"].is_unique and list(again["id"]) == list(reference["id"])
    pd.testing.assert_frame_equal(again.reset_index(drop=True), reference.reset_index(drop=True))
    assert set(pd.read_parquet(target)["id"]) == set(
        reference.loc[reference["fold"] == edited["fold"].iloc[0], "id"]
    )


def test_a_partial_file_of_another_key_is_not_reused(project):
    cfg = {**project["cfg"], "final_model": False}
    run, _ = _run(cfg)
    info_path = run / "partial" / "seed0__0000.json"
    info = json.loads(info_path.read_text())
    info_path.write_text(json.dumps({**info, "key": "0" * 16}))
    _, lines = _run(cfg)
    assert sum("cached result not used" in line for line in lines) == 1
    assert json.loads(info_path.read_text())["key"] == info["key"]  # recomputed, same rows


def test_certify_predictions_names_what_is_wrong():
    from serkit.experiment.cache import certify_predictions
    from serkit.protocols import Fold

    df = pd.DataFrame({"id": ["a", "b", "c", "d"], "speaker": ["s1", "s1", "s2", "s2"]})
    folds = {0: [Fold("s1", [2, 3], [0, 1]), Fold("s2", [0, 1], [2, 3])]}
    good = pd.DataFrame(
        {"id": list("abcd"), "seed": 0, "fold": ["s1", "s1", "s2", "s2"], "speaker": df.speaker}
    )
    assert "4 over 1 seed(s)" in certify_predictions(good, df, folds)
    bad = {
        "predicted twice": good.assign(id=["a", "a", "c", "d"]),
        "not in the data": good.assign(id=["a", "b", "c", "zz"]),
        "another speaker": good.assign(speaker=["s1", "s2", "s2", "s2"]),
    }
    for words, predictions in bad.items():
        with pytest.raises(ProtocolError, match=words):
            certify_predictions(predictions, df, folds)
    with pytest.raises(ProtocolError, match="no prediction for row"):
        certify_predictions(good.iloc[:3], df, folds)
    leak = {0: [Fold("s1", [1, 2, 3], [0]), Fold("s2", [0, 1], [2, 3])]}  # s1 on both sides
    with pytest.raises(ProtocolError, match="training speakers of the fold"):
        certify_predictions(good.drop(index=1), df, leak)


# -- a failed start does not block the corrected config ----------------------------------------


def test_a_failed_start_does_not_block_the_corrected_config(project, capsys, monkeypatch):
    corrupt = sorted(project["corpus"].rglob("*.wav"))[0]
    corrupt.write_bytes(JUNK)  # the manifest lists it; its audio is broken
    message = one_error(*serkit(["train", project["exp"]], capsys, monkeypatch))
    assert "features.skip_bad=true" in message
    stamp = project["run"] / "partial" / "fingerprint.txt"
    assert stamp.exists()  # the failed start left its folder behind
    stale = project["run"] / "checkpoints" / "0-x" / "last.pt"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")

    args = ["train", project["exp"], "features.skip_bad=true"]  # another fingerprint
    code, out, err = serkit(args, capsys, monkeypatch)
    assert code == 0, err
    assert "taking over the folder of config" in out and "finished no fold" in out
    assert not stale.exists()
    predictions = pd.read_parquet(project["run"] / "predictions.parquet")
    assert len(predictions) == 11  # the broken file skipped, the others predicted


def test_finished_results_of_another_config_are_never_touched(project, capsys, monkeypatch):
    cfg = {**project["cfg"], "final_model": False}
    run, _ = _run(cfg, stop_after=1)  # one finished fold, no predictions yet
    finished = {p: p.read_bytes() for p in (run / "partial").iterdir()}
    other = {**cfg, "model": {"name": "logreg", "params": {"C": 0.5}}}
    with pytest.raises(ConfigError, match=r"different config .*1 finished fold"):
        experiment.run(other)
    assert {p: p.read_bytes() for p in (run / "partial").iterdir()} == finished
    # the dry run says so too, before any work
    message = one_error(
        *serkit(["train", project["exp"], "model.params.C=0.5", "final_model=false", "--dry-run"],
                capsys, monkeypatch)
    )  # fmt: skip
    assert "different config" in message and "pass --overwrite" in message
    run, lines = _run(other, overwrite=True)
    assert any("removing the old run folder" in line for line in lines)
    assert len(pd.read_parquet(run / "predictions.parquet")) == 12


# -- manifests and paths: one clear error, nothing written ---------------------------------------


def _nothing_written(project) -> None:
    assert not (project["root"] / "f").exists(), "features were extracted"
    assert not (project["root"] / "runs").exists(), "a run folder was written"


def test_manifest_without_duration(project, capsys, monkeypatch):
    df = pd.read_parquet(project["manifest"]).drop(columns=["duration"])
    df.to_parquet(project["root"] / "nodur.parquet")
    args = ["train", project["exp"], f"data.manifests=[{project['root'] / 'nodur.parquet'}]"]
    message = one_error(*serkit(args, capsys, monkeypatch))
    assert "nodur.parquet" in message and "duration" in message
    _nothing_written(project)


def test_manifest_that_is_not_parquet(project, capsys, monkeypatch):
    fake = project["root"] / "fake.parquet"
    fake.write_text("id,path\nx,y.wav\n")
    message = one_error(*serkit(["train", project["exp"], f"data.manifests=[{fake}]"],
                                capsys, monkeypatch))  # fmt: skip
    assert str(fake) in message and "Parquet" in message
    _nothing_written(project)


@pytest.mark.parametrize("below", ["", "sub"], ids=["file", "below-file"])
def test_store_path_that_is_a_file(project, below, capsys, monkeypatch):
    blocker = project["root"] / "afile"
    blocker.write_text("x")
    store = blocker / below if below else blocker
    for extra in (["--dry-run"], []):
        args = ["train", project["exp"], f"features.store={store}", *extra]
        message = one_error(*serkit(args, capsys, monkeypatch))
        assert "features.store" in message and str(blocker) in message, message
        assert not (project["root"] / "runs").exists()


@pytest.mark.parametrize("how", ["-o", "output="])
def test_output_below_a_file(project, how, capsys, monkeypatch):
    blocker = project["root"] / "afile"
    blocker.write_text("x")
    option = ["-o", str(blocker / "sub")] if how == "-o" else [f"output={blocker / 'sub'}"]
    for extra in (["--dry-run"], []):
        message = one_error(*serkit(["train", project["exp"], *option, *extra],
                                    capsys, monkeypatch))  # fmt: skip
        assert f"is below the file {blocker}" in message, message
        _nothing_written(project)


def test_protocol_that_cannot_split_fails_before_extraction(project):
    cfg = {**project["cfg"], "protocol": {"name": "official"}}  # the demo has no split column
    with pytest.raises(ConfigError, match="needs the manifest column 'split'"):
        experiment.run(cfg)
    _nothing_written(project)


def test_predict_on_an_empty_folder(project, capsys, monkeypatch):
    run, _ = _run(project["cfg"])
    empty = project["root"] / "empty"
    (empty / "deeper").mkdir(parents=True)
    (empty / "notes.txt").write_text("no audio here")
    message = one_error(*serkit(["predict", run, empty], capsys, monkeypatch))
    assert f"no audio file in {empty}" in message and ".wav" in message
    shutil.rmtree(empty)


def test_fold_keys_hash_rows_and_front_end():
    from serkit.experiment.cache import content_key

    digests = [bytes([i]) * 16 for i in range(4)]
    base = content_key("fp:0:frontA", digests, {"train": np.array([0, 1]), "test": np.array([2])})
    assert base == content_key("fp:0:frontA", digests, {"train": [0, 1], "test": [2]})
    others = [
        content_key("fp:0:frontB", digests, {"train": [0, 1], "test": [2]}),  # front end
        content_key("fp:0:frontA", digests, {"train": [0, 3], "test": [2]}),  # a row
        content_key("fp:0:frontA", digests, {"train": [0], "test": [1, 2]}),  # a role
        content_key("fp:1:frontA", digests, {"train": [0, 1], "test": [2]}),  # the seed
    ]
    assert base not in others and len(set(others)) == 4


def test_corpus_normalisation_names_a_row_without_a_corpus(project):
    from serkit.errors import ManifestError
    from serkit.experiment.data import load_features

    features = {**project["cfg"]["features"], "normalize": "corpus"}
    cfg = experiment.validate_config({**project["cfg"], "features": features})
    df = mf.read(project["manifest"])
    victim = str(df["id"].iloc[3])
    df.loc[3, "corpus"] = None  # a frame built in memory, never validated as a manifest
    expected = (
        f"normalize: corpus needs a corpus id on every row; row id {victim} has none. Fill "
        "the manifest's corpus column or remove features.normalize"
    )
    with pytest.raises(ConfigError, match=expected):
        load_features(df, cfg["features"])
    # a manifest file with such a row stops the run before any work, naming the row
    mf.write(df, project["manifest"])
    with pytest.raises(ManifestError, match=f"row {victim} has an empty 'corpus'"):
        _run({**project["cfg"], "features": features})
    assert not project["run"].exists()
