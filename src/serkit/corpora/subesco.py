"""SUBESCO: the SUST Bangla Emotional Speech Corpus.

Origin: Sultana, Rahman, Selim & Iqbal (2021), "SUST Bangla Emotional Speech Corpus (SUBESCO):
an audio-only emotional speech corpus for Bangla", PLoS ONE 16(4): e0250173; Zenodo record
4526477. Licence: CC BY 4.0.

Layout: one folder of ``<F|M>_<nn>_<NAME>_S_<sentence>_<EMOTION>_<take>.wav`` files (.flac
accepted too), e.g. ``F_01_OISHI_S_1_ANGRY_1.wav``; sub-folders are allowed.

Naming: speaker gender (``F``/``M``), two-digit speaker number and the speaker's first name,
``S`` and the sentence number (1-10, ``text_id``), the emotion in capitals (``ANGRY``,
``DISGUST``, ``FEAR``, ``HAPPY``, ``NEUTRAL``, ``SAD``, ``SURPRISE``) and the take (1-5,
``repetition``).

Speakers: 20 native Bangla speakers (10 female, 10 male), speaker ``F_01`` etc.; 10 sentences
x 7 emotions x 5 takes = 350 files each, 7000 in all (about 7.8 hours).

Labels: angry, disgust, fearful, happy, neutral, sad, surprised.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

import pandas as pd

from serkit.corpora import _common

NAME = "subesco"

LABELS: dict[str, str] = {
    "ANGRY": "angry",
    "DISGUST": "disgust",
    "FEAR": "fearful",
    "HAPPY": "happy",
    "NEUTRAL": "neutral",
    "SAD": "sad",
    "SURPRISE": "surprised",
}

_NAME = re.compile(r"^([FM])_(\d{1,2})_([A-Za-z]+)_S_(\d{1,2})_([A-Za-z]+)_(\d+)$", re.IGNORECASE)


def parse_name(stem: str) -> dict:
    """Parse a SUBESCO file name (without extension).

    Example:
        >>> parse_name("F_01_OISHI_S_1_ANGRY_1")["speaker"]
        'F_01'

    Raises:
        ValueError: the name does not follow the scheme or the emotion is unknown.
    """
    match = _NAME.match(stem)
    if not match:
        raise ValueError(
            "expected <F|M>_<nn>_<NAME>_S_<sentence>_<EMOTION>_<take>, e.g. F_01_OISHI_S_1_ANGRY_1"
        )
    gender, number, _name, sentence, raw, take = match.groups()
    gender, raw = gender.upper(), raw.upper()
    if raw not in LABELS:
        raise ValueError(f"unknown emotion {raw!r}; expected one of {', '.join(LABELS)}")
    return {
        "local_id": stem.upper(),
        "speaker": f"{gender}_{int(number):02d}",
        "gender": "female" if gender == "F" else "male",
        "raw_emotion": raw,
        "emotion": LABELS[raw],
        "text_id": str(int(sentence)),
        "repetition": str(int(take)),
    }


def prepare(root: Path, *, skip_bad: bool = False) -> pd.DataFrame:
    """Build the SUBESCO manifest.

    Args:
        root: the folder holding the SUBESCO audio files (any depth).
        skip_bad: skip unreadable files instead of failing.
    """
    root = _common.check_root(root, NAME)
    found = _common.scan(root)
    stray = list(found.stray)

    def parse(rel: str) -> dict:
        return {"path": rel, "language": "bn", **parse_name(PurePosixPath(rel).stem)}

    rows = _common.drop_duplicates(_common.parse_each(found.audio, parse, stray), stray)
    return _common.build(rows, corpus=NAME, root=root, stray=stray, skip_bad=skip_bad)
