"""Quaternion batch normalisation (seed_methods.md 3.5, after RH-emo's ``qbn.py``).

Training batches: subtract a mean, divide every component by the square root of ONE shared
quaternion variance ``mean(|q - mu|^2)`` (so each component ends with variance ~1/4 and the
quaternion with variance ~1), scale by ``gamma`` (one per quaternion channel, init 1) and shift
by ``beta`` (one per real channel, init 0). Evaluation uses running statistics (momentum 0.1).

Where the statistics are taken is the ``stats`` option:

* ``"channel"`` (default, the textbook choice): a mean per real channel and a variance per
  quaternion channel, over batch and space, like ``nn.BatchNorm2d``.
* ``"tensor"`` (RH-emo's quirk): one scalar mean per component (r, i, j, k) over the whole
  component block (all its channels) and one scalar variance for the whole tensor. Kept for
  fidelity to the seed code; it lets channels of different scales stay unnormalised.
"""

from __future__ import annotations

import torch
from torch import nn

from serkit.errors import ConfigError
from serkit.quaternion.layers import check_quaternion_count

STATS = ("channel", "tensor")


class QuaternionBatchNorm2d(nn.Module):
    """Batch norm of ``(batch, channels, H, W)`` quaternion maps (``channels`` real, / 4).

    Args:
        channels: real channels (multiple of 4).
        momentum: running-statistics momentum.
        eps: added to the variance.
        stats: ``"channel"`` or ``"tensor"`` (see the module docstring).

    Buffers: ``running_mean`` ``(channels,)``, ``running_var`` ``(channels / 4,)``.
    """

    def __init__(
        self, channels: int, momentum: float = 0.1, eps: float = 1e-5, stats: str = "channel"
    ) -> None:
        super().__init__()
        self.channels = check_quaternion_count("QuaternionBatchNorm2d", "channels", channels)
        if stats not in STATS:
            raise ConfigError(
                f"QuaternionBatchNorm2d: stats must be one of {', '.join(STATS)}, found {stats!r}"
            )
        self.momentum, self.eps, self.stats = float(momentum), float(eps), stats
        q = self.channels // 4
        self.gamma = nn.Parameter(torch.ones(q))
        self.beta = nn.Parameter(torch.zeros(self.channels))
        self.register_buffer("running_mean", torch.zeros(self.channels))
        self.register_buffer("running_var", torch.ones(q))

    def _batch_stats(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n, _, h, w = x.shape
        q = self.channels // 4
        parts = x.reshape(n, 4, q, h, w)
        if self.stats == "channel":
            mean = parts.mean(dim=(0, 3, 4), keepdim=True)  # (1, 4, q, 1, 1)
            var = (parts - mean).pow(2).sum(1, keepdim=True).mean(dim=(0, 3, 4))
            return mean.reshape(self.channels), var.reshape(q)
        mean = parts.mean(dim=(0, 2, 3, 4), keepdim=True)  # (1, 4, 1, 1, 1)
        var = (parts - mean).pow(2).sum(1).mean()
        return mean.expand(1, 4, q, 1, 1).reshape(self.channels), var.expand(q)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise ConfigError(
                f"QuaternionBatchNorm2d({self.channels}): expected (batch, {self.channels}, H, "
                f"W) input, found shape {tuple(x.shape)}"
            )
        if self.training:
            mean, var = self._batch_stats(x)
            with torch.no_grad():
                m = self.momentum
                self.running_mean.mul_(1 - m).add_(m * mean.detach())
                self.running_var.mul_(1 - m).add_(m * var.detach())
        else:
            mean, var = self.running_mean, self.running_var
        scale = (self.gamma / torch.sqrt(var + self.eps)).repeat(4)  # (channels,)
        return (x - mean[None, :, None, None]) * scale[None, :, None, None] + self.beta[
            None, :, None, None
        ]

    def extra_repr(self) -> str:
        return f"{self.channels}, momentum={self.momentum}, eps={self.eps}, stats={self.stats!r}"
