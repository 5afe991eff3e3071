"""Fisher discriminant ratios per feature (the overlap analysis of seed 004, §4.6).

For two sets of vectors ``a`` ``(n1, dim)`` and ``b`` ``(n2, dim)`` the ratio of feature ``f``
is ``(mean_a[f] - mean_b[f])**2 / (var_a[f] + var_b[f])`` (population variances): 0 when the
two distributions have the same mean, large when they are far apart relative to their spread.
A feature constant in both sets gets 0 when the constants agree and ``inf`` otherwise;
:func:`summarize` reports the mean and max over the finite ratios and counts the others.

Example:
    >>> import numpy as np
    >>> a = np.array([[0.0, 1.0], [2.0, 1.0]])
    >>> b = np.array([[4.0, 1.0], [6.0, 1.0]])
    >>> fisher_ratio(a, b).tolist()  # (1 - 5)**2 / (1 + 1) = 8; the 2nd feature is constant
    [8.0, 0.0]
    >>> summarize(fisher_ratio(a, b))
    {'mean': 4.0, 'max': 8.0, 'n_features': 2, 'n_infinite': 0}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Any

import numpy as np

from serkit.errors import ConfigError


def _matrix(x: Any, who: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or len(x) == 0:
        raise ConfigError(f"{who}: expected a non-empty (n, dim) matrix, found shape {x.shape}")
    return x


def fisher_ratio(a: Any, b: Any) -> np.ndarray:
    """Per-feature Fisher discriminant ratio between two sets.

    Args:
        a: ``(n1, dim)`` vectors of the first set.
        b: ``(n2, dim)`` vectors of the second set.

    Returns:
        ``(dim,)`` float64 ratios ``(mu_a - mu_b)**2 / (var_a + var_b)``.

    Example:
        >>> fisher_ratio([[0.0], [2.0]], [[1.0], [3.0]]).tolist()  # (1 - 2)**2 / (1 + 1)
        [0.5]
    """
    a, b = _matrix(a, "fisher_ratio a"), _matrix(b, "fisher_ratio b")
    if a.shape[1] != b.shape[1]:
        raise ConfigError(
            f"fisher_ratio: the sets have {a.shape[1]} and {b.shape[1]} features; "
            "compare vectors of the same front end"
        )
    num = (a.mean(axis=0) - b.mean(axis=0)) ** 2
    den = a.var(axis=0) + b.var(axis=0)
    out = np.zeros_like(num)
    spread = den > 0
    out[spread] = num[spread] / den[spread]
    out[~spread & (num > 0)] = np.inf
    return out


def summarize(ratios: Any) -> dict[str, Any]:
    """Mean and max of the finite ratios, with the feature counts.

    Example:
        >>> summarize([1.0, 3.0, float("inf")])
        {'mean': 2.0, 'max': 3.0, 'n_features': 3, 'n_infinite': 1}
    """
    r = np.asarray(ratios, dtype=np.float64)
    finite = r[np.isfinite(r)]
    return {
        "mean": float(finite.mean()) if len(finite) else float("nan"),
        "max": float(finite.max()) if len(finite) else float("nan"),
        "n_features": int(r.size),
        "n_infinite": int(r.size - finite.size),
    }


def source_target(X_source: Any, X_target: Any) -> np.ndarray:
    """Ratios ``(dim,)`` between the whole source set and the whole target set."""
    return fisher_ratio(X_source, X_target)


def synthetic_vs_target(
    X_syn: Any, y_syn: Any, X_target: Any, y_target: Any, classes: Sequence[str] | None = None
) -> dict[str, np.ndarray]:
    """Per emotion: ratios between the synthetic vectors of that emotion and the real target
    vectors of the same emotion.

    Args:
        X_syn: ``(k, dim)`` synthetic vectors; ``y_syn``: ``(k,)`` their labels.
        X_target: ``(n, dim)`` real target vectors; ``y_target``: ``(n,)`` their labels.
        classes: emotions to compare (default: those in both label sets, sorted).

    Returns:
        ``{emotion: (dim,) ratios}``.

    Example:
        >>> X = np.array([[0.0], [2.0], [10.0], [12.0]]); y = np.array(["a", "a", "b", "b"])
        >>> {k: v.tolist() for k, v in synthetic_vs_target(X + 1, y, X, y).items()}
        {'a': [0.5], 'b': [0.5]}
    """
    X_syn, X_target = _matrix(X_syn, "synthetic vectors"), _matrix(X_target, "target vectors")
    y_syn, y_target = np.asarray(y_syn).astype(str), np.asarray(y_target).astype(str)
    if classes is None:
        classes = sorted(set(y_syn) & set(y_target))
    out = {}
    for label in classes:
        syn, real = X_syn[y_syn == label], X_target[y_target == label]
        if len(syn) == 0 or len(real) == 0:
            raise ConfigError(
                f"synthetic_vs_target: emotion {label!r} has {len(syn)} synthetic and "
                f"{len(real)} target vectors; both need at least one"
            )
        out[str(label)] = fisher_ratio(syn, real)
    return out


def emotion_pairs(
    X: Any, y: Any, classes: Sequence[str] | None = None
) -> dict[tuple[str, str], np.ndarray]:
    """Ratios between every pair of emotions within one data set (real or synthetic).

    Args:
        X: ``(n, dim)`` vectors; ``y``: ``(n,)`` their labels.
        classes: the emotions, in the order pairs are formed (default: sorted labels).

    Returns:
        ``{(emotion_1, emotion_2): (dim,) ratios}`` for each unordered pair.

    Example:
        >>> X = np.array([[0.0], [2.0], [4.0], [6.0]]); y = np.array(["a", "a", "b", "b"])
        >>> {k: v.tolist() for k, v in emotion_pairs(X, y).items()}
        {('a', 'b'): [8.0]}
    """
    X = _matrix(X, "emotion_pairs X")
    y = np.asarray(y).astype(str)
    labels = [str(c) for c in (sorted(set(y)) if classes is None else classes)]
    present = [c for c in labels if np.any(y == c)]
    return {(a, b): fisher_ratio(X[y == a], X[y == b]) for a, b in combinations(present, 2)}


def summary_table(ratios: Mapping[Any, np.ndarray]) -> dict[str, dict[str, Any]]:
    """:func:`summarize` of every entry, keyed by a readable name (pairs joined by ``-``).

    Example:
        >>> summary_table({("a", "b"): np.array([1.0, 2.0])})["a-b"]["mean"]
        1.5
    """
    return {
        ("-".join(key) if isinstance(key, tuple) else str(key)): summarize(value)
        for key, value in ratios.items()
    }
