"""Quaternion algebra: the Hamilton product and the real block matrix of a quaternion weight.

A quaternion ``q = r + i x + j y + k z`` is stored as the last axis ``(..., 4)`` in the order
``r, i, j, k`` (:func:`hamilton`). A quaternion *layer* with ``C`` real channels stores ``C / 4``
quaternions as four contiguous blocks ``[r | i | j | k]`` along the channel axis
(seed_methods.md 3.5); its four real weight tensors ``W_r, W_i, W_j, W_k`` are assembled by
:func:`quaternion_block_weight` into the one real weight that computes ``W (x) x`` with a single
matmul or convolution. Both functions work on numpy arrays and torch tensors alike.
"""

from __future__ import annotations

from typing import Any

from serkit.errors import ConfigError


def _namespace(x: Any) -> Any:
    """``torch`` for tensors, ``numpy`` otherwise."""
    if type(x).__module__.startswith("torch"):
        import torch

        return torch
    import numpy

    return numpy


def hamilton(q: Any, p: Any) -> Any:
    """The Hamilton product ``q (x) p`` (not commutative).

    Args:
        q: ``(..., 4)`` quaternions ``(r, i, j, k)``; numpy array or torch tensor.
        p: ``(..., 4)`` quaternions, broadcastable against ``q``.

    Returns:
        ``(..., 4)`` products, the same kind as ``q``.

    Raises:
        ConfigError: a last axis that is not 4.
    """
    for name, value in (("q", q), ("p", p)):
        if value.shape[-1:] != (4,):
            raise ConfigError(
                f"hamilton(): {name} must have a last axis of 4 (r, i, j, k), found shape "
                f"{tuple(value.shape)}"
            )
    xp = _namespace(q)
    a1, b1, c1, d1 = (q[..., n] for n in range(4))
    a2, b2, c2, d2 = (p[..., n] for n in range(4))
    return xp.stack(
        [
            a1 * a2 - b1 * b2 - c1 * c2 - d1 * d2,
            a1 * b2 + b1 * a2 + c1 * d2 - d1 * c2,
            a1 * c2 - b1 * d2 + c1 * a2 + d1 * b2,
            a1 * d2 + b1 * c2 - c1 * b2 + d1 * a2,
        ],
        -1,
    )


# Rows: output component r, i, j, k; columns: input component r, i, j, k. Entry (sign, which
# weight): the left-multiplication matrix of W, so that out = W (x) x component-wise:
#   r = W_r x_r - W_i x_i - W_j x_j - W_k x_k
#   i = W_i x_r + W_r x_i - W_k x_j + W_j x_k
#   j = W_j x_r + W_k x_i + W_r x_j - W_i x_k
#   k = W_k x_r - W_j x_i + W_i x_j + W_r x_k
HAMILTON_BLOCKS: tuple[tuple[tuple[int, int], ...], ...] = (
    ((1, 0), (-1, 1), (-1, 2), (-1, 3)),
    ((1, 1), (1, 0), (-1, 3), (1, 2)),
    ((1, 2), (1, 3), (1, 0), (-1, 1)),
    ((1, 3), (-1, 2), (1, 1), (1, 0)),
)


def quaternion_block_weight(r: Any, i: Any, j: Any, k: Any, dim: tuple[int, int] = (0, 1)) -> Any:
    """The real weight of a quaternion layer, assembled from its four components.

    Args:
        r, i, j, k: the component weights, all of one shape (numpy arrays or torch tensors),
            e.g. ``(out / 4, in / 4)`` for a linear layer, ``(out / 4, in / 4, kh, kw)`` for a
            convolution or ``(in / 4, out / 4, kh, kw)`` for a transposed convolution.
        dim: ``(output axis, input axis)`` of the components: ``(0, 1)`` for ``F.linear`` and
            ``F.conv2d`` weights, ``(1, 0)`` for ``F.conv_transpose2d`` weights (whose first
            axis is the input channel).

    Returns:
        The block matrix, 4 x larger along both axes: block ``(a, b)`` (output component ``a``,
        input component ``b``, order r, i, j, k) is ``+-W_c`` as in :data:`HAMILTON_BLOCKS`, so
        applying it to ``[x_r | x_i | x_j | x_k]`` gives ``[y_r | y_i | y_j | y_k] = W (x) x``.

    Raises:
        ConfigError: components of different shapes or an invalid ``dim``.
    """
    parts = (r, i, j, k)
    found = [tuple(int(s) for s in p.shape) for p in parts]  # ints also while tracing
    shapes = set(found)
    if len(shapes) != 1:
        raise ConfigError(
            f"quaternion_block_weight(): r, i, j, k must have one shape, found {found}"
        )
    ndim = len(next(iter(shapes)))
    out_axis, in_axis = (int(a) % max(ndim, 1) for a in dim)
    if ndim < 2 or out_axis == in_axis:
        raise ConfigError(
            f"quaternion_block_weight(): dim={dim} must name two different axes of the "
            f"{ndim}-d components"
        )
    xp = _namespace(r)
    cat = xp.cat if xp.__name__ == "torch" else xp.concatenate
    rows = [cat([sign * parts[which] for sign, which in row], in_axis) for row in HAMILTON_BLOCKS]
    return cat(rows, out_axis)
