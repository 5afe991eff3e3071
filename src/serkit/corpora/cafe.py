"""CaFE: the Canadian French Emotional speech dataset.

Origin: Gournay, Lahaie & Lefebvre (2018), "A Canadian French emotional speech dataset",
Proc. ACM Multimedia Systems (MMSys'18); Université de Sherbrooke; Zenodo record 1478765.
Licence: CC BY-NC-SA 4.0.

Layout: ``<Emotion>/<Faible|Fort>/<actor>-<E>-<I>-<sentence>.wav`` for the six emotions with
two intensities and ``Neutre/<actor>-N-1-<sentence>.wav`` (no intensity folder); .flac is
accepted too, e.g. ``Colère/Faible/01-C-1-1.wav``. Accented folder names (``Colère``,
``Dégoût``) are often garbled by unzip tools, so only the file name is read.

Naming: two-digit actor (01-12), emotion code (``C`` colère = anger, ``D`` dégoût = disgust,
``J`` joie = happiness, ``N`` neutre = neutral, ``P`` peur = fear, ``S`` surprise, ``T``
tristesse = sadness), intensity (``1`` faible = weak, ``2`` fort = strong; neutral is always
``1`` and gets intensity NA) and sentence number (1-6, ``text_id``).

Speakers: 12 professional actors (6 female, 6 male; odd numbers male, even female), Canadian
French; 6 sentences x (6 emotions x 2 intensities + neutral) = 78 files each, 936 in all.

Labels: angry, disgust, happy, neutral, fearful, surprised, sad.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

import pandas as pd

from serkit.corpora import _common

NAME = "cafe"

LABELS: dict[str, str] = {
    "C": "angry",
    "D": "disgust",
    "J": "happy",
    "N": "neutral",
    "P": "fearful",
    "S": "surprised",
    "T": "sad",
}
INTENSITIES: dict[str, str] = {"1": "weak", "2": "strong"}

_NAME = re.compile(r"^(\d{1,2})-([A-Z])-([12])-(\d{1,2})$", re.IGNORECASE)


def parse_name(stem: str) -> dict:
    """Parse a CaFE file name (without extension).

    Example:
        >>> parse_name("01-C-2-4")["gender"]
        'male'

    Raises:
        ValueError: the name does not follow ``<actor>-<E>-<I>-<sentence>``.
    """
    match = _NAME.match(stem)
    if not match:
        raise ValueError("expected <actor>-<C|D|J|N|P|S|T>-<1|2>-<sentence>, e.g. 01-C-1-1")
    actor, code, intensity, sentence = match.groups()
    code = code.upper()
    if code not in LABELS:
        raise ValueError(f"unknown emotion code {code!r}; expected one of {', '.join(LABELS)}")
    number = int(actor)
    return {
        "local_id": f"{number:02d}-{code}-{intensity}-{int(sentence)}",
        "speaker": f"{number:02d}",
        "gender": "male" if number % 2 else "female",
        "raw_emotion": code,
        "emotion": LABELS[code],
        "intensity": None if code == "N" else INTENSITIES[intensity],
        "text_id": str(int(sentence)),
    }


def prepare(root: Path, *, skip_bad: bool = False) -> pd.DataFrame:
    """Build the CaFE manifest.

    Args:
        root: the folder holding the seven emotion folders.
        skip_bad: skip unreadable files instead of failing.
    """
    root = _common.check_root(root, NAME)
    found = _common.scan(root)
    stray = list(found.stray)

    def parse(rel: str) -> dict:
        return {"path": rel, "language": "fr", **parse_name(PurePosixPath(rel).stem)}

    rows = _common.drop_duplicates(_common.parse_each(found.audio, parse, stray), stray)
    return _common.build(rows, corpus=NAME, root=root, stray=stray, skip_bad=skip_bad)
