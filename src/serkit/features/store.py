"""The feature store: computed features on disk, keyed by extractor config, safe to interrupt.

Layout of a store root (default ``features/``)::

    <name>-<key>/                 one folder per extractor config and VAD (key = store_key())
        config.json               extractor to_dict, vad, feature version, level, dim, channels,
                                  names
        index.parquet             id -> fingerprint, file, row, frames, committed (time)
        index.shard-I-of-N.parquet  the same, written by a ``--shard I/N`` job until merged
        vectors-<token>.npy       utterance level: all vectors (n, dim) after consolidation
        chunks/<token>.npy        utterance level: chunks appended since the last consolidation
        frames/<id>-<hash>.npy    frame level: one (frames, dim) array per utterance
        .lock                     the folder's lock file (empty; never deleted)

Every file is written to a temporary name and renamed into place (``os.replace``), and the index
is rewritten only after the arrays it points to are in place, so a killed process loses at most
the chunk it was computing and never leaves an index entry pointing at a missing or partial file.
The fingerprint of a row (audio size, mtime and path, plus segment bounds) is stored with it; a
row whose audio changed is recomputed, and a changed extractor parameter gives another folder.

**Concurrent writers.** Any number of processes may extract into one folder at once (two
``serkit features`` runs, shard jobs, a training run beside an extraction). Every change of the
folder, that is writing a chunk or frame array together with the index entries that point to it,
rewriting ``config.json``, consolidating, garbage collection and :meth:`StoreFolder.repair`,
happens under an exclusive ``flock`` of ``.lock`` (:class:`serkit.features.lock.FolderLock`,
released by the kernel when its holder dies, ``kill -9`` included), and reads the index files
from disk inside that lock (never a copy cached earlier), so no commit overwrites another's and
garbage collection, which deletes every file no index references, never meets an array whose
entries are not yet written: no writer writes outside the lock. Readers (:meth:`~StoreFolder.index`,
:meth:`~StoreFolder.read`) hold the lock shared while they read the index and open the arrays
(an open memory map survives the file's deletion), and re-resolve entries whose file a
consolidation replaced since they were listed. Computing happens outside the lock, so two
writers of the same rows both compute them (the later commit wins; the values are the same).
A store the process cannot write is read without a lock. On platforms without ``fcntl``
(Windows) there is no lock: run one writer per folder there.

**Damage.** A store can be damaged from outside (a disk that filled up during a copy, a file
edited by hand). Readers check what they read (:mod:`serkit.features.store_check`) and raise
:class:`StoreDamagedError` naming the file, what is wrong and what to do, never returning values
of a damaged file; :meth:`StoreFolder.repair` (:mod:`serkit.features.store_repair`), run by
every ``extract`` and ``merge``, drops what cannot be read and rebuilds a damaged config.
Temporary files of killed writers are deleted by the next consolidation (under the lock, so
never a live writer's).

A VAD put in front of the extractor (``extract(..., vad=VadTrim(...))``) is part of the folder
identity: the folder key is the key of the front end (:class:`serkit.features.frontend.Frontend`,
extractor config, :data:`FEATURE_VERSION` and VAD; per-speaker normalisation is a set-level step
and never stored), so plain and trimmed features of one extractor live side by side and a changed
VAD parameter gives another folder. Without a VAD the key is ``Extractor.key()``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from serkit.atomic import atomic_save_npy, atomic_write_parquet, atomic_write_text
from serkit.features.base import FEATURE_VERSION, Extractor, FeatureError
from serkit.features.frontend import Frontend, Vad, as_frontend, vad_spec
from serkit.features.lock import FolderLock
from serkit.features.store_check import (
    StoreDamagedError,
    cannot_write,
    check_folder,
    shape_or_problem,
)
from serkit.features.store_index import INDEX_COLUMNS, empty_index, read_index_file

__all__ = [
    "INDEX",
    "FeatureStore",
    "StoreDamagedError",
    "StoreFolder",
    "Vad",
    "store_key",
    "vad_spec",
]

INDEX = "index.parquet"
LOCK = ".lock"
_CONFIG_KEYS = ("extractor", "key", "level", "dim", "channels")


def store_key(extractor: Extractor | Frontend, vad: Vad | None = None) -> str:
    """Folder key (16 hex chars): the :meth:`~serkit.features.frontend.Frontend.key` of the
    front end ``extractor`` behind ``vad`` (``extractor.key()`` when there is no VAD), or of
    a front end's per-row part (:meth:`~serkit.features.frontend.Frontend.cached`)."""
    return as_frontend(extractor, vad).cached().key()


