"""Run an extractor over a manifest into the feature store.

``extract`` computes only the rows the store lacks (by id and audio fingerprint), optionally in
worker processes (:mod:`serkit.features.workers`) and on one shard of the manifest, and commits
results in chunks so an interrupted run resumes where it stopped. ``merge`` joins the outputs
of ``shard=`` jobs. A ``vad`` (e.g. :class:`serkit.features.vad.VadTrim`) trims each signal
before the extractor; it selects its own store folder, so pass the same ``vad`` to ``extract``,
``merge`` and :func:`serkit.features.loading.load` (which reads the features back).
"""

from __future__ import annotations

import hashlib
import math
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from serkit.errors import SKIP_BAD, ConfigError
from serkit.features.base import EXTRACTORS, Extractor, FeatureError
from serkit.features.frontend import Frontend, Vad, as_frontend
from serkit.features.store import INDEX, FeatureStore, StoreFolder
from serkit.features.workers import Job, parallel, serial, sigterm_raises


@dataclass
class ExtractSummary:
    """What an :func:`extract` or :func:`merge` call did."""

    folder: Path
    extractor: dict[str, Any]
    level: str
    dim: int | None
    rows: int
    computed: int = 0
    cached: int = 0
    #: ``"<id> (<path>): <reason>"`` per row skipped as bad (``skip_bad``)
    skipped: list[str] = field(default_factory=list)
    #: the same rows as ``{"id", "path", "reason"}`` mappings (for dataset.json and reports)
    skipped_rows: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    audio_seconds: float = 0.0
    frames: int = 0
    shard: tuple[int, int] | None = None
    missing: int = 0
    vad: dict[str, Any] | None = None
    #: what :meth:`StoreFolder.repair` found damaged in the store folder and did about it
    repaired: list[str] = field(default_factory=list)

    def format(self) -> str:
        """Human-readable lines for the CLI."""
        stored = self.computed + self.cached
        if self.level == "frame":
            shape = f"{stored} utterances x (frames, {self.dim}); {self.frames} frames stored"
        else:
            shape = f"({stored}, {self.dim})"
        shard = f" (shard {self.shard[0]}/{self.shard[1]})" if self.shard else ""
        rate = (
            f", {self.audio_seconds / self.seconds:.1f} s of audio per s"
            if self.computed and self.seconds > 0
            else ""
        )
        lines = [
            f"store:    {self.folder}",
            f"features: {self.extractor['name']} ({self.level}) {shape}{shard}",
            *([f"vad:      {_describe_vad(self.vad)}"] if self.vad else []),
            f"rows:     {self.computed} computed, {self.cached} cached, "
            f"{len(self.skipped)} skipped" + (f", {self.missing} missing" if self.missing else ""),
            f"time:     {self.seconds:.1f} s{rate}",
        ]
        return "\n".join(lines)


def resolve_frontend(
    extractor: Frontend | Extractor | str | dict[str, Any], vad: Vad | None = None
) -> Frontend:
    """The per-row front end (:meth:`Frontend.cached`) of a front end, or of an extractor
    (see :func:`resolve_extractor`) behind ``vad`` with the default analysable thresholds."""
    if isinstance(extractor, Frontend):
        return as_frontend(extractor, vad).cached()
    return Frontend(resolve_extractor(extractor), vad)


def resolve_extractor(extractor: Extractor | str | dict[str, Any]) -> Extractor:
    """Accept an extractor, a registered name (defaults) or a ``to_dict()`` mapping."""
    if isinstance(extractor, Extractor):
        return extractor
    if isinstance(extractor, str):
        return EXTRACTORS.get(extractor)()
    if isinstance(extractor, dict):
        return EXTRACTORS.get(str(extractor["name"])).from_dict(extractor)
    raise ConfigError(f"expected an Extractor, a name or a dict, got {type(extractor).__name__}")


def parse_shard(shard: str | tuple[int, int] | Sequence[int] | None) -> tuple[int, int] | None:
    """``"i/n"`` or ``(i, n)`` (0-based ``i < n``) -> ``(i, n)``; ``None`` stays ``None``."""
    if shard is None:
        return None
    try:
        if isinstance(shard, str):
            left, right = shard.split("/")
            index, count = int(left), int(right)
        else:
            index, count = (int(v) for v in shard)
    except (ValueError, TypeError):
        raise ConfigError(f"shard {shard!r}: expected I/N such as 0/4 (0-based)") from None
    if count < 1 or not 0 <= index < count:
        raise ConfigError(f"shard {shard!r}: expected 0 <= I < N, e.g. 0/4 .. 3/4 (0-based)")
    return index, count


