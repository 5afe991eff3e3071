"""Test-time views: an input seen through its trained front end and through sped-up copies of
it (config ``perturb.test``), and the mean of the posteriors over those views.

A run with ``perturb.test`` scores each test row by the mean of its own posteriors and those of
its copies (:meth:`serkit.experiment.perturbation.Copies.posteriors`); its model package records
the factors (``extra.test_speeds``), so :class:`serkit.inference.Predictor` goes through the
same views of every input. A copy that cannot be analysed (a sped-up clip too short) is left
out of its row's mean in both places; the trained view always counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from serkit.features.analysable import UnanalysableError
from serkit.features.base import FeatureError
from serkit.features.frontend import Frontend


def view_speeds(meta: dict[str, Any]) -> tuple[float, ...]:
    """The speed factors of a package's test-time copies (``extra.test_speeds``, written by a
    run with ``perturb.test``; top-level in ONNX metadata), ``()`` for none.

    >>> view_speeds({"extra": {"test_speeds": [0.9, 1.1]}}), view_speeds({})
    ((0.9, 1.1), ())
    """
    spec = (meta.get("extra") or {}).get("test_speeds", meta.get("test_speeds"))
    return tuple(float(speed) for speed in spec or ())


def view_frontends(frontend: Frontend, meta: dict[str, Any]) -> tuple[Frontend, ...]:
    """The trained front end, then one sped-up copy of it per factor of :func:`view_speeds`."""
    return (frontend,) + tuple(replace(frontend, speed=s) for s in view_speeds(meta))


def compute_views(
    views: Sequence[Frontend], signal: np.ndarray, rate: int
) -> list[np.ndarray | None]:
    """Features of one signal through every front end of ``views``; ``None`` for a sped-up
    view that cannot be analysed.

    Raises:
        UnanalysableError, FeatureError: the first (trained) view cannot be analysed.
    """
    first, *sped = views
    out: list[np.ndarray | None] = [np.asarray(first.compute(signal, rate), np.float32)]
    for view in sped:
        try:
            out.append(np.asarray(view.compute(signal, rate), dtype=np.float32))
        except (UnanalysableError, FeatureError):
            out.append(None)
    return out


def normalise_views(
    views: Sequence[Frontend],
    feats: list[list[np.ndarray | None]],
    groups: Sequence[str],
    level: str,
) -> None:
    """Apply each view's set-level normalisation to the items that have it, in place, with that
    view's own group statistics (as a run z-scores each factor's copies on their own).

    Args:
        views: the front ends.
        feats: per item, its features through every view (``None`` where missing).
        groups: per item, its speaker or corpus.
        level: ``"utterance"`` (features are flattened and stacked) or ``"frame"``.
    """
    for k, view in enumerate(views):
        have = [i for i, item in enumerate(feats) if item[k] is not None]
        if not have:
            continue
        block = [feats[i][k] for i in have]
        stacked = np.stack([np.ravel(f) for f in block]) if level == "utterance" else block
        for i, x in zip(have, view.normalise(stacked, [groups[i] for i in have]), strict=True):
            feats[i][k] = x


def mean_posteriors(
    n: int, n_classes: int, parts: Iterable[tuple[np.ndarray, np.ndarray]]
) -> np.ndarray:
    """Per row, the mean of the posteriors given for it: ``parts`` are ``(rows (m,), posteriors
    (m, n_classes))`` pairs, one per view; every row needs at least one.

    >>> real = (np.array([0, 1]), np.array([[1.0, 0.0], [0.5, 0.5]]))
    >>> copy = (np.array([0]), np.array([[0.0, 1.0]]))  # row 1 has no copy
    >>> mean_posteriors(2, 2, [real, copy]).tolist()
    [[0.5, 0.5], [0.5, 0.5]]
    """
    total, count = np.zeros((n, n_classes)), np.zeros(n)
    for rows, proba in parts:
        total[rows] += np.asarray(proba, dtype=np.float64)
        count[rows] += 1
    return total / count[:, None]
