"""Speed-perturbed training copies (config ``perturb``): the pure pieces and runs on the tiny
synthetic corpus."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from serkit import experiment
from serkit.audio import speed_perturb
from serkit.errors import ConfigError
from serkit.experiment.config import fingerprint
from serkit.experiment.data import Dataset
from serkit.experiment.perturbation import Copies
from serkit.features import get_extractor
from serkit.features.frontend import Frontend
from serkit.models import register_model
from serkit.models.classic import LogRegClassifier
from test_experiment import demo_manifest, make_config  # noqa: F401  (fixture + helper)


@register_model("test-recording-logreg")
class RecordingLogReg(LogRegClassifier):
    """Logistic regression that writes what every fit saw to ``record`` (one JSON per line)."""

    def __init__(self, C=1.0, class_weight="balanced", max_iter=2000, seed=0, record=""):
        super().__init__(C=C, class_weight=class_weight, max_iter=max_iter, seed=seed)
        self.record = record

    def fit(self, X, y, groups=None):
        with open(self.record, "a") as handle:
            rows = {"X": np.asarray(X).tolist(), "y": list(map(str, y))}
            handle.write(json.dumps({**rows, "groups": list(map(str, groups))}) + "\n")
        return super().fit(X, y, groups)


def _tone(freq: float, seconds: float = 1.0, sr: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _peak_hz(x: np.ndarray, sr: int = 16000) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / sr)[np.argmax(spectrum)])


@pytest.mark.parametrize("factor", [0.5, 0.9, 1.1, 1.25, 2.0])
def test_speed_perturb_changes_length_and_pitch_together(factor):
    x = _tone(400.0)
    y = speed_perturb(x, 16000, factor)
    assert y.dtype == np.float32
    assert abs(len(y) - len(x) / factor) <= 1
    assert _peak_hz(y) == pytest.approx(400.0 * factor, rel=0.01)


def test_speed_perturb_identity_and_range():
    x = _tone(300.0, 0.2)
    assert np.array_equal(speed_perturb(x, 16000, 1.0), x)
    for bad in (0.49, 2.01, 0.0, -1.0):
        with pytest.raises(ValueError, match="speed factor must be in"):
            speed_perturb(x, 16000, bad)


def test_frontend_speed_enters_key_and_dict_only_when_not_one():
    plain = Frontend(get_extractor("mfcc"))
    fast = Frontend(get_extractor("mfcc"), speed=1.1)
    assert "speed" not in plain.to_dict() and fast.to_dict()["speed"] == 1.1
    assert plain.key() == get_extractor("mfcc").key() != fast.key()
    assert Frontend.from_dict(fast.to_dict()) == fast and fast.cached().speed == 1.1
    assert Frontend(get_extractor("mfcc"), speed=1).key() == plain.key()
    with pytest.raises(ConfigError, match="front end speed must be in"):
        Frontend(get_extractor("mfcc"), speed=3.0)


def test_frontend_compute_plays_the_signal_faster():
    fe = Frontend(get_extractor("test-tone-stats"), speed=1.25)
    x = _tone(200.0, 1.0)
    duration = fe.compute(x, 16000)[3]  # the extractor's 4th value is the duration in s
    assert duration == pytest.approx(0.8, abs=1e-3)
    assert "speed x1.25" in fe.describe()


@pytest.mark.parametrize(
    ("speed", "match"),
    [
        ([], "non-empty list"),
        ("0.9", "non-empty list"),
        ([1.0], "1 is the real row itself"),
        ([0.3], "found 0.3"),
        ([True], "found True"),
        ([0.9, 0.9], "lists a factor twice"),
    ],
)
def test_bad_perturb_sections_name_the_key(demo_manifest, tmp_path, speed, match):  # noqa: F811
    with pytest.raises(ConfigError, match=match) as info:
        experiment.validate_config(make_config(demo_manifest, tmp_path, **{"perturb.speed": speed}))
    assert "perturb.speed" in str(info.value)


def test_perturb_refuses_search(demo_manifest, tmp_path):  # noqa: F811
    cfg = make_config(
        demo_manifest,
        tmp_path,
        **{"perturb.speed": [1.1], "search.param_grid": {"C": [0.1, 1.0]}},
    )
    with pytest.raises(ConfigError, match="perturb and search do not combine"):
        experiment.validate_config(cfg)


def test_factors_sorted_and_fingerprint_changes(demo_manifest, tmp_path):  # noqa: F811
    plain = experiment.validate_config(make_config(demo_manifest, tmp_path))
    cfg = experiment.validate_config(
        make_config(demo_manifest, tmp_path, **{"perturb.speed": [1.1, 0.9]})
    )
    assert cfg["perturb"]["speed"] == [0.9, 1.1]
    assert fingerprint(cfg) != fingerprint(plain)
    assert "perturb" not in {k for k, v in plain.items() if v is not None}


def _dataset(level: str) -> Dataset:
    df = pd.DataFrame(
        {"id": list("abcd"), "speaker": ["s1", "s1", "s2", "s2"], "label": list("xyxy")}
    )
    features = type("FS", (), {})()
    if level == "frame":
        features.frames = [np.full((i + 1, 2), i, np.float32) for i in range(4)]
    else:
        features.X = np.arange(8, dtype=np.float32).reshape(4, 2)
    return Dataset(df, ["x", "y"], features)


def _made(level: str) -> list:
    """One factor's copies of rows 0, 2 and 3 of :func:`_dataset` (row 1 has none)."""
    if level == "frame":
        return [[np.full((1, 2), 10 + i, np.float32) for i in (0, 2, 3)]]
    return [np.array([[100, 100], [102, 102], [103, 103]], np.float32)]


