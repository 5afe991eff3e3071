"""The bounded worker pool: inference off the event loop, at most ``workers`` at a time.

Requests beyond the running ones wait in a queue of at most ``max_queue``; one more is refused
at once with :class:`BusyError` (answered ``503`` with ``Retry-After``) instead of piling up
memory and latency without bound.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from serkit.errors import ConfigError

T = TypeVar("T")


class BusyError(Exception):
    """Every worker is busy and the queue is full."""


class WorkerPool:
    """``workers`` threads and a queue of at most ``max_queue`` waiting calls.

    Args:
        workers: calls that run at the same time (threads).
        max_queue: calls that may wait for a thread.
    """

    def __init__(self, workers: int, max_queue: int) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ConfigError(f"workers must be a whole number >= 1; found {workers!r}")
        self.workers = workers
        self.max_queue = int(max_queue)
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="serkit-serve")
        self._lock = threading.Lock()
        self._admitted = 0  # running + waiting
        self._running = 0
        self.peak_running = 0

    @property
    def in_flight(self) -> int:
        """Calls admitted and not finished (running or waiting)."""
        return self._admitted

    @property
    def running(self) -> int:
        """Calls running now."""
        return self._running

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on a worker thread and await its result.

        Raises:
            BusyError: ``workers + max_queue`` calls are already admitted.
        """
        with self._lock:
            if self._admitted >= self.workers + self.max_queue:
                raise BusyError(
                    f"server busy: {self.workers} worker(s) running and {self.max_queue} "
                    "request(s) waiting; retry in a moment"
                )
            self._admitted += 1
        # counted until the thread is done with it (a cancelled request's call still runs)
        future = self._executor.submit(self._call, fn, args)
        future.add_done_callback(self._release)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            future.cancel()  # not started yet: never runs
            raise

    def _release(self, _future: Any) -> None:
        with self._lock:
            self._admitted -= 1

    def _call(self, fn: Callable[..., T], args: tuple) -> T:
        with self._lock:
            self._running += 1
            self.peak_running = max(self.peak_running, self._running)
        try:
            return fn(*args)
        finally:
            with self._lock:
                self._running -= 1

    def close(self) -> None:
        """Stop the threads (after the calls running now)."""
        self._executor.shutdown(wait=True, cancel_futures=True)
