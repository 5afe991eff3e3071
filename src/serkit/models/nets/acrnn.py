"""3-D ACRNN (Chen et al., IEEE SPL 2018): CNN + BLSTM + attention pooling on 3-channel log-mel.

Input: ``(batch, frames, 3 * n_mels)`` channel-major (static, delta, delta-delta), usually
3-s segments (300 frames). Layers: conv 5x3 3->C1, LeakyReLU(0.01), max-pool 2(time)x4(freq);
conv C1->C2 then C2->C2 (no pooling), each with LeakyReLU; per time step reshape to
``C2 * n_mels / 4``; linear projection + batch norm + LeakyReLU; BLSTM; attention pooling
``score_t = u . sigmoid(W h_t + b)`` with a softmax over the real (un-padded) steps;
FC -> LeakyReLU -> dropout -> FC classes.

Batch norm in training counts the real steps only (``bn_steps: "real"``; the padded steps of
short utterances, up to two thirds of a 3-s segment on a corpus of 1-s clips such as TurEV-DB,
would otherwise pull the batch statistics towards the projection's bias). In evaluation it uses
its running statistics per step either way, so predictions of a trained net do not depend on
it. ``bn_steps: "all"`` keeps the statistics over every step (serkit before 2026-12-02).

Presets: ``"paper"`` (128/256 channels, 6 conv layers, projection 768, BLSTM 128, FC 64) and the
default ``"cpu"`` (16/32 channels, 3 conv layers, projection 128, BLSTM 64, FC 64).

:class:`MaskedBiLSTM` (exact for padded batches and ONNX-exportable: the backward direction runs
on each sequence reversed within its own length) is shared with DCNN-BLSTMwA.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from serkit.errors import ConfigError
from serkit.models.nets import register_net

ACRNN_PRESETS: dict[str, dict[str, Any]] = {
    "paper": {
        "conv_channels": (128, 256),
        "conv_layers": 6,
        "projection": 768,
        "lstm_hidden": 128,
        "attention_size": 1,
        "fc": 64,
        "dropout": 0.0,
        "init": "paper",
    },
    "cpu": {
        "conv_channels": (16, 32),
        "conv_layers": 3,
        "projection": 128,
        "lstm_hidden": 64,
        "attention_size": 1,
        "fc": 64,
        "dropout": 0.3,
        "init": "default",
    },
}


def reverse_within_length(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse the first ``lengths[b]`` steps of each sequence, keep the padding in place.

    Args:
        x: ``(batch, steps, dim)``.
        lengths: ``(batch,)`` real steps (>= 1).

    Returns:
        ``(batch, steps, dim)``; applying it twice gives ``x`` back.
    """
    steps = x.shape[1]
    t = torch.arange(steps, device=x.device)[None, :]
    n = lengths.to(x.device).to(torch.long)[:, None]
    index = torch.where(t < n, n - 1 - t, t)
    return torch.gather(x, 1, index[:, :, None].expand(-1, -1, x.shape[2]))


