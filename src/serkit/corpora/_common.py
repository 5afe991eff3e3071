"""Shared helpers for corpus recipes: scanning, durations, bad-file handling, validation."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from serkit import audio, manifest
from serkit.corpora.labels import CANONICAL
from serkit.errors import SKIP_BAD, AudioError, CorpusError


@dataclass
class Scan:
    """Files found under a corpus root, sorted, as paths relative to the root."""

    root: Path
    audio: list[str] = field(default_factory=list)
    stray: list[str] = field(default_factory=list)


def check_root(root: str | os.PathLike, corpus: str) -> Path:
    """Resolve and check a corpus root folder."""
    path = Path(root).expanduser()
    if not path.exists():
        raise CorpusError(f"{corpus}: corpus folder {path} does not exist")
    if not path.is_dir():
        raise CorpusError(f"{corpus}: {path} is not a folder; pass the corpus root folder")
    if not os.access(path, os.R_OK | os.X_OK):
        raise CorpusError(f"{corpus}: corpus folder {path} is not readable (check permissions)")
    return path.resolve()


README_NAMES: tuple[str, ...] = (
    "readme",
    "readme.md",
    "readme.txt",
    "license",
    "license.md",
    "license.txt",
)


def scan(root: Path, *, ignore: Iterable[str] = ()) -> Scan:
    """List audio files (by extension) and other files under ``root``, recursively.

    Hidden files, README / LICENSE files (:data:`README_NAMES`) and the corpus's own known
    files (``ignore``) are skipped; other files and folders serkit cannot read are reported as
    stray rather than crashing.
    """
    ignored = {*README_NAMES, *(name.lower() for name in ignore)}
    result = Scan(root=root)

    def on_error(error: OSError) -> None:
        result.stray.append(f"{error.filename}: unreadable folder ({error.strerror})")

    for folder, dirs, files in os.walk(root, onerror=on_error):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            rel = Path(folder, name).relative_to(root).as_posix()
            if audio.is_audio(name):
                result.audio.append(rel)
            elif name.lower() not in ignored:
                result.stray.append(f"{rel}: not an audio file")
    return result


def build(
    rows: list[dict],
    *,
    corpus: str,
    root: Path,
    stray: list[str] | None = None,
    skip_bad: bool = False,
    labels: Iterable[str] = CANONICAL,
    durations: bool = True,
) -> pd.DataFrame:
    """Turn recipe rows into a validated manifest.

    Each row needs ``local_id``, ``path`` (relative), ``speaker`` (un-namespaced) and
    ``raw_emotion``/``emotion``; ``duration`` is read from the audio header unless given
    (segments: ``end - start``). Unreadable files raise :class:`CorpusError` naming the file,
    or, with ``skip_bad``, are dropped and listed in ``df.attrs["skipped"]``.
    """
    skipped: list[str] = []
    kept: list[dict] = []
    header_cache: dict[str, float] = {}
    for row in rows:
        row = dict(row)
        rel = row["path"]
        if row.get("duration") is None and durations:
            if row.get("start") is not None and row.get("end") is not None:
                row["duration"] = float(row["end"]) - float(row["start"])
            else:
                try:
                    if rel not in header_cache:
                        header_cache[rel] = audio.info(root / rel).duration
                    row["duration"] = header_cache[rel]
                except AudioError as exc:
                    if not skip_bad:
                        raise CorpusError(f"{corpus}: {exc.message}", hint=SKIP_BAD) from exc
                    skipped.append(exc.message)
                    continue
        local_id = row.pop("local_id")
        row["id"] = f"{corpus}/{local_id}"
        row["corpus"] = corpus
        row["speaker"] = f"{corpus}/{row['speaker']}"
        kept.append(row)
    if not kept:
        raise CorpusError(
            f"{corpus}: found no usable audio under {root}; check the folder and the layout "
            f"described in `serkit.corpora.{corpus.replace('-', '_')}`"
            + (f" ({len(skipped)} bad file(s) skipped)" if skipped else "")
        )
    df = manifest.new(kept, root=root)
    manifest.validate(df, labels=labels, source=corpus)
    df.attrs["corpus"] = corpus
    df.attrs["skipped"] = skipped
    df.attrs["stray"] = list(stray or [])
    return df


def map_label(raw: str, table: dict[str, str | None], *, where: str) -> str | None:
    """Map a raw label through a recipe's LABELS table; unknown raw labels are errors."""
    key = raw.strip()
    for candidate in (key, key.lower(), key.upper(), key.capitalize()):
        if candidate in table:
            return table[candidate]
    raise CorpusError(f"{where}: unknown label {raw!r}; expected one of {', '.join(table)}")


