"""CREMA-D: the Crowd-sourced Emotional Multimodal Actors Dataset.

Origin: Cao, Cooper, Keutmann, Gur, Nenkova & Verma (2014), IEEE Trans. Affective Computing
5(4): 377-390; github.com/CheyneyComputerScience/CREMA-D.
Licence: Open Database License (ODbL) v1.0, contents under the Database Contents License.

Layout: ``AudioWAV/<actor>_<sentence>_<emotion>_<level>.wav`` (7442 clips) and
``VideoDemographics.csv`` (columns ActorID, Age, Sex, Race, Ethnicity) at the root; other
release folders (``AudioMP3``, ``VideoFlash``, ``processedResults`` ...) are not read. When
``AudioWAV/`` is absent the whole root is scanned. .flac copies are accepted.

Naming: ``1001_DFA_ANG_XX``: actor 1001-1091; sentence code (12): IEO "It's eleven o'clock",
TIE "That is exactly what happened", IOM "I'm on my way to the meeting", IWW "I wonder what
this is about", TAI "The airplane is almost full", MTI "Maybe tomorrow it will be cold",
IWL "I would like a new alarm clock", ITH "I think I have a doctor's appointment",
DFA "Don't forget a jacket", ITS "I think I've seen this before", TSI "The surface is slick",
WSI "We'll stop in a couple of minutes"; emotion ANG, DIS, FEA, HAP, NEU, SAD; level LO (low),
MD (medium), HI (high), XX (unspecified; IEO is the only sentence recorded at three levels).

Speakers: 91 actors (48 male, 43 female, ages 20-74); gender and age from
``VideoDemographics.csv`` when present (``gender`` NA otherwise).

Labels: the intended (acted) emotion of the file name: ANG angry, DIS disgust, FEA fearful,
HAP happy, NEU neutral, SAD sad. Crowd-sourced perceived labels (``processedResults``) are not
used. Known upstream quirk: some copies hold an empty ``1076_MTI_SAD_XX.wav`` (use skip_bad).
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path, PurePosixPath

import pandas as pd

from serkit.corpora import _common
from serkit.corpora._extra import read_text
from serkit.errors import CorpusError

NAME = "crema-d"
ALIASES = ("crema_d", "cremad")

LABELS: dict[str, str | None] = {
    "ANG": "angry",
    "DIS": "disgust",
    "FEA": "fearful",
    "HAP": "happy",
    "NEU": "neutral",
    "SAD": "sad",
}
LEVELS: dict[str, str] = {"LO": "low", "MD": "medium", "HI": "high", "XX": "unspecified"}
SENTENCES: dict[str, str] = {
    "IEO": "It's eleven o'clock",
    "TIE": "That is exactly what happened",
    "IOM": "I'm on my way to the meeting",
    "IWW": "I wonder what this is about",
    "TAI": "The airplane is almost full",
    "MTI": "Maybe tomorrow it will be cold",
    "IWL": "I would like a new alarm clock",
    "ITH": "I think I have a doctor's appointment",
    "DFA": "Don't forget a jacket",
    "ITS": "I think I've seen this before",
    "TSI": "The surface is slick",
    "WSI": "We'll stop in a couple of minutes",
}
DEMOGRAPHICS = "VideoDemographics.csv"

_NAME = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{2})$")


def parse_name(stem: str) -> dict:
    """Parse a CREMA-D file name (without extension).

    Example:
        >>> parse_name("1001_DFA_ANG_XX")["emotion"]
        'angry'

    Raises:
        ValueError: malformed name, or unknown sentence, emotion or level code.
    """
    match = _NAME.match(stem)
    if not match:
        raise ValueError("expected <actor>_<SEN>_<EMO>_<LV>, e.g. 1001_DFA_ANG_XX")
    actor, sentence, emotion, level = match.groups()
    for value, table, field in (
        (sentence, SENTENCES, "sentence"),
        (emotion, LABELS, "emotion"),
        (level, LEVELS, "level"),
    ):
        if value not in table:
            raise ValueError(f"unknown {field} code {value!r}; expected {', '.join(table)}")
    return {
        "speaker": actor,
        "raw_emotion": emotion,
        "emotion": LABELS[emotion],
        "intensity": LEVELS[level],
        "text_id": sentence,
        "text": SENTENCES[sentence],
        "language": "en",
    }


def read_demographics(path: Path) -> dict[str, dict]:
    """Read ``VideoDemographics.csv`` into ``{actor: {"gender": ..., "age": ...}}``.

    Raises:
        CorpusError: the file lacks the ActorID or Sex column.
    """
    reader = csv.DictReader(io.StringIO(read_text(path, corpus=NAME)))
    fields = {name.strip(): name for name in reader.fieldnames or []}
    if "ActorID" not in fields or "Sex" not in fields:
        raise CorpusError(
            f"{NAME}: {path} has columns {', '.join(fields)}; expected ActorID, Age, Sex, "
            "Race, Ethnicity"
        )
    people = {}
    for record in reader:
        actor = (record.get(fields["ActorID"]) or "").strip()
        sex = (record.get(fields["Sex"]) or "").strip().lower()
        age = (record.get(fields.get("Age", "Age")) or "").strip()
        if actor:
            people[actor] = {
                "gender": sex if sex in ("female", "male") else None,
                "age": float(age) if age.replace(".", "", 1).isdigit() else None,
            }
    return people


def prepare(root: Path, *, skip_bad: bool = False) -> pd.DataFrame:
    """Build the CREMA-D manifest.

    Args:
        root: the release folder (holding ``AudioWAV/`` and ``VideoDemographics.csv``).
        skip_bad: skip unreadable files instead of failing.
    """
    root = _common.check_root(root, NAME)
    wav = root / "AudioWAV"
    prefix = "AudioWAV/" if wav.is_dir() else ""
    found = _common.scan(wav if prefix else root, ignore=(DEMOGRAPHICS.lower(),))
    stray = [prefix + note for note in found.stray]
    files = [prefix + rel for rel in found.audio]
    demographics_path = root / DEMOGRAPHICS
    people = read_demographics(demographics_path) if demographics_path.is_file() else {}

    def parse(rel: str) -> dict | None:
        stem = PurePosixPath(rel).stem
        fields = parse_name(stem)
        person = people.get(fields["speaker"], {"gender": None, "age": None}) if people else {}
        return {"local_id": stem, "path": rel, **fields, **person}

    rows = _common.drop_duplicates(_common.parse_each(files, parse, stray), stray)
    df = _common.build(rows, corpus=NAME, root=root, stray=stray, skip_bad=skip_bad)
    if people:
        missing = sorted(set(df["speaker"].str.split("/").str[-1]) - set(people))
        if missing:
            df.attrs["warnings"] = [f"{DEMOGRAPHICS}: no entry for actor(s) {', '.join(missing)}"]
    return df
