"""JTES: the Japanese Twitter-based Emotional Speech corpus.

Origin: Takeishi, Nose, Chiba & Ito (2016), "Construction and analysis of phonetically and
prosodically balanced emotional speech database", Proc. O-COCOSDA 2016; Tohoku University.
Licence: research use under an agreement with the authors (not publicly downloadable).

Layout (release ``jtes_v1.1``): ``wav/<spk>/<emo>/<spk>_<emo>_<nn>.wav``, e.g.
``wav/f01/ang/f01_ang_01.wav``. The recipe also accepts the tree without the ``wav/`` level and
.flac copies. Files are 48 kHz in the release.

Naming: ``<spk>`` is ``f01``-``f50`` (female) or ``m01``-``m50`` (male); ``<emo>`` one of ``ang``
(anger), ``joy``, ``neu`` (neutral), ``sad`` (sadness); ``<nn>`` 01-50 numbers the sentence
*within* the emotion: the 50 sentences of each emotion are different texts (taken from tweets
carrying that emotion), so the sentence id is ``<emo>_<nn>`` (``text_id``). Transcripts are not
part of the audio release, so ``text`` is not filled.

Speakers: 100 (50 female, 50 male), each reading 4 emotions x 50 sentences = 200 utterances
(20,000 in all). Gender comes from the first letter of the speaker id. A common
text-independent split uses sentences 1-30 for training, 31-40 for development and 41-50 for
testing (``sentence_split`` column, not an official partition); the seed protocol uses 5-fold
speaker cross-validation over 20 speakers (10 f + 10 m).

Labels: ang, joy, neu, sad -> angry, happy, neutral, sad (the ``four_class`` label set).
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

import pandas as pd

from serkit.corpora import _common

NAME = "jtes"

LABELS: dict[str, str | None] = {
    "ang": "angry",
    "joy": "happy",
    "neu": "neutral",
    "sad": "sad",
}

_NAME = re.compile(r"^([fm])(\d{2})_([a-z]{3})_(\d{2})$")


def parse_name(stem: str) -> dict:
    """Parse a JTES file name (without extension).

    Example:
        >>> parse_name("m07_joy_33")["emotion"]
        'happy'

    Raises:
        ValueError: the name is not ``<f|m><nn>_<emo>_<nn>`` with a known emotion.
    """
    match = _NAME.match(stem)
    if not match:
        raise ValueError("expected <f|m><nn>_<emo>_<nn>, e.g. f01_ang_01")
    sex, number, emo, sentence = match.groups()
    if emo not in LABELS:
        raise ValueError(f"unknown emotion code {emo!r}; expected {', '.join(LABELS)}")
    if not 1 <= int(number) <= 50 or not 1 <= int(sentence) <= 50:
        raise ValueError("speaker and sentence numbers must be 01-50")
    index = int(sentence)
    return {
        "speaker": f"{sex}{number}",
        "gender": "female" if sex == "f" else "male",
        "raw_emotion": emo,
        "emotion": LABELS[emo],
        "text_id": f"{emo}_{sentence}",
        "sentence_split": "train" if index <= 30 else "dev" if index <= 40 else "test",
        "language": "ja",
    }


def prepare(root: Path, *, skip_bad: bool = False) -> pd.DataFrame:
    """Build the JTES manifest.

    Args:
        root: the release folder (holding ``wav/``) or the ``wav`` folder itself.
        skip_bad: skip unreadable files instead of failing.
    """
    root = _common.check_root(root, NAME)
    found = _common.scan(root)
    stray = list(found.stray)

    def parse(rel: str) -> dict | None:
        path = PurePosixPath(rel)
        fields = parse_name(path.stem)
        parts = path.parts
        if len(parts) < 3 or parts[-3] != fields["speaker"] or parts[-2] != fields["raw_emotion"]:
            raise ValueError(
                f"expected the file in <spk>/<emo>/, i.e. {fields['speaker']}/"
                f"{fields['raw_emotion']}/"
            )
        return {"local_id": path.stem, "path": rel, **fields}

    rows = _common.drop_duplicates(_common.parse_each(found.audio, parse, stray), stray)
    return _common.build(rows, corpus=NAME, root=root, stray=stray, skip_bad=skip_bad)
