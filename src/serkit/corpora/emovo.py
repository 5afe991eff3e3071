"""EMOVO: an Italian emotional speech corpus.

Origin: Costantini, Iaderola, Paoloni & Todisco (2014), "EMOVO Corpus: an Italian Emotional
Speech Database", LREC 2014; recorded at the Fondazione Ugo Bordoni, Rome. Licence: distributed
free of charge for research by the authors (no open licence; do not redistribute).

Layout: ``<f1|f2|f3|m1|m2|m3>/<emo>-<speaker>-<sentence>.wav`` (.flac accepted too), e.g.
``f1/dis-f1-b1.wav``; a ``documents`` folder (paper, label description) is reported as stray.

Naming: the Italian emotion code (``dis`` disgusto, ``gio`` gioia, ``neu`` neutro, ``pau``
paura, ``rab`` rabbia, ``sor`` sorpresa, ``tri`` tristezza), the speaker (``f1``-``f3``
female, ``m1``-``m3`` male) and the sentence code (``text_id``: ``b1``-``b3`` short,
``l1``-``l4`` long, ``n1``-``n5`` nonsense, ``d1``-``d2`` questions; 14 in all).

Speakers: 6 professional actors (3 female, 3 male); 14 sentences x 7 emotions = 98 files each,
588 in all. The speaker in the file name decides (the folder is not read).

Labels: disgust, happy (joy), neutral, fearful, angry, surprised, sad.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

import pandas as pd

from serkit.corpora import _common

NAME = "emovo"

LABELS: dict[str, str] = {
    "dis": "disgust",
    "gio": "happy",
    "neu": "neutral",
    "pau": "fearful",
    "rab": "angry",
    "sor": "surprised",
    "tri": "sad",
}

_NAME = re.compile(r"^([a-z]{3})-([fm][1-9])-([a-z]\d{1,2})$", re.IGNORECASE)


def parse_name(stem: str) -> dict:
    """Parse an EMOVO file name (without extension).

    Example:
        >>> parse_name("gio-m2-l3")["emotion"]
        'happy'

    Raises:
        ValueError: the name does not follow ``<emo>-<speaker>-<sentence>``.
    """
    match = _NAME.match(stem)
    if not match:
        raise ValueError("expected <emo>-<f1..m3>-<sentence>, e.g. dis-f1-b1")
    raw, speaker, sentence = (part.lower() for part in match.groups())
    if raw not in LABELS:
        raise ValueError(f"unknown emotion code {raw!r}; expected one of {', '.join(LABELS)}")
    return {
        "local_id": f"{raw}-{speaker}-{sentence}",
        "speaker": speaker,
        "gender": "female" if speaker.startswith("f") else "male",
        "raw_emotion": raw,
        "emotion": LABELS[raw],
        "text_id": sentence,
    }


def prepare(root: Path, *, skip_bad: bool = False) -> pd.DataFrame:
    """Build the EMOVO manifest.

    Args:
        root: the folder holding the speaker folders ``f1`` ... ``m3``.
        skip_bad: skip unreadable files instead of failing.
    """
    root = _common.check_root(root, NAME)
    found = _common.scan(root)
    stray = list(found.stray)

    def parse(rel: str) -> dict:
        return {"path": rel, "language": "it", **parse_name(PurePosixPath(rel).stem)}

    rows = _common.drop_duplicates(_common.parse_each(found.audio, parse, stray), stray)
    return _common.build(rows, corpus=NAME, root=root, stray=stray, skip_bad=skip_bad)
