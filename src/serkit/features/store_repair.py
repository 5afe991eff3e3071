"""Repair of a damaged feature-store folder: drop what cannot be read, rebuild its config.

Files serkit writes are never partial, but a store can be damaged from outside (a disk that
filled up during a copy, a file edited or deleted by hand). Readers of a
:class:`~serkit.features.store.StoreFolder` check what they read and raise
:class:`~serkit.features.store_check.StoreDamagedError` naming the file, what is wrong and what
to do; they never return values of a damaged file. :func:`repair` (``StoreFolder.repair``, run
by every ``extract`` and ``merge``) makes the folder sound again: an unreadable index file is
removed, index rows whose array is missing or damaged are dropped, a missing or damaged
``config.json`` is rebuilt from the extractor (the dim from the stored arrays); the dropped rows
are then computed again like any missing row, and the summary lists what was repaired. The
file checks themselves are in :mod:`serkit.features.store_check`.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from serkit.atomic import atomic_write_parquet
from serkit.features.store_check import (
    StoreDamagedError,
    shape_or_problem,
    unreadable_rows,
    why_unreadable,
)
from serkit.features.store_index import read_index_file

if TYPE_CHECKING:
    from serkit.features.store import StoreFolder

__all__ = ["repair"]


def repair(folder: StoreFolder) -> list[str]:
    """Check every file the indexes point to and drop what cannot be read (under the lock).

    An index file that cannot be read is removed (its rows are lost); index rows whose
    array is missing, unreadable, truncated or of another shape than the index and
    ``config.json`` say are dropped; a missing or damaged ``config.json`` is rebuilt from
    the extractor (its dim taken from the stored arrays). The next ``extract`` computes
    the dropped rows again. Reads only the headers of the arrays.

    Returns:
        One line per problem found, naming the file and what was done (``[]``: sound).

    Raises:
        FeatureError: ``config.json`` belongs to another extractor config, or the folder
            cannot be written.
    """
    notes: list[str] = []
    with folder._writing():
        indexes: dict[Path, pd.DataFrame] = {}
        for path in folder.index_files():
            try:
                indexes[path] = read_index_file(folder.path, path)
            except StoreDamagedError as exc:
                path.unlink(missing_ok=True)
                notes.append(f"{path}: {exc.problem}; removed, its rows to be computed again")
        shapes: dict[str, tuple[int, int] | str] = {}
        for df in indexes.values():
            for name in df["file"].unique():
                shapes.setdefault(str(name), shape_or_problem(folder.path / str(name)))
        dim = _repair_config(folder, shapes, notes)
        for path, df in indexes.items():
            bad = unreadable_rows(df, shapes, dim, folder.level)
            for name, group in df[bad].groupby("file", sort=False):  # the damaged files
                why = why_unreadable(shapes[str(name)], group, dim, folder.level)
                notes.append(
                    f"{folder.path / str(name)}: stored array {why}; {len(group)} row(s) "
                    f"dropped from {path.name}, to be computed again"
                )
            if bad.any():
                atomic_write_parquet(path, df[~bad].reset_index(drop=True))
    return notes


def _repair_config(
    folder: StoreFolder, shapes: dict[str, tuple[int, int] | str], notes: list[str]
) -> int:
    """Rebuild a missing or damaged ``config.json``; returns the dim the arrays must have."""
    try:
        config, problem = folder._config_on_disk(), None
    except StoreDamagedError as exc:
        config, problem = None, exc.problem
    if config is None and problem is None:
        problem = "missing"
    elif folder._config_created:
        problem = "missing (rewritten without its dim when the folder was opened)"
    dim = config.get("dim") if config is not None else None
    found = Counter(shape[1] for shape in shapes.values() if not isinstance(shape, str))
    if found and dim not in found:  # the arrays agree on a dim the config does not say
        common = found.most_common(1)[0][0]
        problem = problem or (
            "no dim although the index lists rows"
            if dim is None
            else f"dim {dim}, but the stored arrays have dim {common}"
        )
        dim = common
    if problem is not None:
        config = folder._fresh_config()
        config = folder._write_config(config if dim is None else folder._with_dim(config, dim))
        notes.append(
            f"{folder.config_path}: {problem}; rebuilt from the extractor config"
            + (f" (dim {dim}, from the stored arrays)" if dim is not None else "")
        )
    folder._config, folder._config_problem, folder._config_created = config, None, False
    return int(dim or 0)
