"""Per-group feature normalisation: per speaker (the usual speaker normalisation of SER papers)
or per corpus (the usual domain normalisation of cross-corpus work).

Each row's features are z-scored with the mean and standard deviation of ALL rows of the same
group (for frame-level features: over all frames of that group's utterances). The statistics
come from the features only, never from labels, so the transform is label-free and may be
applied to test groups too. It is *transductive per group*: a test speaker's (or test corpus's)
statistics are computed from its own (unlabelled) test utterances, which assumes all of its
audio is available at once -- the standard assumption of papers that report speaker- or
corpus-normalised results, and a real difference from per-file inference.

A model trained on group-normalised features expects group-normalised inputs: the front end
(:class:`serkit.features.frontend.Frontend`, ``normalize="speaker"`` or ``"corpus"``) recorded
in the model package makes ``serkit predict`` normalise the inputs of one call the same way:
per speaker it asks for the speaker of every input (``--speaker`` or a ``--manifest`` with a
speaker column) and refuses without; per corpus the inputs of one call are one corpus unless
they carry their own (a manifest's ``corpus`` column).

Example:
    >>> import numpy as np
    >>> X = np.array([[1.0, 5.0], [3.0, 5.0], [10.0, 0.0], [14.0, 2.0]])
    >>> group_zscore(X, ["a", "a", "b", "b"])[:, 0].tolist()
    [-1.0, 1.0, -1.0, 1.0]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: standard deviations at or below this count as a constant dimension (scaled by 1, not 1/std)
_EPS = 1e-8


def _stats(parts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std ``(dim,)`` (float64) over the rows of ``parts`` (each ``(rows, dim)``)."""
    count = sum(len(p) for p in parts)
    mean = sum(p.sum(axis=0, dtype=np.float64) for p in parts) / count
    var = sum(((p.astype(np.float64) - mean) ** 2).sum(axis=0) for p in parts) / count
    std = np.sqrt(var)
    std[std <= _EPS * np.maximum(1.0, np.abs(mean))] = 1.0
    return mean, std


def group_zscore(
    features: np.ndarray | Sequence[np.ndarray], groups: Sequence[str] | np.ndarray
) -> np.ndarray | list[np.ndarray]:
    """Z-score every row with the statistics of its group's rows (label-free).

    Args:
        features: utterance features ``(n, dim)``, or a list of ``n`` frame arrays
            ``(frames_i, dim)`` (statistics then pool every frame of the group).
        groups: ``(n,)`` group id of each row (a speaker, a corpus).

    Returns:
        The same structure and dtype as ``features``: ``(n, dim)`` or a list of
        ``(frames_i, dim)``. Per group and dimension the result has mean 0 and (population)
        standard deviation 1; a dimension that is constant within a group becomes 0 (no NaN).

    Raises:
        ValueError: ``groups`` and ``features`` differ in length, or a group has no frames.
    """
    groups = np.asarray(groups).astype(str)
    frame_level = not isinstance(features, np.ndarray)
    rows = list(features) if frame_level else features
    if len(rows) != len(groups):
        raise ValueError(f"{len(rows)} feature rows but {len(groups)} group ids")
    if not frame_level:
        X = np.asarray(features)
        if X.ndim != 2:
            raise ValueError(f"utterance features must be (n, dim), found shape {X.shape}")
        out = np.empty_like(X)
        for group in np.unique(groups):
            idx = np.flatnonzero(groups == group)
            mean, std = _stats([X[idx]])
            out[idx] = ((X[idx] - mean) / std).astype(X.dtype)
        return out
    result: list[np.ndarray] = [None] * len(rows)  # type: ignore[list-item]
    for group in np.unique(groups):
        idx = np.flatnonzero(groups == group)
        parts = [np.asarray(rows[i]) for i in idx]
        if sum(len(p) for p in parts) == 0:
            raise ValueError(f"group {group}: no feature frames to normalise with")
        mean, std = _stats(parts)
        for i, part in zip(idx, parts, strict=True):
            result[i] = ((part - mean) / std).astype(part.dtype)
    return result
