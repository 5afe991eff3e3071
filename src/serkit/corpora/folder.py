"""folder: any corpus laid out as one folder per emotion (the generic recipe).

Origin: none; for a user's own recordings or a corpus without a recipe.
Licence: whatever the user's data carries (serkit adds none).

Layout: ``<root>/<label>/<...>/<file>.wav`` (.flac and other audio types accepted): the first
folder under the root is the emotion label; anything deeper is free. Files directly in the
root have no label and are reported as stray, as are non-audio files.

Naming: file names are free. The local id is the path without its extension (so
``angry/spk1/a.wav`` -> ``folder/angry/spk1/a``); a second file with the same path but another
extension is reported as stray.

Speakers: with ``speaker_regex`` (a regular expression with a named group ``speaker``,
searched in the file name, e.g. ``^(?P<speaker>[A-Z]+\\d+)_``), the match; files it does not
match are stray. Without it, the folder right below the label folder
(``angry/<speaker>/...``), or ``unknown`` when the file sits directly in the label folder.
Speakers are namespaced ``<name>/<speaker>``.

Labels: folder names are lower-cased and mapped through ``label_map`` (user's table, raw ->
canonical or None) and then a synonyms table (anger -> angry, happiness/joy -> happy, fear ->
fearful, surprise -> surprised, ...; see :data:`LABELS`). A label that neither knows is, by
default, kept as ``raw_emotion`` with ``emotion`` NA (the files stay listed and are left out of
label sets, and ``df.attrs["unmapped_labels"]`` names the labels to add to ``label_map``).
We chose NA over ``other`` so that distinct unknown classes are never merged silently into one
trainable class; ``unknown="other"`` does exactly that when wanted, ``unknown="error"`` makes
the files stray.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

import pandas as pd

from serkit.corpora import _common, _synonyms
from serkit.errors import ConfigError

NAME = "folder"

LABELS: dict[str, str] = dict(_synonyms.SYNONYMS)


def prepare(
    root: Path,
    *,
    skip_bad: bool = False,
    speaker_regex: str | None = None,
    label_map: Mapping[str, str | None] | None = None,
    unknown: str = "na",
    name: str = NAME,
    language: str | None = None,
) -> pd.DataFrame:
    """Build a manifest from a folder-per-emotion tree.

    Args:
        root: the folder holding one sub-folder per emotion label.
        skip_bad: skip unreadable files instead of failing.
        speaker_regex: regex with a named group ``speaker`` searched in each file name.
        label_map: raw label -> canonical emotion (or None for NA); checked before synonyms.
        unknown: what an unknown label becomes: ``"na"`` (default), ``"other"``, ``"error"``.
        name: the corpus name used in ids and speakers (to tell several folder corpora apart).
        language: an optional language code written to every row.
    """
    table = _synonyms.check_options(name, label_map, unknown)
    pattern = None
    if speaker_regex is not None:
        try:
            pattern = re.compile(speaker_regex)
        except re.error as exc:
            raise ConfigError(f"{name}: speaker_regex {speaker_regex!r} is invalid: {exc}") from exc
        if "speaker" not in pattern.groupindex:
            raise ConfigError(
                f"{name}: speaker_regex {speaker_regex!r} has no named group 'speaker'; "
                "write it like '^(?P<speaker>[^_]+)_'"
            )
    if not name or "/" in name:
        raise ConfigError(f"{name!r}: the corpus name must be non-empty and contain no '/'")
    root = _common.check_root(root, name)
    found = _common.scan(root)
    stray = list(found.stray)
    unmapped: dict[str, int] = {}

    def parse(rel: str) -> dict:
        path = PurePosixPath(rel)
        parts = path.parts
        if len(parts) < 2:
            raise ValueError("file sits in the root; put it in a folder named after its emotion")
        raw = parts[0]
        if pattern is not None:
            match = pattern.search(path.name)
            if not match or not match.group("speaker"):
                raise ValueError(f"speaker_regex {pattern.pattern!r} does not match the file name")
            speaker = match.group("speaker")
        else:
            speaker = parts[1] if len(parts) > 2 else "unknown"
        emotion, known = _synonyms.to_canonical(raw, table, unknown=unknown, where=rel)
        if not known:
            unmapped[raw] = unmapped.get(raw, 0) + 1
        row = {
            "local_id": str(path.with_suffix("")),
            "path": rel,
            "speaker": speaker,
            "raw_emotion": raw,
            "emotion": emotion,
        }
        if language:
            row["language"] = language
        return row

    rows = _common.drop_duplicates(_common.parse_each(found.audio, parse, stray), stray)
    df = _common.build(rows, corpus=name, root=root, stray=stray, skip_bad=skip_bad)
    df.attrs["unmapped_labels"] = dict(sorted(unmapped.items()))
    return df
