"""The quaternion weight initialisation of Parcollet et al. (seed_methods.md 3.5).

Each quaternion weight ``w = |w| (cos t + u sin t)`` gets

* a modulus ``|w| ~ sigma * chi(4)`` (the norm of four standard normals),
* a random unit pure-imaginary axis ``u = (u_i, u_j, u_k)`` (uniform on the sphere),
* a phase ``t ~ U(-pi, pi)``,

so ``W_r = |w| cos t`` and ``W_c = |w| u_c sin t`` (c = i, j, k), with
``sigma = 1 / sqrt(2 (n_in + n_out))`` (``"glorot"``) or ``1 / sqrt(2 n_in)`` (``"he"``), where
``n_in`` / ``n_out`` count quaternion units times the receptive field. Hence
``E|w|^2 = 4 sigma^2`` (= ``2 / (n_in + n_out)`` for Glorot, ``2 / n_in`` for He), split as
``E W_r^2 = 2 sigma^2`` and ``E W_c^2 = 2 sigma^2 / 3``. Biases start at 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from serkit.errors import ConfigError

CRITERIA = ("glorot", "he")


def quaternion_fans(shape: Sequence[int]) -> tuple[int, int]:
    """``(n_in, n_out)`` in quaternion units x receptive field for component ``shape``
    ``(out_q, in_q, *kernel)``."""
    if len(shape) < 2:
        raise ConfigError(f"quaternion_init(): shape needs (out, in, *kernel), found {shape}")
    field = math.prod(int(s) for s in shape[2:])
    return int(shape[1]) * field, int(shape[0]) * field


def quaternion_scale(shape: Sequence[int], criterion: str = "glorot") -> float:
    """The ``sigma`` of the chi(4) modulus for component ``shape`` ``(out_q, in_q, *kernel)``."""
    n_in, n_out = quaternion_fans(shape)
    if criterion == "glorot":
        return 1.0 / math.sqrt(2.0 * (n_in + n_out))
    if criterion == "he":
        return 1.0 / math.sqrt(2.0 * n_in)
    raise ConfigError(f"quaternion init must be one of {', '.join(CRITERIA)}; found {criterion!r}")


def quaternion_init(
    shape: Sequence[int], criterion: str = "glorot", generator: Any = None
) -> tuple[Any, Any, Any, Any]:
    """Random component weights ``(W_r, W_i, W_j, W_k)`` of one quaternion layer.

    Args:
        shape: component shape ``(out_q, in_q, *kernel)`` (quaternion units; a transposed
            convolution passes its weights in this order too, see
            :class:`~serkit.quaternion.layers.QuaternionTransposeConv2d`).
        criterion: ``"glorot"`` or ``"he"``.
        generator: an optional ``torch.Generator`` (default: torch's global random state).

    Returns:
        Four float32 tensors of ``shape``.
    """
    import torch

    sigma = quaternion_scale(shape, criterion)
    size = tuple(int(s) for s in shape)
    normals = torch.randn((4, *size), generator=generator)
    modulus = sigma * normals.pow(2).sum(0).sqrt()  # sigma * chi(4)
    axis = torch.randn((3, *size), generator=generator)
    axis = axis / axis.norm(dim=0, keepdim=True).clamp_min(1e-12)
    phase = (torch.rand(size, generator=generator) * 2.0 - 1.0) * math.pi
    sine = modulus * torch.sin(phase)
    return modulus * torch.cos(phase), sine * axis[0], sine * axis[1], sine * axis[2]
