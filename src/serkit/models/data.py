"""Variable-length frame features for torch: datasets, padding collates, normalisation, batches.

A batch is a dict of tensors: ``x`` ``(batch, frames, dim)`` float32 zero-padded at the end,
``lengths`` ``(batch,)`` int64 real frames, and ``y`` ``(batch,)`` int64 class indices (``-1``
when unknown). The training loop moves every tensor of the dict to the device, so a custom
collate may add keys (e.g. segment owners) that its ``forward_fn`` uses.

Fixed-length segmenting and segment voting live in :mod:`serkit.models.segments`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from serkit.errors import ConfigError


class SequenceDataset(torch.utils.data.Dataset):
    """Items ``(frames_i (T_i, dim) float32 array, label int)``.

    Args:
        frames: list of ``(frames_i, dim)`` arrays.
        labels: ``(n,)`` class indices, or ``None`` (labels -1).
    """

    def __init__(self, frames: Sequence[np.ndarray], labels: np.ndarray | None = None) -> None:
        self.frames = list(frames)
        n = len(self.frames)
        self.labels = (
            np.full(n, -1, dtype=np.int64) if labels is None else np.asarray(labels, np.int64)
        )
        if len(self.labels) != n:
            raise ConfigError(f"{n} sequences but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, index: int) -> tuple[np.ndarray, int]:
        return self.frames[index], int(self.labels[index])


def pad_sequences(
    seqs: Sequence[np.ndarray], *, max_frames: int | None = None, rng: np.random.Generator | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad (and crop) sequences into one tensor.

    Args:
        seqs: list of ``(frames_i, dim)`` arrays (``frames_i >= 1``).
        max_frames: crop longer sequences to this many frames (``None`` = keep full length).
        rng: random crop start when given (training); ``None`` crops from the centre.

    Returns:
        ``x`` ``(batch, max_len, dim)`` float32 and ``lengths`` ``(batch,)`` int64.
    """
    cropped = []
    for s in seqs:
        s = np.asarray(s, dtype=np.float32)
        if max_frames is not None and len(s) > max_frames:
            extra = len(s) - max_frames
            start = int(rng.integers(0, extra + 1)) if rng is not None else extra // 2
            s = s[start : start + max_frames]
        cropped.append(s)
    lengths = np.array([len(s) for s in cropped], dtype=np.int64)
    dim = cropped[0].shape[1]
    x = np.zeros((len(cropped), int(lengths.max()), dim), dtype=np.float32)
    for i, s in enumerate(cropped):
        x[i, : len(s)] = s
    return torch.from_numpy(x), torch.from_numpy(lengths)


class PadCollate:
    """Collate ``(frames, label)`` items into a padded batch dict (see module docstring).

    Args:
        max_frames: random crop to this length when ``train`` (centre crop otherwise, only if
            ``crop_eval``); ``None`` keeps full length.
        train: random crops (from a generator reseeded by :meth:`set_epoch`).
        seed: base seed of the crop generator.
        crop_eval: also crop (centrally) in eval mode; default keeps full length.
    """

    def __init__(
        self,
        max_frames: int | None = None,
        *,
        train: bool = True,
        seed: int = 0,
        crop_eval: bool = False,
    ) -> None:
        self.max_frames = max_frames
        self.train = train
        self.seed = seed
        self.crop_eval = crop_eval
        self.rng = np.random.default_rng(seed)

    def set_epoch(self, epoch: int, rank: int = 0) -> None:
        """Reseed the crop generator so that an epoch is reproducible (and resumable)."""
        self.rng = np.random.default_rng([self.seed, epoch, rank])

    def __call__(self, items: list[tuple[np.ndarray, int]]) -> dict[str, torch.Tensor]:
        seqs = [item[0] for item in items]
        if self.train:
            x, lengths = pad_sequences(seqs, max_frames=self.max_frames, rng=self.rng)
        else:
            limit = self.max_frames if self.crop_eval else None
            x, lengths = pad_sequences(seqs, max_frames=limit, rng=None)
        y = torch.tensor([item[1] for item in items], dtype=torch.int64)
        return {"x": x, "lengths": lengths, "y": y}


def length_batches(lengths: Sequence[int], batch_size: int) -> list[np.ndarray]:
    """Index batches of similar length (sorted by length) for padding-efficient prediction."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


class Normalizer:
    """Per-dimension z-score fitted on training frames; ``mean_``/``std_`` are ``(dim,)``."""

    def __init__(self, mean: np.ndarray | None = None, std: np.ndarray | None = None) -> None:
        self.mean_ = None if mean is None else np.asarray(mean, dtype=np.float32)
        self.std_ = None if std is None else np.asarray(std, dtype=np.float32)

    def fit(self, frames: Sequence[np.ndarray]) -> Normalizer:
        """Fit on a list of ``(frames_i, dim)`` arrays (float64 accumulation)."""
        total = np.zeros(frames[0].shape[1], dtype=np.float64)
        square = np.zeros_like(total)
        count = 0
        for f in frames:
            f64 = np.asarray(f, dtype=np.float64)
            total += f64.sum(axis=0)
            square += np.square(f64).sum(axis=0)
            count += len(f64)
        mean = total / max(count, 1)
        var = np.maximum(square / max(count, 1) - mean**2, 0.0)
        std = np.sqrt(var)
        self.mean_ = mean.astype(np.float32)
        self.std_ = np.where(std > 1e-8, std, 1.0).astype(np.float32)
        return self

    def transform(self, frames: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Apply to each ``(frames_i, dim)`` array (identity when not fitted)."""
        if self.mean_ is None:
            return [np.asarray(f, dtype=np.float32) for f in frames]
        return [((np.asarray(f, np.float32) - self.mean_) / self.std_) for f in frames]

    def to_dict(self) -> dict[str, Any]:
        """Plain lists, for packages."""
        if self.mean_ is None:
            return {}
        return {"mean": self.mean_.tolist(), "std": self.std_.tolist()}


def check_frames(X: Any, *, who: str = "NeuralClassifier") -> list[np.ndarray]:
    """Validate frame-level input: a non-empty list of ``(frames_i, dim)`` arrays, same dim.

    Raises:
        ConfigError: naming the offending index, its shape and what was expected.
    """
    if isinstance(X, np.ndarray) and X.ndim == 2:
        raise ConfigError(
            f"{who} expects frame-level features (a list of (frames_i, dim) arrays), found one "
            f"(n, dim) matrix {X.shape}; use a frame-level extractor or a classic model"
        )
    out = [np.asarray(x, dtype=np.float32) for x in X]
    if not out:
        raise ConfigError(f"{who} got no sequences")
    dim = out[0].shape[-1] if out[0].ndim == 2 else None
    for i, x in enumerate(out):
        if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] != dim:
            raise ConfigError(
                f"{who}: sequence {i} has shape {x.shape}; expected (frames >= 1, {dim})"
            )
        if not np.all(np.isfinite(x)):
            raise ConfigError(f"{who}: sequence {i} contains NaN or inf values")
    return out
