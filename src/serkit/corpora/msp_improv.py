"""MSP-IMPROV: an acted corpus of dyadic interactions (improvisations around target sentences).

Origin: Busso, Parthasarathy, Burmania, AbdelWahab, Sadoughi & Provost (2017), "MSP-IMPROV: An
acted corpus of dyadic interactions to study emotion perception", IEEE Trans. Affective
Computing 8(1): 67-80; UT Dallas, MSP lab.
Licence: academic research use under the MSP lab's release agreement (not redistributable).

Layout: ``[Audio/]session<k>/<S><nn><E>/<type>/MSP-IMPROV-S<nn><E>-<spk>-<type>-<dyad><mm>.wav``
(e.g. ``Audio/session1/S01A/S/MSP-IMPROV-S01A-F01-S-FM01.wav``) and one label file
``Evaluation.txt`` (spelled ``Evalution.txt`` in some copies) at the root or one level below.
Video files (.avi, .mp4) are ignored; other non-audio files are reported as stray. .flac copies
are accepted.

Evaluation.txt (the format implemented): blocks, one per clip, starting with a consensus line

    UTD-IMPROV-S01A-F01-S-FM01.avi; N; A:3.000000; V:3.500000; D:3.000000 ; N:2.666667;

(clip name with ``UTD`` for ``MSP`` and a video or audio extension; consensus category
A angry, H happy, S sad, N neutral, O other, X no agreement; mean arousal, valence, dominance
and naturalness ratings on 1-5; the naturalness field is missing in some copies), followed by
one line per rater: ``<rater>; <Angry|Happy|Sad|Neutral|Other>; <secondary labels>; A:..;``.
``n_raters`` counts the rater lines of a clip and ``agreement`` is the share of raters whose
primary label is the consensus category.

Naming: ``S<nn><E>``: target sentence 01-20 (``text_id`` for the R and S recordings, which
contain it; empty for P and T) and the emotion of the scenario the actors were
given (A, H, S, N; column ``scenario_emotion``, not the perceived label); ``<spk>`` F01-F06 and
M01-M06 (session = the number: F03 and M03 form session 3); ``<type>`` recording type (column
``recording``; ``mode`` spells it out following the corpus paper): R = target sentence read,
S = target sentence within the improvisation, P = other turns of the improvisation,
T = natural interaction between scenarios (this letter reading is taken from the paper's
four recording conditions, not from a release README; check it against your copy);
``<dyad><mm>`` the recording pair and a counter.

Speakers: 12 actors (6 female, 6 male), 6 sessions (``session`` ``session1`` ...); speaker
``F01`` ..., gender from the letter.

Labels: consensus categories A, H, S, N, O -> angry, happy, sad, neutral, other; X (no
agreement) keeps the row with emotion NA. The usual 4-class set is ``four_class``.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

import pandas as pd

from serkit.corpora import _common
from serkit.corpora._extra import read_text
from serkit.errors import CorpusError

NAME = "msp-improv"
ALIASES = ("msp_improv", "mspimprov")

LABELS: dict[str, str | None] = {
    "A": "angry",
    "H": "happy",
    "S": "sad",
    "N": "neutral",
    "O": "other",
    "X": None,
}
RECORDINGS: dict[str, str] = {
    "R": "read",
    "S": "improvised-target",
    "P": "improvised-other",
    "T": "natural",
}
LABEL_FILES: tuple[str, ...] = ("evaluation.txt", "evalution.txt")
VIDEO = (".avi", ".mp4", ".mov")

_NAME = re.compile(
    r"^MSP-IMPROV-S(\d{2})([AHSN])-([FM])(0[1-6])-([RSPT])-([A-Z]{2}\d+[A-Za-z0-9]*)$"
)
_CONSENSUS = re.compile(r"^UTD-IMPROV-([A-Za-z0-9-]+)\.(?:avi|wav|mp4|flac)\s*;\s*([A-Z])\s*;(.*)$")
_RATER = re.compile(r"^[^;]+;\s*(Angry|Happy|Sad|Neutral|Other)\s*;", re.IGNORECASE)
_SCORE = re.compile(r"\b([AVDN])\s*:\s*([0-9.]+|NaN)", re.IGNORECASE)


def parse_name(stem: str) -> dict:
    """Parse an MSP-IMPROV clip name (without extension).

    Example:
        >>> parse_name("MSP-IMPROV-S01A-F01-S-FM01")["session"]
        'session1'

    Raises:
        ValueError: the name does not follow ``MSP-IMPROV-S<nn><E>-<spk>-<type>-<dyad><mm>``.
    """
    match = _NAME.match(stem)
    if not match:
        raise ValueError("expected MSP-IMPROV-S<nn><A|H|S|N>-<F|M><0k>-<R|S|P|T>-<pair><nn>")
    sentence, scenario, sex, number, kind, _dyad = match.groups()
    return {
        "speaker": f"{sex}{number}",
        "gender": "female" if sex == "F" else "male",
        "session": f"session{int(number)}",
        "text_id": sentence if kind in ("R", "S") else None,
        "scenario_emotion": LABELS[scenario],
        "recording": kind,
        "mode": RECORDINGS[kind],
        "language": "en",
    }


def parse_evaluation(text: str, *, where: str) -> dict[str, dict]:
    """Parse ``Evaluation.txt`` into ``{clip name (MSP-IMPROV-...): fields}``.

    Fields: ``raw_emotion``, ``arousal``, ``valence``, ``dominance``, ``naturalness``,
    ``n_raters``, ``agreement``.

    Raises:
        CorpusError: a consensus category is unknown (names the file and the clip).
    """
    clips: dict[str, dict] = {}
    current: dict | None = None
    votes: list[str] = []

    def close() -> None:
        if current is not None:
            current["n_raters"] = float(len(votes))
            label = current["raw_emotion"]
            hits = sum(vote == label for vote in votes)
            current["agreement"] = hits / len(votes) if votes and label != "X" else None

    for line in text.splitlines():
        line = line.strip()
        match = _CONSENSUS.match(line)
        if match:
            close()
            votes = []
            clip, label, rest = match.groups()
            if label not in LABELS:
                raise CorpusError(
                    f"{NAME}: {where}: clip {clip} has category {label!r}; expected one of "
                    f"{', '.join(LABELS)}"
                )
            scores = {k.upper(): v for k, v in _SCORE.findall(rest)}
            current = {
                "raw_emotion": label,
                "arousal": float(scores.get("A", "nan")),
                "valence": float(scores.get("V", "nan")),
                "dominance": float(scores.get("D", "nan")),
                "naturalness": float(scores.get("N", "nan")),
            }
            clips[f"MSP-IMPROV-{clip}"] = current
            continue
        rater = _RATER.match(line)
        if rater and current is not None:
            votes.append(rater.group(1)[0].upper())
    close()
    return clips


def find_label_file(root: Path) -> Path:
    """``Evaluation.txt`` (or ``Evalution.txt``) at ``root`` or one level below.

    Raises:
        CorpusError: no label file was found.
    """
    for base in [root, *sorted(p for p in root.iterdir() if p.is_dir())]:
        for child in sorted(base.iterdir()):
            if child.is_file() and child.name.lower() in LABEL_FILES:
                return child
    raise CorpusError(
        f"{NAME}: no Evaluation.txt under {root} (or one level below); it holds the labels and "
        "comes with the release"
    )


def prepare(root: Path, *, skip_bad: bool = False) -> pd.DataFrame:
    """Build the MSP-IMPROV manifest.

    Args:
        root: the release folder (holding ``Evaluation.txt`` and the session folders).
        skip_bad: skip unreadable files instead of failing.
    """
    root = _common.check_root(root, NAME)
    label_file = find_label_file(root)
    where = label_file.relative_to(root).as_posix()
    clips = parse_evaluation(read_text(label_file, corpus=NAME), where=where)
    found = _common.scan(root, ignore=LABEL_FILES)
    stray = [note for note in found.stray if not note.split(": ")[0].lower().endswith(VIDEO)]
    warnings: list[str] = []

    def parse(rel: str) -> dict | None:
        path = PurePosixPath(rel)
        fields = parse_name(path.stem)
        folders = [p.lower() for p in path.parts[:-1]]
        sessions = [p for p in folders if re.fullmatch(r"session\d+", p)]
        if sessions and sessions[-1] != fields["session"]:
            warnings.append(f"{rel}: speaker {fields['speaker']} in folder {sessions[-1]}")
        labels = clips.get(path.stem)
        if labels is None:
            raise ValueError(f"no entry in {where}")
        return {
            "local_id": path.stem,
            "path": rel,
            "emotion": LABELS[labels["raw_emotion"]],
            **fields,
            **labels,
        }

    rows = _common.drop_duplicates(_common.parse_each(found.audio, parse, stray), stray)
    df = _common.build(rows, corpus=NAME, root=root, stray=stray, skip_bad=skip_bad)
    df.attrs["warnings"] = warnings
    return df