def frame_file_name(row_id: str, fingerprint: str) -> str:
    """File name of one utterance's frame array: a readable id plus a hash of id + fingerprint."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", row_id)[:80]
    digest = hashlib.sha1(f"{row_id}\0{fingerprint}".encode()).hexdigest()[:12]
    return f"{safe}-{digest}.npy"


class StoreFolder:
    """The entries of one extractor config (and VAD): ``<store>/<name>-<key>/``.

    Safe for concurrent writers and readers in several processes (see the module docstring).
    A damaged ``config.json`` does not stop the folder from opening: :attr:`config` raises
    :class:`StoreDamagedError` until :meth:`repair` rebuilds it.

    Args:
        path: the folder (created with its ``config.json`` when absent).
        extractor: the extractor (its ``to_dict()`` and names go to ``config.json``), or a
            front end (its per-row part, :meth:`Frontend.cached`, keys the folder).
        vad: the VAD in front of a bare extractor, if any (its :func:`vad_spec` goes to
            ``config.json``).

    Raises:
        FeatureError: ``path`` (or a folder above it) is a file, it cannot be created or
            written, or its ``config.json`` belongs to another extractor config.
    """

    def __init__(self, path: Path, extractor: Extractor | Frontend, vad: Vad | None = None) -> None:
        frontend = as_frontend(extractor, vad).cached()
        self.path = Path(path)
        self.extractor = frontend.extractor
        self.vad = vad_spec(frontend.vad)
        self.key = store_key(frontend)
        self.level = frontend.extractor.level
        self.lock = FolderLock(self.path / LOCK)
        self._config_problem: StoreDamagedError | None = None
        self._config_created = False
        check_folder(self.path)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except PermissionError as exc:
            raise cannot_write(self.path, exc) from None
        self._config = self._open_config()

    # -- locking ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """Hold the folder's lock exclusively; a permission error names the folder."""
        try:
            with self.lock.hold():
                yield
        except PermissionError as exc:
            raise cannot_write(self.path, exc) from None

    def _reading(self) -> contextlib.AbstractContextManager[None]:
        return self.lock.hold(shared=True)

    # -- config -----------------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def config(self) -> dict[str, Any]:
        """``config.json`` as read (or written) when the folder was opened or repaired.

        Raises:
            StoreDamagedError: the file is damaged (:meth:`repair` rebuilds it).
        """
        if self._config is None:
            assert self._config_problem is not None
            raise self._config_problem
        return self._config

    def _open_config(self) -> dict[str, Any] | None:
        """The folder's config (a fresh one written when absent); ``None`` when damaged."""
        try:
            config = self._config_on_disk()
            if config is None:
                with self._writing():
                    config = self._config_on_disk()  # another process may have written it
                    if config is None:
                        self._config_created = bool(self.index_files())
                        config = self._write_config(self._fresh_config())
        except StoreDamagedError as exc:
            self._config_problem = exc
            return None
        return config

    def _config_on_disk(self) -> dict[str, Any] | None:
        """``config.json`` (``None`` when absent).

        Raises:
            StoreDamagedError: it cannot be read or lacks entries.
            FeatureError: it belongs to another key (a folder renamed or copied by hand).
        """
        try:
            text = self.config_path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._damaged_config(f"unreadable ({exc.strerror or exc})") from None
        try:
            config = json.loads(text)
        except ValueError as exc:
            raise self._damaged_config(f"not valid JSON ({exc})") from None
        problem = self._config_problem_of(config)
        if problem:
            raise self._damaged_config(problem)
        if config["key"] != self.key:
            raise FeatureError(
                f"{self.config_path}: key {config.get('key')} does not match the key "
                f"{self.key} of the extractor (and VAD {self.vad}); the folder was renamed "
                "or copied by hand: delete it and extract again"
            )
        return config

    def _config_problem_of(self, config: Any) -> str | None:
        if not isinstance(config, dict):
            return f"a JSON {type(config).__name__}, expected an object"
        absent = [key for key in _CONFIG_KEYS if key not in config]
        if absent:
            return f"no {', '.join(map(repr, absent))} entry"
        if config["level"] != self.level:
            return f"level {config['level']!r}, expected {self.level!r}"
        dim = config["dim"]
        if dim is not None and (not isinstance(dim, int) or isinstance(dim, bool) or dim < 1):
            return f"dim {dim!r} is not a positive integer"
        return None

    def _damaged_config(self, problem: str) -> StoreDamagedError:
        return StoreDamagedError(
            self.config_path,
            f"damaged config ({problem})",
            "extract again to rebuild it from the extractor (the stored rows are kept), or "
            f"delete {self.path}",
        )

    def _fresh_config(self) -> dict[str, Any]:
        return {
            "extractor": self.extractor.to_dict(),
            "vad": self.vad,
            "key": self.key,
            "feature_version": FEATURE_VERSION,
            "level": self.level,
            "channels": int(self.extractor.channels),
            "dim": None,
            "feature_names": None,
        }

    def _with_dim(self, config: dict[str, Any], dim: int) -> dict[str, Any]:
        names = self.extractor.feature_names()
        if names is not None and len(names) != dim:
            names = None
        return {**config, "dim": int(dim), "feature_names": names}

    def _write_config(self, config: dict[str, Any]) -> dict[str, Any]:
        atomic_write_text(self.config_path, json.dumps(config, indent=2))
        return config

    @property
    def dim(self) -> int | None:
        return self.config.get("dim")

    def _set_dim(self, dim: int) -> None:
        """Record ``dim`` in ``config.json`` (read again from disk; the caller holds the lock)."""
        config = self._config_on_disk() or self._fresh_config()
        if config.get("dim") is None:
            config = self._write_config(self._with_dim(config, dim))
        elif config["dim"] != dim:
            raise FeatureError(
                f"{self.path}: extractor {self.extractor.name!r} produced dim {dim}, but the "
                f"store holds dim {config['dim']}; features of one config must have one "
                "dim (is the extractor's output length data-dependent?)"
            )
        self._config, self._config_problem = config, None

    # -- index ------------------------------------------------------------------------------
    def index_files(self) -> list[Path]:
        """The main index and any shard indexes, main first."""
        shards = sorted(self.path.glob("index.shard-*.parquet"))
        main = self.path / INDEX
        return ([main] if main.exists() else []) + shards

    def index(self) -> pd.DataFrame:
        """All committed entries (main + shard indexes), one per id (the latest commit wins).

        Raises:
            StoreDamagedError: an index file is damaged.
        """
        with self._reading():
            return self._index()

    def _index(self) -> pd.DataFrame:
        frames = [read_index_file(self.path, path) for path in self.index_files()]
        if not frames:
            return empty_index()
        df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        df = df.sort_values("committed", kind="stable").drop_duplicates("id", keep="last")
        return df.reset_index(drop=True)

    # -- writing ----------------------------------------------------------------------------
    def commit(self, items: Sequence[tuple[str, str, np.ndarray]], index_name: str = INDEX) -> None:
        """Store computed rows and then record them in the index (atomically, under the lock).

        Args:
            items: ``(id, fingerprint, array)``; arrays are ``(dim,)`` or ``(frames, dim)``.
            index_name: the index file to extend (``index.parquet`` or a shard index).
        """
        if not items:
            return
        dims = {int(array.shape[-1]) for _, _, array in items}
        if len(dims) != 1:
            raise FeatureError(f"{self.path}: one chunk holds several dims {sorted(dims)}")
        with self._writing():
            self._set_dim(dims.pop())
            now = time.time()
            rows = []
            if self.level == "utterance":
                (self.path / "chunks").mkdir(exist_ok=True)
                name = f"chunks/{uuid.uuid4().hex}.npy"
                atomic_save_npy(
                    self.path / name, np.stack([array for _, _, array in items]), dtype=np.float32
                )
                for position, (row_id, fingerprint, _) in enumerate(items):
                    rows.append((row_id, fingerprint, name, position, 1, now))
            else:
                (self.path / "frames").mkdir(exist_ok=True)
                for row_id, fingerprint, array in items:
                    name = f"frames/{frame_file_name(row_id, fingerprint)}"
                    atomic_save_npy(self.path / name, array, dtype=np.float32)
                    rows.append((row_id, fingerprint, name, 0, int(array.shape[0]), now))
            new = pd.DataFrame(rows, columns=list(INDEX_COLUMNS)).astype(empty_index().dtypes)
            old = read_index_file(self.path, self.path / index_name)
            merged = pd.concat([old, new], ignore_index=True) if len(old) else new
            merged = merged.drop_duplicates("id", keep="last").reset_index(drop=True)
            atomic_write_parquet(self.path / index_name, merged)

    def has_chunks(self) -> bool:
        """Whether utterance chunks wait to be joined by :meth:`consolidate`."""
        return any((self.path / "chunks").glob("*.npy"))

    def needs_consolidation(self) -> bool:
        """Whether chunks wait to be joined or an interrupted write left files behind (its
        temporary files, a vectors file replaced but not yet deleted)."""
        return (
            self.has_chunks()
            or len(list(self.path.glob("vectors-*.npy"))) > 1
            or any(self.path.rglob(".*.tmp"))
        )

    def consolidate(self, *, include_shards: bool = True) -> pd.DataFrame:
        """Join index files into ``index.parquet`` and utterance chunks into one array.

        Unreferenced files (replaced chunks, stale frame arrays, temporary files of killed
        processes) are deleted. Runs under the folder's lock, so other writers wait meanwhile.

        Args:
            include_shards: also merge (and remove) the shard indexes.

        Returns:
            The new main index.

        Raises:
            StoreDamagedError: an index file or an array is damaged (:meth:`repair` first).
        """
        with self._writing():
            files = self.index_files() if include_shards else [self.path / INDEX]
            files = [f for f in files if f.exists()]
            frames = [read_index_file(self.path, f) for f in files]
            if not frames:
                self._collect_garbage()
                return empty_index()
            df = pd.concat(frames, ignore_index=True).sort_values("committed", kind="stable")
            df = df.drop_duplicates("id", keep="last").reset_index(drop=True)
            done = (
                df["file"].nunique() == 1
                and str(df["file"].iloc[0]).startswith("vectors-")
                and bool((df["row"].to_numpy() == np.arange(len(df))).all())
            )
            if self.level == "utterance" and len(df) and not done:
                vectors = self._gather(df)
                name = f"vectors-{uuid.uuid4().hex[:12]}.npy"
                atomic_save_npy(self.path / name, vectors, dtype=np.float32)
                df = df.assign(file=name, row=np.arange(len(df), dtype=np.int64))
            atomic_write_parquet(self.path / INDEX, df)
            for f in files:
                if f.name != INDEX:
                    f.unlink()
            self._collect_garbage()
            return df

    def _collect_garbage(self) -> None:
        """Delete every array no index references and every temp file (caller holds the lock:
        no other writer is between writing an array and indexing it)."""
        referenced = set()
        for path in self.index_files():
            referenced.update(map(str, read_index_file(self.path, path)["file"]))
        candidates = list(self.path.glob("vectors-*.npy"))
        candidates += list(self.path.glob("chunks/*.npy")) + list(self.path.glob("frames/*.npy"))
        for path in candidates:
            if path.relative_to(self.path).as_posix() not in referenced:
                path.unlink(missing_ok=True)
        for tmp in self.path.rglob(".*.tmp"):
            tmp.unlink(missing_ok=True)

    # -- repair -----------------------------------------------------------------------------
    def repair(self) -> list[str]:
        """Make the folder sound again (:func:`serkit.features.store_repair.repair`).

        Returns:
            One line per problem found, naming the file and what was done (``[]``: sound).
        """
        from serkit.features.store_repair import repair

        return repair(self)

    # -- reading ----------------------------------------------------------------------------
    def read(self, entries: pd.DataFrame) -> tuple[np.ndarray | None, list[np.ndarray] | None]:
        """Arrays of index ``entries`` (in their order): ``(X, None)`` or ``(None, frames)``.

        Entries whose file a concurrent consolidation replaced since they were listed are
        looked up again (by id and fingerprint) in the current index.

        Raises:
            StoreDamagedError: an array is missing, damaged or of another shape than the index
                says (nothing of it is returned).
        """
        with self._reading():
            entries = self._current(entries.reset_index(drop=True))
            if self.level == "utterance":
                return self._gather(entries), None
            dim = self._dim_for(len(entries))
            frames = [
                self._open(str(name), frames=int(count), dim=dim)
                for name, count in zip(entries["file"], entries["frames"], strict=True)
            ]
        return None, frames

    def _current(self, entries: pd.DataFrame) -> pd.DataFrame:
        names = set(map(str, entries["file"]))
        if all((self.path / name).exists() for name in names):
            return entries
        current = self._index().set_index("id")
        out = entries.copy()
        for i, (row_id, fingerprint, name) in enumerate(
            zip(entries["id"], entries["fingerprint"], entries["file"], strict=True)
        ):
            if (self.path / str(name)).exists() or row_id not in current.index:
                continue
            now = current.loc[row_id]
            if now["fingerprint"] == fingerprint:
                out.loc[i, ["file", "row", "frames"]] = [now["file"], now["row"], now["frames"]]
        return out

    def _dim_for(self, rows: int) -> int:
        dim = self.dim
        if dim is None and rows:
            raise self._damaged_config(f"no dim although the index lists {rows} row(s)")
        return int(dim or 0)

    def _open(self, name: str, *, dim: int, frames: int | None = None) -> np.ndarray:
        """Memory-map one stored array after checking its file against the index."""
        path = self.path / name
        shape = shape_or_problem(path)
        if isinstance(shape, str):
            raise StoreDamagedError(path, f"stored array {shape}", self._read_remedy())
        if shape[1] != dim:
            raise StoreDamagedError(
                path,
                f"stored array has shape {shape}, but {self.config_path} says dim {dim} (one "
                "of them is damaged)",
                self._read_remedy(),
            )
        if frames is not None and shape[0] != frames:
            raise StoreDamagedError(
                path,
                f"stored array has shape {shape}, the index says {frames} frame(s)",
                self._read_remedy(),
            )
        return np.load(path, mmap_mode="r")

    def _read_remedy(self) -> str:
        return (
            "extract again: rows of a damaged file are dropped and computed again "
            f"(or delete {self.path})"
        )

    def _gather(self, df: pd.DataFrame) -> np.ndarray:
        dim = self._dim_for(len(df))
        out = np.empty((len(df), dim), dtype=np.float32)
        positions = np.arange(len(df))
        for name, group in df.groupby("file", sort=False):
            array = self._open(str(name), dim=dim)
            rows = group["row"].to_numpy()
            if len(rows) and (rows.min() < 0 or rows.max() >= len(array)):
                raise StoreDamagedError(
                    self.path / str(name),
                    f"stored array holds {len(array)} row(s), the index lists row "
                    f"{int(rows.max())}",
                    self._read_remedy(),
                )
            out[positions[group.index.to_numpy()]] = array[rows]
        return out


