"""The run folder of an experiment: whether a config may use it, taking it over, the finished
folds that can be reused from ``<run>/partial/``, and ``folds.csv``.

A folder of another config (its fingerprint is in ``partial/fingerprint.txt``) is refused
while it holds finished results, unless ``overwrite``; one that holds none is taken over.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from serkit.atomic import atomic_write_text
from serkit.errors import ConfigError, Hint
from serkit.experiment import cache
from serkit.experiment.checkpoints import CHECKPOINTS

Log = Callable[[str], None]


def quiet(_: str) -> None:
    """A log that says nothing."""
    return None


def prepare_folder(run_dir: Path, fp: str, overwrite: bool, log: Log, write: bool) -> Path:
    """Check (every rank) and, with ``write``, prepare (rank 0) the run folder; ``partial/``.

    A folder of another config (its fingerprint is in ``partial/fingerprint.txt``) is refused
    while it holds any finished result (a fold, predictions, a model), unless ``overwrite``.
    One that holds none, left by a start that failed or was stopped before its first fold
    finished, is free: it is taken over (its checkpoints and unfinished files removed).
    """
    partial = run_dir / "partial"
    stamp = partial / "fingerprint.txt"
    old = stamp.read_text().strip() if stamp.is_file() else None
    if run_dir.exists() and overwrite:
        if not write:
            return partial
        log(f"removing the old run folder {run_dir} (--overwrite)")
        shutil.rmtree(run_dir)
    elif old is not None and old != fp:
        finished = finished_results(run_dir)
        if finished:
            raise ConfigError(
                f"{run_dir} holds results of a different config (fingerprint {old} != {fp}; "
                f"{finished}); choose another `name`",
                hint=Hint("overwrite", True, "to discard them"),
            )
        if not write:
            return partial
        log(
            f"{run_dir}: taking over the folder of config {old}, which finished no fold (a "
            "start that failed or was stopped); its checkpoints are removed"
        )
        shutil.rmtree(run_dir / CHECKPOINTS, ignore_errors=True)
        for path in partial.iterdir():
            if path.is_file():
                path.unlink()
    if not write:
        return partial
    partial.mkdir(parents=True, exist_ok=True)
    atomic_write_text(stamp, fp + "\n")
    return partial


def check_run_folder(run_dir: Path, fp: str, overwrite: bool = False) -> None:
    """Raise what :func:`run` would raise for the run folder ``run_dir`` of a config with
    fingerprint ``fp`` (another config's finished results there); writes nothing."""
    prepare_folder(run_dir, fp, overwrite, quiet, write=False)


def finished_results(run_dir: Path) -> str:
    """What finished results ``run_dir`` holds, in words (``""``: none)."""
    partial = run_dir / "partial"
    folds = [p for p in partial.glob("*.parquet") if p.with_suffix(".json").exists()]
    found = [f"{len(folds)} finished fold(s)"] if folds else []
    found += [name for name in ("predictions.parquet", "model") if (run_dir / name).exists()]
    return ", ".join(found)


def cached_folds(
    partial: Path,
    slots: dict[tuple[int, int], tuple[str, str]],
    folds_by_seed: dict[int, list],
    df: pd.DataFrame,
    log: Log,
) -> dict[str, tuple[pd.DataFrame, dict[str, Any]]]:
    """The finished folds in ``partial`` that can be used (rank 0), by slot name.

    A cached fold whose key changed, or whose files do not hold the fold's test rows, is
    logged and its files are removed (it is computed again), as are the slots beyond the
    last fold of each seed (left by a run on more folds).

    Args:
        slots: (seed, fold index) -> (slot name, the fold's key now).
    """
    found = {}
    for (seed, i), (name, key) in slots.items():
        fold = folds_by_seed[seed][i]
        result, problem = cache.read_fold(partial, name, key, fold, seed, df)
        if result is not None:
            found[name] = result
            continue
        if problem:
            log(f"seed {seed} fold {fold.name}: cached result not used: {problem}; recomputing")
        cache.discard(partial, name)
    counts = {seed: len(folds) for seed, folds in folds_by_seed.items()}
    for name in cache.stale_slots(partial, counts):
        log(f"removing {partial / name}.*: a fold this run does not have (the data changed)")
        cache.discard(partial, name)
    return found


def folds_table(folds_by_seed: dict[int, list], df: pd.DataFrame) -> pd.DataFrame:
    """``folds.csv``: one line per (seed, fold, row) with role train / val / test."""
    ids = df["id"].astype(str).to_numpy()
    parts = []
    for seed, folds in folds_by_seed.items():
        for fold in folds:
            for role, idx in (("train", fold.train), ("val", fold.val), ("test", fold.test)):
                if idx is None or len(idx) == 0:
                    continue
                parts.append(
                    pd.DataFrame({"id": ids[idx], "fold": fold.name, "role": role, "seed": seed})
                )
    return pd.concat(parts, ignore_index=True)
