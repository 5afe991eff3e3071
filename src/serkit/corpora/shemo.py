"""ShEMO: the Sharif Emotional Speech Database (Persian).

Origin: Mohamad Nezami, Jamshid Lou & Karami (2019), "ShEMO: a large-scale validated database
for Persian speech emotion detection", Language Resources and Evaluation 53(1):1-16;
distributed at github.com/pariajm/sharif-emotional-speech-dataset (and mansourehk/ShEMO).
Licence: free of charge for academic purposes (the authors' terms).

Layout: ``<female|male>/<F|M><nn><E><nn>.wav`` (.flac accepted too), e.g.
``female/F01A01.wav``; ``shemo.json`` (labels and transcripts) may sit beside them and is
ignored.

Naming: speaker gender (``F`` female, ``M`` male) and two-digit speaker number (``F01`` and
``M01`` are different people), the emotion letter (``A`` anger, ``H`` happiness, ``N``
neutral, ``S`` sadness, ``W`` surprise, ``F`` fear) and a two-digit utterance number.

Speakers: 87 native Persian speakers (31 female, 56 male) from online radio plays; 3000
semi-natural utterances, about 3.4 hours. Labels are majority votes of 12 annotators. Very
unbalanced: fear has only 38 utterances.

Labels: angry, happy, neutral, sad, surprised, fearful.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

import pandas as pd

from serkit.corpora import _common

NAME = "shemo"

LABELS: dict[str, str] = {
    "A": "angry",
    "H": "happy",
    "N": "neutral",
    "S": "sad",
    "W": "surprised",
    "F": "fearful",
}

_NAME = re.compile(r"^([FM])(\d{2})([AHNSWF])(\d{2})$", re.IGNORECASE)


def parse_name(stem: str) -> dict:
    """Parse a ShEMO file name (without extension).

    Example:
        >>> parse_name("M12W05")["emotion"]
        'surprised'

    Raises:
        ValueError: the name does not follow ``<F|M><nn><A|H|N|S|W|F><nn>``.
    """
    match = _NAME.match(stem)
    if not match:
        raise ValueError("expected <F|M><nn><A|H|N|S|W|F><nn>, e.g. F01A01")
    gender, number, letter, _utterance = match.groups()
    gender, letter = gender.upper(), letter.upper()
    return {
        "local_id": stem.upper(),
        "speaker": f"{gender}{number}",
        "gender": "female" if gender == "F" else "male",
        "raw_emotion": letter,
        "emotion": LABELS[letter],
    }


def prepare(root: Path, *, skip_bad: bool = False) -> pd.DataFrame:
    """Build the ShEMO manifest.

    Args:
        root: the folder holding the ``female`` and ``male`` folders.
        skip_bad: skip unreadable files instead of failing.
    """
    root = _common.check_root(root, NAME)
    found = _common.scan(root, ignore=("shemo.json",))
    stray = list(found.stray)

    def parse(rel: str) -> dict:
        return {"path": rel, "language": "fa", **parse_name(PurePosixPath(rel).stem)}

    rows = _common.drop_duplicates(_common.parse_each(found.audio, parse, stray), stray)
    return _common.build(rows, corpus=NAME, root=root, stray=stray, skip_bad=skip_bad)