class FeatureStore:
    """A folder holding one :class:`StoreFolder` per extractor config.

    Args:
        root: the store folder (created on first write).

    Raises:
        FeatureError: ``root`` (or a folder above it) is a file.
    """

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        check_folder(self.root)

    def folder_path(self, extractor: Extractor | Frontend, vad: Vad | None = None) -> Path:
        """``<root>/<name>-<key>`` with ``key = store_key(extractor, vad)`` (``extractor``
        may be a front end; its VAD and analysable thresholds enter the key)."""
        return self.root / f"{extractor.name}-{store_key(extractor, vad)}"

    def open(self, extractor: Extractor | Frontend, vad: Vad | None = None) -> StoreFolder:
        """The folder of ``extractor`` behind ``vad`` (created with its ``config.json``)."""
        return StoreFolder(self.folder_path(extractor, vad), extractor, vad)

    def folders(self) -> list[dict[str, Any]]:
        """``config.json`` of every extractor folder in the store (plus its ``path``); a
        damaged one is left out."""
        out = []
        for config in sorted(self.root.glob("*/config.json")):
            try:
                data = json.loads(config.read_bytes())
            except (OSError, ValueError):
                continue
            if isinstance(data, dict):
                out.append({**data, "path": str(config.parent)})
        return out

    def __repr__(self) -> str:
        return f"FeatureStore({str(self.root)!r})"
