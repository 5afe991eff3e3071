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

Every file is written to a temporary name and renamed into place (``os.replace``), and the index
is rewritten only after the arrays it points to are in place, so a killed process loses at most
the chunk it was computing and never leaves an index entry pointing at a missing or partial file.
The fingerprint of a row (audio size, mtime and path, plus segment bounds) is stored with it; a
row whose audio changed is recomputed, and a changed extractor parameter gives another folder.

A VAD put in front of the extractor (``extract(..., vad=VadTrim(...))``) is part of the folder
identity: the folder key is the key of the front end (:class:`serkit.features.frontend.Frontend`,
extractor config, :data:`FEATURE_VERSION` and VAD; per-speaker normalisation is a set-level step
and never stored), so plain and trimmed features of one extractor live side by side and a changed
VAD parameter gives another folder. Without a VAD the key is ``Extractor.key()``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from serkit.atomic import atomic_save_npy, atomic_write_parquet, atomic_write_text
from serkit.features.base import FEATURE_VERSION, Extractor, FeatureError
from serkit.features.frontend import Frontend, Vad, as_frontend, vad_spec

__all__ = ["INDEX", "FeatureSet", "FeatureStore", "StoreFolder", "Vad", "store_key", "vad_spec"]

INDEX = "index.parquet"
_INDEX_COLUMNS = ("id", "fingerprint", "file", "row", "frames", "committed")


def store_key(extractor: Extractor | Frontend, vad: Vad | None = None) -> str:
    """Folder key (16 hex chars): the :meth:`~serkit.features.frontend.Frontend.key` of the
    front end ``extractor`` behind ``vad`` (``extractor.key()`` when there is no VAD), or of
    a front end's per-row part (:meth:`~serkit.features.frontend.Frontend.cached`)."""
    return as_frontend(extractor, vad).cached().key()


