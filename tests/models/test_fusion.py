"""The ``fusion`` model: blocks, weight choice on validation speakers, fixed weights."""

from __future__ import annotations

import numpy as np
import pytest

from serkit.errors import ConfigError
from serkit.models import get_model
from serkit.models.fusion import combine_posteriors, simplex_grid

LOGREG = [
    {"block": 0, "name": "logreg", "params": {"C": 1.0}},
    {"block": 1, "name": "logreg", "params": {"C": 1.0}},
]


def _data(n: int = 120, seed: int = 0):
    """Block 0 (3 columns) is noise, block 1 (4 columns) carries the class."""
    rng = np.random.default_rng(seed)
    y = np.array([f"c{i % 3}" for i in range(n)])
    noise = rng.normal(size=(n, 3))
    signal = rng.normal(size=(n, 4))
    signal[np.arange(n), np.arange(n) % 3] += 2.0
    groups = np.array([f"s{i % 10}" for i in range(n)])
    return np.hstack([noise, signal]), y, groups


def test_simplex_grid_covers_the_simplex():
    grid = simplex_grid(3, 0.25)
    assert grid.shape == (15, 3)
    np.testing.assert_allclose(grid.sum(axis=1), 1.0)
    with pytest.raises(ConfigError, match="weight_step"):
        simplex_grid(2, 0.3)


def test_combine_with_one_weight_is_that_member():
    p = np.array([[0.7, 0.3], [0.2, 0.8]])
    q = np.array([[0.1, 0.9], [0.6, 0.4]])
    np.testing.assert_allclose(combine_posteriors([p, q], np.array([1.0, 0.0]), "product"), p)
    np.testing.assert_allclose(
        combine_posteriors([p, q], np.array([0.5, 0.5]), "mean"), (p + q) / 2
    )


def test_auto_weights_favour_the_informative_block_on_validation_speakers():
    X, y, groups = _data()
    model = get_model("fusion", blocks=[3, 4], members=LOGREG, weight_step=0.25).fit(X, y, groups)
    assert model.weights_[1] > model.weights_[0]
    assert "speaker" in model.val_split_
    assert model.weight_scores_[0]["weights"] == model.weights_.tolist()
    assert model.fit_summary_["weights"] == model.weights_.tolist()


def test_fixed_weights_equal_the_member_alone():
    X, y, groups = _data()
    fused = get_model("fusion", blocks=[3, 4], members=LOGREG, weights=[0, 1]).fit(X, y, groups)
    alone = get_model("logreg", C=1.0).fit(X[:, 3:], y)
    np.testing.assert_allclose(fused.predict_proba(X), alone.predict_proba(X[:, 3:]), atol=1e-9)


def test_a_member_on_all_columns():
    X, y, groups = _data()
    members = [{"name": "logreg", "params": {"C": 1.0}}]
    model = get_model("fusion", blocks=[3, 4], members=members, weights=[1]).fit(X, y, groups)
    alone = get_model("logreg", C=1.0).fit(X, y)
    np.testing.assert_allclose(model.predict_proba(X), alone.predict_proba(X), atol=1e-9)


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"blocks": [3, 3]}, "add up to 6 columns but the input has 7"),
        ({"blocks": [3, 4], "weights": [1.0]}, "one per member"),
        ({"blocks": [3, 4], "combine": "max"}, "combine must be"),
        ({"blocks": [7], "members": LOGREG}, "uses block 1"),
        ({"blocks": [3, 4], "members": [{"model": "svm"}]}, "expected keys"),
    ],
)
def test_bad_settings_are_named(params, says):
    X, y, groups = _data(n=30)
    base = {"members": LOGREG, **params}
    with pytest.raises(ConfigError, match=says):
        get_model("fusion", **base).fit(X, y, groups)


def test_frame_level_member_is_refused():
    X, y, groups = _data(n=30)
    members = [{"block": 0, "name": "neural"}, LOGREG[1]]
    with pytest.raises(ConfigError, match="frame-level"):
        get_model("fusion", blocks=[3, 4], members=members).fit(X, y, groups)


def test_val_folds_score_every_training_speaker_once():
    X, y, groups = _data()
    model = get_model("fusion", blocks=[3, 4], members=LOGREG, weight_step=0.25, val_folds=5).fit(
        X, y, groups
    )
    assert model.val_split_ == "speaker-kfold: 5 folds over 10 speakers"
    assert model.weights_[1] > model.weights_[0]
    assert len(model.weight_scores_) == 5  # the grid of 2 members at step 0.25
    with pytest.raises(ConfigError, match="val_folds must be"):
        get_model("fusion", blocks=[3, 4], members=LOGREG, val_folds=1).fit(X, y, groups)
