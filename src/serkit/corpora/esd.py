"""ESD: the Emotional Speech Dataset (English and Mandarin, parallel sentences).

Origin: Zhou, Sisman, Liu & Li (2021), "Seen and unseen emotional style transfer for voice
conversion with a new emotional speech dataset", ICASSP 2021; distributed by HLT Singapore
(github.com/HLTSingapore/Emotional-Speech-Data).
Licence: research use only (the release's own terms; cite the paper above).

Layout: ``<spk>/<Emotion>/<spk>_<nnnnnn>.wav`` with ``Emotion`` one of Angry, Happy, Neutral,
Sad, Surprise; the official release has ``train``, ``evaluation`` and ``test`` subfolders in
each emotion folder (``<spk>/<Emotion>/test/<spk>_<nnnnnn>.wav``). Copies may sit below an extra
``Emotion Speech Dataset/`` folder; the recipe finds speaker folders at any depth. Each speaker
folder has a transcript ``<spk>/<spk>.txt`` with tab-separated lines ``id, text, emotion``
(emotion in English for 0011-0020 and in Chinese for 0001-0010: 中立 neutral, 生气 angry,
快乐 happy, 伤心 sad, 惊喜 surprise). .flac copies are accepted.

Naming: ``<spk>_<nnnnnn>``: speaker 0001-0020 and a running utterance number 000001-001750.
Each speaker reads the same 350 sentences in every emotion, in fixed blocks of 350 numbers:
Neutral 1-350, Angry 351-700, Happy 701-1050, Sad 1051-1400, Surprise 1401-1750. The
position inside a block (1-350) is the sentence: ``text_id`` is the language and the
position (``en021``), since Mandarin and English speakers read different sentence lists.

Official split (``split`` column): per speaker and emotion, 20 evaluation, 30 test and 300
training utterances. The subfolder decides when present (``evaluation`` is written ``dev``).
Without subfolders the split is derived from the position in the block: 1-20 ``dev``
(evaluation), 21-50 ``test``, 51-350 ``train``. This is what the released folders contain
(e.g. ``0011/Neutral/evaluation/0011_000001.wav``, ``0011/Neutral/test/0011_000021.wav``,
``0011/Angry/test/0011_000371.wav``), not "first 20 = test" as sometimes stated.

Speakers: 10 Mandarin (0001-0010, ``language`` zh) and 10 English (0011-0020, en).
Gender (release README): female 0001 0002 0003 0007 0009 0015 0016 0017 0018 0019; male
0004 0005 0006 0008 0010 0011 0012 0013 0014 0020.

Labels: Neutral, Angry, Happy, Sad, Surprise -> neutral, angry, happy, sad, surprised (the
``esd5`` label set). Folder emotion is authoritative; disagreements with the number block or
the transcript are listed in ``df.attrs["warnings"]``.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

import pandas as pd

from serkit.corpora import _common
from serkit.corpora._extra import read_text

NAME = "esd"

LABELS: dict[str, str | None] = {
    "Neutral": "neutral",
    "Angry": "angry",
    "Happy": "happy",
    "Sad": "sad",
    "Surprise": "surprised",
}
# Transcript emotion words (Mandarin speakers) -> English folder names.
CHINESE_LABELS: dict[str, str] = {
    "中立": "Neutral",
    "生气": "Angry",
    "快乐": "Happy",
    "伤心": "Sad",
    "惊喜": "Surprise",
}
BLOCKS: tuple[str, ...] = ("Neutral", "Angry", "Happy", "Sad", "Surprise")
BLOCK_SIZE = 350
SPLIT_FOLDERS: dict[str, str] = {"train": "train", "evaluation": "dev", "test": "test"}
FEMALE = {"0001", "0002", "0003", "0007", "0009", "0015", "0016", "0017", "0018", "0019"}

_ID = re.compile(r"^(\d{4})_(\d{6})$")
_TRANSCRIPT = re.compile(r"^(\d{4}_\d{6})\s+(.*?)\s+(\S+)\s*$")


def speaker_facts(speaker: str) -> dict:
    """Language and gender of an ESD speaker id ``0001``-``0020``.

    Raises:
        ValueError: the id is outside 0001-0020.
    """
    number = int(speaker)
    if not 1 <= number <= 20:
        raise ValueError(f"speaker {speaker!r} is outside 0001-0020")
    return {
        "language": "zh" if number <= 10 else "en",
        "gender": "female" if speaker in FEMALE else "male",
    }


def block_of(number: int) -> tuple[str, int]:
    """The emotion block and the 1-based position inside it of utterance number ``number``.

    Example:
        >>> block_of(371)
        ('Angry', 21)

    Raises:
        ValueError: the number is outside 1-1750.
    """
    if not 1 <= number <= BLOCK_SIZE * len(BLOCKS):
        raise ValueError(f"utterance number {number} is outside 1-{BLOCK_SIZE * len(BLOCKS)}")
    return BLOCKS[(number - 1) // BLOCK_SIZE], (number - 1) % BLOCK_SIZE + 1


def split_of(position: int) -> str:
    """Official split of the ``position``-th (1-350) utterance of an emotion block."""
    if position <= 20:
        return "dev"
    if position <= 50:
        return "test"
    return "train"


def parse_transcript(text: str) -> dict[str, tuple[str, str]]:
    """Parse a speaker transcript into ``{utterance id: (text, emotion folder name)}``.

    Lines that do not match ``id<TAB>text<TAB>emotion`` are ignored.
    """
    entries: dict[str, tuple[str, str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        fields = line.split("\t")
        if len(fields) >= 3 and _ID.match(fields[0].strip()):
            uid, sentence, emotion = fields[0].strip(), "\t".join(fields[1:-1]), fields[-1]
        else:
            match = _TRANSCRIPT.match(line)
            if not match:
                continue
            uid, sentence, emotion = match.groups()
        emotion = emotion.strip()
        emotion = CHINESE_LABELS.get(emotion, emotion.capitalize())
        entries[uid] = (sentence.strip(), emotion)
    return entries


def prepare(root: Path, *, skip_bad: bool = False, transcripts: bool = True) -> pd.DataFrame:
    """Build the ESD manifest.

    Args:
        root: the folder holding the speaker folders ``0001``-``0020`` (at any depth).
        skip_bad: skip unreadable files instead of failing.
        transcripts: read ``<spk>/<spk>.txt`` for the ``text`` column and cross-checks.
    """
    root = _common.check_root(root, NAME)
    found = _common.scan(root)
    stray: list[str] = []
    texts: dict[str, tuple[str, str]] = {}
    for note in found.stray:
        rel = note.split(": ", 1)[0]
        path = PurePosixPath(rel)
        if path.suffix.lower() == ".txt" and re.fullmatch(r"\d{4}", path.stem):
            if transcripts:
                texts.update(parse_transcript(read_text(root / rel, corpus=NAME)))
            continue
        stray.append(note)
    warnings: list[str] = []

    def parse(rel: str) -> dict | None:
        path = PurePosixPath(rel)
        match = _ID.match(path.stem)
        if not match:
            raise ValueError("expected <spk>_<nnnnnn>, e.g. 0011_000001")
        speaker, number = match.group(1), int(match.group(2))
        parts = path.parts[:-1]
        split = None
        if parts and parts[-1].lower() in SPLIT_FOLDERS:
            split = SPLIT_FOLDERS[parts[-1].lower()]
            parts = parts[:-1]
        if len(parts) < 2:
            raise ValueError("expected <spk>/<Emotion>/[train|evaluation|test/]<file>")
        speaker_dir, emotion_dir = parts[-2], parts[-1].capitalize()
        if speaker_dir != speaker:
            raise ValueError(f"file of speaker {speaker} in folder {speaker_dir!r}")
        if emotion_dir not in LABELS:
            raise ValueError(f"unknown emotion folder {parts[-1]!r}; expected {', '.join(LABELS)}")
        block, position = block_of(number)
        facts = speaker_facts(speaker)
        derived = split_of(position)
        if block != emotion_dir:
            warnings.append(f"{rel}: number {number} belongs to {block}, folder is {emotion_dir}")
        if split is not None and split != derived:
            warnings.append(f"{rel}: in the {split} folder, position {position} implies {derived}")
        text = None
        if path.stem in texts:
            text, said = texts[path.stem]
            if said != emotion_dir:
                warnings.append(f"{rel}: transcript says {said}, folder is {emotion_dir}")
        return {
            "local_id": path.stem,
            "path": rel,
            "speaker": speaker,
            "raw_emotion": emotion_dir,
            "emotion": LABELS[emotion_dir],
            "split": split or derived,
            "text_id": f"{facts['language']}{position:03d}",
            "text": text,
            **facts,
        }

    rows = _common.drop_duplicates(_common.parse_each(found.audio, parse, stray), stray)
    df = _common.build(rows, corpus=NAME, root=root, stray=stray, skip_bad=skip_bad)
    df.attrs["warnings"] = warnings
    return df