def in_shard(row_id: str, shard: tuple[int, int]) -> bool:
    """Deterministic, order-independent shard membership (a hash of the id)."""
    digest = hashlib.sha1(row_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % shard[1] == shard[0]


def _describe_vad(spec: dict[str, Any]) -> str:
    params = spec.get("params") or {}
    text = ", ".join(f"{k}={v}" for k, v in params.items() if k != "method")
    return f"{spec.get('name')} {params.get('method', '')} ({text})" if params else spec["name"]


def _optional(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def jobs_of(manifest: pd.DataFrame) -> list[Job]:
    """One :class:`Job` per manifest row, with its audio fingerprint.

    The fingerprint is ``size:mtime_ns:ctime_ns:absolute path`` plus the segment bounds, so
    editing, replacing or moving a file, or changing a segment, invalidates the row (a VAD
    selects the store folder instead, see :meth:`serkit.features.frontend.Frontend.key`). The
    status-change time ``ctime`` catches a rewrite that keeps size and mtime (``cp -p``,
    ``os.utime``), which no program can set back; rows stored before it was part of the
    fingerprint (when too short or silent audio still got zero vectors) are all recomputed.
    A file that is not on disk gets the fingerprint ``missing:<path>``, which no stored row
    has, so its cached features are never used.
    """
    from serkit import manifest as mf

    paths = mf.audio_paths(manifest)
    starts = manifest["start"] if "start" in manifest.columns else [None] * len(manifest)
    ends = manifest["end"] if "end" in manifest.columns else [None] * len(manifest)
    jobs = []
    for row_id, path, start, end in zip(manifest["id"], paths, starts, ends, strict=True):
        start, end = _optional(start), _optional(end)
        try:
            stat = os.stat(path)
            stamp = f"{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ctime_ns}"
        except OSError:
            stamp = "missing"
        segment = f"|{start}-{end}" if start is not None or end is not None else ""
        jobs.append(Job(str(row_id), str(path), start, end, f"{stamp}:{path}{segment}"))
    return jobs


def extract(
    manifest: pd.DataFrame,
    extractor: Frontend | Extractor | str | dict[str, Any],
    store: FeatureStore | str | os.PathLike = "features",
    *,
    workers: int = 1,
    shard: str | tuple[int, int] | None = None,
    skip_bad: bool = False,
    progress: bool = True,
    vad: Vad | None = None,
    chunk_size: int = 64,
) -> ExtractSummary:
    """Compute the features of every manifest row the store lacks.

    Other processes may extract into the same store at once. A damaged store folder is
    repaired first (:meth:`~serkit.features.store.StoreFolder.repair`): rows it cannot give
    back are computed again, and ``summary.repaired`` says what was found.

    Args:
        manifest: the manifest (its root in ``attrs``); ``start``/``end`` cut segments.
        extractor: an extractor, a registered name, a ``to_dict()`` mapping, or a
            :class:`~serkit.features.frontend.Frontend` (extractor, VAD and analysable
            thresholds; an extractor gets the default thresholds).
        store: a :class:`FeatureStore` or its folder.
        workers: processes (spawned; 1 computes in this process). They end with this
            process, however it ends (``kill -9`` included).
        shard: ``"i/n"`` or ``(i, n)``, 0-based: compute only this deterministic part of the
            manifest into a shard index; join shards with :func:`merge`.
        skip_bad: skip unreadable or unanalysable audio (too short or too silent, see
            :mod:`serkit.features.analysable`) and failing extractors instead of raising; the
            rows are listed in ``summary.skipped`` / ``summary.skipped_rows``.
        progress: show a progress bar (rate and ETA) on stderr.
        vad: optional picklable callable ``(signal, rate) -> signal`` trimming silence first
            (e.g. :class:`serkit.features.vad.VadTrim`); it selects its own store folder.
        chunk_size: rows per commit; an interrupted run loses at most one chunk.

    Returns:
        An :class:`ExtractSummary` (computed, cached, skipped ids with reasons, seconds).

    Raises:
        FeatureError: a row failed (names the id, the file and the reason), unless ``skip_bad``;
            a worker process died; the store cannot be written.
        ExtractionInterrupted: SIGTERM arrived (a ``KeyboardInterrupt``, as Ctrl-C is); the
            rows computed so far are committed first, so the next call resumes.
    """
    started = time.perf_counter()
    frontend = resolve_frontend(extractor, vad)
    extractor, vad = frontend.extractor, frontend.vad
    store = store if isinstance(store, FeatureStore) else FeatureStore(store)
    shard_t = parse_shard(shard)
    if workers < 1 or chunk_size < 1:
        raise ConfigError(f"workers ({workers}) and chunk_size ({chunk_size}) must be >= 1")
    folder = store.open(frontend)
    repaired = folder.repair()  # drops what a damaged store cannot give back: computed below
    jobs = jobs_of(manifest)
    if shard_t is not None:
        jobs = [job for job in jobs if in_shard(job.id, shard_t)]
    index = folder.index()
    known = dict(zip(index["id"].astype(str), index["fingerprint"].astype(str), strict=True))
    todo = [job for job in jobs if known.get(job.id) != job.fingerprint]
    summary = ExtractSummary(
        folder.path,
        extractor.to_dict(),
        extractor.level,
        folder.dim,
        len(jobs),
        cached=len(jobs) - len(todo),
        shard=shard_t,
        vad=folder.vad,
        repaired=repaired,
    )
    index_name = INDEX if shard_t is None else f"index.shard-{shard_t[0]}-of-{shard_t[1]}.parquet"
    if todo:
        _run(
            frontend,  # with its VAD and thresholds inside (vad=None below)
            todo,
            folder,
            index_name,
            summary,
            workers,
            skip_bad,
            progress,
            None,
            chunk_size,
        )
    if shard_t is None and (todo or folder.needs_consolidation()):
        folder.consolidate(include_shards=False)  # a warm, tidy run has nothing to join
    summary.dim = folder.dim
    summary.frames = _stored_frames(folder, {job.id for job in jobs})
    summary.seconds = time.perf_counter() - started
    return summary


def _run(
    extractor: Frontend | Extractor,
    todo: list[Job],
    folder: StoreFolder,
    index_name: str,
    summary: ExtractSummary,
    workers: int,
    skip_bad: bool,
    progress: bool,
    vad: Vad | None,
    chunk_size: int,
) -> None:
    from tqdm import tqdm

    batch = max(1, min(16, math.ceil(len(todo) / (4 * workers)), chunk_size))
    results = (
        serial(extractor, todo, vad, batch)
        if workers == 1
        else parallel(extractor, todo, vad, workers, batch)
    )
    bar = tqdm(
        total=len(todo),
        unit="file",
        disable=not progress,
        file=sys.stderr,
        desc=extractor.name,
        dynamic_ncols=True,
    )
    try:
        with sigterm_raises():
            _consume(results, folder, index_name, summary, skip_bad, chunk_size, bar)
    finally:
        bar.close()
        close = getattr(results, "close", None)
        if close is not None:
            close()


def _consume(
    results: Iterator,
    folder: StoreFolder,
    index_name: str,
    summary: ExtractSummary,
    skip_bad: bool,
    chunk_size: int,
    bar: Any,
) -> None:
    """Commit ``results`` in chunks of ``chunk_size`` rows; on SIGTERM or Ctrl-C the rows
    computed so far are committed before the exception goes on."""
    pending: list[tuple[str, str, np.ndarray]] = []
    started = time.perf_counter()
    try:
        for job, array, error, seconds in results:
            summary.audio_seconds += seconds
            if error is not None:
                message = f"{job.id} ({job.path}): {error}"
                if not skip_bad:
                    folder.commit(pending, index_name)
                    pending = []
                    raise FeatureError(
                        f"{message}. Fix or remove the file (rows computed so far are kept in "
                        "the store)",
                        hint=SKIP_BAD,
                    )
                summary.skipped.append(message)
                summary.skipped_rows.append({"id": job.id, "path": job.path, "reason": error})
            else:
                pending.append((job.id, job.fingerprint, array))
                summary.computed += 1
            if len(pending) >= chunk_size:
                folder.commit(pending, index_name)
                pending = []
            bar.update(1)
            elapsed = time.perf_counter() - started
            if elapsed > 0:
                bar.set_postfix_str(
                    f"{summary.audio_seconds / elapsed:.1f} s audio/s", refresh=False
                )
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM as ExtractionInterrupted
        folder.commit(pending, index_name)  # again if the signal came during a commit
        raise
    folder.commit(pending, index_name)


def _stored_frames(folder: StoreFolder, ids: set[str]) -> int:
    index = folder.index()
    return int(index.loc[index["id"].astype(str).isin(ids), "frames"].sum())


def merge(
    manifest: pd.DataFrame,
    extractor: Extractor | str | dict[str, Any],
    store: FeatureStore | str | os.PathLike = "features",
    *,
    vad: Vad | None = None,
) -> ExtractSummary:
    """Join the shard indexes (and utterance chunks) of ``extractor`` into one index.

    Run it after every ``shard=`` job has finished (with the ``vad`` the jobs used). The
    summary counts the manifest rows that are stored (``cached``) and still ``missing``.
    """
    started = time.perf_counter()
    extractor = resolve_extractor(extractor)
    store = store if isinstance(store, FeatureStore) else FeatureStore(store)
    folder = store.open(extractor, vad)
    repaired = folder.repair()
    index = folder.consolidate(include_shards=True)
    jobs = jobs_of(manifest)
    known = dict(zip(index["id"].astype(str), index["fingerprint"].astype(str), strict=True))
    present = sum(known.get(job.id) == job.fingerprint for job in jobs)
    return ExtractSummary(
        folder.path,
        extractor.to_dict(),
        extractor.level,
        folder.dim,
        len(jobs),
        cached=present,
        missing=len(jobs) - present,
        seconds=time.perf_counter() - started,
        frames=_stored_frames(folder, {job.id for job in jobs}),
        vad=folder.vad,
        repaired=repaired,
    )
