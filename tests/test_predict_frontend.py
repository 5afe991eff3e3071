"""What trains is what predicts: a run's front end (VAD, speaker normalisation) at predict time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from serkit import experiment
from serkit import manifest as mf
from serkit.errors import ConfigError
from serkit.features import get_extractor
from serkit.features.analysable import UnanalysableError
from serkit.inference import Predictor
from test_experiment import demo_manifest, make_config  # noqa: F401  (fixture + helper)


def _padded_clip(source, target, seconds=2.0):
    """``source`` with ``seconds`` of near-silence (-80 dBFS noise) in front."""
    x, sr = sf.read(source, dtype="float32")
    quiet = np.random.default_rng(0).normal(0.0, 1e-4, int(seconds * sr)).astype(np.float32)
    sf.write(target, np.concatenate([quiet, x]), sr)
    return target


def test_a_vad_run_predicts_on_trimmed_audio(demo_manifest, tmp_path):  # noqa: F811
    cfg = make_config(
        demo_manifest,
        tmp_path,
        **{"features.name": "mfcc-stats", "features.vad": {"method": "energy"}},
    )
    run_dir = experiment.run(cfg)
    predictor = Predictor.from_path(run_dir)
    assert predictor.frontend.vad is not None
    clip = mf.audio_paths(mf.read(demo_manifest))[0]
    padded = _padded_clip(clip, tmp_path / "padded.wav")
    trimmed = predictor.features(padded)
    # the VAD removes the leading silence: the features are those of the clip itself ...
    np.testing.assert_allclose(trimmed, predictor.features(clip), rtol=1e-5, atol=1e-4)
    # ... while the bare extractor (what predict used to do) sees the silence
    x, sr = sf.read(padded, dtype="float32")
    untrimmed = get_extractor("mfcc-stats")(x, sr)
    assert np.abs(untrimmed - trimmed).max() > 1.0
    both = predictor.predict_files([clip, padded])
    probs = both.filter(like="prob_").to_numpy()
    np.testing.assert_allclose(probs[0], probs[1], atol=1e-5)


def test_a_speaker_normalised_run_needs_speakers_to_predict(demo_manifest, tmp_path):  # noqa: F811
    run_dir = experiment.run(
        make_config(demo_manifest, tmp_path, **{"features.normalize": "speaker"})
    )
    predictor = Predictor.from_path(run_dir)
    assert predictor.frontend.needs_speakers
    df = mf.read(demo_manifest)
    paths = mf.audio_paths(df)
    with pytest.raises(ConfigError, match="per-speaker z-scored.*speaker=NAME"):
        predictor.predict_files(paths[:4])
    one = df["speaker"].iloc[0]
    own = [p for p, s in zip(paths, df["speaker"], strict=True) if s == one]
    with pytest.raises(ConfigError, match="at least 2 utterances"):
        predictor.predict_files(own[:1], speaker=one)
    # a manifest's speakers: the same z-scores as training, so the run's own predictions return
    out = predictor.predict_manifest(df)
    assert list(out.columns[:4]) == ["id", "path", "speaker", "label"]
    assert out["speaker"].tolist() == df["speaker"].astype(str).tolist()
    from serkit.experiment.data import load_features, load_rows

    cfg = experiment.validate_config(
        make_config(demo_manifest, tmp_path, **{"features.normalize": "speaker"})
    )
    rows, _, fs = load_features(load_rows(cfg["data"]), cfg["features"])
    expected = predictor.model.predict_proba(fs.X)
    got = out.set_index("id").loc[rows["id"].astype(str), [f"prob_{c}" for c in predictor.classes]]
    np.testing.assert_allclose(got.to_numpy(), expected, atol=1e-6)
    files = predictor.predict_files(own, speaker=one)
    assert (files["speaker"] == one).all() and len(files) == len(own)


def test_cli_predict_takes_a_speaker_or_a_manifest(demo_manifest, tmp_path):  # noqa: F811
    from typer.testing import CliRunner

    from serkit.cli import app

    run_dir = experiment.run(
        make_config(demo_manifest, tmp_path, **{"features.normalize": "speaker"})
    )
    df = mf.read(demo_manifest)
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "predict",
            str(run_dir),
            "--manifest",
            str(demo_manifest),
            "--format",
            "csv",
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(pd.io.common.StringIO(result.stdout))
    assert len(table) == len(df) and "speaker" in table.columns
    own = [
        str(p)
        for p, s in zip(mf.audio_paths(df), df["speaker"], strict=True)
        if s == df["speaker"].iloc[0]
    ]
    result = runner.invoke(app, ["predict", str(run_dir), *own, "--speaker", "x", "--no-progress"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["predict", str(run_dir), *own, "--no-progress"])
    assert result.exit_code != 0 and "speaker" in str(result.exception or result.output)


def test_an_exported_model_predicts_files_through_its_front_end(demo_manifest, tmp_path):  # noqa: F811
    import warnings

    from serkit.export import export

    cfg = make_config(
        demo_manifest,
        tmp_path,
        **{
            "features.name": "mfcc",
            "features.vad": {"method": "energy"},
            "model.name": "neural",
            "model.params": {"net": "cnn-attn", "epochs": 2, "batch_size": 8},
            "protocol.name": "speaker-kfold",
            "protocol.params": {"k": 2},
        },
    )
    run_dir = experiment.run(cfg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = export(run_dir, tmp_path / "m.onnx")
    torch_side = Predictor.from_path(run_dir)
    onnx_side = Predictor.from_path(result.path)
    assert onnx_side.frontend == torch_side.frontend and onnx_side.frontend.vad is not None
    clips = mf.audio_paths(mf.read(demo_manifest))[:3]
    a, b = torch_side.predict_files(clips), onnx_side.predict_files(clips)
    np.testing.assert_allclose(a.filter(like="prob_"), b.filter(like="prob_"), atol=1e-4)


@pytest.mark.parametrize("normalize", ["none", "speaker"])
def test_a_test_time_run_predicts_the_mean_of_its_views(
    demo_manifest, tmp_path, normalize  # noqa: F811
):
    from dataclasses import replace

    from serkit.audio import read
    from serkit.serve.predict import predict_signal

    changes = {
        "features.name": "mfcc-stats",
        "features.normalize": normalize,
        "perturb.speed": [0.8, 1.25],
        "perturb.test": True,
    }
    run_dir = experiment.run(make_config(demo_manifest, tmp_path, **changes))
    predictor = Predictor.from_path(run_dir)
    assert [view.speed for view in predictor.views] == [1.0, 0.8, 1.25]
    manifest = mf.read(demo_manifest)
    got = predictor.predict_manifest(manifest)
    probs = [f"prob_{c}" for c in predictor.classes]
    # every view on its own (normalised with its own speaker statistics), then their mean
    alone = [
        Predictor(predictor.model, replace(predictor.frontend, speed=speed))
        .predict_manifest(manifest)[probs]
        .to_numpy()
        for speed in (1.0, 0.8, 1.25)
    ]
    np.testing.assert_allclose(got[probs].to_numpy(), np.mean(alone, axis=0), atol=1e-9)
    assert not np.allclose(alone[0], alone[1])  # the copies change the posteriors
    assert (got["label"] == got[probs].idxmax(axis=1).str.removeprefix("prob_")).all()
    if normalize == "none":  # one clip at a time (the server) gives the same posteriors
        signal, rate = read(mf.audio_paths(manifest)[0], sample_rate=predictor.frontend.sample_rate)
        served = predict_signal(predictor, signal, rate)["probs"]
        np.testing.assert_allclose([served[c] for c in predictor.classes], got[probs].iloc[0])


def test_test_speeds_travel_into_onnx_metadata():
    from serkit.export import model_metadata
    from serkit.views import view_speeds

    model = type("M", (), {"classes_": np.array(["a", "b"]), "input_dim_": 3})()
    meta = model_metadata(model, extra={"test_speeds": [0.9, 1.1], "frontend": {}})
    assert view_speeds(meta) == (0.9, 1.1) and "frontend" not in meta
    assert view_speeds(model_metadata(model, extra={"label_set": "x"})) == ()


def test_a_sped_up_view_too_short_to_analyse_is_left_out_of_the_mean():
    from serkit.features.frontend import Frontend

    class Softmax:
        classes_ = np.array(["a", "b"])
        input_level = "utterance"

        def predict_proba(self, X):
            e = np.exp(np.asarray(X)[:, :2] / 100.0)
            return e / e.sum(axis=1, keepdims=True)

    frontend = Frontend(get_extractor("mfcc-stats"), min_duration_s=0.1)  # analyse >= 0.1 s
    predictor = Predictor(Softmax(), frontend, {"extra": {"test_speeds": [0.8, 1.25]}})
    rng = np.random.default_rng(0)
    signal = (0.1 * rng.normal(size=int(0.11 * 16000))).astype(np.float32)  # 0.088 s at x1.25
    views = predictor.signal_views(signal, 16000)
    assert views[0] is not None and views[1] is not None and views[2] is None
    got = predictor.predict_views([views])[0]
    both = [predictor.predict_features([v])[0] for v in views[:2]]
    np.testing.assert_allclose(got, np.mean(both, axis=0))
    with pytest.raises(UnanalysableError, match="minimum duration"):  # the trained view must
        predictor.signal_views(signal[: int(0.05 * 16000)], 16000)
