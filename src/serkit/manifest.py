"""The manifest: one row per utterance (or segment), as a pandas DataFrame.

Required columns: ``id`` (``<corpus>/<local id>``), ``corpus``, ``path`` (relative to the corpus
root), ``duration`` (seconds), ``speaker`` (``<corpus>/<speaker>``), ``emotion`` (canonical label
or NA) and ``raw_emotion`` (the corpus' own label). Optional columns are listed in
:data:`OPTIONAL_COLUMNS`. The corpus root is stored once, in ``df.attrs["root"]`` (Parquet
metadata on disk), never in the rows.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from serkit.atomic import atomic_path, atomic_write_text
from serkit.errors import ManifestError

REQUIRED_COLUMNS: tuple[str, ...] = (
    "id",
    "corpus",
    "path",
    "duration",
    "speaker",
    "emotion",
    "raw_emotion",
)

OPTIONAL_COLUMNS: dict[str, str] = {
    "start": "float",
    "end": "float",
    "gender": "string",
    "language": "string",
    "session": "string",
    "text": "string",
    "text_id": "string",
    "split": "string",
    "arousal": "float",
    "valence": "float",
    "dominance": "float",
    "vad_source": "string",  # "corpus" | "derived" | NA (serkit.corpora.vad_targets)
    "intensity": "string",
    "repetition": "string",
    "mode": "string",
    "n_raters": "float",
    "agreement": "float",
    "sample_rate": "float",
    "source_id": "string",
}

ROOT_KEY = "root"
_META_KEY = b"serkit"


@dataclass
class Summary:
    """What a person wants to know about a manifest first."""

    rows: int
    hours: float
    speakers: int
    corpora: list[str]
    per_emotion: dict[str, int]
    per_speaker: dict[str, int]
    per_split: dict[str, int] = field(default_factory=dict)

    def format(self, *, max_speakers: int = 40) -> str:
        """Human-readable multi-line text."""
        lines = [
            f"corpora:  {', '.join(self.corpora)}",
            f"rows:     {self.rows}",
            f"hours:    {self.hours:.3f}",
            f"speakers: {self.speakers}",
            "emotions: "
            + ", ".join(f"{label} {count}" for label, count in self.per_emotion.items()),
        ]
        if self.per_split:
            lines.append(
                "splits:   "
                + ", ".join(f"{name} {count}" for name, count in self.per_split.items())
            )
        items = list(self.per_speaker.items())
        shown = ", ".join(f"{spk} {count}" for spk, count in items[:max_speakers])
        more = f", ... ({len(items) - max_speakers} more)" if len(items) > max_speakers else ""
        lines.append(f"per speaker: {shown}{more}")
        return "\n".join(lines)


def new(rows: Iterable[dict], *, root: str | os.PathLike | None = None) -> pd.DataFrame:
    """Build a manifest from row dicts, ordering the columns canonically.

    Args:
        rows: dicts with at least the required columns.
        root: the corpus root the ``path`` column is relative to.

    Returns:
        The manifest (not yet validated).
    """
    df = pd.DataFrame(list(rows))
    for column in REQUIRED_COLUMNS:
        if column not in df.columns:
            df[column] = pd.Series(dtype="object")
    df = _canonical_order(df)
    df = _coerce_types(df)
    if root is not None:
        df.attrs[ROOT_KEY] = str(Path(root).resolve())
    return df


def _canonical_order(df: pd.DataFrame) -> pd.DataFrame:
    first = [c for c in REQUIRED_COLUMNS if c in df.columns]
    optional = [c for c in OPTIONAL_COLUMNS if c in df.columns]
    rest = [c for c in df.columns if c not in first and c not in optional]
    return df[first + optional + rest]


def _coerce_types(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    for column in ("id", "corpus", "path", "speaker", "emotion", "raw_emotion"):
        if column in df.columns:
            df[column] = df[column].astype("string")
    if "duration" in df.columns:  # absent: validate() names the missing column
        df["duration"] = pd.to_numeric(df["duration"], errors="coerce").astype("float64")
    for column, kind in OPTIONAL_COLUMNS.items():
        if column in df.columns:
            if kind == "float":
                df[column] = pd.to_numeric(df[column], errors="coerce").astype("float64")
            else:
                df[column] = df[column].astype("string")
    return df


def validate(
    df: pd.DataFrame,
    *,
    labels: Iterable[str] | None = None,
    source: str = "manifest",
) -> pd.DataFrame:
    """Check a manifest against the schema and return it unchanged.

    Args:
        df: the manifest.
        labels: the allowed ``emotion`` values (NA is always allowed).
        source: how to name the manifest in error messages (a file name, a corpus name).

    Raises:
        ManifestError: naming the column, the row (id) and the expected and found values.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ManifestError(
            f"{source}: missing required column(s) {', '.join(missing)}; "
            f"found columns {', '.join(map(str, df.columns))}. "
            "Re-create it with `serkit prepare` or add the columns."
        )
    if df["id"].isna().any():
        row = int(np.flatnonzero(df["id"].isna().to_numpy())[0])
        raise ManifestError(f"{source}: row {row} has no id; every row needs a unique id")
    duplicated = df["id"][df["id"].duplicated(keep=False)]
    if len(duplicated):
        shown = ", ".join(sorted(set(map(str, duplicated)))[:5])
        raise ManifestError(
            f"{source}: {duplicated.nunique()} duplicate id(s), e.g. {shown}; ids must be unique"
        )
    for column in ("corpus", "path", "speaker"):
        empty = df[column].isna() | (df[column].astype("string").str.len() == 0)
        if empty.any():
            row_id = df["id"][empty].iloc[0]
            raise ManifestError(f"{source}: row {row_id!s} has an empty {column!r}")
    _check_paths(df, source)
    duration = pd.to_numeric(df["duration"], errors="coerce")
    bad = ~(duration > 0)
    if bad.any():
        row_id = df["id"][bad].iloc[0]
        raise ManifestError(
            f"{source}: row {row_id!s} has duration {df['duration'][bad].iloc[0]!r}; "
            "expected a positive number of seconds (is the audio file empty?)"
        )
    if "start" in df.columns and "end" in df.columns:
        start, end = df["start"], df["end"]
        both = start.notna() & end.notna()
        wrong = both & (start >= end)
        if wrong.any():
            row = df[wrong].iloc[0]
            raise ManifestError(
                f"{source}: row {row['id']!s} has start {row['start']} >= end {row['end']}; "
                "expected start < end (seconds)"
            )
        negative = start.notna() & (start < 0)
        if negative.any():
            row = df[negative].iloc[0]
            raise ManifestError(f"{source}: row {row['id']!s} has negative start {row['start']}")
    if labels is not None:
        allowed = set(labels)
        present = df["emotion"].dropna()
        unknown = present[~present.isin(allowed)]
        if len(unknown):
            row_id = df.loc[unknown.index[0], "id"]
            raise ManifestError(
                f"{source}: row {row_id!s} has unknown emotion {unknown.iloc[0]!r}; "
                f"expected one of {', '.join(sorted(allowed))} (or NA)"
            )
    return df


