"""TED-LIUM release 2: English TED talks with aligned transcripts (no emotion labels).

Origin: Rousseau, Deléglise & Estève (2014), "Enhancing the TED-LIUM corpus with selected data
for language modeling and more TED talks", LREC 2014; LIUM, Le Mans University (openslr.org/19).
Licence: Creative Commons BY-NC-ND 3.0 (the TED talks' licence).

Layout (``TEDLIUM_release2``): ``train|dev|test/sph/<talk>.sph`` (16 kHz NIST SPHERE, read by
soundfile/libsndfile; shorten-compressed SPHERE is not, convert it with sph2pipe) and
``train|dev|test/stm/<talk>.stm``. Converted copies with the same stem (``.wav``/``.flac``, in
``sph/`` or any folder inside the split folder) are accepted; when a talk has several audio
files the first of .flac, .wav, .sph is used and the others are reported as stray. Files
outside the split folders (dictionary, language-model data) are not read. The root may be the
release folder or its parent.

STM lines: ``<talk> <channel> <speaker> <start> <end> <label> <text>``, times in seconds,
label like ``<o,f0,male>`` (the third field gives the speaker's gender). Segments whose text is
``ignore_time_segment_in_scoring`` (gaps, music, non-transcribed speech) are skipped.

Naming: rows are segments over the talk audio (``start``/``end``); the id is
``<talk>_<start cs>_<end cs>`` with times in centiseconds (7 digits).

Speakers: one main speaker per talk (the STM speaker field, usually the talk name); release 2
has 1495 training talks (~207 h), 8 dev and 11 test talks. ``split`` is the folder.

Labels: none: ``raw_emotion`` ``unlabelled``, ``emotion`` NA (used as unlabelled source data).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pandas as pd

from serkit.corpora import _common, _segments
from serkit.corpora._extra import read_text
from serkit.errors import CorpusError

NAME = "tedlium"
ALIASES = ("tedlium2", "ted-lium")

LABELS: dict[str, str | None] = {"unlabelled": None}
SPLITS: tuple[str, ...] = ("train", "dev", "test")
PREFERENCE: tuple[str, ...] = (".flac", ".wav", ".sph")
IGNORE = "ignore_time_segment_in_scoring"


def parse_stm_line(line: str) -> dict | None:
    """Parse one STM line; ``None`` for comments, blank lines and ignored segments.

    Example:
        >>> parse_stm_line("T 1 T 0.50 2.25 <o,f0,female> hello there")["end"]
        2.25

    Raises:
        ValueError: fewer than six fields, or times that are not numbers.
    """
    line = line.strip()
    if not line or line.startswith(";;"):
        return None
    fields = line.split(maxsplit=6)
    if len(fields) < 6:
        raise ValueError("expected <talk> <channel> <speaker> <start> <end> <label> <text>")
    talk, _channel, speaker, start, end, label = fields[:6]
    text = fields[6] if len(fields) > 6 else ""
    if IGNORE in text or speaker == "inter_segment_gap":
        return None
    start_s, end_s = float(start), float(end)
    info = label.strip("<>").split(",")
    gender = info[2] if len(info) > 2 and info[2] in ("male", "female") else None
    return {
        "talk": talk,
        "speaker": speaker,
        "start": start_s,
        "end": end_s,
        "gender": gender,
        "text": text.strip(),
    }


def find_splits(root: Path, splits: tuple[str, ...]) -> dict[str, Path]:
    """Split folders (those holding an ``stm`` folder) in ``root`` or one level below.

    Raises:
        CorpusError: none of ``splits`` was found.
    """
    for base in [root, *sorted(p for p in root.iterdir() if p.is_dir())]:
        found = {s: base / s for s in splits if (base / s / "stm").is_dir()}
        if found:
            return found
    raise CorpusError(
        f"{NAME}: no {'/'.join(splits)} folder with an stm/ folder under {root} (or one level "
        "below); pass the TEDLIUM_release2 folder"
    )


def prepare(
    root: Path,
    *,
    skip_bad: bool = False,
    splits: tuple[str, ...] = SPLITS,
) -> pd.DataFrame:
    """Build the TED-LIUM manifest (one row per transcribed segment).

    Args:
        root: ``TEDLIUM_release2`` (holding ``train``, ``dev``, ``test``) or its parent.
        skip_bad: skip unreadable audio files instead of failing.
        splits: which split folders to read.
    """
    root = _common.check_root(root, NAME)
    stray: list[str] = []
    rows: list[dict] = []
    for split, folder in find_splits(root, tuple(splits)).items():
        prefix = folder.relative_to(root).as_posix() + "/"
        found = _common.scan(folder)
        audio_of: dict[str, str] = {}
        ranked = sorted(
            found.audio,
            key=lambda rel: (PurePosixPath(rel).stem, _rank(rel)),
        )
        for rel in ranked:
            stem = PurePosixPath(rel).stem
            if stem in audio_of:
                stray.append(f"{prefix + rel}: another copy of {audio_of[stem]}; ignored")
            else:
                audio_of[stem] = prefix + rel
        used: set[str] = set()
        for note in found.stray:
            rel = note.split(": ", 1)[0]
            if not rel.endswith(".stm"):
                stray.append(prefix + note)
                continue
            stem = PurePosixPath(rel).stem
            if stem not in audio_of:
                stray.append(f"{prefix + rel}: no audio file {stem}.sph/.wav/.flac")
                continue
            used.add(stem)
            text = read_text(folder / rel, corpus=NAME)
            for number, line in enumerate(text.splitlines(), start=1):
                try:
                    segment = parse_stm_line(line)
                except ValueError as exc:
                    stray.append(f"{prefix + rel}:{number}: {exc}")
                    continue
                if segment is None:
                    continue
                if segment["end"] <= segment["start"]:
                    stray.append(f"{prefix + rel}:{number}: end <= start; skipped")
                    continue
                talk = segment.pop("talk")
                start, end = segment["start"], segment["end"]
                rows.append(
                    {
                        "local_id": f"{talk}_{round(start * 100):07d}_{round(end * 100):07d}",
                        "path": audio_of[stem],
                        "raw_emotion": "unlabelled",
                        "emotion": None,
                        "split": split,
                        "talk": talk,
                        "language": "en",
                        **segment,
                    }
                )
        stray += [f"{rel}: no stm file" for stem, rel in audio_of.items() if stem not in used]
    rows = _common.drop_duplicates(rows, stray)
    durations, skipped = _segments.check_files(
        [r["path"] for r in rows], root, corpus=NAME, skip_bad=skip_bad
    )
    rows = _segments.fit_segments(rows, durations, stray)
    df = _common.build(rows, corpus=NAME, root=root, stray=stray, skip_bad=skip_bad)
    return _segments.add_skipped(df, skipped)


def _rank(rel: str) -> int:
    suffix = PurePosixPath(rel).suffix.lower()
    return PREFERENCE.index(suffix) if suffix in PREFERENCE else len(PREFERENCE)
