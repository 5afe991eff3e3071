"""Fisher discriminant ratios against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from serkit.augment import fisher
from serkit.errors import ConfigError


def test_fisher_ratio_by_hand():
    a = np.array([[1.0, 0.0, 5.0], [3.0, 2.0, 5.0], [5.0, 4.0, 5.0]])  # means 3, 2, 5
    b = np.array([[0.0, 2.0, 7.0], [2.0, 2.0, 7.0]])  # means 1, 2, 7
    # feature 0: var_a = 8/3, var_b = 1 -> (3-1)^2 / (11/3) = 12/11
    # feature 1: equal means -> 0; feature 2: constants that differ -> inf
    r = fisher.fisher_ratio(a, b)
    assert r[0] == pytest.approx(12 / 11)
    assert r[1] == 0.0
    assert np.isinf(r[2])
    assert fisher.summarize(r) == {
        "mean": pytest.approx(6 / 11),
        "max": pytest.approx(12 / 11),
        "n_features": 3,
        "n_infinite": 1,
    }


def test_fisher_ratio_is_symmetric_and_scale_invariant():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, (50, 4)), rng.normal(1, 2, (40, 4))
    np.testing.assert_allclose(fisher.fisher_ratio(a, b), fisher.fisher_ratio(b, a))
    scale = np.array([1.0, 10.0, 0.1, 3.0])
    np.testing.assert_allclose(
        fisher.fisher_ratio(a * scale + 7, b * scale + 7), fisher.fisher_ratio(a, b)
    )


def test_identical_constant_sets_give_zero():
    a = np.ones((3, 2))
    assert fisher.fisher_ratio(a, a).tolist() == [0.0, 0.0]


def test_synthetic_vs_target_compares_same_emotion_only():
    X = np.array([[0.0], [2.0], [10.0], [14.0]])
    y = np.array(["ang", "ang", "sad", "sad"])
    syn = np.array([[1.0], [3.0], [10.0], [14.0]])
    out = fisher.synthetic_vs_target(syn, y, X, y)
    assert out["ang"].tolist() == [pytest.approx(0.5)]  # (2 - 1)^2 / (1 + 1)
    assert out["sad"].tolist() == [0.0]


def test_emotion_pairs_by_hand():
    X = np.array([[0.0], [2.0], [4.0], [6.0], [0.0], [4.0]])
    y = np.array(["a", "a", "b", "b", "c", "c"])
    out = fisher.emotion_pairs(X, y)
    assert list(out) == [("a", "b"), ("a", "c"), ("b", "c")]
    assert out["a", "b"][0] == pytest.approx(16 / 2)  # means 1, 5; vars 1, 1
    assert out["a", "c"][0] == pytest.approx(1 / 5)  # means 1, 2; vars 1, 4
    assert out["b", "c"][0] == pytest.approx(9 / 5)  # means 5, 2; vars 1, 4


def test_errors_name_the_problem():
    with pytest.raises(ConfigError, match="3 and 2 features"):
        fisher.fisher_ratio(np.zeros((2, 3)), np.zeros((2, 2)))
    with pytest.raises(ConfigError, match="'sad' has 0 synthetic"):
        fisher.synthetic_vs_target(
            np.zeros((2, 1)), ["ang", "ang"], np.zeros((2, 1)), ["ang", "sad"], ["ang", "sad"]
        )
