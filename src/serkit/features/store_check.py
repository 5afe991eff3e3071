"""Checks of the files in a feature-store folder, and the error that names a damaged one.

:func:`probe` reads the header of a stored ``.npy`` array and checks it against the file size
(:func:`shape_or_problem` says what is wrong instead of raising); :func:`unreadable_rows` says
which index rows an array file cannot give back (missing, damaged, truncated, another dim,
fewer rows or frames than the index lists) and :func:`why_unreadable` says why;
:func:`check_folder` refuses a store path that is a file. :class:`StoreDamagedError` names the
file, the problem and the remedy. Used by :mod:`serkit.features.store` for reading (never
return values of a damaged file) and for :meth:`~serkit.features.store.StoreFolder.repair`
(drop exactly what a reader would refuse).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from serkit.features.base import FeatureError

__all__ = [
    "StoreDamagedError",
    "cannot_write",
    "check_folder",
    "probe",
    "shape_or_problem",
    "unreadable_rows",
    "why_unreadable",
]


class StoreDamagedError(FeatureError):
    """A file of a store folder is unreadable or disagrees with the index.

    Attributes:
        path: the damaged file.
        problem: what is wrong with it (without the remedy).
    """

    def __init__(self, path: Path, problem: str, remedy: str) -> None:
        super().__init__(f"{path}: {problem}; {remedy}")
        self.path = Path(path)
        self.problem = problem


def check_folder(path: Path) -> None:
    """Raise a :class:`FeatureError` when ``path`` or a folder above it is a file."""
    for part in (path, *path.parents):
        if os.path.lexists(part):
            if not part.is_dir():
                raise FeatureError(
                    f"feature store {path}: {part} is a file, not a folder; pass a store folder "
                    "(or move the file away)"
                )
            return


def cannot_write(path: Path, exc: OSError) -> FeatureError:
    """The error for a store folder ``path`` this process cannot write (``exc`` says why)."""
    reason = exc.strerror or type(exc).__name__
    return FeatureError(
        f"{path}: cannot write to the feature store ({reason}: {exc.filename or path}); check "
        "the folder's permissions, or pass a store folder you can write"
    )


#: the header np.save writes for a float32 C-order 2-D array (.npy version 1.0), read fast
_NPY_1_0 = b"\x93NUMPY\x01\x00"
_HEAD = 256
_F32_2D = re.compile(
    rb"\{'descr': '<f4', 'fortran_order': False, 'shape': \((\d+), (\d+)\), \} *\n"
)


def _parse_header(handle: Any) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """``(shape, fortran_order, dtype, data offset)`` of the ``.npy`` file open in ``handle``."""
    from numpy.lib import format as npy

    try:
        version = npy.read_magic(handle)
        if version == (1, 0):
            shape, fortran, dtype = npy.read_array_header_1_0(handle)
        elif version == (2, 0):
            shape, fortran, dtype = npy.read_array_header_2_0(handle)
        else:
            raise ValueError(f".npy format version {version}")
    except (ValueError, EOFError) as exc:
        raise ValueError(f"is not a readable .npy file ({exc})") from None
    return shape, fortran, dtype, handle.tell()


def probe(path: Path) -> tuple[int, int]:
    """Shape of the float32 ``(rows, dim)`` array in the ``.npy`` file ``path``.

    Reads the header only, and checks it against the file size.

    Raises:
        OSError: the file cannot be opened.
        ValueError: not an ``.npy`` file, another dtype or rank, or a size that disagrees with
            the header (a truncated file), with a message saying which.
    """
    with open(path, "rb") as handle:
        head = handle.read(_HEAD)
        size = os.fstat(handle.fileno()).st_size
        offset = 10 + int.from_bytes(head[8:10], "little")
        match = _F32_2D.fullmatch(head[10:offset]) if head[:8] == _NPY_1_0 else None
        if match is not None and offset <= len(head):  # what np.save writes: no parsing
            shape, fortran, dtype = (int(match[1]), int(match[2])), False, np.dtype(np.float32)
        else:
            handle.seek(0)
            shape, fortran, dtype, offset = _parse_header(handle)
    if dtype != np.float32 or fortran or len(shape) != 2:
        order = " Fortran-order" if fortran else ""
        raise ValueError(
            f"holds a {dtype}{order} array of shape {shape}, expected a float32 (rows, dim) one"
        )
    expected = offset + int(np.prod(shape)) * 4
    if size != expected:
        raise ValueError(
            f"is {size} bytes long but its header says {expected} for shape {shape}"
            + (" (truncated)" if size < expected else "")
        )
    return int(shape[0]), int(shape[1])


def shape_or_problem(path: Path) -> tuple[int, int] | str:
    """:func:`probe`'s ``(rows, dim)``, or what is wrong with the file as a predicate
    (``"is missing"``, ``"is unreadable (...)"``, ``"is 120 bytes long but ..."``)."""
    try:
        return probe(path)
    except FileNotFoundError:
        return "is missing"
    except OSError as exc:
        return f"is unreadable ({exc.strerror or exc})"
    except ValueError as exc:
        return str(exc)


def unreadable_rows(
    df: pd.DataFrame, shapes: dict[str, tuple[int, int] | str], dim: int, level: str
) -> np.ndarray:
    """Which index rows their array file cannot give back.

    Args:
        df: index rows (``file``, ``row``, ``frames``).
        shapes: per ``file``, :func:`shape_or_problem` of it.
        dim: the feature dimension the arrays must have.
        level: ``"utterance"`` (rows of ``(n, dim)`` arrays) or ``"frame"`` (one
            ``(frames, dim)`` array per row).

    Returns:
        ``(len(df),)`` bool, true where the row cannot be read.
    """
    info = [shapes[str(name)] for name in df["file"]]
    broken = np.array([isinstance(shape, str) for shape in info], dtype=bool)
    length = np.array([-1 if isinstance(shape, str) else shape[0] for shape in info])
    width = np.array([-1 if isinstance(shape, str) else shape[1] for shape in info])
    if level == "utterance":
        rows = df["row"].to_numpy()
        outside = (rows < 0) | (rows >= length)
    else:
        outside = df["frames"].to_numpy() != length
    return broken | (width != dim) | outside


def why_unreadable(shape: tuple[int, int] | str, bad: pd.DataFrame, dim: int, level: str) -> str:
    """Why the index rows ``bad`` of one array file (its ``shape``) cannot be read."""
    if isinstance(shape, str):
        return shape
    rows, columns = shape
    if columns != dim:
        return f"has {columns} column(s), the dim is {dim}"
    if level == "utterance":
        return f"holds {rows} row(s), the index lists rows up to {int(bad['row'].max())}"
    return f"holds {rows} frame(s), the index says {int(bad['frames'].iloc[0])}"
