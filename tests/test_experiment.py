"""End-to-end experiment runs on a tiny synthetic corpus: folders, metrics, resume, search."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import shared_corpus
from serkit import experiment
from serkit.errors import ConfigError, ProtocolError
from serkit.features.base import Extractor, ExtractorConfig, register_extractor
from serkit.models import register_model
from serkit.models.classic import LogRegClassifier

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@register_extractor
class ToneStats(Extractor):
    """Test extractor: log energy, zero-crossing rate and spectral centroid of a signal."""

    name = "test-tone-stats"
    level = "utterance"
    Config = ExtractorConfig

    def compute(self, signal: np.ndarray) -> np.ndarray:
        spectrum = np.abs(np.fft.rfft(signal)) + 1e-9
        freqs = np.fft.rfftfreq(len(signal), 1 / self.sample_rate)
        centroid = float((freqs * spectrum).sum() / spectrum.sum())
        zcr = float(np.mean(np.abs(np.diff(np.sign(signal))) > 0))
        energy = float(np.log(np.mean(signal**2) + 1e-9))
        return np.array([energy, zcr, centroid / 1000.0, len(signal) / self.sample_rate])


@register_extractor
class ToneFrames(Extractor):
    """Test frame-level extractor (for the level-mismatch error)."""

    name = "test-tone-frames"
    level = "frame"
    Config = ExtractorConfig

    def compute(self, signal: np.ndarray) -> np.ndarray:
        n = len(signal) // 400
        return signal[: n * 400].reshape(n, 400)[:, :4].astype(np.float32)


@register_model("test-counting-logreg")
class CountingLogReg(LogRegClassifier):
    """Logistic regression that appends a line to ``counter`` on every fit (and may sleep)."""

    def __init__(
        self, C=1.0, class_weight="balanced", max_iter=2000, seed=0, counter="", sleep=0.0
    ):
        super().__init__(C=C, class_weight=class_weight, max_iter=max_iter, seed=seed)
        self.counter = counter
        self.sleep = sleep

    def fit(self, X, y, groups=None):
        if self.counter:
            with open(self.counter, "a") as handle:
                handle.write(f"{len(y)}\n")
        time.sleep(self.sleep)
        return super().fit(X, y, groups)


@register_model("test-summarising-logreg")
class SummarisingLogReg(LogRegClassifier):
    """Logistic regression that keeps a ``fit_summary_`` as the two-stage seed models do."""

    def fit(self, X, y, groups=None):
        super().fit(X, y, groups)
        self.fit_summary_ = {"decision": "blstm", "decision_scores": {"blstm": len(y) / 100}}
        return self


@pytest.fixture(scope="module")
def demo_manifest(tmp_path_factory) -> Path:
    """The synthetic demo corpus (4 speakers, 4 emotions) prepared as a manifest."""
    from serkit.corpora import prepare
    from serkit.demo import make_corpus

    root = tmp_path_factory.mktemp("demo")
    make_corpus(
        root / "corpus",
        speakers=4,
        sentences=1,
        repetitions=2,
        emotions=("neutral", "happy", "sad", "angry"),
        seed=0,
    )
    prepare("ravdess", root / "corpus", output=root / "manifests")
    return root / "manifests" / "ravdess.parquet"


def make_config(manifest: Path, tmp: Path, **changes) -> dict:
    cfg = {
        "name": "tiny",
        "data": {"manifests": [str(manifest)], "label_set": "four_class"},
        "features": {"name": "test-tone-stats", "store": str(tmp / "features")},
        "model": {"name": "logreg"},
        "protocol": {"name": "loso"},
        "seeds": [0],
        "output": str(tmp / "runs"),
        "bootstrap": {"reps": 200},
    }
    for key, value in changes.items():
        node = cfg
        *parents, last = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return cfg


def test_end_to_end_run_folder(demo_manifest, tmp_path):
    lines = []
    run_dir = experiment.run(make_config(demo_manifest, tmp_path), log=lines.append)
    assert run_dir == tmp_path / "runs" / "tiny"
    for name in (
        "config.yaml",
        "folds.csv",
        "predictions.parquet",
        "metrics.json",
        "dataset.json",
        "report.md",
        "report.html",
        "model/model.json",
    ):
        assert (run_dir / name).exists(), name
    preds = pd.read_parquet(run_dir / "predictions.parquet")
    assert len(preds) == 56 and preds["id"].is_unique
    assert {"id", "fold", "seed", "speaker", "corpus", "true", "pred"} <= set(preds.columns)
    probs = preds[[f"prob_{c}" for c in ("neutral", "happy", "sad", "angry")]].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)
    # each test speaker's rows are only in its own fold
    assert (preds["fold"] == preds["speaker"]).all()
    folds = pd.read_csv(run_dir / "folds.csv")
    test_rows = folds[folds["role"] == "test"]
    assert test_rows["id"].is_unique and len(test_rows) == 56
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["n_folds"] == 4 and metrics["classes"] == ["neutral", "happy", "sad", "angry"]
    assert 0.0 <= metrics["pooled"]["uar"] <= 1.0
    cfg = yaml.safe_load((run_dir / "config.yaml").read_text())
    prov = cfg["provenance"]
    assert prov["versions"]["numpy"] and prov["versions"]["scikit-learn"]
    assert "git_revision" in prov and "command" in prov and cfg["seeds"] == [0]
    report = (run_dir / "report.md").read_text()
    assert "speaker" in report and "4 fold(s)" in report
    html = (run_dir / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 2 and "<style>" in html
    assert any("UAR" in line for line in lines)
    # the stored config re-validates, and evaluate recomputes the same metrics
    experiment.validate_config(cfg)
    assert experiment.evaluate(run_dir, write=False) == metrics
    # the final model predicts with the stored extractor config
    from serkit.models.package import load_model

    model, meta = load_model(run_dir / "model")
    assert meta["extra"]["frontend"]["extractor"]["name"] == "test-tone-stats"
    assert list(meta["extra"]["classes"]) == metrics["classes"]


def test_fit_summary_reaches_history_and_report(demo_manifest, tmp_path):
    cfg = make_config(demo_manifest, tmp_path, **{"model.name": "test-summarising-logreg"})
    cfg["final_model"] = False
    run_dir = experiment.run(cfg)
    entries = json.loads((run_dir / "history.json").read_text())
    assert len(entries) == 4  # one per LOSO fold, although the model keeps no epoch history
    for entry in entries:
        assert entry["history"] == []
        assert entry["fit_summary"] == {"decision": "blstm", "decision_scores": {"blstm": 0.42}}
    assert "decision blstm; val UAR blstm 42.0" in (run_dir / "report.md").read_text()


def test_resume_after_kill(demo_manifest, tmp_path):
    """Kill a run after its first fold; the re-run must not recompute that fold."""
    counter = tmp_path / "fits.txt"
    cfg = make_config(
        demo_manifest,
        tmp_path,
        **{
            "model.name": "test-counting-logreg",
            "model.params": {"counter": str(counter), "sleep": 1.5},
        },
    )
    cfg_path = tmp_path / "cfg.json"
    cfg_path.write_text(json.dumps(cfg))
    script = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import test_experiment; "
        "from serkit import experiment; "
        "experiment.run(json.load(open(sys.argv[2])))"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(Path(__file__).parent), str(cfg_path)], env=env
    )
    partial = tmp_path / "runs" / "tiny" / "partial"
    try:
        deadline = time.time() + 120
        while not list(partial.glob("seed0__*.parquet")):
            assert proc.poll() is None, "the run ended before its first fold"
            assert time.time() < deadline, "no fold finished in time"
            time.sleep(0.05)
        proc.kill()
    finally:
        proc.wait()
    done = sorted(partial.glob("seed0__*.parquet"))
    assert 1 <= len(done) < 4
    first = {p.name: (p.stat().st_mtime_ns, p.with_suffix(".json").read_text()) for p in done}
    assert not (tmp_path / "runs" / "tiny" / "metrics.json").exists()
    fits_before = len(counter.read_text().splitlines())

    cfg["model"]["params"]["sleep"] = 0.0  # not part of results: the fingerprint must differ
    with pytest.raises(ConfigError, match="different config"):
        experiment.run(cfg)
    cfg["model"]["params"]["sleep"] = 1.5
    lines = []
    run_dir = experiment.run(cfg, log=lines.append)
    assert sum("cached" in line for line in lines) >= len(done)
    for p in done:  # the finished folds were read back, not recomputed
        assert (p.stat().st_mtime_ns, p.with_suffix(".json").read_text()) == first[p.name]
    fits_after = len(counter.read_text().splitlines())
    assert fits_after - fits_before == (4 - len(done)) + 1  # remaining folds + final model
    assert len(pd.read_parquet(run_dir / "predictions.parquet")) == 56


def test_seeds_speaker_kfold_and_stop_after(demo_manifest, tmp_path):
    cfg = make_config(
        demo_manifest,
        tmp_path,
        **{
            "protocol": {"name": "speaker-kfold", "params": {"k": 2}},
            "seeds": [0, 1],
            "final_model": False,
        },
    )
    run_dir = experiment.run(cfg, stop_after=1)
    assert not (run_dir / "metrics.json").exists()
    run_dir = experiment.run(cfg)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert len(metrics["seeds"]["per_seed"]) == 2 and len(metrics["per_fold"]) == 4
    folds = pd.read_csv(run_dir / "folds.csv")
    assert set(folds["seed"]) == {0, 1}
    assert not (run_dir / "model").exists()
    # adding a seed reuses the finished folds of the earlier seeds
    lines = []
    experiment.run({**cfg, "seeds": [0, 1, 2]}, log=lines.append)
    assert sum("cached" in line for line in lines) == 4
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert len(metrics["seeds"]["per_seed"]) == 3
    # dropping seeds reads their folds back, computes nothing and keeps the other seeds' files
    lines = []
    experiment.run({**cfg, "seeds": [0, 2]}, log=lines.append)
    assert sum("(cached)" in line for line in lines) == 4
    per_seed = json.loads((run_dir / "metrics.json").read_text())["seeds"]["per_seed"]
    assert [s["seed"] for s in per_seed] == [0, 2]
    assert len(list((run_dir / "partial").glob("seed1__*.parquet"))) == 2


def test_nested_search_uses_training_rows_only(demo_manifest, tmp_path):
    counter = tmp_path / "fits.txt"
    cfg = make_config(
        demo_manifest,
        tmp_path,
        **{
            "model": {"name": "test-counting-logreg", "params": {"counter": str(counter)}},
            "search": {
                "param_grid": {"C": [0.01, 10.0]},
                "inner": {"name": "loso"},
                "metric": "uar",
            },
            "final_model": False,
        },
    )
    run_dir = experiment.run(cfg)
    sizes = [int(n) for n in counter.read_text().split()]
    # per outer fold (42 training rows, 3 speakers): 2 grid points x 3 inner folds on 28 rows,
    # then the refit on all 42 training rows; never on the outer test speaker's rows
    assert sizes == ([28] * 6 + [42]) * 4
    info = json.loads((run_dir / "dataset.json").read_text())
    assert len(info["search"]) == 4
    assert all(s["best_params"]["C"] in (0.01, 10.0) for s in info["search"])
    for entry in info["search"]:  # every grid point's inner-fold mean, the best one chosen
        assert [r["params"] for r in entry["inner"]] == [{"C": 0.01}, {"C": 10.0}]
        best = max(entry["inner"], key=lambda r: r["mean"])  # the first of equal means
        assert entry["best_params"] == best["params"]
    report = (run_dir / "report.md").read_text()
    assert "Nested hyper-parameter search" in report
    first = info["search"][0]["inner"][0]["mean"]
    assert f"C=0.01: {100 * first:.1f}" in report
    assert "Nested hyper-parameter search" in (run_dir / "report.html").read_text()


def test_frame_features_for_utterance_model_is_a_config_error(demo_manifest, tmp_path):
    cfg = make_config(demo_manifest, tmp_path, **{"features.name": "test-tone-frames"})
    with pytest.raises(ConfigError, match="frame-level"):
        experiment.run(cfg)


def test_speaker_dependent_needs_permission_and_is_labelled(demo_manifest, tmp_path):
    cfg = make_config(
        demo_manifest,
        tmp_path,
        **{
            "protocol": {"name": "speaker-dependent", "params": {"k": 2}},
            "final_model": False,
        },
    )
    with pytest.raises(ConfigError, match="allow_speaker_dependent"):
        experiment.validate_config(cfg)
    cfg["allow_speaker_dependent"] = True
    run_dir = experiment.run(cfg)
    assert "NOT speaker-independent" in (run_dir / "report.md").read_text()
    cfg["protocol"]["disjoint"] = ["speaker"]
    with pytest.raises(ConfigError, match="disjoint"):
        experiment.validate_config(cfg)


def test_text_disjointness_is_checked(demo_manifest, tmp_path):
    cfg = make_config(demo_manifest, tmp_path, **{"protocol.disjoint": ["speaker", "text"]})
    with pytest.raises(ProtocolError, match="text"):
        experiment.plan(cfg)


def test_plan_dry_run(demo_manifest, tmp_path):
    info = experiment.plan(make_config(demo_manifest, tmp_path))
    assert info["rows"] == 56 and len(info["folds"][0]) == 4
    assert info["certification"]["speaker_independent"]
    assert not (tmp_path / "runs").exists() and not (tmp_path / "features").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"modle": {"name": "svm"}}, "did you mean model"),
        ({"data": {"manifests": []}}, "data.manifests"),
        ({"data": {"manifests": ["m.parquet"], "label_set": "nope"}}, "label set"),
        ({"features": {"name": "egemaps", "stor": "x"}}, "features.store"),
        ({"seeds": [0, "a"]}, "seeds"),
        ({"workers": 0}, "workers"),
        ({"protocol": {"name": "loso", "disjoint": ["gender"]}}, "protocol.disjoint"),
        ({"search": {"param_grid": {"C": 1}}}, "search.param_grid.C"),
        ({"validation": {"fraction": 1.5}}, "validation.fraction"),
    ],
)
def test_config_errors_name_the_key(change, message):
    cfg = {
        "name": "x",
        "data": {"manifests": ["m.parquet"]},
        "features": {"name": "egemaps"},
        "model": {"name": "svm"},
        **change,
    }
    with pytest.raises((ConfigError, KeyError), match=message):
        experiment.validate_config(cfg)


def test_missing_required_key():
    with pytest.raises(ConfigError, match="'model' is required"):
        experiment.validate_config(
            {"name": "x", "data": {"manifests": ["m"]}, "features": {"name": "egemaps"}}
        )


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_example_configs_validate(path):
    from serkit.config import load
    from serkit.experiment import recipe
    from serkit.features import get_extractor
    from serkit.models import get_model
    from serkit.protocols import get_protocol

    if recipe.is_recipe(load(path)):  # a fusion recipe: every member config, on its protocol
        spec = recipe.load_recipe(path)
        configs = recipe.member_configs(spec)
        assert spec["name"] == path.stem and len(configs) >= 2
    else:
        pretrained = load(path)["model"]["params"].get("net_params", {}).get("pretrained_path")
        overrides = []
        if pretrained:  # a pretrain run of a shipped pretrain config (not there before it runs)
            assert pretrained.startswith("runs/"), pretrained
            assert (CONFIGS / "pretrain" / f"{pretrained[len('runs/') :]}.yaml").is_file()
            overrides = ["model.params.net_params.pretrained_path=null"]
        configs = [experiment.load_config(path, overrides)]
        assert configs[0]["name"] == path.stem
    for cfg in configs:
        get_extractor(cfg["features"]["name"], **cfg["features"]["params"])
        get_model(cfg["model"]["name"], **cfg["model"]["params"])
        get_protocol(cfg["protocol"]["name"], **cfg["protocol"]["params"])


def test_example_configs_exist():
    names = {p.stem for p in CONFIGS.glob("*.yaml")}
    assert {
        "demo_egemaps_svm",
        "ravdess_egemaps_svm",
        "ravdess_compare_svm",
        "turev_egemaps_svm",
        "turev_compare_svm",
    } <= names


def test_official_split_with_validation_rows(demo_manifest, tmp_path):
    from serkit import manifest

    df = manifest.read(demo_manifest)
    actor = df["speaker"].str.slice(-2)
    df["split"] = actor.map({"01": "train", "02": "train", "03": "dev", "04": "test"})
    path = manifest.write(df, tmp_path / "split.parquet")
    cfg = make_config(path, tmp_path, **{"protocol": {"name": "official"}, "final_model": False})
    run_dir = experiment.run(cfg)
    preds = pd.read_parquet(run_dir / "predictions.parquet")
    assert set(preds["speaker"]) == {"ravdess/Actor_04"} and len(preds) == 14
    folds = pd.read_csv(run_dir / "folds.csv")
    assert folds.groupby("role").size().to_dict() == {"test": 14, "train": 28, "val": 14}
    assert "14 of 56 rows are test rows" in (run_dir / "report.md").read_text()


def test_validation_key_needs_a_model_taking_val_index(demo_manifest, tmp_path):
    cfg = make_config(demo_manifest, tmp_path, **{"validation": {"fraction": 0.3}})
    with pytest.raises(ConfigError, match="val_index"):
        experiment.run(cfg)


@pytest.mark.realdata
def test_plan_on_real_ravdess(tmp_path, monkeypatch):
    """Certify LOSO on the real RAVDESS manifest (no feature extraction)."""
    from serkit.corpora import prepare

    root = shared_corpus("ravdess")
    prepare("ravdess", root, output=tmp_path / "manifests")
    monkeypatch.chdir(tmp_path)
    cfg = experiment.load_config(CONFIGS / "ravdess_egemaps_svm.yaml")
    info = experiment.plan(cfg)
    assert info["rows"] == 1440 and info["speakers"] == 24 and len(info["folds"][0]) == 24
    assert info["per_class"]["neutral"] == 96 and info["per_class"]["calm"] == 192
    assert info["certification"]["complete"]
    cfg["protocol"]["disjoint"] = ["speaker", "text"]  # both statements are said by everyone
    with pytest.raises(ProtocolError, match="text"):
        experiment.plan(cfg)


def test_tuning_script_scores_validation_speakers_only(demo_manifest, tmp_path):
    import importlib.util

    from serkit.models.nets import net_test_params

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "tune_seed_models.py"
    spec = importlib.util.spec_from_file_location("tune_seed_models", path)
    tune = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tune)
    cfg = make_config(
        demo_manifest,
        tmp_path,
        **{
            "features.name": "test-tone-frames",
            "model.name": "neural",
            "model.params": {
                "net_params": net_test_params("cnn-attn"),
                "epochs": 2,
                "val_fraction": 0.3,
                "device": "cpu",
            },
        },
    )
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(cfg))
    assert tune.parse_variant("lr:model.params.lr=0.01,seeds=[1,2]") == (
        "lr",
        ["model.params.lr=0.01", "seeds=[1,2]"],
    )
    assert tune.parse_variant("as_is:") == ("as_is", [])
    result = tune.score_variant(
        tune._request(str(tmp_path / "cfg.yaml"), ["model.params.lr=0.01"], 1, 0)
    )
    # LOSO fold 1 drops one of the 4 speakers; the model validates on one of the other three
    assert len(result["dropped_test_speakers"]) == 1 and result["n_train_rows"] == 42
    assert "speaker-disjoint: 1 of 3 speakers" in result["val_split"]
    assert 0 <= result["val_uar"] <= 1 and result["epochs_run"] == 2
    assert "| lr |" not in tune.table({"x": result}) and "| x |" in tune.table({"x": result})
    # --dev-test 1: one more of the three training speakers is held out and predicted
    dev = tune.score_variant(tune._request(str(tmp_path / "cfg.yaml"), [], 1, 0, dev_test=1))
    assert len(dev["dev_test_speakers"]) == 1 and dev["n_train_rows"] < result["n_train_rows"]
    assert not set(dev["dev_test_speakers"]) & set(dev["dropped_test_speakers"])
    assert 0 <= dev["dev_test_uar"] <= 1 and 0 <= dev["dev_test_wa"] <= 1
