"""AESDD: the Acted Emotional Speech Dynamic Database (Greek).

Origin: Vryzas, Kotsakis, Liatsou, Dimoulas & Kalliris (2018), "Speech emotion recognition for
performance interaction", J. Audio Eng. Soc. 66(6); Laboratory of Electronic Media, Aristotle
University of Thessaloniki (M3C group). Licence: distributed free of charge for research by
the M3C group (no open licence; cite the papers, do not redistribute).

Layout: ``<anger|disgust|fear|happiness|sadness>/<x><AA> (<B>).wav`` (.flac accepted too),
e.g. ``anger/a03 (4).wav``.

Naming: ``x`` is the emotion letter (``a`` anger, ``d`` disgust, ``f`` fear, ``h``
happiness, ``s`` sadness), ``AA`` the utterance number (01-20; 20 is improvised, ``text_id``),
``B`` the actor number. A second qualified take carries a lower-case letter after the
parenthesis (``f18 (5)b.wav``; ``repetition`` ``b``). Upstream quirks handled here: actor
numbers written with a leading zero (``f12 (01).wav`` is actor 1), stray spaces around the
parenthesis, and letter case. A file whose emotion letter disagrees with its folder is reported
as stray (mislabelled upstream; a person must decide).

Speakers: version 1 has 5 professional actors (3 female, 2 male) with 19 scripted utterances +
1 improvised per emotion, about 500 files; later releases add actors under the same scheme.
The actor-to-gender map is not part of the naming, so no ``gender`` column is written.

Labels: angry, disgust, fearful, happy, sad.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from serkit.corpora import _common

NAME = "aesdd"

LABELS: dict[str, str] = {
    "a": "angry",
    "d": "disgust",
    "f": "fearful",
    "h": "happy",
    "s": "sad",
}
FOLDERS: dict[str, str] = {
    "anger": "a",
    "disgust": "d",
    "fear": "f",
    "happiness": "h",
    "sadness": "s",
}

_NAME = re.compile(r"^([adfhs])(\d{1,2})\s*\(\s*(\d+)\s*\)\s*([a-z]?)$", re.IGNORECASE)


def parse_name(stem: str) -> dict:
    """Parse an AESDD file name (without extension).

    Example:
        >>> parse_name("f18 (5)b")["local_id"]
        'f18_5b'

    Raises:
        ValueError: the name does not follow ``<x><AA> (<B>)[take]``.
    """
    match = _NAME.match(stem)
    if not match:
        raise ValueError("expected <a|d|f|h|s><nn> (<actor>)[take], e.g. 'a03 (4)'")
    letter, utterance, actor, take = match.groups()
    letter, take = letter.lower(), take.lower()
    actor = str(int(actor))
    utterance = f"{int(utterance):02d}"
    return {
        "local_id": f"{letter}{utterance}_{actor}{take}",
        "speaker": actor,
        "raw_emotion": letter,
        "emotion": LABELS[letter],
        "text_id": utterance,
        "repetition": take or "a",
    }


def prepare(root: Path, *, skip_bad: bool = False) -> pd.DataFrame:
    """Build the AESDD manifest.

    Args:
        root: the folder holding the five emotion folders.
        skip_bad: skip unreadable files instead of failing.
    """
    return _common.prepare_emotion_folders(
        root,
        corpus=NAME,
        parse_name=parse_name,
        folders=FOLDERS,
        labels=LABELS,
        language="el",
        skip_bad=skip_bad,
    )
