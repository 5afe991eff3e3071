"""Atomic writes: a temp file in the destination folder, then one rename (``os.replace``).

A reader never sees a half-written file, and a writer killed mid-way leaves at most a hidden
temp file (``.<name>.<pid>.<random>.tmp``, removed again whenever the writer raises). Every
writer of serkit goes through this module, one layer below everything else (standard library
only at import time; numpy and pandas are used only by the writers that need them).

* :func:`atomic_path` is the primitive: a context manager yielding a fresh temp path for any
  writer that wants a path (``torch.save``, ``soundfile.write``, ``savefig``, ``onnx.save``);
  the temp is renamed onto the destination when the block ends without an exception.
* :func:`atomic_write_bytes`, :func:`atomic_write_text`, :func:`atomic_write_json`,
  :func:`atomic_save_npy`, :func:`atomic_write_parquet` are the common writers on top of it.
* :func:`atomic_dir` does the same for a folder written in full and then renamed into place
  (model packages); an existing folder is moved aside and removed after the swap. It first
  removes what killed writers of the same destination left behind
  (:func:`remove_stale_temps`): a writer killed with ``SIGKILL`` cannot clean up after itself,
  so the next writer does.

Temp names are unique per writer (process id + random part, created exclusively), live in the
destination folder (same filesystem, so the rename is atomic) and get the permissions an
ordinary ``open()`` / ``mkdir()`` would give (``0o666`` / ``0o777`` minus the umask), not the
``0o600`` / ``0o700`` of :mod:`tempfile`. Concurrent writers to one path each write their own
temp; the last rename wins and the file is always one complete version. Nothing is fsynced.

Example::

    with atomic_path(run / "weights.pt") as tmp:
        torch.save(state, tmp)
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = [
    "atomic_dir",
    "atomic_path",
    "atomic_save_npy",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_parquet",
    "atomic_write_text",
    "remove_stale_temps",
    "stale_temps",
    "temp_name",
]

_ATTEMPTS = 100
#: a temp whose writer still runs (or whose pid was reused) is removed after this many seconds
STALE_AFTER = 24 * 3600.0
#: what follows ``.<name>.`` in a temp name: ``<pid>.<8 hex>.tmp`` (plus an optional suffix)
_TEMP_TAIL = re.compile(r"^(?P<pid>\d+)\.[0-9a-f]{8}\.tmp(\.[^.]+)?$")


def temp_name(path: Path, *, keep_suffix: bool = False) -> Path:
    """A hidden sibling name for a temp of ``path``: ``.<name>.<pid>.<random>.tmp``.

    Args:
        path: the destination.
        keep_suffix: end the name with ``path.suffix`` too (``....tmp.flac``), for writers
            that choose the format from the extension.

    Returns:
        A path in ``path``'s folder (not created).

    >>> name = temp_name(Path("runs/a/metrics.json")).name
    >>> name.startswith(f".metrics.json.{os.getpid()}.") and name.endswith(".tmp")
    True
    >>> temp_name(Path("x/out.flac"), keep_suffix=True).name.endswith(".tmp.flac")
    True
    """
    end = ".tmp" + (path.suffix if keep_suffix else "")
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{end}")


def _create_temp(path: Path, keep_suffix: bool) -> Path:
    """Create an empty temp file exclusively, mode ``0o666`` minus the umask."""
    for _ in range(_ATTEMPTS):
        tmp = temp_name(path, keep_suffix=keep_suffix)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"{path}: could not create a unique temp file in {path.parent}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, keep_suffix: bool = False) -> Iterator[Path]:
    """Yield an (empty, existing) temp path; rename it onto ``path`` when the block succeeds.

    The destination folder is created if needed. If the block raises, the temp is removed and
    ``path`` is left as it was.

    Args:
        path: the destination file.
        keep_suffix: give the temp ``path``'s extension (soundfile, matplotlib pick the format
            from it).

    Yields:
        The temp path to write to (the writer may replace the file).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _create_temp(path, keep_suffix)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically. Returns ``path`` as a :class:`~pathlib.Path`."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        handle.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically. Returns the path."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(
    path: str | os.PathLike, obj: Any, *, indent: int | None = 1, **dumps: Any
) -> Path:
    """Write ``json.dumps(obj, indent=indent, **dumps)`` to ``path`` atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=indent, **dumps))


def atomic_save_npy(path: str | os.PathLike, array: np.ndarray, *, dtype: Any = None) -> Path:
    """``np.save`` an array (C order, cast to ``dtype`` unless ``None``) atomically.

    The file is written through a handle, so no ``.npy`` is appended to the name.
    """
    import numpy as np

    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.save(handle, np.asarray(array, dtype=dtype, order="C"))
    return Path(path)


def atomic_write_parquet(path: str | os.PathLike, df: pd.DataFrame) -> Path:
    """Write a DataFrame as Parquet (no index column) atomically."""
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)
    return Path(path)


def _pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` runs on this machine (signal 0 probes without sending)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True


def stale_temps(path: str | os.PathLike, *, max_age: float = STALE_AFTER) -> list[Path]:
    """Temps of ``path`` (files or folders named by :func:`temp_name`) that no writer uses.

    A temp is stale when the process named in it no longer runs on this machine, or when it
    is older than ``max_age`` seconds whoever holds its pid (a pid can be reused). Temps of
    live writers, this process included, are left alone, so a concurrent writer is never
    disturbed. (On a folder shared between machines, the pid test speaks for this machine
    only: do not write one destination from two machines at once.)

    Args:
        path: the destination file or folder.
        max_age: seconds after which any temp counts as stale (by its modification time).

    Returns:
        The stale temps, sorted.
    """
    path = Path(path)
    prefix = f".{path.name}."
    try:
        names = os.listdir(path.parent)
    except (FileNotFoundError, NotADirectoryError):
        return []
    now = time.time()
    out = []
    for name in names:
        match = _TEMP_TAIL.match(name[len(prefix) :]) if name.startswith(prefix) else None
        if match is None:
            continue
        temp = path.parent / name
        try:
            age = now - temp.lstat().st_mtime
        except FileNotFoundError:  # its writer finished meanwhile
            continue
        if age > max_age or not _pid_alive(int(match["pid"])):
            out.append(temp)
    return sorted(out)


def remove_stale_temps(path: str | os.PathLike, *, max_age: float = STALE_AFTER) -> list[Path]:
    """Delete the :func:`stale_temps` of ``path`` (what killed writers left behind).

    Returns:
        The temps removed.
    """
    removed = stale_temps(path, max_age=max_age)
    for temp in removed:
        if temp.is_dir() and not temp.is_symlink():
            shutil.rmtree(temp, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
    return removed


def _make_temp_dir(path: Path) -> Path:
    for _ in range(_ATTEMPTS):
        tmp = temp_name(path)
        try:
            os.mkdir(tmp, 0o777)
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(f"{path}: could not create a unique temp folder in {path.parent}")


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temp folder; swap it in as ``path`` when the block succeeds.

    An existing ``path`` is renamed aside (``.<name>.<pid>.<random>.tmp``) just before the
    swap and deleted after it, so readers see the old or the new folder, never a mix; there is
    a moment in between where ``path`` does not exist. If the block raises, the temp folder is
    deleted and ``path`` is untouched. Temps of ``path`` left by killed writers are deleted
    first (:func:`remove_stale_temps`).

    Args:
        path: the destination folder.

    Yields:
        The temp folder to fill.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)
    tmp = _make_temp_dir(path)
    try:
        yield tmp
        _swap_in(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _swap_in(tmp: Path, path: Path) -> None:
    """Rename folder ``tmp`` onto ``path``, moving any existing ``path`` aside first."""
    for _ in range(_ATTEMPTS):
        try:
            os.replace(tmp, path)  # works when path is absent (or an empty folder)
            return
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
                raise
        old = temp_name(path)
        try:
            os.replace(path, old)
        except FileNotFoundError:  # another writer moved it aside first: try again
            continue
        try:
            os.replace(tmp, path)
            return
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
        finally:
            if old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.unlink(missing_ok=True)
    raise FileExistsError(f"{path}: could not swap in the new folder (too many writers)")
