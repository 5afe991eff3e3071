"""Quaternion linear, 2-D convolution and transposed convolution layers (seed_methods.md 3.5).

Sizes are in REAL units (multiples of 4) and tensors hold quaternions as four contiguous
channel blocks ``[r | i | j | k]``. Each layer owns four component weights ``r_weight``,
``i_weight``, ``j_weight``, ``k_weight`` (a quarter of the real layer's size each, hence ~1/4 of
its parameters) and a real bias over all output channels; ``forward`` assembles the one real
weight with :func:`~serkit.quaternion.algebra.quaternion_block_weight` and makes a single
``F.linear`` / ``F.conv2d`` / ``F.conv_transpose2d`` call, so each output quaternion is the
Hamilton product ``W (x) x`` summed over inputs (and kernel taps).

The transposed convolution applies the same Hamilton product per tap (its block weight is
assembled with the input axis first, ``dim=(1, 0)``). The Orkis / RH-emo code assembles it with
the convolution's layout on the transposed weight instead, which computes ``conj(W) (x) x``:
the same family of maps under ``W -> conj(W)`` (and the same initial distribution).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from serkit.errors import ConfigError
from serkit.quaternion.algebra import quaternion_block_weight
from serkit.quaternion.init import quaternion_init

COMPONENTS = ("r", "i", "j", "k")


def check_quaternion_count(layer: str, option: str, value: int) -> int:
    """``value`` as an int when it is a positive multiple of 4, else a :class:`ConfigError`
    naming ``layer`` and ``option``."""
    if int(value) != value or value <= 0 or int(value) % 4:
        low = max(4, int(value) // 4 * 4)
        raise ConfigError(
            f"{layer}: {option} must be a positive multiple of 4 (real units: 4 channels hold "
            f"one quaternion as [r | i | j | k]), found {value}; use e.g. {low} or {low + 4}"
        )
    return int(value)


def _pair(value: Any) -> tuple[int, int]:
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ConfigError(f"expected an int or a pair, found {value!r}")
        return int(value[0]), int(value[1])
    return int(value), int(value)


class _QuaternionWeights(nn.Module):
    """Four component weights of one shape and an optional real bias."""

    def _init_weights(
        self, shape: tuple[int, ...], init: str, bias: bool, out_real: int, transpose: bool
    ) -> None:
        # quaternion_init takes (out_q, in_q, *kernel); a transposed weight stores (in, out)
        parts = quaternion_init(
            (shape[1], shape[0], *shape[2:]) if transpose else shape, criterion=init
        )
        for name, value in zip(COMPONENTS, parts, strict=True):
            value = value.transpose(0, 1) if transpose else value
            self.register_parameter(f"{name}_weight", nn.Parameter(value.contiguous()))
        self.bias = nn.Parameter(torch.zeros(out_real)) if bias else None
        self.init = init

    def components(self) -> tuple[torch.Tensor, ...]:
        """``(r_weight, i_weight, j_weight, k_weight)``."""
        return tuple(getattr(self, f"{name}_weight") for name in COMPONENTS)

    def block_weight(self) -> torch.Tensor:
        """The real weight the layer applies (see :func:`quaternion_block_weight`)."""
        return quaternion_block_weight(*self.components(), dim=self._dim)

    _dim: tuple[int, int] = (0, 1)


class QuaternionLinear(_QuaternionWeights):
    """Quaternion fully connected layer: ``(..., in_features) -> (..., out_features)``.

    Args:
        in_features: real input features (multiple of 4).
        out_features: real output features (multiple of 4).
        bias: add a real bias of ``out_features``.
        init: ``"he"`` (default, as in the seed code) or ``"glorot"``.
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, init: str = "he"
    ) -> None:
        super().__init__()
        self.in_features = check_quaternion_count("QuaternionLinear", "in_features", in_features)
        self.out_features = check_quaternion_count("QuaternionLinear", "out_features", out_features)
        shape = (self.out_features // 4, self.in_features // 4)
        self._init_weights(shape, init, bias, self.out_features, transpose=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.block_weight(), self.bias)

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, bias={self.bias is not None}"


class QuaternionConv2d(_QuaternionWeights):
    """Quaternion 2-D convolution: ``(batch, in_channels, H, W) -> (batch, out_channels, H', W')``.

    Args:
        in_channels: real input channels (multiple of 4).
        out_channels: real output channels (multiple of 4).
        kernel_size, stride, padding, dilation: as for ``nn.Conv2d`` (int or pair).
        bias: add a real bias of ``out_channels``.
        init: ``"glorot"`` (default, as in the seed code) or ``"he"``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        bias: bool = True,
        init: str = "glorot",
        dilation: Any = 1,
    ) -> None:
        super().__init__()
        self.in_channels = check_quaternion_count("QuaternionConv2d", "in_channels", in_channels)
        self.out_channels = check_quaternion_count("QuaternionConv2d", "out_channels", out_channels)
        self.kernel_size, self.stride = _pair(kernel_size), _pair(stride)
        self.padding, self.dilation = _pair(padding), _pair(dilation)
        shape = (self.out_channels // 4, self.in_channels // 4, *self.kernel_size)
        self._init_weights(shape, init, bias, self.out_channels, transpose=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.block_weight(), self.bias, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None}"
        )


class QuaternionTransposeConv2d(_QuaternionWeights):
    """Quaternion 2-D transposed convolution (``nn.ConvTranspose2d`` with quaternion weights).

    Component weights are stored in torch's transposed layout ``(in / 4, out / 4, kh, kw)``;
    the He / Glorot fans count the layer's input and output quaternion channels x kernel.

    Args:
        in_channels: real input channels (multiple of 4).
        out_channels: real output channels (multiple of 4).
        kernel_size, stride, padding, output_padding, dilation: as for ``nn.ConvTranspose2d``.
        bias: add a real bias of ``out_channels``.
        init: ``"he"`` (default, as in the seed code) or ``"glorot"``.
    """

    _dim = (1, 0)

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        output_padding: Any = 0,
        bias: bool = True,
        init: str = "he",
        dilation: Any = 1,
    ) -> None:
        super().__init__()
        who = "QuaternionTransposeConv2d"
        self.in_channels = check_quaternion_count(who, "in_channels", in_channels)
        self.out_channels = check_quaternion_count(who, "out_channels", out_channels)
        self.kernel_size, self.stride = _pair(kernel_size), _pair(stride)
        self.padding, self.output_padding = _pair(padding), _pair(output_padding)
        self.dilation = _pair(dilation)
        shape = (self.in_channels // 4, self.out_channels // 4, *self.kernel_size)
        self._init_weights(shape, init, bias, self.out_channels, transpose=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv_transpose2d(
            x,
            self.block_weight(),
            self.bias,
            self.stride,
            self.padding,
            self.output_padding,
            1,
            self.dilation,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, "
            f"output_padding={self.output_padding}, bias={self.bias is not None}"
        )


__all__ = [
    "QuaternionConv2d",
    "QuaternionLinear",
    "QuaternionTransposeConv2d",
    "check_quaternion_count",
]
