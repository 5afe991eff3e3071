"""Classic utterance-level models: scaling inside the pipeline, weights, contract details."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.preprocessing import StandardScaler

from serkit.errors import ConfigError
from serkit.models import get_model, model_test_params

from ._synth import utterances

CLASSIC = ["svm", "logreg", "rf", "mlp"]


@pytest.mark.parametrize("name", CLASSIC)
def test_learns_separable_classes_and_scales_inside(name):
    X, y, groups = utterances()
    model = get_model(name, **model_test_params(name)).fit(X, y, groups)
    assert model.input_level == "utterance"
    assert isinstance(model.pipeline_.steps[0][1], StandardScaler)
    # the scaler was fitted on these rows (inside the fold), not on anything else
    np.testing.assert_allclose(model.pipeline_.steps[0][1].mean_, X.mean(axis=0), rtol=1e-5)
    assert (model.predict(X) == y).mean() >= 0.9
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert list(model.classes_) == ["c0", "c1", "c2"]
    np.testing.assert_array_equal(model.predict(X), model.classes_[proba.argmax(axis=1)])


@pytest.mark.parametrize("name", ["svm", "logreg", "rf"])
def test_balanced_class_weight_reaches_sklearn(name):
    X, y, _ = utterances()
    model = get_model(name, **model_test_params(name)).fit(X, y)
    clf = model.pipeline_.named_steps["clf"]
    inner = clf.estimator if name == "svm" else clf  # CalibratedClassifierCV wraps the SVC
    assert inner.get_params()["class_weight"] == "balanced"


def test_scale_matters_for_svm_on_badly_scaled_features():
    X, y, _ = utterances()
    X = X.copy()
    X[:, 1:] *= 1e4  # large irrelevant-scale dims; the informative dim 0 stays small
    X[:, 0] *= 1e-4
    model = get_model("svm").fit(X, y)
    assert (model.predict(X) == y).mean() >= 0.9


def test_clone_and_set_params():
    model = get_model("svm", C=3.0, kernel="linear")
    twin = clone(model)
    assert twin.get_params() == model.get_params()
    twin.set_params(C=0.5)
    assert twin.C == 0.5 and model.C == 3.0


def test_bad_input_is_named():
    X, y, _ = utterances()
    with pytest.raises(ConfigError, match="frame matrices"):
        get_model("logreg").fit([np.zeros((5, 3))] * 4, y[:4])
    X[3, 1] = np.nan
    with pytest.raises(ConfigError, match=r"rows \[3\]"):
        get_model("logreg").fit(X, y)
    with pytest.raises(ConfigError, match="no parameter"):
        get_model("svm", depth=3)
    with pytest.raises(ConfigError, match="2 classes"):
        get_model("logreg").fit(X[5:10], ["a"] * 5)
