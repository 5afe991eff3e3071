"""MESD: the Mexican Emotional Speech Database (Mexican Spanish).

Origin: Duville, Alonso-Valerdi & Ibarra-Zarate (2021), "The Mexican Emotional Speech Database
(MESD): elaboration and assessment based on machine learning", IEEE EMBC 2021; Mendeley Data
doi:10.17632/cy34mh68j9. Licence: CC BY 4.0.

Layout: one folder of ``<Emotion>_<C|F|M>_<A|B>_<word>.wav`` files (.flac accepted too), e.g.
``Anger_C_A_abajo.wav``; sub-folders are allowed.

Naming: the emotion in English (``Anger``, ``Disgust``, ``Fear``, ``Happiness``, ``Neutral``,
``Sadness``), the voice type (``C`` child, ``F`` adult female, ``M`` adult male), the word
corpus (``A`` or ``B``, stored as ``session``) and the spoken Spanish word (``text``; it may
contain accented letters or ``ñ``).

Speakers: 864 single-word utterances, 288 per voice type. Individual speakers are not named in
the files, so ``speaker`` is the voice type (``C``, ``F``, ``M``): leave-one-speaker-out folds
on MESD hold out a voice type, not a person. ``gender`` is female/male for adults and NA for
children.

Labels: angry, disgust, fearful, happy, neutral, sad.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path, PurePosixPath

import pandas as pd

from serkit.corpora import _common

NAME = "mesd"

LABELS: dict[str, str] = {
    "anger": "angry",
    "disgust": "disgust",
    "fear": "fearful",
    "happiness": "happy",
    "neutral": "neutral",
    "sadness": "sad",
}
VOICES: dict[str, tuple[str | None, str]] = {
    "C": (None, "child"),
    "F": ("female", "adult"),
    "M": ("male", "adult"),
}

_NAME = re.compile(r"^([A-Za-z]+)_([CFM])_([AB])_(.+)$", re.IGNORECASE)


def parse_name(stem: str) -> dict:
    """Parse an MESD file name (without extension).

    Example:
        >>> parse_name("Anger_C_A_abajo")["speaker"]
        'C'

    Raises:
        ValueError: the name does not follow ``<Emotion>_<C|F|M>_<A|B>_<word>``.
    """
    match = _NAME.match(unicodedata.normalize("NFC", stem))
    if not match:
        raise ValueError("expected <Emotion>_<C|F|M>_<A|B>_<word>, e.g. Anger_C_A_abajo")
    raw, voice, corpus, word = match.groups()
    key = raw.lower()
    if key not in LABELS:
        raise ValueError(f"unknown emotion {raw!r}; expected one of {', '.join(LABELS)}")
    voice, corpus = voice.upper(), corpus.upper()
    gender, age_group = VOICES[voice]
    return {
        "local_id": f"{raw.capitalize()}_{voice}_{corpus}_{word}",
        "speaker": voice,
        "gender": gender,
        "age_group": age_group,
        "raw_emotion": raw.capitalize(),
        "emotion": LABELS[key],
        "session": corpus,
        "text": word.replace("_", " "),
    }


def prepare(root: Path, *, skip_bad: bool = False) -> pd.DataFrame:
    """Build the MESD manifest.

    Args:
        root: the folder holding the MESD audio files (any depth).
        skip_bad: skip unreadable files instead of failing.
    """
    root = _common.check_root(root, NAME)
    found = _common.scan(root)
    stray = list(found.stray)

    def parse(rel: str) -> dict:
        return {"path": rel, "language": "es", **parse_name(PurePosixPath(rel).stem)}

    rows = _common.drop_duplicates(_common.parse_each(found.audio, parse, stray), stray)
    return _common.build(rows, corpus=NAME, root=root, stray=stray, skip_bad=skip_bad)
