"""Audio that cannot be analysed, and cached rows whose audio is gone or changed.

Bad clips: 0.05 s, one sample, digital silence, a -90 dBFS tone, NaN samples in a float WAV,
and (behind a VAD) noise in which the VAD finds no speech. Each must never get features or a
label: extraction names the file, its duration or level and the threshold (or, with
``skip_bad``, lists it), a run lists it in its log, ``dataset.json`` and report and trains on
nothing of it, and prediction returns a row whose status says why instead of a label. A file
deleted or rewritten after extraction never gets its cached features.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml

from serkit import features
from serkit import manifest as mf
from serkit.errors import AudioError
from serkit.features import FeatureError, get_extractor
from serkit.features.frontend import Frontend
from serkit.features.vad import VadTrim

SR = 16000


def _tone(seconds: float, peak: float = 0.3, freq: float = 180.0) -> np.ndarray:
    t = np.arange(int(round(seconds * SR))) / SR
    wave = sum(np.sin(2 * np.pi * freq * k * t + 0.5) / k for k in range(1, 4))
    return (peak * wave / np.max(np.abs(wave))).astype(np.float32)


def _nan_samples(seconds: float = 0.5) -> np.ndarray:
    x = _tone(seconds)
    x[100:110] = np.nan
    return x


def _vad_silence() -> np.ndarray:
    """Noise with a -50 dBFS peak: loud enough for the level floor, but every 25-ms frame is
    under the energy VAD's -60 dBFS floor, so the VAD finds no speech."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(SR)
    return (10 ** (-50 / 20) * x / np.max(np.abs(x))).astype(np.float32)


#: case -> (signal, WAV subtype, what the reason says)
CASES: dict[str, tuple[Callable[[], np.ndarray], str, str]] = {
    "short": (lambda: _tone(0.05), "PCM_16", r"0\.050 s \(800 samples\) < 0\.100 s"),
    "one_sample": (lambda: _tone(1 / SR), "PCM_16", r"1 sample\) < 0\.100 s"),
    "zeros": (lambda: np.zeros(SR, np.float32), "PCM_16", r"digital silence .* < -60\.0 dBFS"),
    "quiet": (lambda: _tone(1.0, peak=10 ** (-90 / 20)), "FLOAT", r"-90\.0 dBFS < -60\.0 dBFS"),
    "nan": (_nan_samples, "FLOAT", r"NaN or inf samples"),
}
NO_LABEL = ("short", "one_sample", "zeros", "quiet")  # predicted as rows without a label


def _write(path: Path, signal: np.ndarray, subtype: str = "PCM_16") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), signal, SR, subtype=subtype)
    return path


def _write_case(path: Path, case: str) -> Path:
    make, subtype, _ = CASES[case] if case in CASES else (_vad_silence, "FLOAT", "")
    return _write(path, make(), subtype)


def _manifest(root: Path, names: list[str]) -> pd.DataFrame:
    rows = [
        {
            "id": f"t/{name}",
            "corpus": "t",
            "path": f"{name}.wav",
            "duration": 0.5,
            "speaker": f"t/s{i % 2}",
            "emotion": "neutral",
            "raw_emotion": "x",
        }
        for i, name in enumerate(names)
    ]
    return mf.new(rows, root=root)


# -- extraction -------------------------------------------------------------------------------
@pytest.mark.parametrize("case", [*CASES, "vad_silence"])
def test_extract_names_unanalysable_audio_or_lists_it(tmp_path, case):
    root = tmp_path / "corpus"
    _write(root / "good.wav", _tone(0.6))
    _write_case(root / "bad.wav", case)
    df = _manifest(root, ["good", "bad"])
    ex = get_extractor("egemaps")
    vad = VadTrim(method="energy") if case == "vad_silence" else None
    reason = CASES[case][2] if case in CASES else r"the VAD found no speech in 1\.000 s"
    store = tmp_path / "store"
    with pytest.raises(FeatureError, match=rf"t/bad \(.*bad\.wav\): .*{reason}.*skip_bad=True"):
        features.extract(df, ex, store, progress=False, vad=vad)
    summary = features.extract(df, ex, store, progress=False, skip_bad=True, vad=vad)
    assert len(summary.skipped) == 1 and "t/bad" in summary.skipped[0]
    assert [r["id"] for r in summary.skipped_rows] == ["t/bad"]
    assert summary.skipped_rows[0]["path"].endswith("bad.wav")
    assert re.search(reason, summary.skipped_rows[0]["reason"])
    fs = features.load(df, Frontend(ex, vad), store, allow_missing=True)  # a front end, too
    assert fs.ids == ["t/good"] and fs.missing == ["t/bad"]  # no vector was made up for it
    with pytest.raises(FeatureError, match=r"t/bad \(not in the store"):
        features.load(df, ex, store, vad=vad)


