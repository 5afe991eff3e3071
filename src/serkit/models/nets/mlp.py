"""``mlp``: a multi-layer perceptron on utterance vectors (the classifier of seed 004).

Hidden layers ``Linear -> LeakyReLU -> Dropout``, a linear head, Glorot-uniform weights and
zero biases, as the emotion classifier of Bao et al. (2019, ``seed_methods.md`` §4.5). The net
contract gives ``(batch, frames, dim)``; frames are averaged over each sequence's real frames
(an utterance vector is a one-frame sequence, so it passes unchanged), padding excluded.
"""

from __future__ import annotations

import torch
from torch import nn

from serkit.models.nets import register_net


@register_net("mlp")
class MLP(nn.Module):
    """Mean over frames, then ``Linear -> LeakyReLU -> Dropout`` per hidden layer, linear head.

    Args:
        input_dim: feature dimension ``dim``.
        num_classes: output classes.
        hidden: units per hidden layer.
        dropout: dropout after every hidden layer (the paper's keep-prob 0.8 -> 0.2).
        negative_slope: slope of the leaky ReLU.
    """

    def __init__(
        self,
        input_dim: int,
        num_classes: int,
        *,
        hidden: list[int] | tuple[int, ...] = (100, 100),
        dropout: float = 0.2,
        negative_slope: float = 0.2,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        prev = input_dim
        for width in hidden:
            layers += [
                nn.Linear(prev, int(width)),
                nn.LeakyReLU(negative_slope),
                nn.Dropout(dropout),
            ]
            prev = int(width)
        layers.append(nn.Linear(prev, num_classes))
        self.layers = nn.Sequential(*layers)
        for layer in self.layers:
            if isinstance(layer, nn.Linear):
                nn.init.xavier_uniform_(layer.weight)
                nn.init.zeros_(layer.bias)

    @classmethod
    def test_params(cls) -> dict:
        """Small sizes for the contract suite."""
        return {"hidden": [32], "dropout": 0.0}

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch, classes)`` of ``x`` ``(batch, frames, dim)``."""
        steps = torch.arange(x.shape[1], device=x.device)
        mask = (steps[None, :] < lengths[:, None]).to(x.dtype).unsqueeze(-1)  # (B, T, 1)
        pooled = (x * mask).sum(dim=1) / mask.sum(dim=1).clamp_min(1.0)
        return self.layers(pooled)
