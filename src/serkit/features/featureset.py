"""The features of a manifest as a data class: :class:`FeatureSet` (what ``load`` returns)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from serkit.features.base import FeatureError

__all__ = ["FeatureSet"]


@dataclass
class FeatureSet:
    """Features of a manifest, aligned to its row order.

    Attributes:
        ids: row ids, in manifest order.
        level: "utterance" or "frame".
        dim: feature dimension.
        X: ``(n, dim)`` float32 (utterance level; ``None`` at frame level).
        frames: list of ``(frames_i, dim)`` float32 arrays, memory-mapped (frame level).
        lengths: ``(n,)`` int64 frame counts (ones at utterance level).
        feature_names: names of the ``dim`` columns, when the extractor knows them.
        extractor: the extractor's ``to_dict()``.
        channels: stacked channels of a frame feature (channel-major columns).
        missing: ids of the manifest left out (only with ``allow_missing``).
        vad: the VAD's :func:`vad_spec` when the features were computed on trimmed audio.
    """

    ids: list[str]
    level: str
    dim: int
    X: np.ndarray | None
    frames: list[np.ndarray] | None
    lengths: np.ndarray
    feature_names: list[str] | None
    extractor: dict[str, Any]
    channels: int = 1
    missing: list[str] = field(default_factory=list)
    vad: dict[str, Any] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def padded(
        self, max_frames: int | None = None, *, pad_value: float = 0.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Frame features as one zero-padded batch.

        Args:
            max_frames: crop every utterance to this many frames (``None`` = the longest).
            pad_value: the value after each utterance's end.

        Returns:
            ``(array (n, T, dim) float32, lengths (n,) int64)`` with lengths after cropping.
        """
        if self.level != "frame" or self.frames is None:
            raise FeatureError("padded() needs frame-level features; this set is utterance level")
        lengths = np.asarray(self.lengths, dtype=np.int64)
        if max_frames is not None:
            lengths = np.minimum(lengths, int(max_frames))
        steps = int(lengths.max()) if len(lengths) else 0
        if max_frames is not None:
            steps = int(max_frames)
        out = np.full((len(self.frames), steps, self.dim), pad_value, dtype=np.float32)
        for i, (array, length) in enumerate(zip(self.frames, lengths, strict=True)):
            out[i, :length] = array[:length]
        return out, lengths