# -- cached rows whose audio is gone or changed -----------------------------------------------
@pytest.fixture
def extracted(tmp_path):
    root = tmp_path / "corpus"
    for i in range(3):
        _write(root / f"u{i}.wav", _tone(0.5 + 0.1 * i, freq=150.0 + 40 * i))
    df = _manifest(root, ["u0", "u1", "u2"])
    store = tmp_path / "store"
    features.extract(df, "egemaps", store, progress=False)
    return df, root, store


def test_missing_file_after_extraction_is_never_read_from_the_cache(extracted):
    df, root, store = extracted
    (root / "u1.wav").unlink()
    with pytest.raises(FeatureError, match=r"t/u1 \(audio file missing: .*u1\.wav\)"):
        features.load(df, "egemaps", store)
    with pytest.raises(FeatureError, match=r"t/u1 .*no such audio file"):
        features.extract(df, "egemaps", store, progress=False)
    summary = features.extract(df, "egemaps", store, progress=False, skip_bad=True)
    assert [r["id"] for r in summary.skipped_rows] == ["t/u1"]
    fs = features.load(df, "egemaps", store, allow_missing=True)
    assert fs.ids == ["t/u0", "t/u2"] and fs.missing == ["t/u1"]


def test_file_changed_after_extraction_is_recomputed(extracted):
    """Different content of the same size with the old mtime put back (``cp -p``, a restore):
    the cached features of the old audio are not used."""
    df, root, store = extracted
    path = root / "u1.wav"
    before = features.load(df, "egemaps", store).X[1].copy()
    stat = path.stat()
    signal, _ = sf.read(str(path), dtype="float32")
    _write(path, signal[::-1].copy())  # same length and size, another signal
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)
    with pytest.raises(FeatureError, match=r"t/u1 \(audio changed since extraction"):
        features.load(df, "egemaps", store)
    summary = features.extract(df, "egemaps", store, progress=False)
    assert (summary.computed, summary.cached) == (1, 2)
    after = features.load(df, "egemaps", store).X[1]
    fresh = get_extractor("egemaps")(signal[::-1].copy(), SR)
    np.testing.assert_array_equal(after, fresh)
    assert not np.allclose(after, before)


# -- a run with skip_bad ------------------------------------------------------------------------
CONFIG = {
    "name": "clean",
    "data": {"manifests": ["manifests/ravdess.parquet"], "label_set": None},
    "features": {"name": "egemaps", "store": "features/", "skip_bad": True},
    "model": {"name": "logreg"},
    "protocol": {"name": "speaker-kfold", "params": {"k": 2, "seed": 0}},
    "bootstrap": {"reps": 20},
    "final_model": False,
}


@pytest.fixture
def project(tmp_path, monkeypatch):
    from serkit.corpora import prepare
    from serkit.demo import make_corpus

    demo = make_corpus(
        tmp_path / "corpus", speakers=4, sentences=1, repetitions=2, emotions=("neutral", "angry")
    )
    prepare("ravdess", demo.root, output=tmp_path / "manifests")
    monkeypatch.chdir(tmp_path)
    return tmp_path, sorted(demo.files)


def _run(name: str) -> tuple[Path, list[str]]:
    from serkit import experiment

    lines: list[str] = []
    run_dir = experiment.run({**CONFIG, "name": name}, Path("runs"), log=lines.append)
    return run_dir, lines


def test_run_with_skip_bad_lists_dropped_rows_and_never_trains_on_them(project):
    tmp_path, files = project
    clean, _ = _run("clean")
    assert json.loads((clean / "dataset.json").read_text())["skipped"] == []
    ids = mf.read(tmp_path / "manifests" / "ravdess.parquet").set_index("path")["id"]
    corpus = tmp_path / "corpus"
    bad = {}
    spread = files[::4]  # 6 of 24 files, over all 4 speakers
    for case, path in zip(CASES, spread, strict=False):  # overwrite 5 files with bad audio
        _write_case(path, case)
        bad[ids[path.relative_to(corpus).as_posix()]] = case
    gone = spread[5]
    gone.unlink()  # deleted after its features were cached
    bad[ids[gone.relative_to(corpus).as_posix()]] = "missing"

    run_dir, log = _run("dirty")
    skipped = json.loads((run_dir / "dataset.json").read_text())["skipped"]
    assert sorted(r["id"] for r in skipped) == sorted(bad)
    for row in skipped:
        case = bad[row["id"]]
        expected = r"no such audio file" if case == "missing" else CASES[case][2]
        assert re.search(expected, row["reason"]), (case, row)
        assert row["path"].endswith(".wav")
    used = set(pd.read_csv(run_dir / "folds.csv")["id"])
    predicted = set(pd.read_parquet(run_dir / "predictions.parquet")["id"])
    assert not used & set(bad) and not predicted & set(bad)  # in no fold, train or test
    assert predicted == set(ids) - set(bad)
    assert any(f"{len(bad)} row(s) skipped (features.skip_bad)" in line for line in log)
    assert all(any(rid in line for line in log) for rid in bad)
    md = (run_dir / "report.md").read_text()
    page = (run_dir / "report.html").read_text()
    assert "| rows skipped (features.skip_bad) | 6 |" in md and "### Skipped rows" in md
    assert all(rid in md and rid in page for rid in bad)


