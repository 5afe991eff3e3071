"""Free-text emotion names -> canonical emotions, for the generic recipes (folder, csv)."""

from __future__ import annotations

from collections.abc import Mapping

from serkit.corpora.labels import CANONICAL
from serkit.errors import ConfigError

SYNONYMS: dict[str, str] = {
    "neutral": "neutral",
    "neu": "neutral",
    "neutre": "neutral",
    "calm": "calm",
    "happy": "happy",
    "happiness": "happy",
    "hap": "happy",
    "joy": "happy",
    "joyful": "happy",
    "sad": "sad",
    "sadness": "sad",
    "sorrow": "sad",
    "angry": "angry",
    "anger": "angry",
    "ang": "angry",
    "mad": "angry",
    "fearful": "fearful",
    "fear": "fearful",
    "afraid": "fearful",
    "scared": "fearful",
    "fea": "fearful",
    "disgust": "disgust",
    "disgusted": "disgust",
    "dis": "disgust",
    "surprised": "surprised",
    "surprise": "surprised",
    "sur": "surprised",
    "ps": "surprised",
    "pleasant_surprise": "surprised",
    "pleasant_surprised": "surprised",
    "bored": "bored",
    "boredom": "bored",
    "excited": "excited",
    "excitement": "excited",
    "frustrated": "frustrated",
    "frustration": "frustrated",
    "contempt": "contempt",
    "amused": "amused",
    "amusement": "amused",
    "sleepy": "sleepy",
    "sleepiness": "sleepy",
    "pain": "pain",
    "other": "other",
}

UNKNOWN_POLICIES: tuple[str, ...] = ("na", "other", "error")


def normalize(raw: str) -> str:
    """Lower-case a label and join its words with underscores (``Pleasant surprise`` -> ...)."""
    return "_".join(raw.strip().lower().replace("-", " ").split())


def check_options(
    corpus: str, label_map: Mapping[str, str | None] | None, unknown: str
) -> dict[str, str | None]:
    """Validate ``label_map`` (targets canonical or None) and ``unknown``; return a lookup table.

    Raises:
        ConfigError: naming the offending entry and the allowed values.
    """
    if unknown not in UNKNOWN_POLICIES:
        raise ConfigError(
            f"{corpus}: unknown={unknown!r} is not one of {', '.join(UNKNOWN_POLICIES)}"
        )
    table = {normalize(str(k)): v for k, v in (label_map or {}).items()}
    for key, value in table.items():
        if value is not None and value not in CANONICAL:
            raise ConfigError(
                f"{corpus}: label_map maps {key!r} to {value!r}, which is not a canonical emotion; "
                f"use one of {', '.join(CANONICAL)} (or null for NA)"
            )
    return table


def to_canonical(
    raw: str, table: Mapping[str, str | None], *, unknown: str, where: str
) -> tuple[str | None, bool]:
    """Map a raw label: ``label_map`` first, then :data:`SYNONYMS`, then the ``unknown`` policy.

    Returns:
        ``(emotion, known)``: the canonical emotion (or None) and whether the label was known.

    Raises:
        ValueError: ``unknown="error"`` and the label is unknown (names ``where``).
    """
    key = normalize(raw)
    if key in table:
        return table[key], True
    if key in SYNONYMS:
        return SYNONYMS[key], True
    if unknown == "error":
        raise ValueError(
            f"{where}: label {raw!r} is not a known emotion name; map it with label_map"
        )
    return ("other" if unknown == "other" else None), False