def _check_paths(df: pd.DataFrame, source: str) -> None:
    for row_id, path in zip(df["id"], df["path"], strict=True):
        pure = PurePosixPath(str(path).replace("\\", "/"))
        if pure.is_absolute() or ".." in pure.parts or (len(str(path)) > 1 and str(path)[1] == ":"):
            raise ManifestError(
                f"{source}: row {row_id!s} has path {path!r} outside the corpus root; "
                "paths must be relative to the root and must not contain '..'"
            )


def root_of(df: pd.DataFrame, corpus: str | None = None) -> Path | None:
    """The corpus root stored with the manifest (per corpus for concatenated manifests)."""
    roots = df.attrs.get("roots") or {}
    if corpus is not None and roots.get(str(corpus)):
        return Path(roots[str(corpus)])
    root = df.attrs.get(ROOT_KEY)
    return Path(root) if root else None


def _require_root(df: pd.DataFrame, corpus: str | None) -> Path:
    root = root_of(df, corpus)
    if root is None:
        raise ManifestError(
            f"manifest has no corpus root for corpus {corpus!r} (df.attrs['root']); "
            "set it or re-run `serkit prepare`"
        )
    return root


def audio_path(df: pd.DataFrame, row: pd.Series | dict) -> Path:
    """Absolute path of a row's audio file (root + relative path)."""
    return _require_root(df, row.get("corpus")) / str(row["path"])


