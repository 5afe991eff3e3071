"""VCTK: the CSTR VCTK Corpus (English multi-speaker read speech, no emotion).

Origin: Yamagishi, Veaux & MacDonald (2019), "CSTR VCTK Corpus: English Multi-speaker Corpus
for CSTR Voice Cloning Toolkit (version 0.92)", University of Edinburgh, CSTR,
doi:10.7488/ds/2645 (version 0.80: Veaux, Yamagishi & MacDonald 2017).
Licence: Creative Commons Attribution 4.0 (0.92); Open Data Commons Attribution (0.80).

Layout, version 0.92: ``wav48_silence_trimmed/<spk>/<spk>_<nnn>_<mic>.flac`` (``mic1``
omni-directional DPA 4035, ``mic2`` small-diaphragm Sennheiser MKH 800; 48 kHz, leading and
trailing silence trimmed). Version 0.80: ``wav48/<spk>/<spk>_<nnn>.wav`` (one microphone).
Both: transcripts ``txt/<spk>/<spk>_<nnn>.txt`` and ``speaker-info.txt`` with a header
``ID AGE GENDER ACCENTS REGION [COMMENTS]`` and one whitespace-separated line per speaker
(``p225 23 F English Southern England``; 0.80 writes the id without ``p``).
Only the audio folders (``wav48_silence_trimmed``, ``wav48``, or any folder when neither
exists) are scanned; ``.wav`` and ``.flac`` are accepted in either.

Naming: ``p225_001_mic1``: speaker ``p225`` (``s5`` in 0.92), utterance 001-5xx, microphone.
The id keeps the microphone so both microphones can be listed (option ``mic``; column
``mic``). Utterance numbers do not identify sentences across speakers (only the first few
shared passages coincide), so ``text_id`` is not set; ``text`` holds the transcript.

Speakers: 110 (0.92; 109 in 0.80) speakers of English with various accents; ``gender``,
``age``, ``accent`` and ``region`` come from ``speaker-info.txt``. Upstream quirks: p315 has
no transcripts; p280 and p362 lack some mic2 files.

Labels: none; every row is read neutral speech: ``raw_emotion`` ``neutral`` -> ``neutral``. The
corpus is used for voice-conversion/disentanglement training, not for emotion classes.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

import pandas as pd

from serkit.corpora import _common
from serkit.corpora._extra import read_text
from serkit.errors import CorpusError

NAME = "vctk"

LABELS: dict[str, str | None] = {"neutral": "neutral"}
AUDIO_DIRS: tuple[str, ...] = ("wav48_silence_trimmed", "wav48")
GENDERS = {"F": "female", "M": "male"}

_NAME = re.compile(r"^([ps]\d+)_(\d{3})(?:_(mic\d))?$")


def parse_name(stem: str) -> dict:
    """Parse a VCTK file name (without extension).

    Example:
        >>> parse_name("p225_001_mic1")["mic"]
        'mic1'

    Raises:
        ValueError: the name is not ``<spk>_<nnn>[_mic<k>]``.
    """
    match = _NAME.match(stem)
    if not match:
        raise ValueError("expected <spk>_<nnn>[_mic<k>], e.g. p225_001_mic1")
    speaker, number, mic = match.groups()
    return {"speaker": speaker, "utterance": number, "mic": mic}


def read_speaker_info(path: Path) -> dict[str, dict]:
    """Parse ``speaker-info.txt`` into ``{speaker id with p: {gender, age, accent, region}}``.

    Raises:
        CorpusError: the header is not ``ID AGE GENDER ACCENTS ...``.
    """
    lines = [line for line in read_text(path, corpus=NAME).splitlines() if line.strip()]
    if not lines or lines[0].split()[:3] != ["ID", "AGE", "GENDER"]:
        found = lines[0] if lines else "an empty file"
        raise CorpusError(
            f"{NAME}: {path}: expected a header 'ID AGE GENDER ACCENTS REGION', found {found!r}"
        )
    speakers = {}
    for line in lines[1:]:
        line = line.split("(", 1)[0]  # drop trailing comments such as "(mic2 files missing)"
        fields = line.split()
        if len(fields) < 3:
            continue
        ident = fields[0] if fields[0][0] in "ps" else f"p{fields[0]}"
        speakers[ident] = {
            "gender": GENDERS.get(fields[2].upper()),
            "age": float(fields[1]) if fields[1].isdigit() else None,
            "accent": fields[3] if len(fields) > 3 else None,
            "region": " ".join(fields[4:]) or None,
        }
    return speakers


def prepare(
    root: Path,
    *,
    skip_bad: bool = False,
    mic: tuple[str, ...] | str = ("mic1",),
) -> pd.DataFrame:
    """Build the VCTK manifest.

    Args:
        root: the release folder (holding ``wav48_silence_trimmed/`` or ``wav48/``, ``txt/``
            and ``speaker-info.txt``).
        skip_bad: skip unreadable files instead of failing.
        mic: microphones to keep in 0.92 (``mic1``, ``mic2``); files without a microphone
            suffix (0.80) are always kept. Files of other microphones are left out silently.
    """
    root = _common.check_root(root, NAME)
    mics = (mic,) if isinstance(mic, str) else tuple(mic)
    present = [name for name in AUDIO_DIRS if (root / name).is_dir()]
    files: list[str] = []
    stray: list[str] = []
    for name in present or [""]:
        found = _common.scan(root / name if name else root)
        prefix = f"{name}/" if name else ""
        files += [prefix + rel for rel in found.audio]
        if name:
            stray += [prefix + note for note in found.stray]
        else:
            stray += [n for n in found.stray if not n.startswith(("txt/", "speaker-info"))]
    info_path = root / "speaker-info.txt"
    speakers = read_speaker_info(info_path) if info_path.is_file() else {}

    def parse(rel: str) -> dict | None:
        path = PurePosixPath(rel)
        fields = parse_name(path.stem)
        if fields["mic"] is not None and fields["mic"] not in mics:
            return {"_skip": True}
        speaker = fields["speaker"]
        text_file = root / "txt" / speaker / f"{speaker}_{fields['utterance']}.txt"
        text = read_text(text_file, corpus=NAME).strip() if text_file.is_file() else None
        row = {
            "local_id": path.stem,
            "path": rel,
            "speaker": speaker,
            "raw_emotion": "neutral",
            "emotion": "neutral",
            "text": text,
            "utterance": fields["utterance"],
            "mic": fields["mic"],
            "language": "en",
        }
        if speakers:
            row.update(speakers.get(speaker, {"gender": None, "age": None, "accent": None}))
        return row

    rows = [r for r in _common.parse_each(files, parse, stray) if not r.get("_skip")]
    rows = _common.drop_duplicates(rows, stray)
    return _common.build(rows, corpus=NAME, root=root, stray=stray, skip_bad=skip_bad)
