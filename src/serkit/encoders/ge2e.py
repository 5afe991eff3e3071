"""``ge2e``: a Resemblyzer-style LSTM emotion encoder trained with the GE2E loss over emotions.

The seed's ``EmotionEncoder_LSTM`` (seed 001, §1.3 c): Resemblyzer's speaker-encoder
architecture, an ``num_layers``-layer LSTM over log-mel frames, its last layer's final hidden
state, Linear ``hidden -> embed_dim``, ReLU, L2 normalisation, trained with the generalised
end-to-end softmax loss (Wan et al. 2018) where the "speakers" are emotion classes: a batch
holds N classes x M utterances (:meth:`GE2EEncoder.batch_indices`), each utterance scored
against every class centroid (its own class's centroid without itself) with a learnable scale
``w`` (initialised at 10, kept > 0) and bias ``b`` (-5), whose gradients are scaled by 0.01
as in the seed (:func:`serkit.encoders.losses.scale_grad`).

Training sees one random ``segment_frames`` crop (a partial utterance, 160 frames = 1.6 s) per
row; a shorter row is used whole (the LSTM reads exactly its real frames, packed). An
utterance's embedding (layer ``embedding``, utterance level) is Resemblyzer's: partial crops
every ``crop_step`` frames (plus one ending on the last real frame), the mean of their
embeddings, L2-normalised. Padded frames are never read.

Sizes: ``paper`` is the seed's (3 layers of 256, embedding 256); ``cpu`` (default) 2 layers of
128, embedding 128. The seed's optional concatenation of a speaker embedding belongs to its
downstream classifier, not to this encoder, so ``ge2e`` takes no conditioning.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from serkit.encoders import _crops as C
from serkit.encoders import register_encoder
from serkit.encoders._frontends import SIMPLE_40_LOGMEL
from serkit.encoders.base import EncoderNet, refuse_conditioning
from serkit.encoders.losses import ge2e_logits, ge2e_loss, scale_grad


@register_encoder("ge2e")
class GE2EEncoder(EncoderNet):
    """LSTM + projection + L2 norm, trained with GE2E over emotion classes.

    Args:
        input_dim: mel bands of the input frames.
        num_classes: number of emotion classes (informative; the loss reads the labels).
        cond_dim: must be 0 (no conditioning).
        hidden: LSTM size.
        num_layers: LSTM layers.
        embed_dim: embedding size.
        init_w: initial GE2E scale ``w``.
        init_b: initial GE2E bias ``b``.
        wb_grad_scale: factor on the gradients of ``w`` and ``b``.
        segment_frames: frames per training crop and per partial utterance.
        crop_step: frames between the partial utterances of :meth:`embed`.
    """

    uses_labels: ClassVar[bool] = True
    conditions: ClassVar[tuple[str, ...]] = ()
    layers: ClassVar[tuple[str, ...]] = ("embedding",)
    layer_levels: ClassVar[dict[str, str]] = {"embedding": "utterance"}
    default_frontend: ClassVar[dict[str, Any]] = {"name": "logmel", "params": SIMPLE_40_LOGMEL}
    segment_frames: ClassVar[int | None] = 160
    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "cpu": {"hidden": 128, "num_layers": 2, "embed_dim": 128},
        "paper": {"hidden": 256, "num_layers": 3, "embed_dim": 256},
    }

    def __init__(
        self,
        input_dim: int,
        num_classes: int = 0,
        cond_dim: int = 0,
        *,
        hidden: int = 128,
        num_layers: int = 2,
        embed_dim: int = 128,
        init_w: float = 10.0,
        init_b: float = -5.0,
        wb_grad_scale: float = 0.01,
        segment_frames: int = 160,
        crop_step: int = 80,
    ) -> None:
        super().__init__()
        name = self.encoder_name
        refuse_conditioning(name, cond_dim)
        if segment_frames < 1 or crop_step < 1 or input_dim < 1:
            raise ValueError(
                f"{name}: input_dim, segment_frames and crop_step must be >= 1, "
                f"found {input_dim}, {segment_frames} and {crop_step}"
            )
        self.input_dim, self.num_classes = int(input_dim), int(num_classes)
        self.hidden, self.num_layers, self.embed_dim = int(hidden), int(num_layers), int(embed_dim)
        self.init_w, self.init_b, self.wb_grad_scale = (
            float(init_w),
            float(init_b),
            float(wb_grad_scale),
        )
        self.segment_frames, self.crop_step = int(segment_frames), int(crop_step)
        self.lstm = nn.LSTM(input_dim, hidden, num_layers=num_layers, batch_first=True)
        self.proj = nn.Linear(hidden, embed_dim)
        self.w = nn.Parameter(torch.tensor(self.init_w))
        self.b = nn.Parameter(torch.tensor(self.init_b))

    def get_config(self) -> dict[str, Any]:
        """JSON-able params: ``cls(input_dim, num_classes, 0, **get_config())`` rebuilds it."""
        return {
            "hidden": self.hidden,
            "num_layers": self.num_layers,
            "embed_dim": self.embed_dim,
            "init_w": self.init_w,
            "init_b": self.init_b,
            "wb_grad_scale": self.wb_grad_scale,
            "segment_frames": self.segment_frames,
            "crop_step": self.crop_step,
        }

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        """Tiny sizes for the contract suite."""
        return {"hidden": 16, "num_layers": 1, "embed_dim": 8, "segment_frames": 12, "crop_step": 6}

    # -- batches ---------------------------------------------------------------------------

    @classmethod
    def batch_indices(
        cls, labels: np.ndarray | None, batch_size: int, rng: np.random.Generator
    ) -> list[np.ndarray]:
        """N classes x M utterances per batch: every class present, ``M = batch_size // N``.

        ``M`` is at least 2 (a class needs two rows for its exclusive centroid), so a
        ``batch_size`` below ``2 N`` gives batches of ``2 N`` rows. An epoch has
        ``ceil(rows / (N M))`` batches; each class's rows are drawn from its own shuffled
        stream (reshuffled when used up), so a smaller class is repeated within the epoch
        rather than leaving batches unbalanced (the seed balances by under-sampling).

        Example:
            >>> import numpy as np
            >>> labels = np.array([0, 0, 0, 0, 1, 1, 2, 2, 2])
            >>> batches = GE2EEncoder.batch_indices(labels, 6, np.random.default_rng(0))
            >>> [sorted(labels[b].tolist()) for b in batches]
            [[0, 0, 1, 1, 2, 2], [0, 0, 1, 1, 2, 2]]
        """
        if labels is None:
            raise ValueError("ge2e uses emotion labels: its batches need the labels of the rows")
        labels = np.asarray(labels)
        classes = np.unique(labels)
        if len(classes) < 2:
            raise ValueError(
                f"ge2e needs rows of at least 2 emotion classes, found {classes.tolist()}; "
                "train it on rows with several emotions"
            )
        groups = [np.flatnonzero(labels == c) for c in classes]
        m = max(2, batch_size // len(groups))
        n_batches = max(1, math.ceil(len(labels) / (len(groups) * m)))
        streams = []
        for group in groups:
            need = n_batches * m
            parts = [rng.permutation(group) for _ in range(math.ceil(need / len(group)))]
            streams.append(np.concatenate(parts)[:need])
        return [np.concatenate([s[i * m : (i + 1) * m] for s in streams]) for i in range(n_batches)]

    # -- the net ---------------------------------------------------------------------------

    def embed_crops(self, crops: torch.Tensor, crop_lengths: torch.Tensor) -> torch.Tensor:
        """Crops ``(n, segment, mels)`` with ``(n,)`` real frames -> unit ``(n, embed_dim)``."""
        packed = pack_padded_sequence(
            crops, crop_lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        _, (h, _) = self.lstm(packed)
        return F.normalize(torch.relu(self.proj(h[-1])), dim=1, eps=1e-8)

    def _crop(self, x: torch.Tensor, lengths: torch.Tensor, rows, starts):
        starts = starts.clamp(min=0)  # a short row starts at its first frame, read whole
        row_len = lengths[rows]
        pos, _ = C.positions(row_len, starts, self.segment_frames)
        crop_len = (row_len - starts).clamp(max=self.segment_frames)
        return C.gather(x, rows, pos), crop_len

    def loss(self, x, lengths, labels=None, cond=None):
        """GE2E softmax loss of one random crop per row; parts ``ge2e``, ``acc``, ``w``, ``b``."""
        if labels is None:
            raise ValueError("ge2e uses emotion labels: pass labels to loss()")
        lengths = C.check_lengths(lengths, x.shape[1], self.encoder_name)
        rows = torch.arange(x.shape[0])
        starts = C.random_starts(lengths, self.segment_frames)
        crops, crop_len = self._crop(x, lengths, rows, starts)
        emb = self.embed_crops(crops, crop_len)
        w = scale_grad(self.w, self.wb_grad_scale).clamp(min=1e-6)
        b = scale_grad(self.b, self.wb_grad_scale)
        loss = ge2e_loss(emb, labels, w, b)
        with torch.no_grad():
            logits, valid = ge2e_logits(emb, labels, w, b)
            hit = (logits.argmax(dim=1) == labels.long())[valid]
            acc = float(hit.float().mean()) if hit.numel() else 0.0
        return loss, {
            "ge2e": float(loss.detach()),
            "acc": acc,
            "w": float(self.w.detach()),
            "b": float(self.b.detach()),
        }

    def embed(self, x, lengths, cond=None, layer=None):
        """Utterance embeddings ``(batch, embed_dim)``: L2-normalised mean of partial crops."""
        if layer not in (None, "embedding"):
            raise ValueError(f"{self.encoder_name}: layer {layer!r}; expected 'embedding'")
        lengths = C.check_lengths(lengths, x.shape[1], self.encoder_name)
        rows, starts = C.sliding_starts(lengths, self.segment_frames, self.crop_step)
        crops, crop_len = self._crop(x, lengths, rows, starts)
        mean = C.mean_by_row(self.embed_crops(crops, crop_len), rows, x.shape[0])
        return F.normalize(mean, dim=1, eps=1e-8)