@dataclass
class FeatureSet:
    """Features of a manifest, aligned to its row order.

    Attributes:
        ids: row ids, in manifest order.
        level: "utterance" or "frame".
        dim: feature dimension.
        X: ``(n, dim)`` float32 (utterance level; ``None`` at frame level).
        frames: list of ``(frames_i, dim)`` float32 arrays, memory-mapped (frame level).
        lengths: ``(n,)`` int64 frame counts (ones at utterance level).
        feature_names: names of the ``dim`` columns, when the extractor knows them.
        extractor: the extractor's ``to_dict()``.
        channels: stacked channels of a frame feature (channel-major columns).
        missing: ids of the manifest left out (only with ``allow_missing``).
        vad: the VAD's :func:`vad_spec` when the features were computed on trimmed audio.
    """

    ids: list[str]
    level: str
    dim: int
    X: np.ndarray | None
    frames: list[np.ndarray] | None
    lengths: np.ndarray
    feature_names: list[str] | None
    extractor: dict[str, Any]
    channels: int = 1
    missing: list[str] = field(default_factory=list)
    vad: dict[str, Any] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def padded(
        self, max_frames: int | None = None, *, pad_value: float = 0.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Frame features as one zero-padded batch.

        Args:
            max_frames: crop every utterance to this many frames (``None`` = the longest).
            pad_value: the value after each utterance's end.

        Returns:
            ``(array (n, T, dim) float32, lengths (n,) int64)`` with lengths after cropping.
        """
        if self.level != "frame" or self.frames is None:
            raise FeatureError("padded() needs frame-level features; this set is utterance level")
        lengths = np.asarray(self.lengths, dtype=np.int64)
        if max_frames is not None:
            lengths = np.minimum(lengths, int(max_frames))
        steps = int(lengths.max()) if len(lengths) else 0
        if max_frames is not None:
            steps = int(max_frames)
        out = np.full((len(self.frames), steps, self.dim), pad_value, dtype=np.float32)
        for i, (array, length) in enumerate(zip(self.frames, lengths, strict=True)):
            out[i, :length] = array[:length]
        return out, lengths


def _empty_index() -> pd.DataFrame:
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


def frame_file_name(row_id: str, fingerprint: str) -> str:
    """File name of one utterance's frame array: a readable id plus a hash of id + fingerprint."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", row_id)[:80]
    digest = hashlib.sha1(f"{row_id}\0{fingerprint}".encode()).hexdigest()[:12]
    return f"{safe}-{digest}.npy"


class StoreFolder:
    """The entries of one extractor config (and VAD): ``<store>/<name>-<key>/``.

    Args:
        path: the folder.
        extractor: the extractor (its ``to_dict()`` and names go to ``config.json``).
        vad: the VAD in front of it, if any (its :func:`vad_spec` goes to ``config.json``).
    """

    def __init__(
        self, path: Path, extractor: Extractor | Frontend, vad: Vad | None = None
    ) -> None:
        frontend = as_frontend(extractor, vad)  # a front end brings its VAD and thresholds
        self.path = Path(path)
        self.extractor = frontend.extractor
        self.vad = vad_spec(frontend.vad)
        self.key = store_key(frontend)
        self.level = self.extractor.level
        self._indexes: dict[str, pd.DataFrame] = {}
        self.path.mkdir(parents=True, exist_ok=True)
        self.config = self._read_config()

    # -- config -----------------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    def _read_config(self) -> dict[str, Any]:
        if self.config_path.exists():
            config = json.loads(self.config_path.read_text())
            if config.get("key") != self.key:
                raise FeatureError(
                    f"{self.config_path}: key {config.get('key')} does not match the key "
                    f"{self.key} of the extractor (and VAD {self.vad}); the folder was renamed "
                    "or copied by hand: delete it and extract again"
                )
            return config
        config = {
            "extractor": self.extractor.to_dict(),
            "vad": self.vad,
            "key": self.key,
            "feature_version": FEATURE_VERSION,
            "level": self.level,
            "channels": int(self.extractor.channels),
            "dim": None,
            "feature_names": None,
        }
        atomic_write_text(self.config_path, json.dumps(config, indent=2))
        return config

    @property
    def dim(self) -> int | None:
        return self.config.get("dim")

    def _set_dim(self, dim: int) -> None:
        if self.config.get("dim") == dim:
            return
        if self.config.get("dim") is not None:
            raise FeatureError(
                f"{self.path}: extractor {self.extractor.name!r} produced dim {dim}, but the "
                f"store holds dim {self.config['dim']}; features of one config must have one "
                "dim (is the extractor's output length data-dependent?)"
            )
        names = self.extractor.feature_names()
        if names is not None and len(names) != dim:
            names = None
        self.config.update(dim=int(dim), feature_names=names)
        atomic_write_text(self.config_path, json.dumps(self.config, indent=2))

    # -- index ------------------------------------------------------------------------------
    def index_files(self) -> list[Path]:
        """The main index and any shard indexes, main first."""
        shards = sorted(self.path.glob("index.shard-*.parquet"))
        main = self.path / INDEX
        return ([main] if main.exists() else []) + shards

    def _read_one(self, name: str) -> pd.DataFrame:
        if name not in self._indexes:
            path = self.path / name
            self._indexes[name] = pd.read_parquet(path) if path.exists() else _empty_index()
        return self._indexes[name]

    def index(self) -> pd.DataFrame:
        """All committed entries (main + shard indexes), one per id (the latest commit wins)."""
        frames = [pd.read_parquet(path) for path in self.index_files()]
        if not frames:
            return _empty_index()
        df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        df = df.sort_values("committed", kind="stable").drop_duplicates("id", keep="last")
        return df.reset_index(drop=True)

    # -- writing ----------------------------------------------------------------------------
    def commit(self, items: Sequence[tuple[str, str, np.ndarray]], index_name: str = INDEX) -> None:
        """Store computed rows and then record them in the index (atomically).

        Args:
            items: ``(id, fingerprint, array)``; arrays are ``(dim,)`` or ``(frames, dim)``.
            index_name: the index file to extend (``index.parquet`` or a shard index).
        """
        if not items:
            return
        dims = {int(array.shape[-1]) for _, _, array in items}
        if len(dims) != 1:
            raise FeatureError(f"{self.path}: one chunk holds several dims {sorted(dims)}")
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
        new = pd.DataFrame(rows, columns=list(_INDEX_COLUMNS)).astype(_empty_index().dtypes)
        old = self._read_one(index_name)
        merged = pd.concat([old, new], ignore_index=True) if len(old) else new
        merged = merged.drop_duplicates("id", keep="last").reset_index(drop=True)
        atomic_write_parquet(self.path / index_name, merged)
        self._indexes[index_name] = merged

    def has_chunks(self) -> bool:
        """Whether utterance chunks wait to be joined by :meth:`consolidate`."""
        return any((self.path / "chunks").glob("*.npy"))

    def consolidate(self, *, include_shards: bool = True) -> pd.DataFrame:
        """Join index files into ``index.parquet`` and utterance chunks into one array.

        Unreferenced files (replaced chunks, stale frame arrays, temporary files of killed
        processes) are deleted. Run it only while no extraction writes into this folder.

        Args:
            include_shards: also merge (and remove) the shard indexes.

        Returns:
            The new main index.
        """
        files = self.index_files() if include_shards else [self.path / INDEX]
        files = [f for f in files if f.exists()]
        frames = [pd.read_parquet(f) for f in files]
        if not frames:
            return _empty_index()
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
        self._indexes = {INDEX: df}
        for f in files:
            if f.name != INDEX:
                f.unlink()
        self._collect_garbage()
        return df

    def _gather(self, df: pd.DataFrame) -> np.ndarray:
        out = np.empty((len(df), int(self.dim or 0)), dtype=np.float32)
        positions = np.arange(len(df))
        for name, group in df.groupby("file", sort=False):
            array = np.load(self.path / str(name), mmap_mode="r")
            out[positions[group.index.to_numpy()]] = array[group["row"].to_numpy()]
        return out

    def _collect_garbage(self) -> None:
        referenced = set()
        for path in self.index_files():
            referenced.update(map(str, pd.read_parquet(path, columns=["file"])["file"]))
        candidates = list(self.path.glob("vectors-*.npy"))
        candidates += list(self.path.glob("chunks/*.npy")) + list(self.path.glob("frames/*.npy"))
        for path in candidates:
            if path.relative_to(self.path).as_posix() not in referenced:
                path.unlink(missing_ok=True)
        for tmp in self.path.rglob(".*.tmp"):
            tmp.unlink(missing_ok=True)

    # -- reading ----------------------------------------------------------------------------
    def read(self, entries: pd.DataFrame) -> tuple[np.ndarray | None, list[np.ndarray] | None]:
        """Arrays of index ``entries`` (in their order): ``(X, None)`` or ``(None, frames)``."""
        if self.level == "utterance":
            return self._gather(entries.reset_index(drop=True)), None
        frames = []
        for name in entries["file"]:
            path = self.path / str(name)
            if not path.exists():
                raise FeatureError(
                    f"{path}: frame array listed in the index is missing; "
                    "delete the store folder and extract again"
                )
            frames.append(np.load(path, mmap_mode="r"))
        return None, frames


class FeatureStore:
    """A folder holding one :class:`StoreFolder` per extractor config.

    Args:
        root: the store folder (created on first write).
    """

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def folder_path(self, extractor: Extractor | Frontend, vad: Vad | None = None) -> Path:
        """``<root>/<name>-<key>`` with ``key = store_key(extractor, vad)`` (``extractor``
        may be a front end; its VAD and analysable thresholds enter the key)."""
        return self.root / f"{extractor.name}-{store_key(extractor, vad)}"

    def open(self, extractor: Extractor | Frontend, vad: Vad | None = None) -> StoreFolder:
        """The folder of ``extractor`` behind ``vad`` (created with its ``config.json``)."""
        return StoreFolder(self.folder_path(extractor, vad), extractor, vad)

    def folders(self) -> list[dict[str, Any]]:
        """``config.json`` of every extractor folder in the store (plus its ``path``)."""
        out = []
        for config in sorted(self.root.glob("*/config.json")):
            data = json.loads(config.read_text())
            data["path"] = str(config.parent)
            out.append(data)
        return out

    def __repr__(self) -> str:
        return f"FeatureStore({str(self.root)!r})"