class MaskedBiLSTM(nn.Module):
    """Stacked bidirectional LSTM that ignores padding exactly (no packed sequences).

    Args:
        input_size: features per step.
        hidden: hidden units per direction.
        layers: stacked layers.
        dropout: dropout between layers.
    """

    def __init__(self, input_size: int, hidden: int, layers: int = 1, dropout: float = 0.0):
        super().__init__()
        if layers < 1:
            raise ConfigError(f"BLSTM needs at least 1 layer, found {layers}")
        sizes = [input_size] + [2 * hidden] * (layers - 1)
        self.forward_lstms = nn.ModuleList(nn.LSTM(s, hidden, batch_first=True) for s in sizes)
        self.backward_lstms = nn.ModuleList(nn.LSTM(s, hidden, batch_first=True) for s in sizes)
        self.dropout = nn.Dropout(dropout)
        self.output_size = 2 * hidden

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``(batch, steps, input_size)`` -> ``(batch, steps, 2 * hidden)``."""
        for i, (fwd, bwd) in enumerate(zip(self.forward_lstms, self.backward_lstms, strict=True)):
            if i:
                x = self.dropout(x)
            hf, _ = fwd(x)
            hb, _ = bwd(reverse_within_length(x, lengths))
            x = torch.cat([hf, reverse_within_length(hb, lengths)], dim=2)
        return x


def step_mask(lengths: torch.Tensor, steps: int | torch.Tensor) -> torch.Tensor:
    """``(batch, steps)`` boolean mask of the real steps."""
    t = torch.arange(steps, device=lengths.device)
    return t[None, :] < lengths[:, None]


class AttentionPooling(nn.Module):
    """``score_t = u . sigmoid(W h_t + b)``; softmax over real steps; ``c = sum_t a_t h_t``."""

    def __init__(self, size: int, attention_size: int = 1) -> None:
        super().__init__()
        self.proj = nn.Linear(size, attention_size)
        self.u = nn.Parameter(torch.empty(attention_size))
        nn.init.normal_(self.u, std=0.1)

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``h`` ``(batch, steps, size)``, ``mask`` ``(batch, steps)`` -> ``(batch, size)``."""
        scores = torch.sigmoid(self.proj(h)) @ self.u
        scores = scores.masked_fill(~mask, -1e9)
        alpha = torch.softmax(scores, dim=1)
        return (alpha[:, :, None] * h).sum(dim=1)


def pooled_lengths(lengths: torch.Tensor, factor: int) -> torch.Tensor:
    """Real steps after a time pooling of ``factor`` (at least 1)."""
    return torch.clamp(torch.div(lengths, factor, rounding_mode="floor"), min=1)


