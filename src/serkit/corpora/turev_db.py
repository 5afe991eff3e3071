"""TurEV-DB: a Turkish emotional voice database of single acted words.

Origin: Canpolat, Bilgin, Tokdemir, Ölçer & Karakaya (2020), "Turkish Emotion Voice Database
(TurEV-DB)", Proc. SLTU-CCURL workshop (LREC 2020); distributed at github.com/Xeonen/TurEV-DB.
Licence: CC BY-NC-ND 4.0.

Layout: ``<Emotion>/<speaker>_<code>_<word>.wav`` with emotion folders ``Angry``, ``Calm``,
``Happy`` and ``Sad`` (.flac accepted too), e.g. ``Calm/1984_sk_ordek.wav``.

Naming: a numeric speaker id, the Turkish emotion code (``kz`` kızgın = angry, ``sk`` sakin =
calm, ``mt`` mutlu = happy, ``hl`` hüzünlü = sad) and the spoken word in ASCII-folded spelling
(``ordek`` for *ördek*); the word is stored as ``text``. Upstream quirk: one file carries a
take digit after the word (``7895_hl_ogul1``); the digit is dropped from ``text`` and kept in
the id.

Speakers: 6 numeric ids (gender not documented); 1735 files (angry 487, calm 408, happy 357,
sad 483), about 0.46 hours. Unbalanced: speaker 1157 has only angry and sad, 7895 only 29 happy.

Labels: the emotion code of the file name decides; a file whose emotion folder names a
different emotion is reported as stray.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from serkit.corpora import _common

NAME = "turev-db"
ALIASES = ("turev_db",)

LABELS: dict[str, str] = {"kz": "angry", "sk": "calm", "mt": "happy", "hl": "sad"}
FOLDERS: dict[str, str] = {"angry": "kz", "calm": "sk", "happy": "mt", "sad": "hl"}

_NAME = re.compile(r"^(\d+)_([a-z]{2})_([a-z]+?)(\d*)$", re.IGNORECASE)


def parse_name(stem: str) -> dict:
    """Parse a TurEV-DB file name (without extension).

    Example:
        >>> parse_name("7895_hl_ogul1")["text"]
        'ogul'

    Raises:
        ValueError: the name does not follow ``<speaker>_<code>_<word>`` or the code is unknown.
    """
    match = _NAME.match(stem)
    if not match:
        raise ValueError("expected <speaker>_<kz|sk|mt|hl>_<word>, e.g. 1984_sk_ordek")
    speaker, code, word, take = match.groups()
    code = code.lower()
    if code not in LABELS:
        raise ValueError(f"unknown emotion code {code!r}; expected one of {', '.join(LABELS)}")
    return {
        "speaker": speaker,
        "raw_emotion": code,
        "emotion": LABELS[code],
        "text": word.lower(),
        "repetition": take or None,
    }


def prepare(root: Path, *, skip_bad: bool = False) -> pd.DataFrame:
    """Build the TurEV-DB manifest.

    Args:
        root: the folder holding the ``Angry``, ``Calm``, ``Happy`` and ``Sad`` folders.
        skip_bad: skip unreadable files instead of failing.
    """
    return _common.prepare_emotion_folders(
        root,
        corpus=NAME,
        parse_name=parse_name,
        folders=FOLDERS,
        labels=LABELS,
        language="tr",
        skip_bad=skip_bad,
    )