# -- prediction -------------------------------------------------------------------------------
@pytest.fixture
def predictor(tmp_path):
    """A logreg on mfcc-stats of low and high tones, saved as a run's model package."""
    from serkit.inference import Predictor
    from serkit.models import get_model
    from serkit.models.package import save_model

    ex = get_extractor("mfcc-stats")
    X, y = [], []
    for label, freq in (("low", 180.0), ("high", 900.0)):
        for k in range(5):
            X.append(ex(_tone(0.3 + 0.05 * k, freq=freq * (1 + 0.02 * k)), SR))
            y.append(label)
    model = get_model("logreg").fit(np.stack(X), np.array(y))
    run = tmp_path / "run"
    save_model(model, run / "model", extra={"frontend": Frontend(ex).to_dict()})
    return Predictor.from_path(run), run


@pytest.fixture
def clips(tmp_path):
    folder = tmp_path / "clips"
    _write(folder / "a_good.wav", _tone(0.4, freq=185.0))
    for case in NO_LABEL:
        _write_case(folder / f"{case}.wav", case)
    return folder


def test_predictor_says_unanalysable_instead_of_a_label(predictor, clips):
    pred, _ = predictor
    df = pred.predict_files([clips])
    by_name = df.assign(name=df["path"].map(lambda p: Path(p).stem)).set_index("name")
    assert by_name.loc["a_good", "label"] == "low"
    for case in NO_LABEL:
        row = by_name.loc[case]
        assert pd.isna(row["label"]), (case, row["label"])
        assert math.isnan(row["prob_low"]) and math.isnan(row["prob_high"])
        assert row["status"].startswith("unanalysable: ")
        assert re.search(CASES[case][2], row["status"]), row["status"]
    assert by_name.loc["a_good", "status"] == "ok" and df.attrs["skipped"] == []


def test_predictor_nan_samples_are_an_error_or_a_listed_skip(predictor, clips):
    pred, _ = predictor
    _write_case(clips / "nan.wav", "nan")
    with pytest.raises(AudioError, match=r"nan\.wav: audio contains NaN.*skip_bad=True"):
        pred.predict_files([clips])
    df = pred.predict_files([clips], skip_bad=True)
    assert "nan.wav" not in " ".join(df["path"]) and "nan.wav" in df.attrs["skipped"][0]


def test_predictor_behind_a_vad_reports_no_speech(predictor, tmp_path):
    from serkit.inference import Predictor

    pred, _ = predictor
    vad = Predictor(pred.model, Frontend(pred.extractor, VadTrim(method="energy")))
    path = _write_case(tmp_path / "hush.wav", "vad_silence")
    row = vad.predict_files([path]).iloc[0]
    assert pd.isna(row["label"])
    assert row["status"].startswith("unanalysable: the VAD found no speech")


def _cli(args: list[str], capsys) -> tuple[int, str, str]:
    from serkit.cli import app
    from serkit.cli._errors import run

    capsys.readouterr()
    code = run(app, args)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_predict_rows_have_a_status_and_exit_zero(predictor, clips, capsys):
    _, run = predictor
    code, out, err = _cli(["predict", str(run), str(clips), "--format", "json"], capsys)
    assert code == 0, err
    rows = {Path(r["path"]).stem: r for r in json.loads(out)}
    assert rows["a_good"]["label"] == "low"
    for case in NO_LABEL:
        assert rows[case]["label"] is None and rows[case]["prob_low"] is None
        assert rows[case]["status"].startswith("unanalysable: ")
    assert rows["a_good"]["status"] == "ok"
    assert "4 of 5 input(s) unanalysable" in err
    code, out, err = _cli(["predict", str(run), str(clips / "one_sample.wav")], capsys)
    assert code != 0 and "error: none of the 1 input(s) could be analysed" in err
    assert "unanalysable" in out and "Traceback" not in err


def test_runs_config_sets_the_thresholds(tmp_path):
    from serkit.experiment.config import validate_config

    cfg = validate_config({**CONFIG, "features": {**CONFIG["features"], "min_duration_s": 0.07}})
    fe = Frontend.from_config(cfg["features"])
    assert fe.min_duration_s == 0.07 and fe.key() != Frontend(get_extractor("egemaps")).key()
    assert np.all(np.isfinite(fe.compute(_tone(0.08), SR)))  # analysable for this front end
    with pytest.raises(FeatureError, match="0.080 s"):
        Frontend(get_extractor("egemaps")).compute(_tone(0.08), SR)
    plain = validate_config(CONFIG)
    assert "min_duration_s" not in plain["features"]  # runs without it keep their fingerprint
    with pytest.raises(Exception, match=r"features\.min_level_dbfs must be <= 0 dBFS"):
        validate_config({**CONFIG, "features": {**CONFIG["features"], "min_level_dbfs": 3}})
    assert yaml.safe_load(yaml.safe_dump(cfg))["features"]["min_duration_s"] == 0.07
