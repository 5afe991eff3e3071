"""Estimators of a run and the nested hyper-parameter search (a grid evaluated by an inner
protocol on a training fold)."""

from __future__ import annotations

from typing import Any

import numpy as np

from serkit import metrics
from serkit.experiment.data import Dataset


def inner_protocol(inner_cfg: dict[str, Any], seed: int) -> Any:
    """Build the inner protocol; seeded protocols get the run seed unless set."""
    from serkit.protocols import PROTOCOLS, get_protocol

    params = dict(inner_cfg.get("params") or {})
    if PROTOCOLS.get(inner_cfg["name"]).seeded:
        params.setdefault("seed", seed)
    return get_protocol(inner_cfg["name"], **params)


def fit_model(model: Any, dataset: Dataset, idx: np.ndarray, level: str) -> Any:
    """Fit ``model`` on rows ``idx`` with speaker groups; returns the fitted model."""
    return model.fit(dataset.inputs(idx, level), dataset.y[idx], groups=dataset.groups[idx])


def grid_search(
    model: Any,
    dataset: Dataset,
    train_idx: np.ndarray,
    search_cfg: dict[str, Any],
    level: str,
    seed: int,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Pick the grid point with the best mean inner-fold score, using training rows only.

    Args:
        model: unfitted estimator template (cloned for every inner fit).
        dataset: all rows and features.
        train_idx: positional indices of the outer training fold, ``(n_train,)``; the inner
            protocol splits only these rows, so the outer test rows are never seen.
        search_cfg: ``{param_grid, inner: {name, params}, metric}``.
        level: model input level.
        seed: run seed for seeded inner protocols.

    Returns:
        ``(best_params, scores)`` with one ``{params, mean, scores}`` entry per grid point.
    """
    from sklearn.base import clone
    from sklearn.model_selection import ParameterGrid

    from serkit.protocols import certify

    sub = dataset.df.iloc[train_idx].reset_index(drop=True)
    protocol = inner_protocol(search_cfg["inner"], seed)
    inner_folds = protocol.split(sub)
    certify(sub, inner_folds, ("speaker",), protocol=f"inner {protocol.name}")
    metric = search_cfg["metric"]
    results = []
    for point in ParameterGrid(search_cfg["param_grid"]):
        scores = []
        for fold in inner_folds:
            tr, te = train_idx[fold.train], train_idx[fold.test]
            fitted = fit_model(clone(model).set_params(**point), dataset, tr, level)
            pred = fitted.predict(dataset.inputs(te, level))
            score = getattr(metrics, metric)(dataset.y[te], pred, dataset.classes)
            scores.append(float(score))
        results.append({"params": point, "mean": float(np.mean(scores)), "scores": scores})
    best = max(range(len(results)), key=lambda i: (results[i]["mean"], -i))
    return dict(results[best]["params"]), results


def make_model(cfg: dict[str, Any], seed: int, params: dict[str, Any] | None = None) -> Any:
    """A new estimator; a ``seed`` parameter not set in the config gets the run seed."""
    from serkit.models import get_model

    model = get_model(cfg["model"]["name"], **cfg["model"]["params"])
    if "seed" in model.get_params() and "seed" not in cfg["model"]["params"]:
        model.set_params(seed=seed)
    if params:
        model.set_params(**params)
    return model


def searched_model(
    cfg: dict[str, Any], dataset: Dataset, idx: np.ndarray, level: str, seed: int
) -> tuple[Any, dict[str, Any] | None, Any]:
    """A new, unfitted estimator: the config's parameters, updated by the best point of the
    configured inner search on rows ``idx`` (no search: none).

    Returns:
        ``(model, best_params or None, search record or None)``.
    """
    if cfg["search"] is None:
        return make_model(cfg, seed), None, None
    best, search = grid_search(make_model(cfg, seed), dataset, idx, cfg["search"], level, seed)
    return make_model(cfg, seed, best), best, search
