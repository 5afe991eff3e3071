"""NeuralClassifier: learning, validation split, normalisation, batching, sklearn contract."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from serkit.errors import ConfigError
from serkit.models import get_model
from serkit.models.neural import NeuralClassifier, balanced_weights, validation_split

from ._synth import frames

SMALL = {"channels": 12, "blocks": 2, "attention_dim": 8, "dropout": 0.0}


def small(**params) -> NeuralClassifier:
    base = {"net_params": SMALL, "epochs": 6, "batch_size": 8, "lr": 3e-3, "device": "cpu"}
    return get_model("neural", **{**base, **params})


def test_learns_and_records_history():
    X, y, groups = frames()
    model = small().fit(X, y, groups)
    assert model.input_level == "frame"
    assert list(model.classes_) == ["c0", "c1", "c2"]
    assert (model.predict(X) == y).mean() >= 0.8
    keys = {"epoch", "train_loss", "val_loss", "val_uar", "lr", "seconds", "val_split"}
    assert all(keys <= set(entry) for entry in model.history_)
    assert [e["epoch"] for e in model.history_] == list(range(1, len(model.history_) + 1))
    assert model.history_[-1]["train_loss"] < model.history_[0]["train_loss"]
    assert model.val_split_.startswith("speaker-disjoint")
    assert 1 <= model.best_epoch_ <= len(model.history_)


def test_speaker_disjoint_split_and_fallbacks():
    y = np.arange(40) % 2
    groups = np.array([f"s{i % 8}" for i in range(40)])
    train, val, note = validation_split(y, groups, 0.15, seed=0)
    assert note.startswith("speaker-disjoint")
    assert set(groups[train]).isdisjoint(groups[val]) and len(val) >= 6
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(40))
    _, val2, note2 = validation_split(y, groups[:40] == "s0", 0.15, seed=0)  # 2 speakers
    assert "stratified" in note2 and "2 speaker" in note2 and len(val2) > 0
    _, _, note3 = validation_split(y, None, 0.15, seed=0)
    assert "no speaker groups" in note3
    train4, val4, note4 = validation_split(y, groups, 0.0, seed=0)
    assert len(val4) == 0 and len(train4) == 40 and note4.startswith("none")


def test_stratified_fallback_is_reported_in_history():
    X, y, _ = frames(n=24)
    model = small(epochs=2).fit(X, y)
    assert all("stratified" in e["val_split"] for e in model.history_)


def test_explicit_validation_index_is_used():
    X, y, groups = frames(n=24)
    model = small(epochs=1).fit(X, y, groups, val_index=[0, 1, 2, 3, 4, 5])
    assert model.val_split_ == "given (val_index, 6 items)"
    assert np.isfinite(model.history_[0]["val_uar"])
    with pytest.raises(ConfigError, match="val_index"):
        small(epochs=1).fit(X, y, groups, val_index=[99])


def test_normalisation_is_fitted_on_training_part_and_stored():
    X, y, groups = frames(n=24)
    X = [x * 100 + 7 for x in X]
    model = small(epochs=1, val_fraction=0.0).fit(X, y, groups)
    allf = np.concatenate(X)
    np.testing.assert_allclose(model.norm_mean_, allf.mean(axis=0), rtol=1e-4)
    np.testing.assert_allclose(model.norm_std_, allf.std(axis=0), rtol=1e-3)
    off = small(epochs=1, normalize="none").fit(X, y)
    assert off.norm_mean_ is None


def test_prediction_does_not_depend_on_batching_or_padding():
    X, y, groups = frames(n=24)
    model = small(epochs=2, batch_size=5).fit(X, y, groups)
    together = model.predict_proba(X)
    alone = np.concatenate([model.predict_proba([x]) for x in X[:6]])
    np.testing.assert_allclose(together[:6], alone, atol=1e-5)
    np.testing.assert_allclose(together.sum(axis=1), 1.0, atol=1e-6)


def test_max_frames_crops_only_training():
    X, y, groups = frames(n=24, min_frames=40, max_frames=60)
    model = small(epochs=2, max_frames=16).fit(X, y, groups)
    collate = model.make_collate(True)
    batch = collate([(x, 0) for x in X[:4]])
    assert batch["x"].shape[1] == 16
    full = model.make_collate(False)([(x, 0) for x in X[:4]])
    assert full["x"].shape[1] == max(len(x) for x in X[:4])


def test_same_seed_same_model_and_clone():
    X, y, groups = frames(n=24)
    a = small(epochs=2, seed=3).fit(X, y, groups)
    b = clone(a)
    assert b.get_params() == a.get_params() and not hasattr(b, "module_")
    b.fit(X, y, groups)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_early_stopping_keeps_best_weights():
    X, y, groups = frames(n=30)
    y = np.random.default_rng(0).permutation(y)  # nothing to learn: validation stalls
    model = small(epochs=30, patience=2, lr=1e-2).fit(X, y, groups)
    assert model.stopped_early_ and len(model.history_) < 30
    best = max(model.history_, key=lambda e: (e["val_uar"], -e["val_loss"]))
    assert model.best_epoch_ == best["epoch"]


def test_balanced_weights():
    w = balanced_weights(np.array([0, 0, 0, 1]), 3)
    np.testing.assert_allclose(w, [4 / 6, 4 / 2, 1.0])


def test_errors_name_the_problem():
    X, y, _ = frames(n=12)
    with pytest.raises(ConfigError, match="frame-level"):
        small().fit(np.zeros((12, 6)), y)
    with pytest.raises(ConfigError, match="sequence 2"):
        small().fit(X[:2] + [np.zeros((5, 4), np.float32)] + X[3:], y)
    with pytest.raises(ConfigError, match="not fitted"):
        small().predict(X)
    with pytest.raises(ConfigError, match="optimizer"):
        small(optimizer="lbfgs", epochs=1).fit(X, y)
