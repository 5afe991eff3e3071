"""EmoDB: the Berlin Database of Emotional Speech.

Origin: Burkhardt, Paeschke, Rolfes, Sendlmeier & Weiss (2005), "A database of German emotional
speech", Interspeech 2005; TU Berlin (emodb.bilderbar.info).
Licence: free for research use (see the distribution page; cite the paper).

Layout: ``wav/<name>.wav`` (535 files, 16 kHz); the release also has ``labsilb/``, ``silb/``,
``lablaut/``, ``erkennung.txt`` etc. When ``wav/`` exists only it is scanned (the other folders
are ignored); otherwise the whole root is. .flac copies are accepted.

Naming: ``<spk><text><emo><version>``, e.g. ``03a01Fa``: speaker ``03``, text ``a01``, emotion
letter ``F`` (German initial), version ``a`` (``b``, ``c``, ... for further takes).
Emotion letters: W Ärger/Wut (anger), L Langeweile (boredom), E Ekel (disgust),
A Angst (fear), F Freude (happiness), T Trauer (sadness), N neutral.
Texts: a01 "Der Lappen liegt auf dem Eisschrank.", a02 "Das will sie am Mittwoch abgeben.",
a04 "Heute abend könnte ich es ihm sagen.", a05 "Das schwarze Stück Papier befindet sich da
oben neben dem Holzstück.", a07 "In sieben Stunden wird es soweit sein.", b01 "Was sind denn
das für Tüten, die da unter dem Tisch stehen?", b02 "Sie haben es gerade hochgetragen und jetzt
gehen sie wieder runter.", b03 "An den Wochenenden bin ich jetzt immer nach Hause gefahren und
habe Agnes besucht.", b09 "Ich will das eben wegbringen und dann mit Karl was trinken gehen.",
b10 "Die wird auf dem Platz sein, wo wir sie immer hinlegen."

Speakers: 10 actors: 03 m (31), 08 f (34), 09 f (21), 10 m (32), 11 m (26), 12 m (30),
13 f (32), 14 f (35), 15 m (25), 16 f (31) (gender, age in years).

Labels: W, L, E, A, F, T, N -> angry, bored, disgust, fearful, happy, sad, neutral (the
``emodb7`` label set).
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

import pandas as pd

from serkit.corpora import _common

NAME = "emodb"
ALIASES = ("emo-db", "berlin")

LABELS: dict[str, str | None] = {
    "W": "angry",
    "L": "bored",
    "E": "disgust",
    "A": "fearful",
    "F": "happy",
    "T": "sad",
    "N": "neutral",
}
SPEAKERS: dict[str, tuple[str, int]] = {
    "03": ("male", 31),
    "08": ("female", 34),
    "09": ("female", 21),
    "10": ("male", 32),
    "11": ("male", 26),
    "12": ("male", 30),
    "13": ("female", 32),
    "14": ("female", 35),
    "15": ("male", 25),
    "16": ("female", 31),
}
TEXTS: dict[str, str] = {
    "a01": "Der Lappen liegt auf dem Eisschrank.",
    "a02": "Das will sie am Mittwoch abgeben.",
    "a04": "Heute abend könnte ich es ihm sagen.",
    "a05": "Das schwarze Stück Papier befindet sich da oben neben dem Holzstück.",
    "a07": "In sieben Stunden wird es soweit sein.",
    "b01": "Was sind denn das für Tüten, die da unter dem Tisch stehen?",
    "b02": "Sie haben es gerade hochgetragen und jetzt gehen sie wieder runter.",
    "b03": "An den Wochenenden bin ich jetzt immer nach Hause gefahren und habe Agnes besucht.",
    "b09": "Ich will das eben wegbringen und dann mit Karl was trinken gehen.",
    "b10": "Die wird auf dem Platz sein, wo wir sie immer hinlegen.",
}

_NAME = re.compile(r"^(\d{2})([ab]\d{2})([A-Z])([a-z])$")


def parse_name(stem: str) -> dict:
    """Parse an EmoDB file name (without extension).

    Example:
        >>> parse_name("03a01Fa")["emotion"]
        'happy'

    Raises:
        ValueError: unknown speaker, text or emotion letter, or a malformed name.
    """
    match = _NAME.match(stem)
    if not match:
        raise ValueError("expected <spk><text><emotion><version>, e.g. 03a01Fa")
    speaker, text_id, letter, version = match.groups()
    if speaker not in SPEAKERS:
        raise ValueError(f"unknown speaker {speaker!r}; expected {', '.join(SPEAKERS)}")
    if text_id not in TEXTS:
        raise ValueError(f"unknown text {text_id!r}; expected {', '.join(TEXTS)}")
    if letter not in LABELS:
        raise ValueError(f"unknown emotion letter {letter!r}; expected {', '.join(LABELS)}")
    gender, age = SPEAKERS[speaker]
    return {
        "speaker": speaker,
        "gender": gender,
        "age": age,
        "raw_emotion": letter,
        "emotion": LABELS[letter],
        "text_id": text_id,
        "text": TEXTS[text_id],
        "repetition": version,
        "language": "de",
    }


def prepare(root: Path, *, skip_bad: bool = False) -> pd.DataFrame:
    """Build the EmoDB manifest.

    Args:
        root: the release folder (holding ``wav/``) or the ``wav`` folder itself.
        skip_bad: skip unreadable files instead of failing.
    """
    root = _common.check_root(root, NAME)
    wav = root / "wav"
    prefix = "wav/" if wav.is_dir() else ""
    found = _common.scan(wav if prefix else root, ignore=("erkennung.txt",))
    stray = [prefix + note for note in found.stray]
    files = [prefix + rel for rel in found.audio]

    def parse(rel: str) -> dict | None:
        stem = PurePosixPath(rel).stem
        return {"local_id": stem, "path": rel, **parse_name(stem)}

    rows = _common.drop_duplicates(_common.parse_each(files, parse, stray), stray)
    return _common.build(rows, corpus=NAME, root=root, stray=stray, skip_bad=skip_bad)
