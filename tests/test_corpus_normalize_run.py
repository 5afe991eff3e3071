"""``features.normalize: corpus`` end to end on two synthetic demo corpora, the second recorded
20 dB quieter (a corpus offset): training leave one corpus out, the run's records, predict."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml

from serkit import experiment
from serkit import manifest as mf
from serkit.errors import ConfigError
from serkit.experiment.data import load_features, load_rows
from serkit.inference import Item, Predictor
from test_experiment import demo_manifest, make_config  # noqa: F401  (fixture + helper)

#: the second corpus's level against the first: -20 dB, a shift of the log energy feature
GAIN = 0.1


@pytest.fixture(scope="module")
def two_corpora(demo_manifest, tmp_path_factory) -> list[Path]:  # noqa: F811
    """The demo manifest (corpus ``ravdess``) and a second demo corpus ``other`` (other voices,
    2 speakers, every file at :data:`GAIN`): their two manifest paths."""
    from serkit.corpora import prepare
    from serkit.demo import make_corpus

    root = tmp_path_factory.mktemp("other")
    emotions = ("neutral", "happy", "sad", "angry")
    corpus = make_corpus(
        root / "corpus", speakers=2, sentences=1, repetitions=2, emotions=emotions, seed=1
    ).root
    for path in sorted(corpus.rglob("*.wav")):
        x, sr = sf.read(path, dtype="float32")
        sf.write(path, x * GAIN, sr)
    prepare("ravdess", corpus, output=root)
    df = mf.read(root / "ravdess.parquet")
    for column in ("id", "speaker"):
        df[column] = df[column].str.replace("ravdess/", "other/", n=1, regex=False)
    df["corpus"] = "other"
    df.attrs["corpus"] = "other"
    mf.write(df, root / "other.parquet")
    return [demo_manifest, root / "other.parquet"]


def _config(manifests: list[Path], tmp: Path, **changes) -> dict:
    cfg = make_config(manifests[0], tmp, **{"protocol.name": "leave-one-corpus-out", **changes})
    cfg["data"]["manifests"] = [str(m) for m in manifests]
    return cfg


def _worst(values: np.ndarray, groups: np.ndarray) -> float:
    """The largest deviation of any group's mean from 0 or std from 1, over dimensions."""
    worst = 0.0
    for group in np.unique(groups):
        rows = values[groups == group]
        worst = max(worst, np.abs(rows.mean(axis=0)).max(), np.abs(rows.std(axis=0) - 1).max())
    return float(worst)


@pytest.mark.parametrize("extractor", ["test-tone-stats", "test-tone-frames"])
def test_load_features_normalises_per_corpus(two_corpora, tmp_path, extractor):
    changes = {"features.name": extractor, "features.normalize": "corpus"}
    cfg = experiment.validate_config(_config(two_corpora, tmp_path, **changes))
    df, _, fs = load_features(load_rows(cfg["data"]), cfg["features"])
    corpora, speakers = df["corpus"].astype(str).to_numpy(), df["speaker"].astype(str).to_numpy()
    values = np.concatenate(fs.frames) if fs.level == "frame" else fs.X
    if fs.level == "frame":  # frames pool per corpus
        lengths = [len(f) for f in fs.frames]
        corpora, speakers = np.repeat(corpora, lengths), np.repeat(speakers, lengths)
    values = values.astype(np.float64)
    assert _worst(values, corpora) < 1e-3
    assert _worst(values, speakers) > 1e-2  # per corpus, not per speaker
    raw_cfg = {k: v for k, v in cfg["features"].items() if k != "normalize"}
    _, _, raw = load_features(load_rows(cfg["data"]), raw_cfg)
    raw_values = np.concatenate(raw.frames) if raw.level == "frame" else raw.X
    assert _worst(raw_values.astype(np.float64), corpora) > 1e-2


@pytest.fixture(scope="module")
def runs(two_corpora, tmp_path_factory) -> dict:
    """A plain and a corpus-normalised leave-one-corpus-out run, with the corpus run's log."""
    tmp = tmp_path_factory.mktemp("runs")
    plain = experiment.run(_config(two_corpora, tmp, name="plain"))
    lines: list[str] = []
    corpus = experiment.run(
        _config(two_corpora, tmp, name="corpus", **{"features.normalize": "corpus"}),
        log=lines.append,
    )
    return {"plain": plain, "corpus": corpus, "log": lines, "tmp": tmp}


def _uar(run_dir: Path) -> float:
    return json.loads((run_dir / "metrics.json").read_text())["pooled"]["uar"]