def parse_each(
    files: Iterable[str],
    parse: Callable[[str], dict | None],
    stray: list[str],
) -> list[dict]:
    """Apply ``parse`` to each relative path; ``None`` or a ``ValueError`` makes it stray."""
    rows = []
    for rel in files:
        try:
            row = parse(rel)
        except (ValueError, KeyError, IndexError, CorpusError) as exc:
            stray.append(f"{rel}: {exc}")
            continue
        if row is None:
            stray.append(f"{rel}: name does not follow the corpus naming scheme")
            continue
        rows.append(row)
    return rows


def drop_duplicates(rows: list[dict], stray: list[str]) -> list[dict]:
    """Drop rows whose ``local_id`` was already seen, reporting each dropped file as stray.

    Some distributions of a corpus ship the same tree twice (e.g. a Kaggle copy nested in
    itself); without this the manifest would fail validation on duplicate ids.

    Args:
        rows: recipe rows with ``local_id`` and ``path``.
        stray: the recipe's stray list; one line is appended per dropped file.

    Returns:
        The rows with a first-seen ``local_id``, in their original order.
    """
    seen: dict[str, str] = {}
    kept: list[dict] = []
    for row in rows:
        key = str(row["local_id"])
        if key in seen:
            stray.append(
                f"{row['path']}: same utterance id {key!r} as {seen[key]} "
                "(duplicate); kept the first"
            )
            continue
        seen[key] = row["path"]
        kept.append(row)
    return kept


def prepare_emotion_folders(
    root: str | os.PathLike,
    *,
    corpus: str,
    parse_name: Callable[[str], dict],
    folders: dict[str, str],
    labels: dict[str, str],
    language: str,
    skip_bad: bool = False,
    ignore: Iterable[str] = (),
) -> pd.DataFrame:
    """Prepare a corpus laid out as ``<Emotion folder>/<file named with its emotion code>``.

    Args:
        root: the corpus root folder.
        corpus: recipe name.
        parse_name: file stem -> row fields (``raw_emotion``, ``emotion``, ``speaker``, ...;
            ``local_id`` defaults to the stem); raises ``ValueError`` for foreign names.
        folders: lower-case folder name -> the raw emotion code it holds.
        labels: raw emotion code -> canonical emotion (for messages).
        language: the ``language`` column value.
        skip_bad: skip unreadable files instead of failing.
        ignore: the corpus's own non-audio file names (README / LICENSE files are always
            skipped).

    A file whose name and folder disagree is reported as stray naming both labels.
    """
    root = check_root(root, corpus)
    found = scan(root, ignore=ignore)
    stray = list(found.stray)

    def parse(rel: str) -> dict:
        path = Path(rel)
        fields = parse_name(path.stem)
        folder = path.parent.name.lower()
        if folder in folders and folders[folder] != fields["raw_emotion"]:
            raise ValueError(
                f"file name says {fields['emotion']} but folder {path.parent.name!r} says "
                f"{labels[folders[folder]]} (mislabelled upstream?); fix the file by hand"
            )
        return {"local_id": path.stem, "path": rel, "language": language, **fields}

    rows = drop_duplicates(parse_each(found.audio, parse, stray), stray)
    return build(rows, corpus=corpus, root=root, stray=stray, skip_bad=skip_bad)