@pytest.mark.parametrize("level", ["utterance", "frame"])
def test_copies_training_takes_only_the_given_rows(level):
    dataset = _dataset(level)
    made = _made(level)
    copies = Copies((1.1,), [np.array([0, 2, 3])], made, ["k"])  # row 1 has no copy
    X, y, groups = copies.training(dataset, np.array([0, 1, 3]), level)
    assert list(y) == ["x", "y", "y", "x", "y"]  # real rows 0, 1, 3, then copies of 0 and 3
    assert list(groups) == ["s1", "s1", "s2", "s1", "s2"]
    firsts = [float(x[0, 0]) for x in X] if level == "frame" else list(X[:, 0])
    assert firsts == ([0, 1, 3, 10, 13] if level == "frame" else [0, 2, 6, 100, 103])
    assert copies.missing(4) == 1
    assert "1 copy(ies) that could not be analysed" in copies.statement(4)
    assert copies.key() != Copies((0.9,), [np.array([0, 2, 3])], made, ["k"]).key()


class _MeanModel:
    """predict_proba of a row with first value v (frames: their mean): (v / 200, 1 - v / 200)."""

    classes_ = np.array(["x", "y"])

    def predict_proba(self, X):
        if isinstance(X, np.ndarray):
            v = X[:, 0] / 200.0
        else:
            v = np.array([x[:, 0].mean() for x in X]) / 200.0
        return np.stack([v, 1 - v], axis=1)


@pytest.mark.parametrize("level", ["utterance", "frame"])
def test_test_time_posteriors_average_each_row_with_its_copies(level):
    dataset = _dataset(level)
    made = _made(level)
    model, rows = _MeanModel(), np.array([3, 1, 0])
    plain = Copies((1.1,), [np.array([0, 2, 3])], made, ["k"])
    own = model.predict_proba(dataset.inputs(rows, level))
    assert np.allclose(plain.posteriors(model, dataset, rows, level), own)
    tta = Copies((1.1,), [np.array([0, 2, 3])], made, ["k"], test=True)
    got = tta.posteriors(model, dataset, rows, level)
    copy_of = {3: 13 if level == "frame" else 103, 0: 10 if level == "frame" else 100}
    for i, row in enumerate(rows):
        if int(row) in copy_of:  # the mean of the row's posterior and its copy's
            expected = (own[i] + model.predict_proba(np.array([[copy_of[int(row)], 0.0]])))[0] / 2
            assert np.allclose(got[i], expected)
        else:  # row 1 has no copy: its own posterior
            assert np.allclose(got[i], own[i])
    assert np.allclose(got.sum(axis=1), 1.0)
    assert "mean over the row and its copies" in tta.statement(4)
    assert "never copied" in plain.statement(4)


