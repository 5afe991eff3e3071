"""TESS: the Toronto Emotional Speech Set.

Origin: Dupuis & Pichora-Fuller (2010), University of Toronto, Psychology Department;
distributed on the University of Toronto dataverse / TSpace (doi:10.5683/SP2/E8H2MF).
Licence: CC BY-NC-ND 4.0.

Layout: ``<OAF|YAF>_<emotion>/<OAF|YAF>_<word>_<emotion>.wav`` (.flac accepted too), e.g.
``OAF_angry/OAF_back_angry.wav``. Folder names vary between copies (``OAF_Fear``,
``OAF_Pleasant_surprise``, ``YAF_pleasant_surprised``, ``OAF_Sad``); only the file name is
read. Some copies nest the whole tree twice; the second copy of a file is reported as stray.

Naming: speaker prefix (``OAF`` older adult female, ``YAF`` younger adult female; a few files
in the release are named with the short prefix ``OA_``/``YA_`` and are mapped to the same
speakers), the target word, and the emotion (``angry``, ``disgust``, ``fear``, ``happy``,
``neutral``, ``ps`` = pleasant surprise, ``sad``). Every word is said in the carrier phrase
"Say the word ___", stored as ``text``; the word is ``text_id``.

Speakers: 2 female actors from Toronto, aged 64 (OAF) and 26 (YAF); 200 words x 7 emotions x 2
speakers = 2800 files. With two speakers, leave-one-speaker-out has only two folds.

Labels: angry, disgust, fearful, happy, neutral, surprised (pleasant surprise), sad.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

import pandas as pd

from serkit.corpora import _common

NAME = "tess"

LABELS: dict[str, str] = {
    "angry": "angry",
    "disgust": "disgust",
    "fear": "fearful",
    "happy": "happy",
    "neutral": "neutral",
    "ps": "surprised",
    "sad": "sad",
}
SPEAKERS: dict[str, str] = {"oaf": "OAF", "oa": "OAF", "yaf": "YAF", "ya": "YAF"}

_NAME = re.compile(r"^(OAF|YAF|OA|YA)_([A-Za-z']+)_([A-Za-z]+)$", re.IGNORECASE)


def parse_name(stem: str) -> dict:
    """Parse a TESS file name (without extension).

    Example:
        >>> parse_name("OAF_back_ps")["emotion"]
        'surprised'

    Raises:
        ValueError: the name does not follow ``<OAF|YAF>_<word>_<emotion>``.
    """
    match = _NAME.match(stem)
    if not match:
        raise ValueError("expected <OAF|YAF>_<word>_<emotion>, e.g. OAF_back_angry")
    prefix, word, raw = match.groups()
    raw = raw.lower()
    if raw not in LABELS:
        raise ValueError(f"unknown emotion {raw!r}; expected one of {', '.join(LABELS)}")
    speaker = SPEAKERS[prefix.lower()]
    word = word.lower()
    return {
        "local_id": f"{speaker}_{word}_{raw}",
        "speaker": speaker,
        "gender": "female",
        "raw_emotion": raw,
        "emotion": LABELS[raw],
        "text_id": word,
        "text": f"Say the word {word}",
    }


def prepare(root: Path, *, skip_bad: bool = False) -> pd.DataFrame:
    """Build the TESS manifest.

    Args:
        root: the folder holding the ``OAF_*`` and ``YAF_*`` folders (any depth).
        skip_bad: skip unreadable files instead of failing.
    """
    root = _common.check_root(root, NAME)
    found = _common.scan(root)
    stray = list(found.stray)

    def parse(rel: str) -> dict:
        return {"path": rel, "language": "en", **parse_name(PurePosixPath(rel).stem)}

    rows = _common.drop_duplicates(_common.parse_each(found.audio, parse, stray), stray)
    return _common.build(rows, corpus=NAME, root=root, stray=stray, skip_bad=skip_bad)
