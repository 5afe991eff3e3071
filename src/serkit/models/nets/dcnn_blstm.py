"""DCNN-BLSTMwA (Zhang et al., Frontiers in Physiology 2021): AlexNet segment features, BLSTM,
self-attention and a DNN per utterance.

The whole utterance model is one net (``"dcnn-blstmwa"``) so it trains, saves and exports like
any other: ``x`` ``(batch, frames, 3 * bins)`` log-mel (+ deltas) -> per-utterance per-channel
min-max to [0, 1] + ImageNet normalisation -> windows of ``segment_frames`` every
``segment_hop`` frames (only full windows; an utterance shorter than one window gives one
zero-padded window) -> each window resized to ``input_size`` and passed through AlexNet up to
FC7 (before its ReLU) -> ``(batch, n_seg, fc)`` -> BiLSTM (masked: exact for padded batches)
-> self-attention (Q, K, V linear; ``softmax(QK^T / sqrt(d))V``; summed over the real query
positions) -> DNN ``Linear(d, 512) ReLU Dropout Linear(512, 256) ReLU Linear(256, classes)``.

The net also carries the segment-level decision of its AlexNet (``classifier.6`` on the FC7
features, posteriors averaged over the real windows): the buffer ``segment_vote`` selects it
instead of the BLSTM head. Both heads share the window features, and the choice is a
``torch.where`` on the buffer, so it is saved with the weights and exports to ONNX unchanged.

The two-stage training (stage 1: AlexNet fine-tuned on segment labels) lives in
:mod:`serkit.models.dcnn`; it copies the stage-1 AlexNet into :attr:`DCNNBLSTMwA.dcnn`.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from serkit.errors import ConfigError
from serkit.models.nets import register_net
from serkit.models.nets.acrnn import MaskedBiLSTM, step_mask
from serkit.models.nets.alexnet import (
    AlexNet,
    alexnet_params,
    dim_size,
    minmax_imagenet,
    resize_matrix,
)

DCNN_PRESETS: dict[str, dict[str, Any]] = {
    "paper": {
        "alexnet": "paper",
        "lstm_hidden": 128,
        "dnn_hidden": (512, 256),
        "dropout": 0.1,
        "feature_norm": False,
    },
    "cpu": {
        "alexnet": "cpu",
        "lstm_hidden": 64,
        "dnn_hidden": (256, 128),
        "dropout": 0.1,
        "feature_norm": True,
    },
}


def segment_windows(frames: int | torch.Tensor, length: int, hop: int) -> torch.Tensor:
    """``(n_seg, length)`` frame indices of the full windows of a ``frames``-long input.

    An input shorter than ``length`` gives one window (the caller pads to ``length``).
    """
    t = torch.as_tensor(frames)
    n_seg = torch.clamp(torch.div(t - length, hop, rounding_mode="floor") + 1, min=1)
    starts = torch.arange(n_seg.to(torch.long)) * hop
    return starts[:, None] + torch.arange(length)[None, :]


def valid_segments(lengths: torch.Tensor, length: int, hop: int) -> torch.Tensor:
    """``(batch,)`` number of full windows of each utterance (at least 1)."""
    return torch.clamp(torch.div(lengths - length, hop, rounding_mode="floor") + 1, min=1)


class SelfAttentionSum(nn.Module):
    """Scaled dot-product self-attention summed over the real query positions."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.q, self.k, self.v = nn.Linear(size, size), nn.Linear(size, size), nn.Linear(size, size)
        self.scale = 1.0 / math.sqrt(size)

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``h`` ``(batch, steps, size)``, ``mask`` ``(batch, steps)`` -> ``(batch, size)``."""
        scores = torch.matmul(self.q(h), self.k(h).transpose(1, 2)) * self.scale
        scores = scores.masked_fill(~mask[:, None, :], -1e9)
        out = torch.matmul(torch.softmax(scores, dim=2), self.v(h))  # (B, S, size)
        return (out * mask[:, :, None].to(out.dtype)).sum(dim=1)


@register_net("dcnn-blstmwa")
class DCNNBLSTMwA(nn.Module):
    """AlexNet segment encoder + BiLSTM + self-attention + DNN.

    Args:
        input_dim: ``3 * bins`` (channel-major static, delta, delta-delta).
        num_classes: output classes.
        preset: ``"cpu"`` (default) or ``"paper"`` (227x227 AlexNet with 4096-d FC7, BLSTM 128,
            DNN 512-256); explicit parameters override it.
        segment_frames: window length in frames (64).
        segment_hop: hop between windows (32).
        alexnet: AlexNet preset name (``"cpu"`` or ``"paper"``).
        alexnet_params: overrides of the AlexNet preset (``widths``, ``fc``, ``input_size``, ...).
        lstm_hidden: BiLSTM units per direction.
        lstm_layers: stacked BiLSTM layers (1).
        dnn_hidden: the two hidden widths of the DNN.
        dropout: DNN dropout.
        feature_norm: layer-normalise the FC7 segment features before the BiLSTM (keeps the
            LSTM out of saturation when the AlexNet trains from scratch; not in the seed).
        freeze_dcnn: keep the AlexNet weights fixed (faster stage 2 on CPU).
        pretrained_path: optional local torchvision-format AlexNet state dict.
    """

    def __init__(
        self,
        input_dim: int,
        num_classes: int,
        preset: str | None = None,
        *,
        segment_frames: int = 64,
        segment_hop: int = 32,
        alexnet_params: dict[str, Any] | None = None,
        lstm_layers: int = 1,
        freeze_dcnn: bool = False,
        pretrained_path: str | None = None,
        **params: Any,
    ) -> None:
        super().__init__()
        name = preset or "cpu"
        if name not in DCNN_PRESETS:
            raise ConfigError(f"unknown dcnn-blstmwa preset {name!r}; known: paper, cpu")
        hp = dict(DCNN_PRESETS[name])
        unknown = sorted(set(params) - set(hp))
        if unknown:
            raise ConfigError(
                f"dcnn-blstmwa has no parameter(s) {', '.join(unknown)}; known: "
                f"{', '.join(sorted(hp))}, segment_frames, segment_hop, alexnet_params, "
                "lstm_layers, freeze_dcnn, pretrained_path"
            )
        hp.update(params)
        if input_dim % 3:
            raise ConfigError(f"dcnn-blstmwa needs input_dim = 3 * bins, found {input_dim}")
        self.segment_frames, self.segment_hop = int(segment_frames), int(segment_hop)
        self.alexnet_hp = _resolve_alexnet(hp["alexnet"], alexnet_params)
        self.input_size = int(self.alexnet_hp["input_size"])
        self.dcnn = AlexNet(num_classes, **self.alexnet_hp)
        if pretrained_path:
            self.dcnn.load_pretrained(pretrained_path)
        self.freeze_dcnn = bool(freeze_dcnn)
        if self.freeze_dcnn:
            self.dcnn.requires_grad_(False)
        fdim = self.dcnn.feature_dim
        self.feature_norm = nn.LayerNorm(fdim) if hp["feature_norm"] else nn.Identity()
        self.blstm = MaskedBiLSTM(fdim, int(hp["lstm_hidden"]), int(lstm_layers))
        size = self.blstm.output_size
        self.attention = SelfAttentionSum(size)
        h1, h2 = (int(v) for v in hp["dnn_hidden"])
        self.dnn = nn.Sequential(
            nn.Linear(size, h1),
            nn.ReLU(),
            nn.Dropout(float(hp["dropout"])),
            nn.Linear(h1, h2),
            nn.ReLU(),
            nn.Linear(h2, num_classes),
        )
        self.register_buffer("segment_vote", torch.tensor(False))

    def use_segment_vote(self, enabled: bool) -> None:
        """Decide by the AlexNet's averaged segment posteriors (``True``) or the BLSTM head."""
        self.segment_vote.fill_(bool(enabled))

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        """Small sizes for contract tests (short windows so short inputs give several)."""
        return {
            "segment_frames": 16,
            "segment_hop": 8,
            "alexnet_params": {
                "widths": (8, 16, 16, 16, 16),
                "fc": 32,
                "input_size": 40,
                "pool_size": 1,
                "dropout": 0.0,
            },
            "lstm_hidden": 8,
            "dnn_hidden": (16, 16),
            "dropout": 0.0,
        }

    def train(self, mode: bool = True) -> DCNNBLSTMwA:
        """Train mode; a frozen AlexNet stays in eval mode (no dropout)."""
        super().train(mode)
        if self.freeze_dcnn:
            self.dcnn.eval()
        return self

    def segment_images(
        self, x: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised, resized windows ``(batch, n_seg, 3, size, size)`` and ``(batch,)`` counts."""
        img = minmax_imagenet(x, lengths)  # (B, 3, bins, T)
        pad = self.segment_frames
        img = nn.functional.pad(img, (0, pad))  # short inputs still give one full window
        index = segment_windows(dim_size(x, 1), self.segment_frames, self.segment_hop)
        windows = img[:, :, :, index]  # (B, 3, bins, n_seg, L)
        batch, ch, bins, n_seg, length = windows.shape
        windows = windows.permute(0, 3, 1, 2, 4).reshape(batch * n_seg, ch, bins, length)
        # bins and window length are fixed: constant resize matrices keep ONNX shapes static
        mh = resize_matrix(int(bins), self.input_size).to(windows)
        mw = resize_matrix(self.segment_frames, self.input_size).to(windows)
        images = torch.matmul(torch.matmul(mh, windows), mw.transpose(0, 1))
        images = images.reshape(batch, n_seg, 3, self.input_size, self.input_size)
        counts = torch.clamp(
            valid_segments(lengths, self.segment_frames, self.segment_hop), max=n_seg
        )
        return images, counts

    def segment_features(
        self, x: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """FC7 features of the windows: ``(batch, n_seg, fc)`` and ``(batch,)`` window counts."""
        batch, frames, _ = x.shape
        if lengths is None:
            lengths = torch.full((batch,), frames, dtype=torch.long, device=x.device)
        lengths = lengths.to(x.device).to(torch.long)
        images, counts = self.segment_images(x, lengths)
        n_seg = images.shape[1]
        flat = images.reshape(-1, 3, self.input_size, self.input_size)
        return self.dcnn.embed(flat).reshape(batch, n_seg, -1), counts

    def from_features(self, feats: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
        """Logits from window features ``(batch, n_seg, fc)`` with ``(batch,)`` real counts."""
        mask = step_mask(counts.to(feats.device), feats.shape[1])
        vote = self.vote_logits(feats, mask)
        feats = self.feature_norm(feats)
        feats = torch.where(mask[:, :, None], feats, torch.zeros_like(feats))
        h = self.blstm(feats, counts.to(feats.device))
        return torch.where(self.segment_vote, vote, self.dnn(self.attention(h, mask)))

    def vote_logits(self, feats: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Log of the AlexNet's segment posteriors averaged over the real windows.

        Args:
            feats: FC7 features ``(batch, n_seg, fc)`` before their ReLU.
            mask: ``(batch, n_seg)`` real windows.

        Returns:
            ``(batch, classes)``.
        """
        logits = self.dcnn.classifier[6](torch.relu(feats))  # not the in-place ReLU of FC7
        probs = torch.softmax(logits, dim=2) * mask[:, :, None].to(feats.dtype)
        mean = probs.sum(dim=1) / mask.sum(dim=1, keepdim=True).clamp_min(1).to(feats.dtype)
        return torch.log(mean.clamp_min(1e-12))

    def forward(
        self, x: torch.Tensor, lengths: torch.Tensor | None = None, features: bool = False
    ) -> torch.Tensor:
        """Logits ``(batch, classes)`` of ``x`` ``(batch, frames, 3 * bins)``.

        With ``features=True``, ``x`` holds cached window features ``(batch, n_seg, fc)`` and
        ``lengths`` the window counts (training with a frozen AlexNet; goes through
        ``forward`` so that DistributedDataParallel still synchronises gradients).
        """
        if features:
            if lengths is None:
                raise ConfigError("dcnn-blstmwa: features=True needs the window counts")
            return self.from_features(x, lengths)
        return self.from_features(*self.segment_features(x, lengths))


def _resolve_alexnet(preset: str, overrides: dict[str, Any] | None) -> dict[str, Any]:
    return alexnet_params(preset, **(overrides or {}))
