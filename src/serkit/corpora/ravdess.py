"""RAVDESS: the Ryerson Audio-Visual Database of Emotional Speech and Song.

Origin: Livingstone & Russo (2018), PLoS ONE 13(5): e0196391; Zenodo record 1188976.
Licence: CC BY-NC-SA 4.0.

Layout: ``Actor_NN/MM-VV-EE-II-SS-RR-AA.wav`` (``Audio_Speech_Actors_01-24`` and
``Audio_Song_Actors_01-24`` unpack to the same ``Actor_NN`` folders; .flac is accepted too).
The seven two-digit fields are:

- MM modality: 01 audio-video, 02 video-only, 03 audio-only;
- VV vocal channel: 01 speech, 02 song;
- EE emotion: 01 neutral, 02 calm, 03 happy, 04 sad, 05 angry, 06 fearful, 07 disgust,
  08 surprised (song has no disgust or surprised);
- II intensity: 01 normal, 02 strong (neutral has normal only);
- SS statement: 01 "Kids are talking by the door", 02 "Dogs are sitting by the door";
- RR repetition: 01 or 02;
- AA actor: 01-24, odd = male, even = female.

Speakers: 24 professional actors (12 female, 12 male), North-American English.
Speech: 1440 files (60 per actor); song: 1012 files (actor 18 has no song).
Labels: the eight emotions above, mapped to serkit's canonical names.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

import pandas as pd

from serkit.corpora import _common

NAME = "ravdess"

LABELS: dict[str, str] = {
    "01": "neutral",
    "02": "calm",
    "03": "happy",
    "04": "sad",
    "05": "angry",
    "06": "fearful",
    "07": "disgust",
    "08": "surprised",
}
MODALITIES = {"01": "audio-video", "02": "video-only", "03": "audio-only"}
CHANNELS = {"01": "speech", "02": "song"}
INTENSITIES = {"01": "normal", "02": "strong"}
STATEMENTS = {
    "01": "Kids are talking by the door",
    "02": "Dogs are sitting by the door",
}

_NAME = re.compile(r"^(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})$")


def parse_name(stem: str) -> dict:
    """Parse the seven fields of a RAVDESS file name (without extension).

    Example:
        >>> parse_name("03-01-05-02-01-02-07")["emotion"]
        'angry'

    Raises:
        ValueError: the name does not have seven valid two-digit fields.
    """
    match = _NAME.match(stem)
    if not match:
        raise ValueError("expected seven two-digit fields MM-VV-EE-II-SS-RR-AA")
    modality, channel, emotion, intensity, statement, repetition, actor = match.groups()
    for value, table, field in (
        (modality, MODALITIES, "modality"),
        (channel, CHANNELS, "vocal channel"),
        (emotion, LABELS, "emotion"),
        (intensity, INTENSITIES, "intensity"),
        (statement, STATEMENTS, "statement"),
    ):
        if value not in table:
            raise ValueError(f"unknown {field} code {value!r}")
    if repetition not in ("01", "02"):
        raise ValueError(f"unknown repetition {repetition!r}")
    if not 1 <= int(actor) <= 99:
        raise ValueError(f"unknown actor {actor!r}")
    return {
        "modality": MODALITIES[modality],
        "mode": CHANNELS[channel],
        "emotion": LABELS[emotion],
        "raw_emotion": emotion,
        "intensity": INTENSITIES[intensity],
        "text_id": statement,
        "text": STATEMENTS[statement],
        "repetition": repetition,
        "actor": actor,
        "gender": "male" if int(actor) % 2 else "female",
    }


def prepare(
    root: Path,
    *,
    skip_bad: bool = False,
    channels: tuple[str, ...] = ("speech", "song"),
    audio_only: bool = True,
) -> pd.DataFrame:
    """Build the RAVDESS manifest.

    Args:
        root: the folder holding ``Actor_NN`` folders (possibly under speech/song folders).
        skip_bad: skip unreadable files instead of failing.
        channels: which vocal channels to keep (``speech``, ``song``).
        audio_only: keep only modality 03 (audio-only) files.
    """
    root = _common.check_root(root, NAME)
    found = _common.scan(root)
    stray = list(found.stray)

    def parse(rel: str) -> dict | None:
        stem = PurePosixPath(rel).stem
        fields = parse_name(stem)
        if audio_only and fields["modality"] != "audio-only":
            raise ValueError(f"modality {fields['modality']} skipped (audio-only requested)")
        if fields["mode"] not in channels:
            return {"_skip": True}
        actor = fields.pop("actor")
        fields.pop("modality")
        return {
            "local_id": stem,
            "path": rel,
            "speaker": f"Actor_{actor}",
            "language": "en",
            **fields,
        }

    rows = [r for r in _common.parse_each(found.audio, parse, stray) if not r.get("_skip")]
    return _common.build(rows, corpus=NAME, root=root, stray=stray, skip_bad=skip_bad)
