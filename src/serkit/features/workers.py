"""Compute feature rows in this process or in worker processes that end with their parent.

:func:`compute_batch` computes a few :class:`Job` rows (errors returned per row, not raised);
:func:`serial` and :func:`parallel` run it over a list of jobs, the latter in spawned processes
that watch their parent (:func:`_watch_parent`: a ``kill -9`` of the parent leaves no worker
behind) and are terminated when the consumer stops early. :func:`sigterm_raises` turns SIGTERM
into :class:`ExtractionInterrupted` so that the caller can commit what it has. Used by
:func:`serkit.features.extract.extract`.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np

from serkit.errors import AudioError, ConfigError, message_of
from serkit.features.analysable import UnanalysableError
from serkit.features.base import Extractor, FeatureError
from serkit.features.frontend import Frontend, Vad, as_frontend

__all__ = ["ExtractionInterrupted", "Job", "compute_batch", "parallel", "serial", "sigterm_raises"]


class Job(NamedTuple):
    """One manifest row to compute."""

    id: str
    path: str
    start: float | None
    end: float | None
    fingerprint: str


def compute_batch(
    extractor: Frontend | Extractor, jobs: Sequence[Job], vad: Vad | None = None
) -> list[tuple[Job, np.ndarray | None, str | None, float]]:
    """Compute features of a few jobs: ``(job, array or None, error or None, audio seconds)``.

    Runs in worker processes; audio and extractor errors are returned (not raised) so that the
    parent can name the file and decide whether to skip it. Every row goes through
    :meth:`Frontend.compute`, so audio that is not analysable (too short or too silent after
    the VAD) gets an error naming its duration or level and the threshold, never features.

    Args:
        extractor: the front end (or an extractor, put behind ``vad``).
        jobs: the rows.
        vad: the VAD of a bare extractor.
    """
    from serkit import audio

    frontend = as_frontend(extractor, vad)
    out = []
    for job in jobs:
        try:
            signal, rate = audio.read(
                job.path, sample_rate=frontend.sample_rate, start=job.start, end=job.end
            )
        except AudioError as exc:
            out.append((job, None, f"unreadable audio: {message_of(exc)}", 0.0))
            continue
        seconds = len(signal) / rate
        try:
            array = frontend.compute(signal, rate)
        except ConfigError:  # the extractor's setup (e.g. no model_path) fails every file alike
            raise
        except UnanalysableError as exc:
            thresholds = (
                f"min_duration_s={frontend.min_duration_s}, "
                f"min_level_dbfs={frontend.min_level_dbfs}"
            )
            out.append((job, None, f"{exc.reason} ({thresholds})", seconds))
            continue
        except Exception as exc:  # any extractor failure is reported with the file name
            reason = f"{type(exc).__name__}: {message_of(exc)}"
            name = frontend.extractor.name
            out.append((job, None, f"extractor {name!r} failed: {reason}", seconds))
            continue
        out.append((job, array, None, seconds))  # finite: Extractor.__call__ refuses NaN/inf
    return out


def serial(
    extractor: Frontend | Extractor, todo: list[Job], vad: Vad | None, batch: int
) -> Iterator:
    for start in range(0, len(todo), batch):
        yield from compute_batch(extractor, todo[start : start + batch], vad)


def parallel(
    extractor: Frontend | Extractor, todo: list[Job], vad: Vad | None, workers: int, batch: int
):
    """Compute ``todo`` in ``workers`` spawned processes, yielding results as batches finish.

    The workers end with this process: each watches its parent (:func:`_watch_parent`), so a
    ``kill -9`` of the parent leaves none behind, and when the consumer stops early (an error,
    SIGTERM, Ctrl-C) the queued batches are cancelled and the workers terminated at once.
    """
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    batches = [todo[i : i + batch] for i in range(0, len(todo), batch)]
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_watch_parent,
        initargs=(os.getpid(),),
    )
    pending: set = set()
    position = 0
    finished = False
    try:
        with _sigint_ignored():  # the first submits spawn the workers: they start ignoring it
            while position < len(batches) and len(pending) < 2 * workers:
                pending.add(pool.submit(compute_batch, extractor, batches[position], vad))
                position += 1
        while position < len(batches) or pending:
            # a worker killed between two batches breaks the pool for submit() as well as
            # for result(): both end in the same error
            try:
                while position < len(batches) and len(pending) < 2 * workers:
                    pending.add(pool.submit(compute_batch, extractor, batches[position], vad))
                    position += 1
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                results = [future.result() for future in done]
            except BrokenProcessPool:
                raise FeatureError(
                    "a feature worker process ended abruptly (killed, or out of memory?); "
                    "the rows computed so far are kept in the store: extract again to go "
                    "on (with workers=1 a crashing row shows its error)"
                ) from None
            for batch_results in results:
                yield from batch_results
        finished = True
    finally:
        _stop_pool(pool, pending, finished)


def _stop_pool(pool: Any, pending: set, finished: bool) -> None:
    """Shut a worker pool down: wait for a pool that finished its work, else cancel what is
    queued and terminate the workers (batches in flight are not waited for)."""
    if finished:
        pool.shutdown(wait=True)
        return
    for future in pending:
        future.cancel()
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=10)


def _watch_parent(parent: int) -> None:
    """Initializer of a feature worker: exit as soon as the process ``parent`` is gone.

    A worker outlives a parent killed with ``kill -9`` (it waits for work that never comes), so
    a daemon thread polls the parent pid and ends the worker when it changes. SIGINT (Ctrl-C
    reaches the whole process group) is left to the parent, which stops the workers itself.
    """
    import signal
    import threading

    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, name="serkit-watch-parent", daemon=True).start()


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore SIGINT for the block (in the main thread): processes spawned meanwhile inherit
    the ignored disposition, so a Ctrl-C that reaches a worker still starting up (before
    :func:`_watch_parent` runs) does not end it with a traceback; the parent handles it."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_DFL if previous is None else previous)


class ExtractionInterrupted(KeyboardInterrupt):
    """An extraction stopped by SIGTERM (the rows computed so far are stored).

    A :class:`KeyboardInterrupt`, as for Ctrl-C, so that no ``except Exception`` on the way
    (an extractor failure reported per row, a damaged-file check) takes it for an error of
    the row or file at hand.
    """


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """Turn SIGTERM into :class:`ExtractionInterrupted` for the block (in the main thread;
    elsewhere signals cannot be handled), so that the rows computed so far are committed and
    the workers stopped. A second SIGTERM acts as it did before."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, previous)
        raise ExtractionInterrupted(
            "extraction stopped by SIGTERM; the rows computed so far are kept in the store: "
            "extract again to compute the rest"
        )

    previous = signal.getsignal(signal.SIGTERM)
    if previous is None:  # set outside Python: restore the default
        previous = signal.SIG_DFL
    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
