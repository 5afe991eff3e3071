"""The augmenter contract (what the runner calls once per training fold).

``fit`` sees only the fold's training rows (never a test row) plus the source corpus's
feature vectors; ``generate`` returns labelled synthetic rows, each tied to the source row it
was made from, so the runner can give it a ``source_id`` and certify where it came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Synthetic:
    """Synthetic rows made by an augmenter.

    Attributes:
        X: ``(k, dim)`` float32 feature vectors.
        y: ``(k,)`` labels (class names of the target rows).
        source_index: ``(k,)`` row index into the ``X_source`` given to ``generate``.
    """

    X: np.ndarray
    y: np.ndarray
    source_index: np.ndarray


class Augmenter:
    """Base class: stores its ``__init__`` parameters (scikit-learn style, no work there).

    Subclasses implement :meth:`fit` and :meth:`generate`, may set ``history_`` (a list of
    per-epoch dicts of losses) and ``fit_summary_`` (a JSON-able dict) after ``fit``, and
    provide ``presets`` (``{"cpu": {...}, "paper": {...}}``) and a ``test_params()``
    classmethod with tiny, fast parameters for the contract suite.
    """

    presets: dict[str, dict[str, Any]] = {}

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        X_source: np.ndarray,
        *,
        groups: np.ndarray | None = None,
        seed: int = 0,
    ) -> Augmenter:
        """Learn from one training fold.

        Args:
            X: ``(n, dim)`` the fold's training feature vectors (targets).
            y: ``(n,)`` their labels.
            X_source: ``(m, dim)`` source-corpus vectors (their labels are not used).
            groups: ``(n,)`` speaker ids of the training rows (for a speaker-disjoint
                validation split, where the augmenter makes one).
            seed: seeds every random choice.
        """
        raise NotImplementedError

    def generate(self, X_source: np.ndarray) -> Synthetic:
        """Synthetic labelled rows made from source vectors ``(m, dim)``."""
        raise NotImplementedError

    def resolved_params(self) -> dict[str, Any]:
        """The values :meth:`fit` will use beyond the given parameters (a preset's values),
        JSON-able; they enter the run fingerprint, so a changed preset recomputes the folds
        of a run whose config is unchanged (default: none)."""
        return {}

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        """Small parameters for the contract suite (default: none)."""
        return {}
