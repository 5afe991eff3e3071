"""Late fusion of runs: the pure pieces (seed ensemble, weighted log-posterior mean, weights)
and ``serkit fuse`` end to end on runs trained on the synthetic demo corpus."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from serkit.cli import app
from serkit.errors import ConfigError
from serkit.experiment.fuse import check_weights, fuse_posteriors, seed_ensemble

CLASSES = ["a", "b", "c"]


def predictions(n: int = 6, seeds: tuple[int, ...] = (0,), rng_seed: int = 0) -> pd.DataFrame:
    """A run's predictions: ``n`` rows per seed, random posteriors over ``CLASSES``."""
    rng = np.random.default_rng(rng_seed)
    rows = []
    for seed in seeds:
        probs = rng.dirichlet(np.ones(len(CLASSES)), size=n)
        for i in range(n):
            rows.append(
                {
                    "id": f"r{i}",
                    "fold": f"fold{i % 2}",
                    "seed": seed,
                    "speaker": f"s{i % 3}",
                    "corpus": "demo",
                    "true": CLASSES[i % 3],
                    "pred": CLASSES[int(probs[i].argmax())],
                    **{f"prob_{c}": probs[i, k] for k, c in enumerate(CLASSES)},
                }
            )
    return pd.DataFrame(rows)


def probs_of(frame: pd.DataFrame) -> np.ndarray:
    return frame.sort_values("id")[[f"prob_{c}" for c in CLASSES]].to_numpy()


def test_one_member_of_one_seed_is_returned_unchanged():
    p = predictions()
    fused = fuse_posteriors([seed_ensemble(p, CLASSES, "x")], CLASSES, [1.0])
    np.testing.assert_allclose(probs_of(fused), probs_of(p), rtol=1e-6)
    assert (fused.sort_values("id")["pred"].to_numpy() == p.sort_values("id")["pred"]).all()


def test_seed_ensemble_is_the_normalised_geometric_mean():
    p = predictions(seeds=(0, 1, 2))
    fused = fuse_posteriors([seed_ensemble(p, CLASSES, "x")], CLASSES, [1.0])
    cube = np.stack([probs_of(p[p["seed"] == s]) for s in (0, 1, 2)])
    expected = np.exp(np.log(cube).mean(axis=0))
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(probs_of(fused), expected, rtol=1e-6)
    assert set(fused["seed"]) == {0} and len(fused) == 6


@pytest.mark.parametrize("rng_seed", range(5))
def test_weights_property(rng_seed):
    a = seed_ensemble(predictions(rng_seed=rng_seed), CLASSES, "a")
    b = seed_ensemble(predictions(rng_seed=rng_seed + 100), CLASSES, "b")
    only_a = fuse_posteriors([a, b], CLASSES, [1, 0])
    np.testing.assert_allclose(probs_of(only_a), probs_of(a))
    # weights are relative and the member order does not matter
    np.testing.assert_allclose(
        probs_of(fuse_posteriors([a, b], CLASSES, [2, 6])),
        probs_of(fuse_posteriors([b, a], CLASSES, [3, 1])),
    )
    fused = fuse_posteriors([a, b], CLASSES, [1, 1])
    np.testing.assert_allclose(probs_of(fused).sum(axis=1), 1.0)
    assert (fused["pred"] == np.asarray(CLASSES)[probs_of(fused).argmax(axis=1)]).all()


def test_a_zero_posterior_is_floored_not_a_veto():
    p = predictions(n=1)
    p.loc[0, ["prob_a", "prob_b", "prob_c"]] = [0.0, 0.5, 0.5]
    q = p.copy()
    q.loc[0, ["prob_a", "prob_b", "prob_c"]] = [1.0, 0.0, 0.0]
    fused = fuse_posteriors(
        [seed_ensemble(p, CLASSES, "p"), seed_ensemble(q, CLASSES, "q")], CLASSES, [1, 1]
    )
    assert np.isfinite(probs_of(fused)).all()


@pytest.mark.parametrize(
    "weights, message",
    [
        ([1.0], r"1 weight\(s\) for 2 run\(s\)"),
        ([1, -1], ">= 0"),
        ([0, 0], "not all 0"),
        ([1, float("nan")], "finite"),
    ],
)
def test_bad_weights_are_refused(weights, message):
    with pytest.raises(ConfigError, match=message):
        check_weights(weights, 2)


def test_equal_weights_by_default():
    assert check_weights(None, 3) == [1.0, 1.0, 1.0]


CONFIG = """\
name: {name}
data: {{manifests: [demo/manifests/ravdess.parquet], label_set: four_class}}
features: {{name: {features}, store: features/}}
model: {{name: logreg, params: {{C: 1.0}}}}
protocol: {{name: loso}}
seeds: {seeds}
bootstrap: {{reps: 50}}
final_model: false
"""


