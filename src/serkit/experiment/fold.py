"""One fold of a run: fit (resuming its checkpoints), predict its test rows, write its
partial files to ``<run>/partial/`` and delete its checkpoints.
"""

from __future__ import annotations

import inspect
import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from serkit.errors import ConfigError
from serkit.experiment import cache
from serkit.experiment.checkpoints import checkpoints_in, resume_note
from serkit.experiment.data import Dataset
from serkit.experiment.distributed import Group
from serkit.experiment.folder import Log
from serkit.experiment.search import fit_model, searched_model


def _fit(
    model: Any, dataset: Dataset, fold: Any, level: str, *, asked: bool, train: Any = None
) -> Any:
    """Fit on the fold's training rows; validation rows go in as ``val_index`` if supported.

    A model whose ``fit`` has no ``val_index`` parameter trains on the training rows only
    (validation rows of an ``official`` split stay unused), unless the config asked for a
    validation split (``asked``), which is then an error. ``train``: ``(X, y, groups)`` to
    train on instead of the training rows (the augmented set of ``augment``, or the training
    rows with their ``perturb`` copies; ``X`` a matrix or a list of frame arrays).
    """
    takes_val = "val_index" in inspect.signature(model.fit).parameters
    if fold.val is None or len(fold.val) == 0 or not takes_val:
        if asked and not takes_val:
            raise ConfigError(
                f"config key validation: model {type(model).__name__} takes no validation "
                "index (fit(..., val_index=...)); remove `validation` (neural models make "
                "their own speaker-disjoint split from the speaker groups)"
            )
        if train is not None:
            return model.fit(train[0], train[1], groups=train[2])
        return fit_model(model, dataset, fold.train, level)
    if train is not None:  # augmented training inputs, then the real validation rows
        val = dataset.inputs(fold.val, level)
        X = train[0] + val if isinstance(train[0], list) else np.concatenate([train[0], val])
        return model.fit(
            X,
            np.concatenate([train[1], dataset.y[fold.val]]),
            groups=np.concatenate([train[2], dataset.groups[fold.val]]),
            val_index=np.arange(len(train[1]), len(X)),
        )
    idx = np.concatenate([fold.train, fold.val])
    val_index = np.arange(len(fold.train), len(idx))
    return model.fit(
        dataset.inputs(idx, level), dataset.y[idx], groups=dataset.groups[idx], val_index=val_index
    )


def predictions_frame(
    model: Any,
    dataset: Dataset,
    idx: np.ndarray,
    level: str,
    fold: str,
    seed: int,
    copies: Any = None,
) -> pd.DataFrame:
    """One fold's predictions: id, fold, seed, speaker, corpus, true, pred, prob_<class>;
    with ``copies`` that say ``test``, the posteriors averaged with the rows' copies'
    (:meth:`~serkit.experiment.perturbation.Copies.posteriors`) and ``pred`` their arg-max."""
    if copies is not None and copies.test:
        proba = copies.posteriors(model, dataset, idx, level)
        pred = np.asarray(model.classes_)[np.argmax(proba, axis=1)].astype(str)
    else:
        X = dataset.inputs(idx, level)
        proba = np.asarray(model.predict_proba(X), dtype=np.float64)
        pred = np.asarray(model.predict(X)).astype(str)
    rows = dataset.df.iloc[idx]
    out = pd.DataFrame(
        {
            "id": rows["id"].astype(str).to_numpy(),
            "fold": fold,
            "seed": seed,
            "speaker": rows["speaker"].astype(str).to_numpy(),
            "corpus": rows["corpus"].astype(str).to_numpy(),
            "true": rows["label"].astype(str).to_numpy(),
            "pred": pred,
        }
    )
    known = [str(c) for c in model.classes_]
    for c in dataset.classes:
        out[f"prob_{c}"] = proba[:, known.index(c)] if c in known else 0.0
    return out


def run_fold(
    cfg: dict[str, Any],
    dataset: Dataset,
    fold: Any,
    level: str,
    seed: int,
    partial: Path,
    slot: tuple[str, str],
    checkpoints: Path,
    group: Group,
    log: Log,
    source: Any = None,
    copies: Any = None,
) -> tuple[pd.DataFrame, dict[str, Any]] | None:
    """Fit and predict one fold, checkpointing into ``checkpoints``.

    Rank 0 writes the fold's partial files (``slot``: their name and the fold's key, see
    :mod:`serkit.experiment.cache`), deletes its checkpoints and returns
    ``(predictions, info)``; the other ranks take part in the fit and return ``None``.
    ``source``: the :class:`~serkit.experiment.augmentation.Source` of ``augment`` (the
    model then trains on the fold's augmented set; predictions stay on real test rows).
    ``copies``: the :class:`~serkit.experiment.perturbation.Copies` of ``perturb`` (the model
    trains on the fold's training rows and their copies).
    """
    from serkit.experiment.augmentation import fold_training

    started = time.time()
    model, best, search = searched_model(cfg, dataset, fold.train, level, seed)
    note = resume_note(checkpoints)
    if note:
        log(f"seed {seed} fold {fold.name}: {note}")
    syn, train = fold_training(cfg, dataset, fold, source, seed, partial.parent, group.writer)
    if copies is not None:
        train = copies.training(dataset, fold.train, level)
    with checkpoints_in(model, checkpoints):
        model = _fit(model, dataset, fold, level, asked=cfg["validation"] is not None, train=train)
    if not group.writer:
        return None
    preds = predictions_frame(model, dataset, fold.test, level, fold.name, seed, copies)
    history = getattr(model, "history_", None)
    fit_summary = getattr(model, "fit_summary_", None)
    info = {
        "fold": fold.name,
        "seed": seed,
        "n_train": int(len(fold.train)),
        **({"n_copies": int(len(train[1]) - len(fold.train))} if copies is not None else {}),
        "n_val": 0 if fold.val is None else int(len(fold.val)),
        "n_test": int(len(fold.test)),
        "started": started,
        "finished": time.time(),
        "seconds": round(time.time() - started, 3),
        "world_size": group.world,
        "resumed_from": getattr(model, "resumed_from_", None),
        "best_params": best,
        "search": search,
        "history": _jsonable(history) if history else None,
        "fit_summary": _jsonable(fit_summary) if fit_summary else None,
    }
    if syn is not None:
        info["synthetic"] = syn.info(dataset.classes, source)
    cache.write_fold(partial, *slot, preds, info)  # the parquet, written last, marks it done
    shutil.rmtree(checkpoints, ignore_errors=True)
    return preds, info


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=lambda v: getattr(v, "item", lambda: str(v))()))
