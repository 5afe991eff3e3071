"""An advisory lock on one folder, shared by every process that writes or reads it.

:class:`FolderLock` holds ``fcntl.flock`` on a file in the folder (the feature store uses
``<folder>/.lock``): exclusive for a writer, shared for a reader. The kernel releases it when
the holder's process ends in any way (``kill -9`` included), so a killed writer never leaves a
stale lock behind, and the lock file itself is never deleted (deleting it would let two
processes lock two different files). It works across processes on one machine and, on Linux,
on NFS (flock is emulated with byte-range locks there). On a platform without ``fcntl``
(Windows) the lock does nothing.

Within one process a lock object is reentrant for the thread that holds it (nested ``hold()``
calls lock once) and excludes other threads.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["FolderLock"]

_READ_ONLY = (errno.EACCES, errno.EPERM, errno.EROFS)


class FolderLock:
    """``flock`` on ``path``: :meth:`hold` (exclusive) for writers, ``hold(shared=True)`` for
    readers.

    Args:
        path: the lock file (created by the first exclusive hold, mode ``0o666`` minus the
            umask).
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._thread_lock = threading.RLock()
        self._fd: int | None = None
        self._depth = 0
        self._shared = False

    @contextlib.contextmanager
    def hold(self, *, shared: bool = False) -> Iterator[None]:
        """Hold the lock for the block (waits while another process holds it exclusively).

        A shared hold opens the lock file read-only (a reader writes nothing); where there is
        none yet (no writer ever locked the folder) or it cannot be read, it takes no lock.
        An exclusive hold creates the file when absent.

        Raises:
            OSError: the lock file cannot be opened (exclusive: no write permission).
            RuntimeError: an exclusive hold nested in a shared one (a programming error).
        """
        with self._thread_lock:
            if self._depth == 0:
                self._fd = self._acquire(shared)
                self._shared = shared
            elif self._shared and not shared:
                raise RuntimeError(f"{self.path}: exclusive lock requested inside a shared one")
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and self._fd is not None:
                    os.close(self._fd)  # closing the last descriptor releases the flock
                    self._fd = None

    def _acquire(self, shared: bool) -> int | None:
        if fcntl is None:  # pragma: no cover - Windows
            return None
        if shared:  # a reader writes nothing, not even the lock file
            try:
                fd = os.open(self.path, os.O_RDONLY)
            except FileNotFoundError:
                return None  # no writer has locked this folder yet (or ever will)
            except OSError as exc:
                if exc.errno not in _READ_ONLY:
                    raise
                return None  # a lock file this process cannot read: read without a lock
        else:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        return fd