def audio_paths(df: pd.DataFrame) -> list[Path]:
    """Absolute paths of every row, in order."""
    return [
        _require_root(df, corpus) / str(path)
        for corpus, path in zip(df["corpus"], df["path"], strict=True)
    ]


def _meta(df: pd.DataFrame) -> dict:
    return {key: value for key, value in df.attrs.items() if _jsonable(value)}


def _jsonable(value: object) -> bool:
    try:
        json.dumps(value)
    except TypeError:
        return False
    return True


def write(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a manifest atomically as Parquet (``.parquet``) or CSV (``.csv``/``.tsv``).

    The root and other ``attrs`` go into the Parquet metadata, or into a ``<file>.meta.json``
    sidecar for CSV.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    meta = _meta(df)
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".csv", ".tsv"):
        raise ManifestError(f"{path}: unknown manifest format {suffix!r}; use .parquet or .csv")
    with atomic_path(path) as tmp:
        if suffix == ".parquet":
            table = pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)
            existing = table.schema.metadata or {}
            table = table.replace_schema_metadata({**existing, _META_KEY: json.dumps(meta)})
            pq.write_table(table, tmp)
        else:
            df.to_csv(tmp, index=False, sep="\t" if suffix == ".tsv" else ",")
            atomic_write_text(path.with_name(path.name + ".meta.json"), json.dumps(meta, indent=2))
    return path


def read(path: str | os.PathLike, *, validate_schema: bool = True) -> pd.DataFrame:
    """Read a manifest written by :func:`write` (Parquet or CSV) and validate it."""
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.exists():
        raise ManifestError(f"{path}: no such manifest file; create one with `serkit prepare`")
    if path.is_dir():
        raise ManifestError(f"{path}: is a folder; expected a manifest file (.parquet or .csv)")
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".csv", ".tsv"):
        raise ManifestError(f"{path}: unknown manifest format {suffix!r}; use .parquet or .csv")
    try:
        if suffix == ".parquet":
            table = pq.read_table(path)
            raw = (table.schema.metadata or {}).get(_META_KEY)
            df = table.to_pandas()
            meta = json.loads(raw) if raw else {}
        else:
            df = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", dtype={"id": "string"})
            sidecar = path.with_name(path.name + ".meta.json")
            meta = json.loads(sidecar.read_text()) if sidecar.exists() else {}
    except (OSError, ValueError, UnicodeDecodeError) as exc:  # pyarrow / pandas / json errors
        kind = "Parquet" if suffix == ".parquet" else "CSV"
        raise ManifestError(
            f"{path}: not a readable {kind} manifest ({type(exc).__name__}: "
            f"{' '.join(str(exc).split())}); pass a manifest written by `serkit prepare` "
            "or serkit.manifest.write"
        ) from exc
    df = _coerce_types(_canonical_order(df))
    df.attrs.update(meta)
    if validate_schema:
        validate(df, source=str(path))
    return df


def summary(df: pd.DataFrame) -> Summary:
    """Rows, hours, speakers and per-emotion / per-speaker / per-split counts."""
    emotions = df["emotion"].astype("string").fillna("<NA>")
    per_split = (
        df["split"].astype("string").fillna("<NA>").value_counts().sort_index().to_dict()
        if "split" in df.columns
        else {}
    )
    return Summary(
        rows=len(df),
        hours=float(pd.to_numeric(df["duration"]).sum() / 3600.0),
        speakers=int(df["speaker"].nunique()),
        corpora=sorted(map(str, df["corpus"].dropna().unique())),
        per_emotion={str(k): int(v) for k, v in emotions.value_counts().sort_index().items()},
        per_speaker={str(k): int(v) for k, v in df["speaker"].value_counts().sort_index().items()},
        per_split={str(k): int(v) for k, v in per_split.items()},
    )


def concat(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate manifests of different corpora; each keeps its root in ``roots``."""
    frames = list(frames)
    out = pd.concat(frames, ignore_index=True)
    roots = {}
    for frame in frames:
        for corpus in frame["corpus"].dropna().unique():
            roots[str(corpus)] = frame.attrs.get(ROOT_KEY)
    out.attrs["roots"] = roots
    return out