def test_copies_for_test_time_only_train_on_the_real_rows(demo_manifest, tmp_path):  # noqa: F811
    dataset = _dataset("utterance")
    copies = Copies((1.1,), [np.array([0, 2, 3])], _made("utterance"), ["k"], True, False)
    X, y, groups = copies.training(dataset, np.array([0, 1, 3]), "utterance")
    assert list(X[:, 0]) == [0, 2, 6] and list(y) == ["x", "y", "y"]  # no copy trained on
    assert "test rows only" in copies.statement(4)
    record = tmp_path / "fits.jsonl"
    changes = {
        "perturb": {"speed": [0.8, 1.25], "test": True, "train": False},
        "model.name": "test-recording-logreg",
        "model.params": {"record": str(record)},
    }
    run_dir = experiment.run(make_config(demo_manifest, tmp_path, **changes))
    fits = _fits(record)
    preds = pd.read_parquet(run_dir / "predictions.parquet")
    assert len(fits) == 5 and len(fits[4]["y"]) == len(preds)  # the final model: real rows
    folds = sorted(preds["fold"].unique())
    assert all(fold not in fit["groups"] for fit, fold in zip(fits[:4], folds, strict=True))
    assert sum(len(fit["y"]) for fit in fits[:4]) == 3 * len(preds)  # each row in 3 of 4 folds
    from serkit.inference import Predictor

    assert [v.speed for v in Predictor.from_path(run_dir).views] == [1.0, 0.8, 1.25]
    both_off = {"perturb": {"speed": [0.8], "test": False, "train": False}}
    with pytest.raises(ConfigError, match="perturb.train and perturb.test are both false"):
        experiment.validate_config(make_config(demo_manifest, tmp_path, **both_off))
    bad = {"perturb": {"speed": [0.8], "test": True, "train": "no"}}
    with pytest.raises(ConfigError, match="perturb.train must be true"):
        experiment.validate_config(make_config(demo_manifest, tmp_path, **bad))
    on = experiment.validate_config(
        make_config(demo_manifest, tmp_path, **{"perturb": {"speed": [0.8], "train": True}})
    )
    plain = experiment.validate_config(
        make_config(demo_manifest, tmp_path, **{"perturb.speed": [0.8]})
    )
    assert fingerprint(on) == fingerprint(plain)


def test_run_with_test_time_copies_predicts_their_mean(demo_manifest, tmp_path):  # noqa: F811
    base = {"perturb.speed": [0.8, 1.25]}
    plain = experiment.run(make_config(demo_manifest, tmp_path, **base, name="plain"))
    tta_cfg = make_config(demo_manifest, tmp_path, **base, **{"perturb.test": True}, name="tta")
    tta = experiment.run(tta_cfg)
    a = pd.read_parquet(plain / "predictions.parquet").set_index("id")
    b = pd.read_parquet(tta / "predictions.parquet").set_index("id").loc[a.index]
    probs = [c for c in a.columns if c.startswith("prob_")]
    assert not np.allclose(a[probs].to_numpy(), b[probs].to_numpy())  # the copies count
    assert np.allclose(b[probs].sum(axis=1), 1.0)
    assert (b["pred"] == b[probs].idxmax(axis=1).str.removeprefix("prob_")).all()
    info = json.loads((tta / "dataset.json").read_text())
    assert "mean over the row and its copies" in info["certification"]["statement"]
    plain_cfg = experiment.validate_config(make_config(demo_manifest, tmp_path, **base))
    off = experiment.validate_config(
        make_config(demo_manifest, tmp_path, **base, **{"perturb.test": False})
    )
    assert fingerprint(off) == fingerprint(plain_cfg)  # runs before `test` keep their folds
    assert fingerprint(experiment.validate_config(tta_cfg)) != fingerprint(plain_cfg)
    with pytest.raises(ConfigError, match="perturb.test must be true"):
        experiment.validate_config(
            make_config(demo_manifest, tmp_path, **base, **{"perturb.test": "yes"})
        )


def _fits(record) -> list[dict]:
    return [json.loads(line) for line in record.read_text().splitlines()]


def test_run_trains_on_copies_and_predicts_real_rows(demo_manifest, tmp_path):  # noqa: F811
    record = tmp_path / "fits.jsonl"
    changes = {
        "perturb.speed": [0.8, 1.25],
        "model.name": "test-recording-logreg",
        "model.params": {"record": str(record)},
    }
    lines: list[str] = []
    run_dir = experiment.run(make_config(demo_manifest, tmp_path, **changes), log=lines.append)
    fits = _fits(record)
    preds = pd.read_parquet(run_dir / "predictions.parquet")
    assert len(fits) == 4 + 1  # four LOSO folds and the final model
    for fit, fold in zip(fits[:4], sorted(preds["fold"].unique()), strict=True):
        n = len(fit["y"]) // 3  # every training row and its two copies
        assert len(fit["y"]) == 3 * n and fold not in fit["groups"]
        durations = np.array(fit["X"])[:, 3]  # test-tone-stats: duration in s
        real = durations[:n]
        assert np.allclose(durations[n : 2 * n], real / 0.8, atol=2e-3)
        assert np.allclose(durations[2 * n :], real / 1.25, atol=2e-3)
        assert fit["y"][n : 2 * n] == fit["y"][:n] and fit["groups"][2 * n :] == fit["groups"][:n]
    assert len(fits[4]["y"]) == 3 * len(preds)
    assert len(preds) == 56 and preds["id"].is_unique  # the real rows, once each
    info = json.loads((run_dir / "dataset.json").read_text())
    assert info["perturb"]["speed"] == [0.8, 1.25] and info["perturb"]["left_out"] == 0
    assert "test rows are never copied" in info["certification"]["statement"]
    assert any(line.startswith("perturb: speed copies x0.8, 1.25") for line in lines)
    cfg = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert cfg["perturb"] == {"speed": [0.8, 1.25], "test": False, "train": True}
    folders = sorted(p.name for p in (tmp_path / "features").iterdir() if p.is_dir())
    assert len([f for f in folders if f.startswith("test-tone-stats-")]) == 3  # real + 2 speeds

    experiment.run(make_config(demo_manifest, tmp_path, **changes), log=lines.append)
    assert len(_fits(record)) == 5  # every fold and the final model cached


