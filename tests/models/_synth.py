"""Tiny synthetic data shared by the model tests."""

from __future__ import annotations

import numpy as np


def frames(
    n: int = 48,
    dim: int = 6,
    classes: int = 3,
    speakers: int = 6,
    seed: int = 0,
    min_frames: int = 8,
    max_frames: int = 30,
    *,
    channels: int = 1,
    band: int = 1,
    step: int = 1,
    shift: float = 2.5,
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """``n`` sequences ``(frames_i, dim)`` whose class raises a band of feature bins.

    ``dim`` is ``channels`` x ``bins`` (channel-major, like log-mel + deltas); class ``c``
    adds ``shift`` to bins ``step * c`` .. ``step * c + band - 1`` of every channel.

    Returns:
        ``(X, y, groups)`` with string labels ``c0..`` and speakers ``s0..``.
    """
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % classes
    bins = dim // channels
    X = []
    for c in labels:
        x = rng.normal(size=(int(rng.integers(min_frames, max_frames + 1)), channels, bins))
        start = (step * c) % bins
        x[:, :, start : start + band] += shift
        X.append(x.reshape(len(x), dim).astype(np.float32))
    y = np.array([f"c{c}" for c in labels])
    groups = np.array([f"s{i % speakers}" for i in range(n)])
    return X, y, groups


def utterances(
    n: int = 60, dim: int = 5, classes: int = 3, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(X (n, dim), y, groups)`` with well separated classes."""
    X, y, groups = frames(n=n, dim=dim, classes=classes, seed=seed, max_frames=10)
    return np.stack([x.mean(axis=0) for x in X]), y, groups
