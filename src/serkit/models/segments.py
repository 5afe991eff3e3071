"""Fixed-length segmenting of frame features and utterance decisions from segment scores.

Segment-level systems (3-D ACRNN, DCNN-BLSTMwA) cut each utterance ``(frames, dim)`` into
windows of ``length`` frames every ``hop`` frames, train on the windows with the utterance's
label, and decide per utterance by pooling the segment scores (max or mean of the logits or of
the posteriors).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from serkit.errors import ConfigError

Pooling = Literal["max", "mean"]
Scores = Literal["logits", "posteriors"]


def segment_starts(frames: int, length: int, hop: int, *, tail: bool = True) -> np.ndarray:
    """Start frames of the windows of one utterance.

    Args:
        frames: number of frames of the utterance (>= 0).
        length: window length in frames (> 0).
        hop: hop between window starts in frames (> 0).
        tail: when the last full window does not reach the end of the utterance, add one more
            window ending exactly at the last frame (so no frame is lost).

    Returns:
        ``(n_segments,)`` int64 starts; an utterance shorter than ``length`` gives ``[0]`` (the
        window is zero-padded by :func:`segment`).
    """
    if length <= 0 or hop <= 0:
        raise ConfigError(f"segment length and hop must be positive, found {length} and {hop}")
    if frames <= length:
        return np.zeros(1, dtype=np.int64)
    starts = np.arange(0, frames - length + 1, hop, dtype=np.int64)
    if tail and starts[-1] + length < frames:
        starts = np.append(starts, frames - length)
    return starts


def segment(
    x: np.ndarray, length: int, hop: int, *, tail: bool = True, pad_value: float = 0.0
) -> np.ndarray:
    """Cut one utterance into fixed-length windows.

    Args:
        x: ``(frames, dim)`` features.
        length: window length in frames.
        hop: hop in frames.
        tail: see :func:`segment_starts`.
        pad_value: value used to pad an utterance shorter than ``length`` (at the end).

    Returns:
        ``(n_segments, length, dim)`` array of the same dtype.
    """
    x = np.asarray(x)
    if x.ndim != 2:
        raise ConfigError(f"segment() expects (frames, dim) features, found shape {x.shape}")
    frames, dim = x.shape
    if frames < length:
        out = np.full((1, length, dim), pad_value, dtype=x.dtype)
        out[0, :frames] = x
        return out
    starts = segment_starts(frames, length, hop, tail=tail)
    index = starts[:, None] + np.arange(length)[None, :]
    return x[index]


def segment_many(
    xs: Sequence[np.ndarray], length: int, hop: int, *, tail: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Segment several utterances at once.

    Args:
        xs: list of ``(frames_i, dim)`` arrays.
        length: window length in frames.
        hop: hop in frames.
        tail: see :func:`segment_starts`.

    Returns:
        ``(segments, owner, lengths)``: ``(n_total, length, dim)`` windows, ``(n_total,)`` index
        of the utterance each window comes from, and ``(n_total,)`` number of real
        (un-padded) frames in each window.
    """
    segs, owner, lengths = [], [], []
    for i, x in enumerate(xs):
        s = segment(x, length, hop, tail=tail)
        segs.append(s)
        owner.append(np.full(len(s), i, dtype=np.int64))
        lengths.append(np.full(len(s), min(len(x), length), dtype=np.int64))
    if not segs:
        raise ConfigError("segment_many() got no utterances")
    return np.concatenate(segs), np.concatenate(owner), np.concatenate(lengths)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def pool_segments(
    scores: np.ndarray,
    owner: np.ndarray,
    n_utterances: int,
    *,
    pooling: Pooling = "max",
    on: Scores = "logits",
) -> np.ndarray:
    """Utterance posteriors from segment logits.

    Args:
        scores: ``(n_segments, classes)`` segment logits.
        owner: ``(n_segments,)`` utterance index of each segment (every utterance in
            ``range(n_utterances)`` must own at least one segment).
        n_utterances: number of utterances.
        pooling: ``"max"`` (the ACRNN paper) or ``"mean"`` over an utterance's segments.
        on: pool the ``"logits"`` (then softmax) or the ``"posteriors"`` (then renormalise).

    Returns:
        ``(n_utterances, classes)`` posteriors (rows sum to 1).
    """
    if pooling not in ("max", "mean"):
        raise ConfigError(f"segment pooling must be 'max' or 'mean', found {pooling!r}")
    if on not in ("logits", "posteriors"):
        raise ConfigError(f"segment pooling 'on' must be 'logits' or 'posteriors', found {on!r}")
    scores = np.asarray(scores, dtype=np.float64)
    owner = np.asarray(owner, dtype=np.int64)
    counts = np.bincount(owner, minlength=n_utterances)
    if len(counts) > n_utterances or (counts == 0).any():
        missing = np.flatnonzero(counts == 0)[:5].tolist()
        raise ConfigError(
            f"segment owners must cover utterances 0..{n_utterances - 1} exactly; utterances "
            f"without segments: {missing}"
        )
    values = scores if on == "logits" else _softmax(scores)
    if pooling == "max":
        pooled = np.full((n_utterances, scores.shape[1]), -np.inf)
        np.maximum.at(pooled, owner, values)
    else:
        pooled = np.zeros((n_utterances, scores.shape[1]))
        np.add.at(pooled, owner, values)
        pooled /= counts[:, None]
    if on == "logits":
        return _softmax(pooled)
    pooled = np.clip(pooled, 1e-12, None)
    return pooled / pooled.sum(axis=1, keepdims=True)
