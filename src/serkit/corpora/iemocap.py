"""IEMOCAP: the Interactive Emotional Dyadic Motion Capture database.

Origin: Busso, Bulut, Lee, Kazemzadeh, Mower, Kim, Chang, Lee & Narayanan (2008), Language
Resources and Evaluation 42(4): 335-359; USC SAIL (sail.usc.edu/iemocap).
Licence: research use under the USC release agreement (not redistributable).

Layout (``IEMOCAP_full_release``): ``Session1`` ... ``Session5``, each with

- ``sentences/wav/<dialog>/<utt>.wav``: one file per utterance (turn), 16 kHz;
- ``dialog/wav/<dialog>.wav``: the whole dialogue (used with ``use_dialogs=True``);
- ``dialog/EmoEvaluation/<dialog>.txt``: per utterance a line
  ``[6.2901 - 8.2357]<TAB>Ses01F_impro01_F000<TAB>neu<TAB>[2.5000, 2.5000, 2.5000]``
  (start - end in seconds within the dialogue, utterance id, consensus label, mean
  [valence, activation, dominance] on 1-5), followed by one line per evaluator such as
  ``C-E2:<TAB>Neutral; Frustration;<TAB>()`` (categorical, ``C-E*`` external evaluators,
  ``C-F*``/``C-M*`` the actors' self-evaluations) and ``A-E3: val 3; act 2; dom 2; ()``;
- ``dialog/transcriptions/<dialog>.txt``: ``<utt> [006.2901-008.2357]: text``.

Only these folders are read (motion capture, video and alignment folders are ignored). The
root may be the release folder or its parent; .flac copies are accepted.

Naming: dialogue ``Ses01F_impro01`` / ``Ses01M_script02_1``: session 01, the actor wearing the
motion-capture markers (F/M), ``impro`` (improvised) or ``script`` (scripted) with its number.
Utterance ``Ses01F_impro01_M003``: the last field's letter is the gender of the actor speaking
this turn (here the male actor of session 1), then the turn number.

Speakers: 10 actors, one female and one male per session; ``speaker`` is ``Ses01F`` /
``Ses01M`` (session + gender of the speaking actor), ``session`` is ``Session1`` ...,
``mode`` improvised/scripted. ``n_raters`` counts the external categorical evaluators and
``agreement`` is the share of them whose labels include the consensus label.

Labels: neu, hap, exc, sad, ang, fru, fea, sur, dis, oth -> neutral, happy, excited, sad, angry,
frustrated, fearful, surprised, disgust, other; ``xxx`` (no majority) keeps the row with
emotion NA. The common 4-class sets are ``iemocap4`` (exc merged into happy) and
``iemocap4_filtered``.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

import pandas as pd

from serkit.corpora import _common, _segments
from serkit.corpora._extra import read_text
from serkit.errors import CorpusError

NAME = "iemocap"

LABELS: dict[str, str | None] = {
    "neu": "neutral",
    "hap": "happy",
    "exc": "excited",
    "sad": "sad",
    "ang": "angry",
    "fru": "frustrated",
    "fea": "fearful",
    "sur": "surprised",
    "dis": "disgust",
    "oth": "other",
    "xxx": None,
}
# Evaluator category words -> raw labels.
CATEGORIES: dict[str, str] = {
    "neutral": "neu",
    "happiness": "hap",
    "excited": "exc",
    "sadness": "sad",
    "anger": "ang",
    "frustration": "fru",
    "fear": "fea",
    "surprise": "sur",
    "disgust": "dis",
    "other": "oth",
}

_SESSION = re.compile(r"^Session([1-5])$")
_UTTERANCE = re.compile(r"^(Ses0([1-5])[FM]_(impro|script)[0-9a-z_]*?)_([FM])([0-9A-Za-z]+)$")
_EVAL = re.compile(
    r"^\[\s*([\d.]+)\s*-\s*([\d.]+)\s*\]\s+(\S+)\s+(\S+)\s+"
    r"\[\s*([\d.]+|nan)\s*,\s*([\d.]+|nan)\s*,\s*([\d.]+|nan)\s*\]",
    re.IGNORECASE,
)
_EVALUATOR = re.compile(r"^C-(E\d+|[FM]\d*):\s*(.*?)\s*(\(.*\))?\s*$")
_TRANSCRIPT = re.compile(r"^(\S+)\s+\[[^\]]*\]:\s*(.*)$")


def parse_utterance(utt: str) -> dict:
    """Dialogue, session, mode and speaker of an utterance id.

    Example:
        >>> parse_utterance("Ses01F_impro01_M003")["speaker"]
        'Ses01M'

    Raises:
        ValueError: the id does not follow ``Ses0<n><F|M>_<impro|script>..._<F|M><nnn>``.
    """
    match = _UTTERANCE.match(utt)
    if not match:
        raise ValueError(f"utterance id {utt!r} does not look like Ses01F_impro01_M003")
    dialog, session, kind, sex, _turn = match.groups()
    return {
        "dialog": dialog,
        "session": f"Session{session}",
        "mode": "improvised" if kind == "impro" else "scripted",
        "speaker": f"Ses0{session}{sex}",
        "gender": "female" if sex == "F" else "male",
    }


def parse_evaluation(text: str, *, where: str) -> list[dict]:
    """Parse one ``EmoEvaluation/<dialog>.txt`` into one dict per utterance.

    Each dict has ``utt``, ``start``, ``end``, ``raw_emotion``, ``valence``, ``arousal``,
    ``dominance``, ``n_raters`` and ``agreement``.

    Raises:
        CorpusError: a consensus label is not one of :data:`LABELS` (names the file).
    """
    entries: list[dict] = []
    votes: list[set[str]] = []

    def close() -> None:
        if entries:
            entry = entries[-1]
            entry["n_raters"] = float(len(votes))
            if votes and entry["raw_emotion"] != "xxx":
                hits = sum(entry["raw_emotion"] in vote for vote in votes)
                entry["agreement"] = hits / len(votes)
            else:
                entry["agreement"] = None

    for line in text.splitlines():
        line = line.strip()
        match = _EVAL.match(line)
        if match:
            close()
            votes = []
            start, end, utt, label, val, act, dom = match.groups()
            if label not in LABELS:
                raise CorpusError(
                    f"{NAME}: {where}: utterance {utt} has label {label!r}; expected one of "
                    f"{', '.join(LABELS)}"
                )
            entries.append(
                {
                    "utt": utt,
                    "start": float(start),
                    "end": float(end),
                    "raw_emotion": label,
                    "valence": float(val),
                    "arousal": float(act),
                    "dominance": float(dom),
                }
            )
            continue
        rater = _EVALUATOR.match(line)
        if rater and entries and rater.group(1).startswith("E"):
            words = [w.strip().lower() for w in rater.group(2).split(";") if w.strip()]
            votes.append({CATEGORIES.get(w, "oth") for w in words})
    close()
    return entries


def parse_transcription(text: str) -> dict[str, str]:
    """Parse ``transcriptions/<dialog>.txt`` into ``{utterance id: text}``."""
    out = {}
    for line in text.splitlines():
        match = _TRANSCRIPT.match(line.strip())
        if match:
            out[match.group(1)] = match.group(2).strip()
    return out


def find_sessions(root: Path) -> dict[str, Path]:
    """``{"Session1": path, ...}`` below ``root`` or one level deeper.

    Raises:
        CorpusError: no ``Session<n>`` folder was found.
    """
    for base in [root, *sorted(p for p in root.iterdir() if p.is_dir())]:
        sessions = {p.name: p for p in sorted(base.iterdir()) if _SESSION.match(p.name)}
        if sessions:
            return sessions
    raise CorpusError(
        f"{NAME}: no Session1 ... Session5 folder under {root} (or one level below); pass the "
        "IEMOCAP_full_release folder"
    )


def _audio_index(folder: Path, root: Path, stray: list[str]) -> dict[str, str]:
    """``{stem: path relative to root}`` for audio files below ``folder``; others are stray."""
    index: dict[str, str] = {}
    if not folder.is_dir():
        return index
    found = _common.scan(folder)
    prefix = folder.relative_to(root).as_posix() + "/"
    stray += [prefix + note for note in found.stray]
    for rel in found.audio:
        stem = PurePosixPath(rel).stem
        if stem in index:
            stray.append(f"{prefix + rel}: duplicate of {index[stem]}; ignored")
            continue
        index[stem] = prefix + rel
    return index


def prepare(
    root: Path,
    *,
    skip_bad: bool = False,
    use_dialogs: bool = False,
    sessions: tuple[int, ...] = (1, 2, 3, 4, 5),
) -> pd.DataFrame:
    """Build the IEMOCAP manifest.

    Args:
        root: ``IEMOCAP_full_release`` (holding ``Session1`` ...) or its parent.
        skip_bad: skip unreadable files instead of failing.
        use_dialogs: emit segments (``start``/``end``) over the dialogue wavs instead of the
            sentence wavs.
        sessions: which sessions to read.
    """
    root = _common.check_root(root, NAME)
    found_sessions = find_sessions(root)
    stray: list[str] = []
    warnings: list[str] = []
    rows: list[dict] = []
    for name, folder in found_sessions.items():
        if int(name[-1]) not in sessions:
            continue
        eval_dir = folder / "dialog" / "EmoEvaluation"
        if not eval_dir.is_dir():
            raise CorpusError(
                f"{NAME}: {eval_dir} is missing; every session needs dialog/EmoEvaluation"
            )
        audio_dir = folder / ("dialog/wav" if use_dialogs else "sentences/wav")
        index = _audio_index(audio_dir, root, stray)
        used: set[str] = set()
        for eval_file in sorted(eval_dir.glob("*.txt")):
            if eval_file.name.startswith("."):
                continue
            where = eval_file.relative_to(root).as_posix()
            entries = parse_evaluation(read_text(eval_file, corpus=NAME), where=where)
            transcript_file = folder / "dialog" / "transcriptions" / eval_file.name
            texts = (
                parse_transcription(read_text(transcript_file, corpus=NAME))
                if transcript_file.is_file()
                else {}
            )
            for entry in entries:
                utt = entry.pop("utt")
                try:
                    facts = parse_utterance(utt)
                except ValueError as exc:
                    warnings.append(f"{where}: {exc}; skipped")
                    continue
                key = facts["dialog"] if use_dialogs else utt
                rel = index.get(key)
                if rel is None:
                    warnings.append(f"{where}: no audio for {utt} in {audio_dir.name}; skipped")
                    continue
                used.add(key)
                start, end = entry.pop("start"), entry.pop("end")
                row = {
                    "local_id": utt,
                    "path": rel,
                    "speaker": facts["speaker"],
                    "emotion": LABELS[entry["raw_emotion"]],
                    "session": facts["session"],
                    "mode": facts["mode"],
                    "gender": facts["gender"],
                    "dialog": facts["dialog"],
                    "text": texts.get(utt),
                    "language": "en",
                    **entry,
                }
                if use_dialogs:
                    row.update(start=start, end=end)
                rows.append(row)
        for stem, rel in index.items():
            if stem not in used:
                stray.append(f"{rel}: no entry in {name}/dialog/EmoEvaluation")
    skipped: list[str] = []
    if use_dialogs:
        durations, skipped = _segments.check_files(
            [r["path"] for r in rows], root, corpus=NAME, skip_bad=skip_bad
        )
        rows = _segments.fit_segments(rows, durations, stray)
    df = _common.build(rows, corpus=NAME, root=root, stray=stray, skip_bad=skip_bad)
    df.attrs["warnings"] = warnings
    return _segments.add_skipped(df, skipped)
