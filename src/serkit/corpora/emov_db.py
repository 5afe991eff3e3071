"""EmoV-DB: the Emotional Voices Database (English part).

Origin: Adigwe, Tits, El Haddad, Ostadabbas & Dutoit (2018), "The Emotional Voices Database:
Towards Controlling the Emotion Dimension in Voice Generation Systems", arXiv:1806.09514;
github.com/numediart/EmoV-DB (openslr.org resource 115). Licence: non-commercial use only
(research, teaching, publication; see the repository's LICENSE.md).

Layout: the release archives unpack to ``<speaker>_<Emotion>/<emotion>_<a>-<b>_<nnnn>.wav``
(e.g. ``bea_Amused/amused_1-15_0001.wav``); the "sorted" copy uses
``<speaker>/<Emotion>/<emotion>_<a>-<b>_<nnnn>.wav``. Both are accepted, with any folder-name
case (``bea_Angry``, ``Sam_angry``) and .flac too.

Naming: the emotion word, the annotation-document range ``<a>-<b>`` (stored as ``session``)
and the four-digit CMU ARCTIC sentence number (``text_id``; prompts at festvox.org/cmu_arctic).
The emotion word varies by speaker and emotion (``amused``; ``anger``/``angry``;
``disgust``/``disgusted``; ``neutral``; ``sleepiness``/``sleepy``); the file name decides and
a folder naming a different emotion makes the file stray.

Speakers: ``bea`` and ``jenie`` (female), ``josh`` and ``sam`` (male), North-American English;
josh has only amused, neutral and sleepy. About 7000 files. Each speaker's folder holds only
that speaker, so the speaker comes from the folder.

Labels: amused, angry, disgust, neutral, sleepy.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

import pandas as pd

from serkit.corpora import _common

NAME = "emov-db"
ALIASES = ("emov_db",)

LABELS: dict[str, str] = {
    "amused": "amused",
    "amusement": "amused",
    "anger": "angry",
    "angry": "angry",
    "disgust": "disgust",
    "disgusted": "disgust",
    "neutral": "neutral",
    "sleepiness": "sleepy",
    "sleepy": "sleepy",
}
GENDERS: dict[str, str] = {"bea": "female", "jenie": "female", "josh": "male", "sam": "male"}

_NAME = re.compile(r"^([A-Za-z]+)_(\d+-\d+)_(\d{4})$")
_SPEAKER_DIR = re.compile(r"^(bea|jenie|josh|sam)(?:_([A-Za-z]+))?$", re.IGNORECASE)


def parse_name(stem: str) -> dict:
    """Parse an EmoV-DB file name (without extension).

    Example:
        >>> parse_name("anger_1-28_0011")["emotion"]
        'angry'

    Raises:
        ValueError: the name does not follow ``<emotion>_<a>-<b>_<nnnn>``.
    """
    match = _NAME.match(stem)
    if not match:
        raise ValueError("expected <emotion>_<a>-<b>_<nnnn>, e.g. amused_1-15_0001")
    raw, session, sentence = match.groups()
    raw = raw.lower()
    if raw not in LABELS:
        raise ValueError(f"unknown emotion {raw!r}; expected one of {', '.join(LABELS)}")
    return {"raw_emotion": raw, "emotion": LABELS[raw], "session": session, "text_id": sentence}


def _speaker_and_folder_emotion(path: PurePosixPath) -> tuple[str, str | None]:
    """Speaker (and the emotion a folder names, if any) from the folders above a file."""
    folders = list(path.parent.parts)
    for depth in range(len(folders) - 1, -1, -1):
        match = _SPEAKER_DIR.match(folders[depth])
        if match:
            emotion = match.group(2)
            if emotion is None and depth + 1 < len(folders):
                emotion = folders[depth + 1]
            return match.group(1).lower(), emotion
    raise ValueError(
        f"no speaker folder (one of {', '.join(GENDERS)}, optionally _<Emotion>) above the file"
    )


def prepare(root: Path, *, skip_bad: bool = False) -> pd.DataFrame:
    """Build the EmoV-DB manifest.

    Args:
        root: the folder holding the ``<speaker>_<Emotion>`` (or ``<speaker>/<Emotion>``) folders.
        skip_bad: skip unreadable files instead of failing.
    """
    root = _common.check_root(root, NAME)
    found = _common.scan(root)
    stray = list(found.stray)

    def parse(rel: str) -> dict:
        path = PurePosixPath(rel)
        fields = parse_name(path.stem)
        speaker, folder_emotion = _speaker_and_folder_emotion(path)
        if folder_emotion is not None:
            folder_label = LABELS.get(folder_emotion.lower())
            if folder_label is not None and folder_label != fields["emotion"]:
                raise ValueError(
                    f"file name says {fields['emotion']} but folder says {folder_label}; "
                    "fix the file by hand"
                )
        return {
            "local_id": f"{speaker}_{path.stem.lower()}",
            "path": rel,
            "speaker": speaker,
            "gender": GENDERS[speaker],
            "language": "en",
            **fields,
        }

    rows = _common.drop_duplicates(_common.parse_each(found.audio, parse, stray), stray)
    return _common.build(rows, corpus=NAME, root=root, stray=stray, skip_bad=skip_bad)
