"""Per-utterance normalisation and pooling of frame features: min-max, z-score, statistics.

Conventions: a frame feature is ``(frames, dim)`` (time first, as the store keeps it);
stacked channels are channel-major along ``dim``. Every function is deterministic and
stateless.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "minmax_normalize",
    "stats_names",
    "stats_pool",
    "zscore_normalize",
]


def _per_channel(features: np.ndarray, channels: int) -> np.ndarray:
    frames, dim = features.shape
    if dim % channels:
        raise ValueError(f"feature dim {dim} is not divisible by {channels} channels")
    return features.reshape(frames, channels, dim // channels)


def minmax_normalize(features: np.ndarray, channels: int = 1, *, eps: float = 1e-8) -> np.ndarray:
    """Scale each channel of one utterance to ``[0, 1]`` (constant channels become 0).

    Args:
        features: ``(frames, channels * bins)`` channel-major.
        channels: number of stacked channels.
        eps: guards constant channels.

    Returns:
        Same shape, float32.
    """
    x = _per_channel(np.asarray(features, dtype=np.float32), channels)
    low = x.min(axis=(0, 2), keepdims=True)
    span = x.max(axis=(0, 2), keepdims=True) - low
    out = (x - low) / np.maximum(span, np.float32(eps))
    return out.reshape(features.shape).astype(np.float32, copy=False)


def zscore_normalize(features: np.ndarray, *, eps: float = 1e-8) -> np.ndarray:
    """Per-dimension zero mean, unit variance over the frames of one utterance.

    Args:
        features: ``(frames, dim)``.
        eps: added to the standard deviation.

    Returns:
        ``(frames, dim)`` float32.
    """
    x = np.asarray(features, dtype=np.float32)
    mean = x.mean(axis=0, keepdims=True)
    std = x.std(axis=0, keepdims=True)
    return ((x - mean) / (std + np.float32(eps))).astype(np.float32, copy=False)


_STATS = ("mean", "std", "min", "max", "median", "range", "skew", "kurtosis")


def _check_stat(name: str) -> None:
    if name in _STATS:
        return
    if (
        name.startswith("p")
        and name[1:].replace(".", "", 1).isdigit()
        and 0 <= float(name[1:]) <= 100
    ):
        return
    raise ValueError(
        f"unknown statistic {name!r}; expected one of {', '.join(_STATS)} or pNN (percentile)"
    )


def stats_pool(features: np.ndarray, stats: Sequence[str] = ("mean", "std")) -> np.ndarray:
    """Pool frame features to one utterance vector, statistic-major.

    Args:
        features: ``(frames, dim)`` with at least one frame.
        stats: names among mean, std, min, max, median, range, skew, kurtosis and ``pNN``
            (the NN-th percentile, e.g. ``p10``).

    Returns:
        ``(len(stats) * dim,)`` float32: all dims of the first statistic, then the next, ...
        (names from :func:`stats_names`).
    """
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"stats_pool expects (frames >= 1, dim), got shape {x.shape}")
    parts = []
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    for name in stats:
        _check_stat(name)
        if name == "mean":
            parts.append(mean)
        elif name == "std":
            parts.append(std)
        elif name == "min":
            parts.append(x.min(axis=0))
        elif name == "max":
            parts.append(x.max(axis=0))
        elif name == "median":
            parts.append(np.median(x, axis=0))
        elif name == "range":
            parts.append(x.max(axis=0) - x.min(axis=0))
        elif name in ("skew", "kurtosis"):
            safe = np.where(std > 0, std, 1.0)
            z = (x - mean) / safe
            moment = np.mean(z**3 if name == "skew" else z**4, axis=0)
            parts.append(np.where(std > 0, moment - (0.0 if name == "skew" else 3.0), 0.0))
        else:
            parts.append(np.percentile(x, float(name[1:]), axis=0))
    return np.concatenate(parts).astype(np.float32)


def stats_names(names: Sequence[str], stats: Sequence[str] = ("mean", "std")) -> list[str]:
    """Names of :func:`stats_pool` outputs: ``<stat>_<dim name>``, statistic-major."""
    for name in stats:
        _check_stat(name)
    return [f"{stat}_{name}" for stat in stats for name in names]
