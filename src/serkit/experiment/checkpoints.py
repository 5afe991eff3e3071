"""Checkpoint folders of a run: one per fit, set on the runner's fresh estimator.

``<run>/checkpoints/<seed>-<fold>/`` for every fold and ``<run>/checkpoints/final/`` for the
final refit (see :mod:`serkit.experiment.runner` for when they are deleted).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

#: the run's checkpoint folder (one subfolder per fit)
CHECKPOINTS = "checkpoints"


def fold_checkpoints(run_dir: Path, seed: int, fold: str) -> Path:
    """``<run>/checkpoints/<seed>-<fold>/`` (characters other than letters, digits, ``._-``
    in the fold name become ``_``: LOSO folds are named by speaker, ``corpus/speaker``)."""
    return run_dir / CHECKPOINTS / f"{seed}-{re.sub(r'[^A-Za-z0-9._-]', '_', str(fold))}"


@contextlib.contextmanager
def checkpoints_in(model: Any, folder: Path) -> Iterator[Any]:
    """Within the block, ``model`` (a fresh estimator) checkpoints into ``folder``.

    Sets the estimator's own ``checkpoint_dir`` parameter with ``set_params`` (the sklearn
    way: no private flags) and puts back the configured value afterwards, so a saved package
    records the config's parameters. Models without ``checkpoint_dir`` are left alone.
    """
    params = model.get_params(deep=False)
    if "checkpoint_dir" not in params:
        yield model
        return
    model.set_params(checkpoint_dir=str(folder))
    try:
        yield model
    finally:
        model.set_params(checkpoint_dir=params["checkpoint_dir"])


def resume_note(folder: Path) -> str | None:
    """What a fit in ``folder`` resumes from, for the log, or ``None`` (no checkpoint yet).

    E.g. ``"resuming from runs/x/checkpoints/0-fold1: stage1 after epoch 2 (stage done),
    stage2 after epoch 1"``.
    """
    found = sorted(folder.rglob("progress.json")) if folder.is_dir() else []
    if not found:
        return None
    parts = []
    for path in found:
        progress = json.loads(path.read_text())
        where = path.parent.relative_to(folder).as_posix()
        label = "" if where == "." else f"{where} "
        done = " (stage done)" if progress["done"] else ""
        parts.append(f"{label}after epoch {progress['epoch']}{done}")
    return f"resuming from {folder}: {', '.join(parts)}"
