"""The index files of a feature-store folder: their columns, and reading one checked.

An index file (``index.parquet`` or ``index.shard-I-of-N.parquet``) maps a row id to its audio
fingerprint and to the array (``file``, ``row``, ``frames``) that holds its features, with the
time it was ``committed``. :func:`read_index_file` raises
:class:`~serkit.features.store_check.StoreDamagedError` for a file that is not a sound index.
Used by :class:`serkit.features.store.StoreFolder` and :mod:`serkit.features.store_repair`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from serkit.features.store_check import StoreDamagedError

__all__ = ["INDEX_COLUMNS", "empty_index", "read_index_file"]

INDEX_COLUMNS = ("id", "fingerprint", "file", "row", "frames", "committed")


def empty_index() -> pd.DataFrame:
    """An index with no rows (the columns and dtypes of every index file)."""
    return pd.DataFrame(
        {
            "id": pd.Series(dtype="string"),
            "fingerprint": pd.Series(dtype="string"),
            "file": pd.Series(dtype="string"),
            "row": pd.Series(dtype="int64"),
            "frames": pd.Series(dtype="int64"),
            "committed": pd.Series(dtype="float64"),
        }
    )


def read_index_file(folder: Path, path: Path) -> pd.DataFrame:
    """One index file of the store folder ``folder``, checked (an absent file is an empty index).

    Raises:
        StoreDamagedError: not readable as Parquet, or without the index columns.
    """
    try:
        df = pd.read_parquet(path)
    except FileNotFoundError:
        return empty_index()
    except Exception as exc:  # pyarrow's errors for a damaged file have no common base
        raise _damaged_index(folder, path, f"{type(exc).__name__}: {exc}") from None
    absent = [c for c in INDEX_COLUMNS if c not in df.columns]
    if absent:
        raise _damaged_index(folder, path, f"no column(s) {', '.join(absent)}")
    try:
        df = df[list(INDEX_COLUMNS)].astype(empty_index().dtypes)
    except (ValueError, TypeError) as exc:
        raise _damaged_index(folder, path, f"a column of the wrong type ({exc})") from None
    if df[["id", "file", "row", "frames"]].isna().any().any():
        raise _damaged_index(folder, path, "empty id, file, row or frames values")
    return df


def _damaged_index(folder: Path, path: Path, problem: str) -> StoreDamagedError:
    return StoreDamagedError(
        path,
        f"damaged index ({problem})",
        "extract again: the damaged file is removed and its rows are computed again "
        f"(or delete {folder})",
    )