def test_corpus_normalisation_removes_the_corpus_offset(runs):
    preds = pd.read_parquet(runs["corpus"] / "predictions.parquet")
    assert len(preds) == 56 + 28 and set(preds["fold"]) == {"ravdess", "other"}
    assert (preds["fold"] == preds["id"].str.split("/").str[0]).all()
    # the 20 dB offset ruins the plain run (a model of one corpus's levels on the other's);
    # the per-corpus z-scores remove it (the demo's emotions differ in level and spectrum)
    assert _uar(runs["plain"]) < 0.45
    assert _uar(runs["corpus"]) > 0.6


def test_the_run_records_corpus_normalisation(runs):
    run_dir = runs["corpus"]
    assert "features: z-scored per corpus (label-free, transductive per corpus)" in runs["log"]
    cfg = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert cfg["features"]["normalize"] == "corpus"
    dataset = json.loads((run_dir / "dataset.json").read_text())
    assert dataset["features"]["frontend"]["normalize"] == "corpus"
    report = (run_dir / "report.md").read_text()
    assert "z-scored per corpus (label-free, transductive per corpus)" in report
    assert "z-scored per" not in (runs["plain"] / "report.md").read_text()
    # the method is part of the run's fingerprint and of the front end's key
    keys = [json.loads((r / "dataset.json").read_text()) for r in (runs["plain"], run_dir)]
    assert keys[0]["features"]["frontend"] != keys[1]["features"]["frontend"]
    predictor = Predictor.from_path(run_dir)
    assert predictor.frontend.group_column == "corpus" and not predictor.frontend.needs_speakers
    assert predictor.frontend.key() != Predictor.from_path(runs["plain"]).frontend.key()


def test_predict_normalises_a_manifest_per_corpus_and_files_as_one(runs, two_corpora):
    predictor = Predictor.from_path(runs["corpus"])
    frames = [mf.read(m) for m in two_corpora]
    both = mf.concat(frames)
    out = predictor.predict_manifest(both)
    assert list(out.columns[:5]) == ["id", "path", "speaker", "corpus", "label"]
    # a manifest's corpora: the z-scores of training, so the final model's own posteriors
    cfg = experiment.validate_config(
        _config(two_corpora, runs["tmp"], **{"features.normalize": "corpus"})
    )
    rows, _, fs = load_features(load_rows(cfg["data"]), cfg["features"])
    probs = [f"prob_{c}" for c in predictor.classes]
    got = out.set_index("id").loc[rows["id"].astype(str), probs].to_numpy()
    np.testing.assert_allclose(got, predictor.model.predict_proba(fs.X), atol=1e-6)
    # files: all the inputs of one call are one corpus
    other = predictor.predict_files(mf.audio_paths(frames[1]))
    assert "corpus" not in other.columns and len(other) == len(frames[1])
    np.testing.assert_allclose(other[probs].to_numpy(), out[probs].to_numpy()[-28:], atol=1e-6)
    mixed = predictor.predict_files(mf.audio_paths(both))
    assert np.abs(mixed[probs].to_numpy() - out[probs].to_numpy()).max() > 0.05
    with pytest.raises(ConfigError, match="at least 2 utterances of each corpus .inputs wi"):
        predictor.predict_files(mf.audio_paths(frames[1])[:1])
    paths = mf.audio_paths(frames[1])[:3]
    items = [Item(paths[0], corpus="other"), Item(paths[1]), Item(paths[2], corpus="other")]
    with pytest.raises(ConfigError, match="1 of 3 input.s. have no corpus"):
        predictor.predict_items(items)
    # a manifest that leaves a corpus with one row
    few = both[(both["corpus"] == "ravdess") | (both["id"] == both["id"].iloc[-1])]
    few.attrs = dict(both.attrs)
    with pytest.raises(ConfigError, match=r"too few: other \(1\)"):
        predictor.predict_manifest(few)


def test_cli_predict_of_a_corpus_normalised_run(runs, two_corpora):
    from typer.testing import CliRunner

    from serkit.cli import app

    files = [str(p) for p in mf.audio_paths(mf.read(two_corpora[1]))[:3]]
    runner = CliRunner()
    args = ["predict", str(runs["corpus"]), "--format", "csv", "--no-progress"]
    result = runner.invoke(app, [*args, *files])
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(pd.io.common.StringIO(result.stdout))) == 3
    result = runner.invoke(app, [*args, files[0]])
    assert result.exit_code != 0
    assert "at least 2 utterances of each corpus" in str(result.exception or result.output)