def test_copies_too_short_to_analyse_are_left_out_and_counted(
    demo_manifest, tmp_path  # noqa: F811
):
    from serkit import manifest as manifest_io

    shortest = float(manifest_io.read(demo_manifest)["duration"].min())
    record = tmp_path / "fits.jsonl"
    changes = {
        "perturb.speed": [2.0],
        "features.min_duration_s": round(shortest * 0.9, 3),  # real rows pass, fast copies fail
        "model.name": "test-recording-logreg",
        "model.params": {"record": str(record)},
    }
    run_dir = experiment.run(make_config(demo_manifest, tmp_path, **changes))
    info = json.loads((run_dir / "dataset.json").read_text())
    left_out = info["perturb"]["left_out"]
    assert 0 < left_out <= 56 and info["perturb"]["copies"]["2"] == 56 - left_out
    assert f"{left_out} copy(ies) that could not be analysed" in info["perturb"]["statement"]
    assert len(_fits(record)[-1]["y"]) == 56 + 56 - left_out


@pytest.mark.parametrize("validation", [None, {"fraction": 0.3}])
def test_frame_level_neural_run_with_copies(demo_manifest, tmp_path, validation):  # noqa: F811
    from serkit.models.nets import net_test_params

    changes = {
        "perturb.speed": [1.1],
        "features.name": "test-tone-frames",
        "model.name": "neural",
        "model.params": {
            "net_params": net_test_params("cnn-attn"),
            "epochs": 1,
            "val_fraction": 0.3,
            "device": "cpu",
        },
        "final_model": False,
    }
    if validation is not None:
        changes["validation"] = validation
    run_dir = experiment.run(make_config(demo_manifest, tmp_path, **changes))
    preds = pd.read_parquet(run_dir / "predictions.parquet")
    assert len(preds) == 56 and preds["id"].is_unique
    info = json.loads((run_dir / "dataset.json").read_text())
    assert info["perturb"]["copies"] == {"1.1": 56}
    for fold in info["folds"]:  # one copy of every training row; validation rows stay real
        assert fold["n_copies"] == fold["n_train"] > 0
        assert (fold["n_val"] > 0) == (validation is not None)


def test_tune_dev_test_fits_on_kept_rows_and_their_copies_only(
    demo_manifest, tmp_path, monkeypatch  # noqa: F811
):
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import tune_seed_models as tune

    record = tmp_path / "fits.jsonl"
    changes = {"model.name": "test-recording-logreg", "model.params": {"record": str(record)}}
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(make_config(demo_manifest, tmp_path, **changes)))
    request = tune._request(str(config), ["perturb.speed=[1.25]"], 0, 0, dev_test=1)
    result = tune.score_variant(request)
    (fit,) = _fits(record)
    n = result["n_train_rows"]
    assert result["n_copies"] == n and len(fit["y"]) == 2 * n  # each kept row and its copy
    durations = np.array(fit["X"])[:, 3]
    assert np.allclose(durations[n:], durations[:n] / 1.25, atol=2e-3)
    held = {*result["dropped_test_speakers"], *result["dev_test_speakers"]}
    assert len(held) == 2 and not held & set(fit["groups"])  # neither, real or copied
    assert 0 <= result["dev_test_uar"] <= 1 and "dev_test_uar_one_view" not in result
    record.unlink()
    test_only = ["perturb={speed: [0.8, 1.25], test: true, train: false}"]
    result = tune.score_variant(tune._request(str(config), test_only, 0, 0, dev_test=1))
    (fit,) = _fits(record)
    assert len(fit["y"]) == result["n_train_rows"]  # the real rows only
    assert 0 <= result["dev_test_uar_one_view"] <= 1 and 0 <= result["dev_test_uar"] <= 1
