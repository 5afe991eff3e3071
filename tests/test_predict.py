"""Prediction from a run / model folder: Predictor, bad files, and the ``serkit predict`` verb."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import write_tone
from serkit.audio import read
from serkit.errors import AudioError, ConfigError
from serkit.features import get_extractor
from serkit.inference import Predictor, collect_audio, resolve_model_dir
from serkit.models import get_model
from serkit.models.package import save_model

FREQS = {"low": 180.0, "high": 900.0}


def _train_run(tmp_path, model_name="logreg", extractor_name="mfcc-stats", **params):
    """Tone corpus -> features -> fitted model saved as <run>/model with the extractor."""
    extractor = (
        get_extractor(extractor_name, n_mels=16)
        if extractor_name == "logmel"
        else (get_extractor(extractor_name))
    )
    feats, labels = [], []
    for label, freq in FREQS.items():
        for k in range(6):
            path = write_tone(
                tmp_path / "train" / f"{label}{k}.wav", 0.3 + 0.05 * k, freq=freq * (1 + 0.02 * k)
            )
            signal, rate = read(path, sample_rate=extractor.sample_rate)
            feats.append(extractor(signal, rate))
            labels.append(label)
    X = np.stack(feats) if extractor.level == "utterance" else feats
    model = get_model(model_name, **params).fit(X, np.array(labels))
    run = tmp_path / "run"
    save_model(model, run / "model", extra={"extractor": extractor.to_dict()})
    return run


@pytest.fixture
def clips(tmp_path):
    folder = tmp_path / "clips"
    write_tone(folder / "a_low.wav", 0.4, freq=185.0)
    write_tone(folder / "nested" / "b_high.flac", 0.5, freq=880.0)
    (folder / "notes.txt").write_text("not audio")
    return folder


def test_predictor_from_run_dir_predicts_files_and_folders(tmp_path, clips):
    run = _train_run(tmp_path)
    assert resolve_model_dir(run) == run / "model"
    predictor = Predictor.from_path(run)
    assert predictor.classes == ["high", "low"]
    df = predictor.predict_files([clips], batch_size=1)
    assert list(df.columns) == ["path", "label", "status", "prob_high", "prob_low"]
    assert df["status"].tolist() == ["ok", "ok"]
    assert [p.rsplit("/", 1)[-1] for p in df["path"]] == ["a_low.wav", "b_high.flac"]
    assert df["label"].tolist() == ["low", "high"]
    np.testing.assert_allclose(df[["prob_high", "prob_low"]].sum(axis=1), 1.0, atol=1e-6)
    again = Predictor.from_path(run / "model").predict_files([clips], batch_size=8)
    np.testing.assert_allclose(again["prob_low"], df["prob_low"])


def test_bad_files_are_named_or_skipped(tmp_path, clips):
    run = _train_run(tmp_path)
    bad = clips / "broken.wav"
    bad.write_bytes(b"RIFF....garbage")
    predictor = Predictor.from_path(run)
    with pytest.raises(AudioError, match="broken.wav"):
        predictor.predict_files([clips])
    df = predictor.predict_files([clips], skip_bad=True)
    assert len(df) == 2 and len(df.attrs["skipped"]) == 1
    assert "broken.wav" in df.attrs["skipped"][0]
    with pytest.raises(AudioError, match="missing.wav"):
        collect_audio([tmp_path / "missing.wav"])


def test_frame_level_neural_model_predicts(tmp_path, clips):
    run = _train_run(
        tmp_path,
        "neural",
        "logmel",
        epochs=2,
        batch_size=4,
        device="cpu",
        net_params={"channels": 6, "blocks": 1, "attention_dim": 4},
    )
    df = Predictor.from_path(run).predict_files([clips])
    assert len(df) == 2 and set(df["label"]) <= {"low", "high"}


def test_missing_model_or_extractor_is_explained(tmp_path):
    with pytest.raises(ConfigError, match="no model.json"):
        Predictor.from_path(tmp_path)
    X = np.random.default_rng(0).normal(size=(8, 3))
    save_model(get_model("logreg").fit(X, [0, 1] * 4), tmp_path / "bare")
    with pytest.raises(ConfigError, match="no extra.frontend"):
        Predictor.from_path(tmp_path / "bare")


def test_cli_predict_formats(tmp_path, clips):
    from serkit.cli import app

    run = _train_run(tmp_path)
    (clips / "broken.wav").write_bytes(b"not a wav")
    runner = CliRunner()
    result = runner.invoke(app, ["predict", str(run), str(clips), "--format", "json", "--skip-bad"])
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert [r["label"] for r in records] == ["low", "high"]
    assert "broken.wav" in result.stderr
    out = tmp_path / "pred.csv"
    result = runner.invoke(
        app, ["predict", str(run), str(clips / "a_low.wav"), "--format", "csv", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.read_text().splitlines()[0] == "path,label,status,prob_high,prob_low"
    result = runner.invoke(app, ["predict", str(run), str(clips / "a_low.wav")])
    assert result.exit_code == 0 and "low" in result.stdout
    result = runner.invoke(app, ["predict", str(run), str(clips)])
    assert result.exit_code != 0  # the broken file stops a run without --skip-bad