@pytest.fixture
def two_runs(tmp_path, monkeypatch):
    """Two finished runs on the demo corpus (MFCC and log-mel statistics; the second with two
    seeds) in ``runs/``."""
    from serkit import experiment
    from serkit.corpora import prepare
    from serkit.demo import make_corpus

    corpus = tmp_path / "demo" / "corpus"
    make_corpus(
        corpus,
        speakers=3,
        sentences=1,
        repetitions=1,
        emotions=("neutral", "happy", "sad", "angry"),
        seed=1,
    )
    prepare("ravdess", corpus, output=tmp_path / "demo" / "manifests")
    monkeypatch.chdir(tmp_path)
    runs = []
    for name, features, seeds in (("mfcc", "mfcc-stats", "[0]"), ("mel", "logmel-stats", "[0, 1]")):
        path = tmp_path / f"{name}.yaml"
        path.write_text(CONFIG.format(name=name, features=features, seeds=seeds))
        runs.append(experiment.run(experiment.load_config(path)))
    return tmp_path, runs


def test_fuse_cli_writes_a_run_folder_that_evaluate_and_compare_read(two_runs):
    from serkit import experiment

    root, (mfcc, mel) = two_runs
    runner = CliRunner()
    result = runner.invoke(app, ["fuse", str(mfcc), str(mel), "-o", "runs/fused"])
    assert result.exit_code == 0, result.output
    assert "fused mfcc (weight 1, seeds [0]), mel (weight 1, seeds [0, 1])" in result.output
    fused = root / "runs" / "fused"
    for name in (
        "config.yaml",
        "folds.csv",
        "dataset.json",
        "predictions.parquet",
        "metrics.json",
        "report.md",
        "report.html",
    ):
        assert (fused / name).is_file(), name
    stored = json.loads((fused / "metrics.json").read_text())
    assert experiment.evaluate(fused, write=False)["pooled"] == stored["pooled"]
    assert stored["n_predictions"] == 21 and stored["n_folds"] == 3
    dataset = json.loads((fused / "dataset.json").read_text())
    assert dataset["certification"]["speaker_independent"] is True
    assert "checked to be identical" in dataset["certification"]["statement"]
    assert "late-fusion" in (fused / "report.md").read_text()
    rows = experiment.compare([fused, mfcc])
    assert rows[0]["model"] == "late-fusion" and rows[0]["features"] == "mfcc-stats+logmel-stats"

    # weight 0 on the second run: the first run's own predictions
    result = runner.invoke(
        app, ["fuse", str(mfcc), str(mel), "-o", "runs/only_mfcc", "--weight", "1", "--weight", "0"]
    )
    assert result.exit_code == 0, result.output
    only = pd.read_parquet(root / "runs" / "only_mfcc" / "predictions.parquet").sort_values("id")
    own = pd.read_parquet(mfcc / "predictions.parquet").sort_values("id")
    assert (only["pred"].to_numpy() == own["pred"].to_numpy()).all()
    probs = [c for c in own.columns if c.startswith("prob_")]
    np.testing.assert_allclose(only[probs].to_numpy(), own[probs].to_numpy(), atol=1e-6)

    # one run of two seeds: its seed ensemble
    result = runner.invoke(app, ["fuse", str(mel), "-o", "runs/mel_ensemble"])
    assert result.exit_code == 0, result.output
    assert "seeds [0, 1]" in result.output


RECIPE = """\
name: recipe
protocol: {name: speaker-kfold, params: {k: 3, seed: 0}, disjoint: [speaker]}
fuse:
  members:
    - mfcc.yaml
    - {config: mel.yaml, overrides: ["seeds=[0]"]}
  weights: [2, 1]
"""


def test_a_recipe_trains_its_members_on_its_protocol_and_fuses_them(two_runs):
    root, _ = two_runs
    (root / "recipe.yaml").write_text(RECIPE)
    runner = CliRunner()
    result = runner.invoke(app, ["train", "recipe.yaml", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "member ok: recipe--mfcc" in result.output and "weights: [2.0, 1.0]" in result.output
    assert not (root / "runs" / "recipe").exists()

    result = runner.invoke(app, ["train", "recipe.yaml"])
    assert result.exit_code == 0, result.output
    fused = root / "runs" / "recipe"
    config = (fused / "config.yaml").read_text()
    assert "recipe--mfcc" in config and "recipe--mel" in config and "speaker-kfold" in config
    for member in ("recipe--mfcc", "recipe--mel"):
        assert "speaker-kfold" in (root / "runs" / member / "config.yaml").read_text()
    metrics = json.loads((fused / "metrics.json").read_text())
    assert metrics["n_predictions"] == 21 and metrics["n_folds"] == 3

    # run again: the members are finished and only the fusion is rewritten
    result = runner.invoke(app, ["train", "recipe.yaml"])
    assert result.exit_code == 0, result.output
    assert json.loads((fused / "metrics.json").read_text())["pooled"] == metrics["pooled"]
