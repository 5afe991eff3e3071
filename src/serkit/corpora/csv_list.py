"""csv: any corpus described by a CSV/TSV list of files (the generic list recipe).

Origin: none; for a user's own data or a corpus whose labels live in a table.
Licence: whatever the user's data carries (serkit adds none).

Layout: a list file (default ``<root>/list.csv``, else ``<root>/list.tsv``; option
``list_path``) with a header row. ``.tsv``/``.tab`` files are tab-separated, others
comma-separated; UTF-8.

Columns: required ``path`` (audio file, relative to the list file's folder, or absolute but
inside the corpus root), ``label`` (the emotion; empty = unlabelled) and ``speaker``. Optional:
``id`` (local id; default the path without extension, plus ``_<start ms>_<end ms>`` for
segments) and any optional manifest column (``gender``, ``language``, ``session``, ``text``,
``text_id``, ``split``, ``start``, ``end``, ``arousal``, ``valence``, ``dominance``,
``intensity``, ...; see ``serkit.manifest.OPTIONAL_COLUMNS``). Other columns are ignored and
named in ``df.attrs["ignored_columns"]``. With ``start``/``end`` (seconds) a row is a segment
and its duration is ``end - start``.

Speakers: the ``speaker`` column, namespaced ``<name>/<speaker>``.

Labels: as in the ``folder`` recipe: ``label_map`` first, then the synonyms table (see
:data:`LABELS`); unknown labels give ``emotion`` NA by default (``unknown="other"`` or
``"error"`` change that) and are counted in ``df.attrs["unmapped_labels"]``.

Errors name the list file and the line: a missing required column, an empty path or speaker,
a path outside the root, or a missing audio file (with ``skip_bad`` missing files are skipped
and listed in ``df.attrs["skipped"]`` instead).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

import pandas as pd

from serkit import manifest
from serkit.corpora import _common, _synonyms
from serkit.errors import SKIP_BAD, ConfigError, CorpusError

NAME = "csv"
ALIASES = ("csv-list", "csv_list", "tsv")

LABELS: dict[str, str] = dict(_synonyms.SYNONYMS)
REQUIRED: tuple[str, ...] = ("path", "label", "speaker")
DEFAULT_LISTS: tuple[str, ...] = ("list.csv", "list.tsv")


def _find_list(root: Path, list_path: str | os.PathLike | None, name: str) -> Path:
    if list_path is not None:
        path = Path(list_path).expanduser()
        if not path.is_absolute() and (root / path).is_file():
            path = root / path  # relative to the root first, then to the working folder
        if not path.is_file():
            raise CorpusError(f"{name}: list file {path} does not exist; check list_path")
        return path.resolve()
    for candidate in DEFAULT_LISTS:
        if (root / candidate).is_file():
            return (root / candidate).resolve()
    raise CorpusError(
        f"{name}: no {' or '.join(DEFAULT_LISTS)} in {root}; write one (columns path,label,"
        "speaker) or pass list_path"
    )


def read_list(path: Path, *, name: str = NAME) -> list[dict[str, str]]:
    """Read the list file into row dicts (keys = lower-cased header names, values stripped).

    Raises:
        CorpusError: unreadable file, or a required column missing (names found columns).
    """
    delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle, delimiter=delimiter)
            header = [str(h).strip().lower() for h in (reader.fieldnames or [])]
            rows = []
            for raw in reader:
                rows.append(
                    {
                        str(k).strip().lower(): (v or "").strip()
                        for k, v in raw.items()
                        if k is not None
                    }
                )
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CorpusError(f"{name}: cannot read list file {path}: {exc}") from exc
    missing = [column for column in REQUIRED if column not in header]
    if missing:
        raise CorpusError(
            f"{name}: list file {path} (line 1, header) lacks column(s) {', '.join(missing)}; "
            f"found {', '.join(header) or 'no columns'}; expected at least {', '.join(REQUIRED)}"
        )
    return rows


def _relative(root: Path, base: Path, value: str, where: str) -> str:
    path = Path(value)
    full = path if path.is_absolute() else base / path
    full = Path(os.path.normpath(full))
    try:
        return full.relative_to(root).as_posix()
    except ValueError:
        raise CorpusError(
            f"{where}: path {value!r} resolves to {full}, outside the corpus root {root}; "
            "list files inside the root (relative to the list's folder)"
        ) from None


def prepare(
    root: Path,
    *,
    skip_bad: bool = False,
    list_path: str | os.PathLike | None = None,
    label_map: Mapping[str, str | None] | None = None,
    unknown: str = "na",
    name: str = NAME,
) -> pd.DataFrame:
    """Build a manifest from a CSV/TSV list.

    Args:
        root: the corpus root (audio paths in the manifest are relative to it).
        skip_bad: skip missing or unreadable audio files instead of failing.
        list_path: the list file (absolute, or relative to ``root`` or else to the working
            folder); default
            ``root/list.csv`` or ``root/list.tsv``.
        label_map: raw label -> canonical emotion (or None for NA); checked before synonyms.
        unknown: what an unknown label becomes: ``"na"`` (default), ``"other"``, ``"error"``.
        name: the corpus name used in ids and speakers.
    """
    table = _synonyms.check_options(name, label_map, unknown)
    if not name or "/" in name:
        raise ConfigError(f"{name!r}: the corpus name must be non-empty and contain no '/'")
    root = _common.check_root(root, name)
    list_file = _find_list(root, list_path, name)
    records = read_list(list_file, name=name)
    base = list_file.parent
    optional = [c for c in manifest.OPTIONAL_COLUMNS if records and c in records[0]]
    known = {*REQUIRED, "id", *optional}
    ignored = sorted({k for record in records[:1] for k in record} - known)
    rows: list[dict] = []
    skipped: list[str] = []
    stray: list[str] = []
    unmapped: dict[str, int] = {}
    for number, record in enumerate(records, start=2):
        where = f"{name}: {list_file.name} line {number}"
        if not record["path"]:
            raise CorpusError(f"{where}: empty path; every row needs an audio file")
        if not record["speaker"]:
            raise CorpusError(f"{where}: empty speaker for {record['path']!r}; fill it in")
        rel = _relative(root, base, record["path"], where)
        if not (root / rel).is_file():
            message = f"{where}: audio file {rel} not found under {root}"
            if not skip_bad:
                raise CorpusError(message + "; fix the path", hint=SKIP_BAD)
            skipped.append(message)
            continue
        raw = record["label"]
        emotion = None
        if raw:
            emotion, is_known = _synonyms.to_canonical(raw, table, unknown=unknown, where=where)
            if not is_known:
                unmapped[raw] = unmapped.get(raw, 0) + 1
        row = {
            "path": rel,
            "speaker": record["speaker"],
            "raw_emotion": raw or None,
            "emotion": emotion,
        }
        for column in optional:
            row[column] = record[column] or None
        local_id = record.get("id") or str(PurePosixPath(rel).with_suffix(""))
        if not record.get("id") and row.get("start") and row.get("end"):
            try:
                start, end = float(row["start"]), float(row["end"])
            except ValueError:
                raise CorpusError(
                    f"{where}: start/end {row['start']!r}/{row['end']!r} are not numbers (seconds)"
                ) from None
            local_id += f"_{round(start * 1000):08d}_{round(end * 1000):08d}"
        row["local_id"] = local_id
        rows.append(row)
    rows = _common.drop_duplicates(rows, stray)
    df = _common.build(rows, corpus=name, root=root, stray=stray, skip_bad=skip_bad)
    df.attrs["skipped"] = skipped + list(df.attrs.get("skipped", []))
    df.attrs["unmapped_labels"] = dict(sorted(unmapped.items()))
    df.attrs["ignored_columns"] = ignored
    df.attrs["list_path"] = str(list_file)
    return df
