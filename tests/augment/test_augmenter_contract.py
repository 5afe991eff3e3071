"""Contract suite over EVERY registered augmenter (new registrations are covered as-is).

``fit`` returns self; ``generate`` gives float32 ``(k, dim)`` rows without NaN, labels among
the training classes (every class gets rows), ``source_index`` into the source matrix; the
same seed gives the same rows; ``history_`` / ``fit_summary_`` are JSON-able; presets
``cpu`` and ``paper`` exist. Small sizes come from each class's ``test_params()``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from serkit.augment import AUGMENTERS, get_augmenter, list_augmenters
from serkit.augment.base import Augmenter, Synthetic


def _data(seed: int = 0):
    rng = np.random.default_rng(seed)
    y = np.repeat(["angry", "happy", "sad"], 12)
    X = rng.normal(size=(len(y), 5)) + (np.searchsorted(["angry", "happy", "sad"], y)[:, None])
    groups = np.tile(["s1", "s2", "s3", "s4"], 9)
    return X.astype(np.float32), y, rng.normal(size=(20, 5)).astype(np.float32), groups


#: the augmenters serkit ships (test modules register fakes with other contracts, e.g. a
#: copy that labels everything with one class, and may be imported first)
SHIPPED = [n for n in list_augmenters() if AUGMENTERS.get(n).__module__.startswith("serkit.")]


def _fit(name: str, seed: int = 0):
    X, y, source, groups = _data()
    aug = get_augmenter(name, **AUGMENTERS.get(name).test_params())
    returned = aug.fit(X, y, source, groups=groups, seed=seed)
    return aug, returned, aug.generate(source), (X, y, source)


def test_there_is_an_augmenter():
    assert "cyclegan" in list_augmenters()


@pytest.mark.parametrize("name", SHIPPED)
def test_fit_generate_contract(name):
    aug, returned, syn, (X, y, source) = _fit(name)
    assert returned is aug and isinstance(aug, Augmenter)
    assert isinstance(syn, Synthetic)
    k = len(syn.X)
    assert k > 0 and syn.X.shape == (k, X.shape[1]) and syn.X.dtype == np.float32
    assert np.all(np.isfinite(syn.X))
    assert syn.y.shape == (k,) and set(syn.y.tolist()) == set(y.tolist())
    assert syn.source_index.shape == (k,) and np.issubdtype(syn.source_index.dtype, np.integer)
    assert syn.source_index.min() >= 0 and syn.source_index.max() < len(source)


@pytest.mark.parametrize("name", SHIPPED)
def test_same_seed_same_rows_other_seed_other_rows(name):
    first = _fit(name, seed=3)[2]
    again = _fit(name, seed=3)[2]
    other = _fit(name, seed=4)[2]
    np.testing.assert_array_equal(first.X, again.X)
    np.testing.assert_array_equal(first.y, again.y)
    np.testing.assert_array_equal(first.source_index, again.source_index)
    assert not np.array_equal(first.X, other.X)


@pytest.mark.parametrize("name", SHIPPED)
def test_history_summary_and_presets(name):
    aug = _fit(name)[0]
    json.dumps(getattr(aug, "history_", []))
    json.dumps(getattr(aug, "fit_summary_", {}))
    assert {"cpu", "paper"} <= set(type(aug).presets)


@pytest.mark.parametrize("name", SHIPPED)
def test_torch_global_random_state_is_left_alone(name):
    import torch

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    _fit(name)
    np.testing.assert_array_equal(torch.rand(3).numpy(), expected.numpy())


@pytest.mark.parametrize("name", SHIPPED)
def test_parameter_names_and_types_are_checked(name):
    from serkit.errors import ConfigError

    with pytest.raises(ConfigError, match="no_such_option"):
        get_augmenter(name, no_such_option=1)
    if "epochs" in get_augmenter(name).__dict__:
        with pytest.raises(ConfigError, match="epochs='three' has type str"):
            get_augmenter(name, epochs="three")
