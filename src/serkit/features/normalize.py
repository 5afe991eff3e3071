"""Per-speaker feature normalisation (the usual speaker normalisation of SER papers).

Each row's features are z-scored with the mean and standard deviation of ALL rows of the same
speaker (for frame-level features: over all frames of that speaker's utterances). The
statistics come from the features only, never from labels, so the transform is label-free and
may be applied to test speakers too. It is *transductive per speaker*: a test speaker's
statistics are computed from that speaker's own (unlabelled) test utterances, which assumes
all of a speaker's audio is available at once -- the standard assumption of papers that report
speaker-normalised results, and a real difference from per-file inference.

A model trained on speaker-normalised features expects speaker-normalised inputs: the front end
(:class:`serkit.features.frontend.Frontend`, ``normalize="speaker"``) recorded in the model
package makes ``serkit predict`` ask for the speaker of every input (``--speaker`` or a
``--manifest`` with a speaker column) and normalise each speaker's files with their own
statistics; without speakers it refuses.

Example:
    >>> import numpy as np
    >>> X = np.array([[1.0, 5.0], [3.0, 5.0], [10.0, 0.0], [14.0, 2.0]])
    >>> speaker_zscore(X, ["a", "a", "b", "b"])[:, 0].tolist()
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


def speaker_zscore(
    features: np.ndarray | Sequence[np.ndarray], speakers: Sequence[str] | np.ndarray
) -> np.ndarray | list[np.ndarray]:
    """Z-score every row with the statistics of its speaker's rows (label-free).

    Args:
        features: utterance features ``(n, dim)``, or a list of ``n`` frame arrays
            ``(frames_i, dim)`` (statistics then pool every frame of the speaker).
        speakers: ``(n,)`` speaker id of each row.

    Returns:
        The same structure and dtype as ``features``: ``(n, dim)`` or a list of
        ``(frames_i, dim)``. Per speaker and dimension the result has mean 0 and (population)
        standard deviation 1; a dimension that is constant within a speaker becomes 0 (no NaN).

    Raises:
        ValueError: ``speakers`` and ``features`` differ in length, or a speaker has no frames.
    """
    speakers = np.asarray(speakers).astype(str)
    frame_level = not isinstance(features, np.ndarray)
    rows = list(features) if frame_level else features
    if len(rows) != len(speakers):
        raise ValueError(f"{len(rows)} feature rows but {len(speakers)} speaker ids")
    if not frame_level:
        X = np.asarray(features)
        if X.ndim != 2:
            raise ValueError(f"utterance features must be (n, dim), found shape {X.shape}")
        out = np.empty_like(X)
        for speaker in np.unique(speakers):
            idx = np.flatnonzero(speakers == speaker)
            mean, std = _stats([X[idx]])
            out[idx] = ((X[idx] - mean) / std).astype(X.dtype)
        return out
    result: list[np.ndarray] = [None] * len(rows)  # type: ignore[list-item]
    for speaker in np.unique(speakers):
        idx = np.flatnonzero(speakers == speaker)
        parts = [np.asarray(rows[i]) for i in idx]
        if sum(len(p) for p in parts) == 0:
            raise ValueError(f"speaker {speaker}: no feature frames to normalise with")
        mean, std = _stats(parts)
        for i, part in zip(idx, parts, strict=True):
            result[i] = ((part - mean) / std).astype(part.dtype)
    return result
