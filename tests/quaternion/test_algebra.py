"""Hamilton product properties and the block weight against an explicit quaternion sum."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from serkit.errors import ConfigError
from serkit.quaternion import hamilton, quaternion_block_weight

finite = st.floats(-10, 10, allow_nan=False, allow_infinity=False, width=64)
quats = arrays(np.float64, (4,), elements=finite)


@settings(max_examples=200, deadline=None)
@given(quats, quats, quats)
def test_hamilton_is_associative(q, p, s):
    left = hamilton(hamilton(q, p), s)
    right = hamilton(q, hamilton(p, s))
    np.testing.assert_allclose(left, right, rtol=1e-9, atol=1e-7)


def test_hamilton_is_not_commutative():
    rng = np.random.default_rng(0)
    q, p = rng.normal(size=(2, 1000, 4))
    differ = np.abs(hamilton(q, p) - hamilton(p, q)).max(axis=1) > 1e-6
    assert differ.mean() > 0.99  # random quaternions almost never commute
    # the textbook units: i j = k, j i = -k, i^2 = -1
    i, j, k = np.eye(4)[1], np.eye(4)[2], np.eye(4)[3]
    np.testing.assert_array_equal(hamilton(i, j), k)
    np.testing.assert_array_equal(hamilton(j, i), -k)
    np.testing.assert_array_equal(hamilton(i, i), -np.eye(4)[0])


@settings(max_examples=200, deadline=None)
@given(quats, quats)
def test_norms_multiply_and_unit_quaternions_stay_unit(q, p):
    np.testing.assert_allclose(
        np.linalg.norm(hamilton(q, p)),
        np.linalg.norm(q) * np.linalg.norm(p),
        rtol=1e-9,
        atol=1e-9,
    )
    if np.linalg.norm(q) > 1e-3 and np.linalg.norm(p) > 1e-3:
        u, v = q / np.linalg.norm(q), p / np.linalg.norm(p)
        assert abs(np.linalg.norm(hamilton(u, v)) - 1.0) < 1e-9


def test_hamilton_numpy_and_torch_agree_and_broadcast():
    rng = np.random.default_rng(1)
    q, p = rng.normal(size=(3, 5, 4)), rng.normal(size=(5, 4))
    ref = hamilton(q, p)
    got = hamilton(torch.from_numpy(q), torch.from_numpy(p))
    assert isinstance(got, torch.Tensor) and got.shape == (3, 5, 4)
    np.testing.assert_allclose(got.numpy(), ref, atol=1e-12)


def test_hamilton_rejects_a_wrong_last_axis():
    with pytest.raises(ConfigError, match=r"last axis of 4.*\(3, 3\)"):
        hamilton(np.zeros((3, 3)), np.zeros((3, 4)))


def test_block_weight_applies_the_hamilton_product_per_quaternion_unit():
    """y_o = sum_u W[o, u] (x) x_u, computed with hamilton(), equals block @ x."""
    rng = np.random.default_rng(2)
    out_q, in_q = 3, 5
    r, i, j, k = rng.normal(size=(4, out_q, in_q))
    x = rng.normal(size=(4 * in_q,))  # [x_r | x_i | x_j | x_k]
    block = quaternion_block_weight(r, i, j, k)
    assert block.shape == (4 * out_q, 4 * in_q)
    x_q = x.reshape(4, in_q).T  # (in_q, 4)
    w_q = np.stack([r, i, j, k], axis=-1)  # (out_q, in_q, 4)
    expected = hamilton(w_q, x_q[None]).sum(axis=1)  # (out_q, 4)
    np.testing.assert_allclose(block @ x, expected.T.reshape(-1), atol=1e-12)


def test_block_weight_torch_and_transposed_axes():
    rng = np.random.default_rng(3)
    parts = rng.normal(size=(4, 2, 3, 3, 3))
    ref = quaternion_block_weight(*parts)
    got = quaternion_block_weight(*(torch.from_numpy(p) for p in parts))
    np.testing.assert_allclose(got.numpy(), ref)
    swapped = quaternion_block_weight(*(p.swapaxes(0, 1) for p in parts), dim=(1, 0))
    np.testing.assert_allclose(swapped, ref.swapaxes(0, 1))


def test_block_weight_rejects_mismatched_components():
    with pytest.raises(ConfigError, match="one shape"):
        quaternion_block_weight(
            np.zeros((2, 2)), np.zeros((2, 2)), np.zeros((2, 3)), np.zeros((2, 2))
        )
    with pytest.raises(ConfigError, match="two different axes"):
        quaternion_block_weight(*np.zeros((4, 2, 2)), dim=(0, 0))
