"""JL-corpus: an emotional speech corpus in New Zealand English for human-robot interaction.

Origin: James, Tian & Watson (2018), "An Open Source Emotional Speech Corpus for Human Robot
Interaction Applications", Proc. Interspeech 2018; University of Auckland; distributed on
Kaggle (tli725/jl-corpus). Licence: released openly by the authors for emotional-speech
research (cite the paper; check the distribution page for the exact terms).

Layout: one folder of ``<speaker>_<emotion>_<sentence><a|b>_<session>.wav`` files (.flac
accepted too), e.g. ``female1_angry_10a_1.wav``; the "JL(wav+txt)" copy has a transcript
``<same name>.txt`` beside each audio file, read into ``text`` (those .txt files are not
reported as stray).

Naming: speaker (``female1``, ``female2``, ``male1``, ``male2``), the emotion word, the
sentence number with a variant letter (``text_id``, e.g. ``10a``) and the recording session
(1 or 2, ``session``).

Speakers: 4 actors (2 female, 2 male); 2400 files in the full release (five primary emotions
x 15 sentences plus secondary emotions x 10 sentences, two sessions).

Labels: the primary emotions angry, sad, neutral, happy and excited map to canonical names.
The secondary emotions (the paper: anxious, apologetic, pensive, worried, enthusiastic; the
released files also use assertive, concerned and encouraging) have no canonical counterpart:
by default their ``emotion`` is NA (kept in the manifest with their ``raw_emotion``, left out
of label sets); ``secondary="other"`` maps them to ``other`` instead.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

import pandas as pd

from serkit.corpora import _common
from serkit.errors import ConfigError

NAME = "jl-corpus"
ALIASES = ("jl_corpus",)

PRIMARY: dict[str, str] = {
    "angry": "angry",
    "sad": "sad",
    "neutral": "neutral",
    "happy": "happy",
    "excited": "excited",
}
SECONDARY: tuple[str, ...] = (
    "anxious",
    "apologetic",
    "pensive",
    "worried",
    "enthusiastic",
    "assertive",
    "concerned",
    "encouraging",
)
LABELS: dict[str, str | None] = {**PRIMARY, **{label: None for label in SECONDARY}}

_NAME = re.compile(r"^((?:fe)?male)(\d+)_([a-z]+)_(\d+[a-z]?)_(\d+)$", re.IGNORECASE)


def parse_name(stem: str, *, secondary: str = "na") -> dict:
    """Parse a JL-corpus file name (without extension).

    Example:
        >>> parse_name("female1_angry_10a_1")["speaker"]
        'female1'

    Raises:
        ValueError: the name does not follow the scheme or the emotion is unknown.
    """
    match = _NAME.match(stem)
    if not match:
        raise ValueError("expected <female|male><n>_<emotion>_<sentence><a|b>_<session>")
    sex, number, raw, sentence, session = match.groups()
    sex, raw = sex.lower(), raw.lower()
    if raw not in LABELS:
        raise ValueError(f"unknown emotion {raw!r}; expected one of {', '.join(LABELS)}")
    emotion = LABELS[raw]
    if emotion is None and secondary == "other":
        emotion = "other"
    return {
        "local_id": stem.lower(),
        "speaker": f"{sex}{int(number)}",
        "gender": sex,
        "raw_emotion": raw,
        "emotion": emotion,
        "text_id": sentence.lower(),
        "session": session,
    }


def prepare(root: Path, *, skip_bad: bool = False, secondary: str = "na") -> pd.DataFrame:
    """Build the JL-corpus manifest.

    Args:
        root: the folder holding the JL-corpus audio files (any depth).
        skip_bad: skip unreadable files instead of failing.
        secondary: ``"na"`` (default) gives secondary emotions an NA ``emotion``; ``"other"``
            maps them to the canonical ``other``.
    """
    if secondary not in ("na", "other"):
        raise ConfigError(f"{NAME}: secondary must be 'na' or 'other', got {secondary!r}")
    root = _common.check_root(root, NAME)
    found = _common.scan(root)
    audio_stems = {str(PurePosixPath(rel).with_suffix("")) for rel in found.audio}
    transcripts = set()
    stray = []
    for line in found.stray:
        rel = line.split(": ", 1)[0]
        if rel.lower().endswith(".txt") and rel[:-4] in audio_stems:
            transcripts.add(rel)
        else:
            stray.append(line)

    def parse(rel: str) -> dict:
        path = PurePosixPath(rel)
        row = {"path": rel, "language": "en", **parse_name(path.stem, secondary=secondary)}
        text_rel = f"{path.with_suffix('')}.txt"
        if text_rel in transcripts:
            text = (root / text_rel).read_text(encoding="utf-8", errors="replace").strip()
            row["text"] = " ".join(text.split()) or None
        return row

    rows = _common.drop_duplicates(_common.parse_each(found.audio, parse, stray), stray)
    return _common.build(rows, corpus=NAME, root=root, stray=stray, skip_bad=skip_bad)
