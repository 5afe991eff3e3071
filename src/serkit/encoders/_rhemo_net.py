"""The modules of RH-emo (seed_methods.md §3.3): real encoder, per-channel heads, decoders.

Shapes use ``T`` window frames (time) and ``F`` bins (frequency); paper: ``T = 512``,
``F = 128``, latent ``(4, T / 8, F / 2) = (4, 64, 64)``.
"""

from __future__ import annotations

import torch
from torch import nn

DECODERS = ("quaternion", "real")


def xavier_init(module: nn.Module) -> None:
    """The seed's init: Xavier-normal weights, zero biases, for every real Linear / Conv2d /
    ConvTranspose2d (quaternion layers keep their own quaternion init)."""
    for m in module.modules():
        if isinstance(m, nn.Linear | nn.Conv2d | nn.ConvTranspose2d):
            nn.init.xavier_normal_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def encoder() -> nn.Sequential:
    """``(n, 1, T, F)`` -> ``(n, 4, T / 8, F / 2)``: three 3x3 convs with ReLU, max-pools
    2x2, 2x1, 2x1 (the last two over time only), batch norm after the first two."""
    return nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d((2, 2)),
        nn.BatchNorm2d(2),
        nn.Conv2d(2, 4, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d((2, 1)),
        nn.BatchNorm2d(4),
        nn.Conv2d(4, 4, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d((2, 1)),
    )


def head(in_features: int, hidden: int, out: int, dropout: float) -> nn.Sequential:
    """One latent channel flattened ``(n, in_features)`` -> ``(n, out)`` logits."""
    return nn.Sequential(
        nn.Linear(in_features, hidden),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(hidden, out),
    )


def quaternion_decoder() -> nn.Sequential:
    """``(n, 4, T / 8, F / 2)`` (one quaternion channel) -> ``(n, 4, T, F)`` in ``(0, 1)``:
    two quaternion transposed convs with stride (2, 1) + ReLU + quaternion batch norm, then one
    with stride 2 and a sigmoid (the reconstruction is the mean of the 4 output channels)."""
    from serkit.quaternion import QuaternionBatchNorm2d, QuaternionTransposeConv2d

    def up(stride: tuple[int, int], out_pad: tuple[int, int]) -> QuaternionTransposeConv2d:
        return QuaternionTransposeConv2d(4, 4, 3, stride=stride, padding=1, output_padding=out_pad)

    return nn.Sequential(
        up((2, 1), (1, 0)),
        nn.ReLU(),
        QuaternionBatchNorm2d(4),
        up((2, 1), (1, 0)),
        nn.ReLU(),
        QuaternionBatchNorm2d(4),
        up((2, 2), (1, 1)),
        nn.Sigmoid(),
    )


def real_decoder() -> nn.Sequential:
    """The real-valued ablation: ConvTranspose2d 4 -> 4 -> 2 -> 1 (same strides), batch norm
    after the first two, sigmoid: ``(n, 4, T / 8, F / 2)`` -> ``(n, 1, T, F)``."""

    def up(c_in: int, c_out: int, stride, out_pad) -> nn.ConvTranspose2d:
        return nn.ConvTranspose2d(c_in, c_out, 3, stride=stride, padding=1, output_padding=out_pad)

    return nn.Sequential(
        up(4, 4, (2, 1), (1, 0)),
        nn.ReLU(),
        nn.BatchNorm2d(4),
        up(4, 2, (2, 1), (1, 0)),
        nn.ReLU(),
        nn.BatchNorm2d(2),
        up(2, 1, (2, 2), (1, 1)),
        nn.Sigmoid(),
    )


def masked_bce(logits: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Binary cross-entropy over the entries whose target is known (not NaN).

    Returns:
        ``(mean loss, known count)``; ``(0, 0)`` when no target is known.
    """
    known = ~torch.isnan(target)
    count = int(known.sum())
    if count == 0:
        return logits.sum() * 0.0, 0
    return nn.functional.binary_cross_entropy_with_logits(logits[known], target[known]), count