@register_net("acrnn")
class ACRNN(nn.Module):
    """3-D ACRNN net (registered as ``"acrnn"``).

    Args:
        input_dim: ``channels * n_mels`` (channel-major).
        num_classes: output classes.
        preset: ``"cpu"`` (default) or ``"paper"``; explicit parameters override it.
        channels: stacked channels in the input (3: static, delta, delta-delta).
        conv_channels: ``(C1, C2)``.
        conv_layers: total conv layers (first C1, second C1->C2, the rest C2->C2).
        projection: width of the per-step linear projection.
        lstm_hidden: BLSTM units per direction.
        lstm_layers: stacked BLSTM layers.
        attention_size: size of ``W`` in the attention score.
        fc: hidden FC width.
        dropout: dropout after the hidden FC.
        pool: ``(time, freq)`` max-pool after the first conv.
        init: ``"default"`` (PyTorch) or ``"paper"`` (truncated normal 0.1, biases 0.1).
        bn_steps: ``"real"`` (batch-norm statistics in training over the un-padded steps) or
            ``"all"`` (over every step, padding included).
    """

    def __init__(
        self,
        input_dim: int,
        num_classes: int,
        preset: str | None = None,
        **params: Any,
    ) -> None:
        super().__init__()
        name = preset or "cpu"
        if name not in ACRNN_PRESETS:
            raise ConfigError(f"unknown acrnn preset {name!r}; known: paper, cpu")
        hp = {
            "channels": 3,
            "lstm_layers": 1,
            "pool": (2, 4),
            "bn_steps": "real",
            **ACRNN_PRESETS[name],
        }
        unknown = sorted(set(params) - set(hp))
        if unknown:
            raise ConfigError(
                f"acrnn has no parameter(s) {', '.join(unknown)}; known: {', '.join(sorted(hp))}"
            )
        hp.update(params)
        if hp["bn_steps"] not in ("real", "all"):
            raise ConfigError(f"acrnn bn_steps must be 'real' or 'all', found {hp['bn_steps']!r}")
        self.hp = hp
        channels = int(hp["channels"])
        if input_dim % channels:
            raise ConfigError(
                f"acrnn input_dim {input_dim} is not a multiple of channels={channels}"
            )
        self.channels, self.n_mels = channels, input_dim // channels
        pt, pf = (int(v) for v in hp["pool"])
        pf = min(pf, self.n_mels)  # very few bins (tests): pool them all
        self.time_pool = pt
        c1, c2 = (int(v) for v in hp["conv_channels"])
        act = nn.LeakyReLU(0.01)
        self.stem = nn.Sequential(
            nn.Conv2d(channels, c1, (5, 3), padding=(2, 1)), act, nn.MaxPool2d((pt, pf))
        )
        self.convs = nn.ModuleList()
        prev = c1
        for _ in range(int(hp["conv_layers"]) - 1):
            self.convs.append(
                nn.Sequential(nn.Conv2d(prev, c2, (5, 3), padding=(2, 1)), nn.LeakyReLU(0.01))
            )
            prev = c2
        freq = self.n_mels // pf
        self.projection = nn.Linear(prev * freq, int(hp["projection"]))
        self.bn = nn.BatchNorm1d(int(hp["projection"]))
        self.act = nn.LeakyReLU(0.01)
        self.blstm = MaskedBiLSTM(
            int(hp["projection"]), int(hp["lstm_hidden"]), int(hp["lstm_layers"])
        )
        self.attention = AttentionPooling(self.blstm.output_size, int(hp["attention_size"]))
        self.head = nn.Sequential(
            nn.Linear(self.blstm.output_size, int(hp["fc"])),
            nn.LeakyReLU(0.01),
            nn.Dropout(float(hp["dropout"])),
            nn.Linear(int(hp["fc"]), num_classes),
        )
        if hp["init"] == "paper":
            self._paper_init()

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        """Small sizes for contract tests."""
        return {
            "conv_channels": (4, 8),
            "conv_layers": 2,
            "projection": 16,
            "lstm_hidden": 8,
            "fc": 16,
            "dropout": 0.0,
        }

    def _paper_init(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d | nn.Linear):
                nn.init.trunc_normal_(module.weight, std=0.1, a=-0.2, b=0.2)
                nn.init.constant_(module.bias, 0.1)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Logits ``(batch, classes)`` of ``x`` ``(batch, frames, channels * n_mels)``.

        Frames beyond ``lengths`` are zeroed before the CNN and masked in the attention.
        Inputs shorter than the time pooling are padded.
        """
        batch, frames, _ = x.shape
        if lengths is None:
            lengths = torch.full((batch,), frames, dtype=torch.long, device=x.device)
        lengths = lengths.to(x.device).to(torch.long)
        valid = step_mask(lengths, frames)
        x = torch.where(valid[:, :, None], x, torch.zeros_like(x))
        img = x.reshape(batch, frames, self.channels, self.n_mels).permute(0, 2, 1, 3)
        if frames < self.time_pool:
            img = nn.functional.pad(img, (0, 0, 0, self.time_pool - frames))
        h = self.stem(img)  # (B, C1, T', F')
        steps = h.shape[2]
        n = torch.clamp(pooled_lengths(lengths, self.time_pool), max=steps)
        mask = step_mask(n, steps)
        keep = mask[:, None, :, None]
        h = torch.where(keep, h, torch.zeros_like(h))
        for conv in self.convs:  # zero padded steps so they never leak into real ones
            h = conv(h)
            h = torch.where(keep, h, torch.zeros_like(h))
        h = h.permute(0, 2, 1, 3).reshape(batch, steps, -1)
        h = self.projection(h)
        h = self.act(self._batch_norm(h.reshape(-1, h.shape[-1]), mask.reshape(-1)))
        h = h.reshape(batch, steps, -1)
        h = self.blstm(h, n)
        pooled = self.attention(h, mask)
        return self.head(pooled)

    def _batch_norm(self, flat: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """Batch norm of ``flat`` ``(batch * steps, projection)``; in training with
        ``bn_steps: "real"`` the statistics come from the ``real`` rows only (padded rows are
        left at 0; they are masked downstream). Fewer than two real rows: every row."""
        if not (self.training and self.hp["bn_steps"] == "real") or int(real.sum()) < 2:
            return self.bn(flat)
        index = real.nonzero().squeeze(1)
        return torch.zeros_like(flat).index_copy(0, index, self.bn(flat.index_select(0, index)))


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


__all__ = ["ACRNN", "AttentionPooling", "MaskedBiLSTM", "count_parameters", "step_mask"]
