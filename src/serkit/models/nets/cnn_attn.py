"""``cnn-attn``: the small reference net (1-D conv blocks + attention pooling + linear head).

Input ``(batch, frames, dim)`` frame features (e.g. log-mel), output ``(batch, classes)``
logits. Each block is Conv1d (same padding, optional dilation) -> BatchNorm -> ReLU -> dropout
with a residual connection after the first block; padded frames are zeroed after every block
and excluded from the attention softmax, so a sequence's logits do not depend on how much
padding its batch has (in eval mode).
"""

from __future__ import annotations

import torch
from torch import nn

from serkit.models.nets import register_net


def length_mask(lengths: torch.Tensor, frames: int) -> torch.Tensor:
    """``(batch, frames)`` bool mask, True on real frames."""
    steps = torch.arange(frames, device=lengths.device)
    return steps[None, :] < lengths[:, None]


class AttentionPool(nn.Module):
    """Additive attention pooling over time: ``(B, T, H) -> (B, H)`` ignoring padded frames."""

    def __init__(self, hidden: int, attention_dim: int = 64) -> None:
        super().__init__()
        self.proj = nn.Linear(hidden, attention_dim)
        self.score = nn.Linear(attention_dim, 1, bias=False)

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Pool ``h`` ``(B, T, H)`` with ``mask`` ``(B, T)`` (True = real frame)."""
        scores = self.score(torch.tanh(self.proj(h))).squeeze(-1)  # (B, T)
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
        weights = torch.softmax(scores, dim=1).unsqueeze(-1)  # (B, T, 1)
        return (weights * h).sum(dim=1)


@register_net("cnn-attn")
class CnnAttn(nn.Module):
    """Conv1d blocks over frames, attention pooling and a linear head.

    Args:
        input_dim: feature dimension ``dim`` of the input frames.
        num_classes: number of output classes.
        channels: channels of every conv block.
        blocks: number of conv blocks.
        kernel_size: conv kernel size (odd).
        dilation_growth: dilation of block ``i`` is ``dilation_growth ** i`` (1 = no dilation).
        dropout: dropout after each block and before the head.
        attention_dim: size of the attention projection.
    """

    min_frames = 1

    def __init__(
        self,
        input_dim: int,
        num_classes: int,
        *,
        channels: int = 64,
        blocks: int = 3,
        kernel_size: int = 5,
        dilation_growth: int = 2,
        dropout: float = 0.2,
        attention_dim: int = 64,
    ) -> None:
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"cnn-attn kernel_size must be odd, found {kernel_size}")
        self.blocks = nn.ModuleList()
        in_ch = input_dim
        for i in range(blocks):
            dilation = dilation_growth**i
            self.blocks.append(
                nn.Sequential(
                    nn.Conv1d(
                        in_ch,
                        channels,
                        kernel_size,
                        padding=dilation * (kernel_size // 2),
                        dilation=dilation,
                    ),
                    nn.BatchNorm1d(channels),
                    nn.ReLU(),
                    nn.Dropout(dropout),
                )
            )
            in_ch = channels
        self.pool = AttentionPool(channels, attention_dim)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(channels, num_classes))

    @classmethod
    def test_params(cls) -> dict:
        """Small sizes for the contract tests."""
        return {"channels": 16, "blocks": 2, "attention_dim": 8, "dropout": 0.0}

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``x`` ``(B, T, F)``, ``lengths`` ``(B,)`` -> logits ``(B, C)``."""
        mask = length_mask(lengths.to(x.device), x.shape[1])  # (B, T)
        keep = mask.unsqueeze(1).to(x.dtype)  # (B, 1, T)
        h = x.transpose(1, 2) * keep  # (B, F, T)
        for i, block in enumerate(self.blocks):
            out = block(h) * keep
            h = out + h if i > 0 else out
        return self.head(self.pool(h.transpose(1, 2), mask))
