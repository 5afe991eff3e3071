"""SAVEE: the Surrey Audio-Visual Expressed Emotion database (audio part).

Origin: Haq & Jackson (2009/2010), Centre for Vision, Speech and Signal Processing (CVSSP),
University of Surrey. Licence: free of charge for research use (registration with the
authors); not for redistribution.

Layout: ``AudioData/<DC|JE|JK|KL>/<code><nn>.wav`` (.flac accepted too), e.g.
``AudioData/DC/sa03.wav``. A flattened copy (``<speaker>_<code><nn>.wav`` in one folder, e.g.
``ALL/DC_sa03.wav``) is accepted as well.

Naming: emotion code ``a`` anger, ``d`` disgust, ``f`` fear, ``h`` happiness, ``n`` neutral,
``sa`` sadness, ``su`` surprise, then the two-digit sentence number within that emotion
(01-15; neutral 01-30). Sentences are TIMIT sentences: per emotion 3 common, 2
emotion-specific and 10 generic ones.

Speakers: 4 male native British English speakers (DC, JE, JK, KL), postgraduate students and
researchers, aged 27-31; 120 files each, 480 in all.

Labels: the seven codes above mapped to angry, disgust, fearful, happy, neutral, sad, surprised.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

import pandas as pd

from serkit.corpora import _common

NAME = "savee"

LABELS: dict[str, str] = {
    "a": "angry",
    "d": "disgust",
    "f": "fearful",
    "h": "happy",
    "n": "neutral",
    "sa": "sad",
    "su": "surprised",
}
SPEAKERS: tuple[str, ...] = ("DC", "JE", "JK", "KL")

_NAME = re.compile(r"^(?:(DC|JE|JK|KL)_)?(sa|su|a|d|f|h|n)(\d{2})$", re.IGNORECASE)


def parse_name(stem: str, folder: str = "") -> dict:
    """Parse a SAVEE file name (without extension); the speaker comes from the prefix or folder.

    Example:
        >>> parse_name("sa03", "DC")["emotion"]
        'sad'

    Raises:
        ValueError: the name does not follow ``<code><nn>`` or no speaker can be found.
    """
    match = _NAME.match(stem)
    if not match:
        raise ValueError("expected <a|d|f|h|n|sa|su><nn>, e.g. sa03 (or DC_sa03)")
    prefix, code, number = match.groups()
    speaker = (prefix or folder).upper()
    if speaker not in SPEAKERS:
        raise ValueError(
            f"no speaker: folder {folder!r} is not one of {', '.join(SPEAKERS)} and the name "
            "has no speaker prefix"
        )
    code = code.lower()
    return {
        "local_id": f"{speaker}_{code}{number}",
        "speaker": speaker,
        "gender": "male",
        "raw_emotion": code,
        "emotion": LABELS[code],
    }


def prepare(root: Path, *, skip_bad: bool = False) -> pd.DataFrame:
    """Build the SAVEE manifest.

    Args:
        root: the folder holding ``AudioData`` (or the speaker folders themselves).
        skip_bad: skip unreadable files instead of failing.
    """
    root = _common.check_root(root, NAME)
    found = _common.scan(root, ignore=("info.txt",))
    stray = list(found.stray)

    def parse(rel: str) -> dict:
        path = PurePosixPath(rel)
        return {"path": rel, "language": "en", **parse_name(path.stem, path.parent.name)}

    rows = _common.drop_duplicates(_common.parse_each(found.audio, parse, stray), stray)
    return _common.build(rows, corpus=NAME, root=root, stray=stray, skip_bad=skip_bad)
