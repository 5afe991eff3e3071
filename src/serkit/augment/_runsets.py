"""Reading the saved synthetic sets of run folders, and the real vectors they came from.

A run trained with an ``augment`` section and ``augment.save`` holds ``<run>/synthetic/``:
``index.json`` (``[{"seed", "fold", "file", "per_class", "augment"}]``) and one
``<seed>-<fold>.npz`` per fold with ``X`` ``(k, dim)``, ``y`` ``(k,)``, ``source_id`` ``(k,)``
and ``train_id`` ``(n,)``. The real vectors of ``train_id`` (with their labels) and of the
source corpus are read back through the run's ``config.yaml`` (its ``data``, ``features`` and
``augment.source`` sections; the store is only read, never extracted into).
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from serkit.errors import ConfigError, SerkitError

SYNTHETIC = "synthetic"
INDEX = "index.json"
ARRAYS = ("X", "y", "source_id", "train_id")


@dataclass
class FoldSet:
    """One saved fold: its synthetic rows and the ids of the fold's training rows.

    Attributes:
        key: ``(seed, fold)``.
        X: ``(k, dim)`` synthetic vectors; y: ``(k,)`` their labels; source_id: ``(k,)``.
        train_id: ``(n,)`` ids of the fold's training rows.
    """

    key: tuple[int, str]
    X: np.ndarray
    y: np.ndarray
    source_id: np.ndarray
    train_id: np.ndarray


def _need_run(run_dir: Path) -> None:
    if not run_dir.is_dir():
        raise ConfigError(f"{run_dir}: no such run folder; pass a folder made by `serkit train`")
    if not (run_dir / "config.yaml").is_file():
        raise ConfigError(
            f"{run_dir}: no config.yaml; is it a run folder of `serkit train`? (the analysis "
            "reads the run's features and source corpus from it)"
        )


def read_index(run_dir: Path) -> list[dict[str, Any]]:
    """The entries of ``<run>/synthetic/index.json``.

    Raises:
        ConfigError: not a run folder, no saved synthetic sets, or a damaged index.
    """
    _need_run(run_dir)
    path = run_dir / SYNTHETIC / INDEX
    if not path.is_file():
        raise ConfigError(
            f"{run_dir}: no saved synthetic sets ({SYNTHETIC}/{INDEX} is missing); train the "
            "run with an augment section and augment.save: true"
        )
    try:
        entries = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: damaged index ({exc}); train the run again") from exc
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}: expected a non-empty list of fold entries, found {entries!r}")
    for i, entry in enumerate(entries):
        missing = {"seed", "fold", "file"} - set(entry) if isinstance(entry, dict) else {"all"}
        if missing:
            raise ConfigError(f"{path}: entry {i} lacks {', '.join(sorted(missing))}")
    return entries


def read_fold(run_dir: Path, entry: dict[str, Any]) -> FoldSet:
    """The arrays of one index entry.

    Raises:
        ConfigError: a missing or damaged file, or arrays of the wrong shape.
    """
    path = run_dir / SYNTHETIC / str(entry["file"])
    if not path.is_file():
        raise ConfigError(
            f"{path}: listed in {SYNTHETIC}/{INDEX} (seed {entry['seed']}, fold "
            f"{entry['fold']!r}) but missing; train the run again"
        )
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [name for name in ARRAYS if name not in data.files]
            if missing:
                raise ConfigError(f"{path}: lacks array(s) {', '.join(missing)}")
            arrays = {name: data[name] for name in ARRAYS}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise ConfigError(
            f"{path}: damaged synthetic set ({type(exc).__name__}: {exc}); train the run again"
        ) from exc
    X = np.asarray(arrays["X"], dtype=np.float64)
    k = len(X)
    if X.ndim != 2 or len(arrays["y"]) != k or len(arrays["source_id"]) != k:
        raise ConfigError(
            f"{path}: X {X.shape}, y {arrays['y'].shape} and source_id "
            f"{arrays['source_id'].shape} do not match; train the run again"
        )
    return FoldSet(
        (int(entry["seed"]), str(entry["fold"])),
        X,
        arrays["y"].astype(str),
        arrays["source_id"].astype(str),
        arrays["train_id"].astype(str),
    )


@dataclass
class RealVectors:
    """The real rows a run used: labelled data rows and source rows, by id.

    Attributes:
        X: ``{id: (dim,)}`` data rows; labels: ``{id: label}``; classes: label order.
        source_x: ``(m, dim)`` source vectors; source_ids: ``(m,)``.
        feature_names: ``(dim,)`` names (or ``None``).
    """

    X: dict[str, np.ndarray]
    labels: dict[str, str]
    classes: list[str]
    source_x: np.ndarray
    source_ids: np.ndarray
    feature_names: list[str] | None


def read_real(run_dir: Path) -> RealVectors:
    """Read a run's data rows and source rows through its config's front end and store.

    Raises:
        ConfigError: the config has no augment section, a manifest or the store cannot be
            read (paths resolve against the working directory, as for ``serkit train``).
    """
    from serkit.experiment.augmentation import read_source
    from serkit.experiment.data import load_features, load_rows
    from serkit.experiment.runs import read_config

    cfg = read_config(run_dir)
    if not cfg.get("augment"):
        raise ConfigError(f"{run_dir}/config.yaml has no augment section; nothing to analyse")
    where = f"{run_dir}/config.yaml"
    try:
        rows = load_rows(cfg["data"])
        df, _, fs = load_features(rows, cfg["features"], extract=False)
        source_rows = read_source(cfg, rows)
        sdf, _, sfs = load_features(source_rows, cfg["features"], extract=False)
    except SerkitError as exc:
        raise ConfigError(
            f"{where}: {exc.message} (relative paths resolve against the working directory "
            f"{Path.cwd()}; run the analysis where `serkit train` ran)"
        ) from None
    if fs.X is None:
        raise ConfigError(f"{where}: the features are not utterance-level vectors")
    ids = df["id"].astype(str).tolist()
    return RealVectors(
        X=dict(zip(ids, np.asarray(fs.X, dtype=np.float64), strict=True)),
        labels=dict(zip(ids, df["label"].astype(str), strict=True)),
        classes=[str(c) for c in rows.attrs.get("classes", sorted(set(df["label"])))],
        source_x=np.asarray(sfs.X, dtype=np.float64),
        source_ids=sdf["id"].astype(str).to_numpy(),
        feature_names=list(fs.feature_names) if fs.feature_names is not None else None,
    )


def set_label(run_dir: Path, entries: list[dict[str, Any]]) -> tuple[str, Any]:
    """``(folder name, lambda_cls)`` of a run: its augmenter's classification weight (the
    sweep variable of the paper), from the index's augment section (``None`` if absent)."""
    augment = entries[0].get("augment") or {}
    params = dict(augment.get("params") or {})
    value = params.get("lambda_cls")
    if value is None and augment.get("name"):
        try:
            from serkit.augment import get_augmenter

            value = get_augmenter(augment["name"], **params).resolved_params().get("lambda_cls")
        except (SerkitError, TypeError):
            value = None
    return run_dir.name, value
