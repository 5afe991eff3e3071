"""URDU: an Urdu-language emotional speech corpus of spontaneous talk-show speech.

Origin: Latif, Qayyum, Usman & Qadir (2018), "Cross lingual speech emotion recognition: Urdu vs.
Western languages", FIT 2018; distributed at github.com/siddiquelatif/URDU-Dataset.
Licence: "for research purposes only" (the distribution's own terms).

Layout: ``<Emotion>/<Speaker>_F<n>_<E><idx>.wav`` with emotion folders ``Angry``, ``Happy``,
``Neutral`` and ``Sad`` (.flac accepted too), e.g. ``Angry/SM1_F10_A010.wav``.

Naming: ``S`` + gender (``M`` male, ``F`` female) + speaker number (``SM1``, ``SF12``), then
``F<n>`` (the speaker's file number), then the emotion letter (``A`` angry, ``H`` happy,
``N`` neutral, ``S`` sad) and a running index within the emotion.

Speakers: 29 speaker codes (SM* male, SF* female) cut from Urdu TV talk shows; 400 files, 100
per emotion, about 0.28 hours. Speaker and emotion are confounded (angry comes only from
SM1-SM4), so speaker-independent evaluation matters here.

Labels: the emotion letter of the file name decides; a file whose emotion folder names a
different emotion is reported as stray (the two disagree, a person must decide).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from serkit.corpora import _common

NAME = "urdu"

LABELS: dict[str, str] = {"A": "angry", "H": "happy", "N": "neutral", "S": "sad"}
FOLDERS: dict[str, str] = {"angry": "A", "happy": "H", "neutral": "N", "sad": "S"}

_NAME = re.compile(r"^S([MF])(\d+)_F(\d+)_([AHNS])(\d+)$", re.IGNORECASE)


def parse_name(stem: str) -> dict:
    """Parse an URDU file name (without extension).

    Example:
        >>> parse_name("SM1_F10_A010")["speaker"]
        'SM1'

    Raises:
        ValueError: the name does not follow ``S<M|F><n>_F<n>_<A|H|N|S><idx>``.
    """
    match = _NAME.match(stem)
    if not match:
        raise ValueError("expected S<M|F><n>_F<n>_<A|H|N|S><idx>, e.g. SM1_F10_A010")
    gender, number, _file_no, letter, _index = match.groups()
    letter = letter.upper()
    return {
        "speaker": f"S{gender.upper()}{int(number)}",
        "gender": "male" if gender.upper() == "M" else "female",
        "raw_emotion": letter,
        "emotion": LABELS[letter],
    }


def prepare(root: Path, *, skip_bad: bool = False) -> pd.DataFrame:
    """Build the URDU manifest.

    Args:
        root: the folder holding the ``Angry``, ``Happy``, ``Neutral`` and ``Sad`` folders.
        skip_bad: skip unreadable files instead of failing.
    """
    return _common.prepare_emotion_folders(
        root,
        corpus=NAME,
        parse_name=parse_name,
        folders=FOLDERS,
        labels=LABELS,
        language="ur",
        skip_bad=skip_bad,
    )
