"""Evaluation metrics: pure functions of labels and predictions (labels passed explicitly).

Conventions (the same as scikit-learn's):

- ``uar`` (unweighted average recall, = balanced accuracy) averages the recall of the classes
  that occur in ``y_true``; a class missing from a fold's truth has no recall and is left out.
- ``macro_f1`` averages F1 over the classes that occur in ``y_true`` or ``y_pred``.
- ``confusion`` has rows = true class, columns = predicted class, in the given label order.

:func:`summarize` turns a predictions table (``predictions.parquet`` of a run) into the whole
``metrics.json``: per fold, mean +- std over folds, pooled over folds, bootstrap 95 % intervals
and the aggregation over repeated runs (``seed`` column).

The intervals resample test speakers by default (:func:`bootstrap_ci` with
``clusters=speakers``, a cluster bootstrap): the rows of one speaker share voice, recording
and often the model's errors, so they are not independent and resampling rows gives intervals
that are too narrow. ``method="row"`` keeps the row bootstrap as an option.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from serkit.errors import ConfigError

METRICS = ("uar", "wa", "macro_f1")
DIMENSIONS = ("arousal", "valence", "dominance")


def _encode(y: Sequence, labels: Sequence) -> np.ndarray:
    index = {str(label): i for i, label in enumerate(labels)}
    values = [str(v) for v in np.asarray(y, dtype=object)]
    unknown = sorted({v for v in values if v not in index})
    if unknown:
        raise ConfigError(
            f"label(s) {', '.join(unknown[:5])} not in the class list {', '.join(map(str, labels))}"
        )
    return np.fromiter((index[v] for v in values), dtype=np.int64, count=len(values))


def confusion(y_true: Sequence, y_pred: Sequence, labels: Sequence) -> np.ndarray:
    """Confusion matrix, rows = true class, columns = predicted, in ``labels`` order.

    Returns:
        ``(k, k)`` int64 counts, ``k = len(labels)``.
    """
    k = len(labels)
    t, p = _encode(y_true, labels), _encode(y_pred, labels)
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k).astype(np.int64)


def _recall(cm: np.ndarray) -> np.ndarray:
    support = cm.sum(axis=-1)
    diag = np.diagonal(cm, axis1=-2, axis2=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, diag / np.maximum(support, 1), np.nan)


def _uar_from_cm(cm: np.ndarray) -> np.ndarray:
    recall = _recall(cm)
    present = cm.sum(axis=-1) > 0
    return np.where(present, recall, 0.0).sum(axis=-1) / np.maximum(present.sum(axis=-1), 1)


def _wa_from_cm(cm: np.ndarray) -> np.ndarray:
    total = cm.sum(axis=(-2, -1))
    return np.diagonal(cm, axis1=-2, axis2=-1).sum(axis=-1) / np.maximum(total, 1)


def _f1_from_cm(cm: np.ndarray) -> np.ndarray:
    diag = np.diagonal(cm, axis1=-2, axis2=-1).astype(np.float64)
    support = cm.sum(axis=-1)
    predicted = cm.sum(axis=-2)
    denom = support + predicted
    f1 = np.where(denom > 0, 2 * diag / np.maximum(denom, 1), 0.0)
    used = denom > 0
    return f1.sum(axis=-1) / np.maximum(used.sum(axis=-1), 1)


def per_class_recall(y_true: Sequence, y_pred: Sequence, labels: Sequence) -> dict[str, float]:
    """Recall of each class (NaN for a class absent from ``y_true``), in ``labels`` order."""
    recall = _recall(confusion(y_true, y_pred, labels))
    return {str(label): float(r) for label, r in zip(labels, recall, strict=True)}


def uar(y_true: Sequence, y_pred: Sequence, labels: Sequence) -> float:
    """Unweighted average recall over the classes present in ``y_true``."""
    return float(_uar_from_cm(confusion(y_true, y_pred, labels)))


def wa(y_true: Sequence, y_pred: Sequence, labels: Sequence) -> float:
    """Weighted accuracy: the share of correct predictions."""
    return float(_wa_from_cm(confusion(y_true, y_pred, labels)))


def macro_f1(y_true: Sequence, y_pred: Sequence, labels: Sequence) -> float:
    """Macro F1 over the classes that occur in ``y_true`` or ``y_pred``."""
    return float(_f1_from_cm(confusion(y_true, y_pred, labels)))


def ccc(x: Sequence[float], y: Sequence[float]) -> float:
    """Lin's concordance correlation coefficient between two continuous series.

    ``2 cov(x, y) / (var(x) + var(y) + (mean(x) - mean(y))^2)`` with population moments;
    1 for identical series, 0 when one of them is constant and they differ.
    """
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or len(a) == 0:
        raise ValueError(f"ccc needs two 1-d series of equal length, got {a.shape}, {b.shape}")
    ma, mb = a.mean(), b.mean()
    cov = ((a - ma) * (b - mb)).mean()
    denom = a.var() + b.var() + (ma - mb) ** 2
    if denom == 0:
        return 1.0
    return float(2 * cov / denom)


_FROM_CM = {"uar": _uar_from_cm, "wa": _wa_from_cm, "macro_f1": _f1_from_cm}


def classification_metrics(y_true: Sequence, y_pred: Sequence, labels: Sequence) -> dict:
    """UAR, WA, macro-F1, per-class recall and the confusion matrix of one set of rows."""
    cm = confusion(y_true, y_pred, labels)
    out: dict[str, Any] = {name: float(fn(cm)) for name, fn in _FROM_CM.items()}
    out["n"] = int(cm.sum())
    out["per_class_recall"] = {
        str(label): _nan_to_none(float(r)) for label, r in zip(labels, _recall(cm), strict=True)
    }
    out["confusion"] = cm.tolist()
    return out


def _nan_to_none(value: float) -> float | None:
    return None if np.isnan(value) else value


#: the bootstrap resampling units: test speakers (a cluster bootstrap, the default) or rows
BOOTSTRAP_METHODS = ("speaker", "row")


def _labels_to_int(values: Sequence | np.ndarray | None, n: int) -> np.ndarray:
    if values is None:
        return np.arange(n)
    values = np.asarray(values)
    if len(values) != n:
        raise ValueError(f"{len(values)} labels for {n} prediction rows")
    return np.unique(values.astype(str), return_inverse=True)[1].reshape(-1)


def bootstrap_distribution(
    codes: np.ndarray,
    k: int,
    *,
    clusters: Sequence | np.ndarray | None = None,
    runs: Sequence | np.ndarray | None = None,
    reps: int = 1000,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Bootstrap replicates of UAR / WA / macro-F1, resampling whole clusters of rows.

    Each replicate draws ``G`` clusters with replacement out of the ``G`` clusters (sorted by
    label) and keeps every row of each drawn cluster, in every run; the statistic is the mean
    over runs of the metric of the run's resampled confusion matrix. Clusters = speakers is
    the cluster bootstrap; every row its own cluster (``clusters=None``) is the row bootstrap.
    Vectorised: one ``(reps, G) @ (G, k * k)`` product per run.

    Args:
        codes: ``(n,)`` int codes ``true * k + pred`` of every prediction row (all runs).
        k: number of classes.
        clusters: ``(n,)`` cluster of each row (e.g. the speaker id; with several runs a row
            id names one cluster across runs); ``None``: each row is its own cluster.
        runs: ``(n,)`` run (seed) of each row; ``None``: one run.
        reps: bootstrap repetitions.
        seed: random seed of the resampling.

    Returns:
        ``{metric: (reps,) float64}`` replicates.
    """
    codes = np.asarray(codes, dtype=np.int64).reshape(-1)
    n = len(codes)
    if n == 0:
        raise ValueError("bootstrap needs at least one prediction row")
    group = _labels_to_int(clusters, n)
    run = _labels_to_int(runs, n) if runs is not None else np.zeros(n, dtype=np.int64)
    n_groups, n_runs, cells = int(group.max()) + 1, int(run.max()) + 1, k * k
    flat = (run * n_groups + group) * cells + codes
    counts = np.bincount(flat, minlength=n_runs * n_groups * cells).astype(np.float64)
    counts = counts.reshape(n_runs, n_groups, cells)  # (runs, G, k*k) per-cluster confusions
    rng = np.random.default_rng(seed)
    stats = {name: np.zeros(reps) for name in _FROM_CM}
    chunk = max(1, min(reps, 2_000_000 // n_groups))  # bounded memory: (chunk, G) weights
    uniform = np.full(n_groups, 1.0 / n_groups)
    for start in range(0, reps, chunk):
        size = min(chunk, reps - start)
        weights = rng.multinomial(n_groups, uniform, size=size).astype(np.float64)
        cm = (weights @ counts).reshape(n_runs, size, k, k)  # (runs, size, k, k)
        for name, fn in _FROM_CM.items():
            stats[name][start : start + size] = fn(cm).mean(axis=0)
    return stats


def bootstrap_ci(
    codes: np.ndarray,
    k: int,
    *,
    clusters: Sequence | np.ndarray | None = None,
    runs: Sequence | np.ndarray | None = None,
    reps: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, list[float]]:
    """Percentile bootstrap intervals of UAR / WA / macro-F1 (see :func:`bootstrap_distribution`).

    Pass ``clusters=speakers`` for the speaker (cluster) bootstrap: rows of one speaker are
    not independent, so resampling rows gives intervals that are too narrow.

    Args:
        codes: ``(n,)`` int codes ``true * k + pred``.
        k: number of classes.
        clusters: ``(n,)`` cluster of each row; ``None``: resample rows.
        runs: ``(n,)`` run (seed) of each row; the statistic is the mean over runs.
        reps: bootstrap repetitions.
        seed: random seed of the resampling.
        level: interval coverage.

    Returns:
        ``{metric: [low, high]}``.

    Example:
        Six speakers who are all alike (each: a->a, a->b, b->b, b->b; codes ``t * 2 + p``):
        every resample of speakers has the same UAR, while resampling rows does not.

        >>> import numpy as np
        >>> codes = np.tile([0, 1, 3, 3], 6)
        >>> speakers = np.repeat([f"s{i}" for i in range(6)], 4)
        >>> bootstrap_ci(codes, 2, clusters=speakers, reps=200)["uar"]
        [0.75, 0.75]
        >>> low, high = bootstrap_ci(codes, 2, reps=200)["uar"]
        >>> bool(high - low > 0.1)
        True
    """
    stats = bootstrap_distribution(codes, k, clusters=clusters, runs=runs, reps=reps, seed=seed)
    alpha = (1.0 - level) / 2
    return {
        name: [float(np.quantile(v, alpha)), float(np.quantile(v, 1 - alpha))]
        for name, v in stats.items()
    }


def classes_of(predictions: pd.DataFrame) -> list[str]:
    """Class order from the ``prob_<class>`` columns, else sorted true/pred labels."""
    probs = [c[len("prob_") :] for c in predictions.columns if str(c).startswith("prob_")]
    if probs:
        return probs
    return sorted(set(predictions["true"].astype(str)) | set(predictions["pred"].astype(str)))


def _mean_std(values: list[float]) -> dict[str, float]:
    arr = np.asarray(values, dtype=np.float64)
    return {
        "mean": float(arr.mean()),
        "std": float(arr.std(ddof=1)) if len(arr) > 1 else 0.0,
        "n": int(len(arr)),
    }


def summarize(
    predictions: pd.DataFrame,
    classes: Sequence[str] | None = None,
    *,
    reps: int = 1000,
    seed: int = 0,
    method: str = "speaker",
) -> dict[str, Any]:
    """All metrics of a run from its predictions table (what ``metrics.json`` holds).

    Args:
        predictions: columns ``id, fold, seed, true, pred`` and, for ``method="speaker"``,
            ``speaker`` (``prob_<class>`` optional; also ``true_<dim>`` / ``pred_<dim>`` for
            continuous dimensions).
        classes: the fixed class order; default from :func:`classes_of`.
        reps: bootstrap repetitions for the 95 % intervals.
        seed: bootstrap seed.
        method: ``"speaker"`` resamples test speakers, each with all of its rows in every
            seed (a cluster bootstrap); ``"row"`` resamples test rows (ids), which assumes
            independent rows and gives too narrow intervals when speakers differ.

    Returns:
        A JSON-ready dict with ``per_fold`` (one entry per seed x fold), ``mean_over_folds``
        (mean +- std over every seed x fold), ``pooled`` (all folds' predictions pooled, per
        seed and averaged over seeds, with bootstrap ``ci95`` and the confusion matrix),
        ``seeds`` (per-seed pooled figures and their mean +- std) and ``ccc`` where present.
    """
    required = {"id", "fold", "true", "pred"}
    missing = sorted(required - set(predictions.columns))
    if missing:
        raise ConfigError(f"predictions table lacks column(s) {', '.join(missing)}")
    if method not in BOOTSTRAP_METHODS:
        raise ConfigError(
            f"bootstrap method must be one of {', '.join(BOOTSTRAP_METHODS)}, found {method!r}"
        )
    if method == "speaker" and "speaker" not in predictions.columns:
        raise ConfigError(
            "the speaker bootstrap needs a `speaker` column in the predictions table, which "
            "has none; add it, or pass method='row' (row intervals assume independent rows)"
        )
    preds = predictions.copy()
    if "seed" not in preds.columns:
        preds["seed"] = 0
    classes = list(classes) if classes is not None else classes_of(preds)
    k = len(classes)
    preds["_t"] = _encode(preds["true"], classes)
    preds["_p"] = _encode(preds["pred"], classes)

    per_fold = []
    for (run_seed, fold), group in preds.groupby(["seed", "fold"], sort=True):
        m = classification_metrics(group["true"].astype(str), group["pred"].astype(str), classes)
        per_fold.append(
            {
                "seed": int(run_seed),
                "fold": str(fold),
                "n": m["n"],
                **{name: m[name] for name in METRICS},
                "per_class_recall": m["per_class_recall"],
            }
        )
    mean_over_folds = {name: _mean_std([f[name] for f in per_fold]) for name in METRICS}

    seeds = sorted(int(s) for s in preds["seed"].unique())
    per_seed = []
    cms = []
    for run_seed in seeds:
        group = preds[preds["seed"] == run_seed]
        m = classification_metrics(group["true"].astype(str), group["pred"].astype(str), classes)
        cms.append(np.asarray(m["confusion"]))
        per_seed.append({"seed": run_seed, **{name: m[name] for name in METRICS}, "n": m["n"]})

    # a drawn cluster keeps its rows in every seed: the speaker, or the row id for `row`
    clusters = preds["speaker" if method == "speaker" else "id"].astype(str).to_numpy()
    n_clusters = int(len(np.unique(clusters)))
    ci = (
        bootstrap_ci(
            preds["_t"].to_numpy() * k + preds["_p"].to_numpy(),
            k,
            clusters=clusters,
            runs=preds["seed"].to_numpy(),
            reps=reps,
            seed=seed,
        )
        if n_clusters >= 2
        else {}
    )

    cm_total = np.sum(cms, axis=0)
    pooled_cm = cm_total / len(seeds)
    pooled: dict[str, Any] = {name: float(np.mean([s[name] for s in per_seed])) for name in METRICS}
    pooled["n"] = int(len(preds) / len(seeds))
    pooled["ci95"] = ci
    pooled["per_class_recall"] = {
        str(c): _nan_to_none(float(r)) for c, r in zip(classes, _recall(cm_total), strict=True)
    }
    pooled["confusion"] = cm_total.tolist() if len(seeds) == 1 else np.round(pooled_cm, 3).tolist()
    out: dict[str, Any] = {
        "classes": classes,
        "n_predictions": int(len(preds)),
        "n_folds": int(preds["fold"].nunique()),
        "bootstrap": {
            "reps": reps,
            "seed": seed,
            "level": 0.95,
            "method": method,
            "unit": "test speakers" if method == "speaker" else "test rows",
            "clusters": n_clusters,
        },
        "pooled": pooled,
        "mean_over_folds": mean_over_folds,
        "per_fold": per_fold,
        "seeds": {
            "per_seed": per_seed,
            **{name: _mean_std([s[name] for s in per_seed]) for name in METRICS},
        },
        "labels": {
            "pooled": "all folds' test predictions pooled, then the metric (mean over seeds)",
            "mean_over_folds": "metric per fold (and seed), then mean and sample std",
            "ci95": (
                "percentile bootstrap of the pooled metric over test speakers (a drawn "
                "speaker keeps all of its rows, in every seed)"
                if method == "speaker"
                else "percentile bootstrap of the pooled metric over test rows"
            ),
        },
    }
    dims = [d for d in DIMENSIONS if f"true_{d}" in preds and f"pred_{d}" in preds]
    if dims:
        out["ccc"] = {
            d: ccc(preds[f"true_{d}"].to_numpy(float), preds[f"pred_{d}"].to_numpy(float))
            for d in dims
        }
    return out
