"""Canonical emotion vocabulary and named label sets (data, chosen by name).

Every recipe maps its corpus' own labels (``raw_emotion``) to the canonical vocabulary below
(``emotion``). A label set then selects and merges canonical labels into the classes of one
experiment, e.g. ``four_class`` (neutral/happy/sad/angry) or ``iemocap4`` (excited merged into
happy). A row whose emotion is not in a label set is dropped by :func:`apply_label_set`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from serkit.errors import ConfigError
from serkit.registry import Registry

CANONICAL: tuple[str, ...] = (
    "neutral",
    "calm",
    "happy",
    "sad",
    "angry",
    "fearful",
    "disgust",
    "surprised",
    "bored",
    "excited",
    "frustrated",
    "contempt",
    "amused",
    "sleepy",
    "pain",
    "other",
)


@dataclass(frozen=True)
class LabelSet:
    """Selects canonical emotions and maps them to experiment classes.

    Attributes:
        name: registry name.
        mapping: canonical emotion -> class label; emotions not listed are dropped.
        by_gender: prefix each class with the speaker's gender (``female_angry``).
        description: one line for ``serkit list label-sets``.
    """

    name: str
    mapping: dict[str, str]
    by_gender: bool = False
    description: str = ""
    order: tuple[str, ...] = field(default=())

    @property
    def classes(self) -> list[str]:
        """The class labels in their fixed order."""
        base = list(self.order) if self.order else list(dict.fromkeys(self.mapping.values()))
        if self.by_gender:
            return [f"{g}_{c}" for g in ("female", "male") for c in base]
        return base


LABEL_SETS: Registry[LabelSet] = Registry("label set")


def _add(label_set: LabelSet) -> None:
    LABEL_SETS.add(label_set.name, label_set)


def _identity(*labels: str) -> dict[str, str]:
    return {label: label for label in labels}


_add(LabelSet("all", _identity(*CANONICAL), description="every canonical emotion as its own class"))
_add(
    LabelSet(
        "four_class",
        _identity("neutral", "happy", "sad", "angry"),
        description="common cross-corpus set: neutral, happy, sad, angry",
    )
)
_add(
    LabelSet(
        "iemocap4",
        {
            "neutral": "neutral",
            "happy": "happy",
            "excited": "happy",
            "sad": "sad",
            "angry": "angry",
        },
        description="IEMOCAP 4-class: excited merged into happy",
        order=("neutral", "happy", "sad", "angry"),
    )
)
_add(
    LabelSet(
        "iemocap4_filtered",
        _identity("neutral", "angry", "happy", "sad"),
        description="IEMOCAP 4-class without excited (RH-emo 'filtered')",
    )
)
_add(
    LabelSet(
        "ravdess8",
        _identity("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"),
        description="RAVDESS 8 emotions",
    )
)
_add(
    LabelSet(
        "ravdess_gender14",
        _identity("calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"),
        by_gender=True,
        description="RAVDESS gender x emotion without neutral, 14 classes (seed 001)",
    )
)
_add(
    LabelSet(
        "emodb7",
        _identity("neutral", "happy", "sad", "angry", "fearful", "disgust", "bored"),
        description="EmoDB 7 emotions",
    )
)
_add(
    LabelSet(
        "ekman6",
        _identity("happy", "sad", "angry", "fearful", "disgust", "surprised"),
        description="Ekman's six basic emotions",
    )
)
_add(
    LabelSet(
        "ekman6_neutral",
        _identity("neutral", "happy", "sad", "angry", "fearful", "disgust", "surprised"),
        description="six basic emotions plus neutral",
    )
)
_add(
    LabelSet(
        "esd5",
        _identity("neutral", "happy", "sad", "angry", "surprised"),
        description="ESD 5 emotions",
    )
)
_add(
    LabelSet(
        "crema6",
        _identity("neutral", "happy", "sad", "angry", "fearful", "disgust"),
        description="CREMA-D 6 emotions",
    )
)
_add(
    LabelSet(
        "iemocap_complete",
        {
            "neutral": "neutral",
            "angry": "angry",
            "happy": "happy",
            "sad": "sad",
            **{e: "other" for e in ("excited", "frustrated", "fearful", "surprised")},
            **{e: "other" for e in ("disgust", "other")},
        },
        description="IEMOCAP neu/ang/hap/sad + every other label as 'other' (RH-emo "
        "'complete'; xxx rows have no emotion and stay out)",
        order=("neutral", "angry", "happy", "sad", "other"),
    )
)
_add(
    LabelSet(
        "turev4",
        _identity("angry", "calm", "happy", "sad"),
        description="TurEV-DB 4 emotions",
    )
)
_add(
    LabelSet(
        "binary_arousal",
        {
            "angry": "high",
            "happy": "high",
            "fearful": "high",
            "surprised": "high",
            "excited": "high",
            "neutral": "low",
            "calm": "low",
            "sad": "low",
            "bored": "low",
        },
        description="high vs low arousal",
        order=("low", "high"),
    )
)


def get_label_set(name: str) -> LabelSet:
    """Look up a label set by name."""
    return LABEL_SETS.get(name)


def apply_label_set(df: pd.DataFrame, name: str | LabelSet | None) -> pd.DataFrame:
    """Keep the rows whose emotion the label set knows and add the ``label`` column.

    Args:
        df: a manifest.
        name: a label set name, a :class:`LabelSet`, or ``None`` (every labelled row, own label).

    Returns:
        A copy with column ``label`` (the class) and ``df.attrs["classes"]`` (fixed order).

    Raises:
        ConfigError: when ``by_gender`` is set and a row has no usable ``gender``.
    """
    out = df[df["emotion"].notna()].copy()
    if name is None:
        out["label"] = out["emotion"].astype(str)
        classes = [c for c in CANONICAL if c in set(out["label"])]
        classes += sorted(set(out["label"]) - set(classes))
        out.attrs = dict(df.attrs)
        out.attrs["classes"] = classes
        return out
    label_set = name if isinstance(name, LabelSet) else get_label_set(name)
    out = out[out["emotion"].isin(label_set.mapping.keys())].copy()
    out["label"] = out["emotion"].map(label_set.mapping).astype(str)
    if label_set.by_gender:
        gender = out["gender"] if "gender" in out.columns else pd.Series(pd.NA, index=out.index)
        bad = ~gender.isin(["female", "male"])
        if bad.any():
            raise ConfigError(
                f"label set {label_set.name!r} needs gender 'female' or 'male' on every row; "
                f"row {out.loc[bad.index[bad][0], 'id']} has {gender[bad].iloc[0]!r}"
            )
        out["label"] = gender.astype(str) + "_" + out["label"]
    out.attrs = dict(df.attrs)
    out.attrs["classes"] = [c for c in label_set.classes if c in set(out["label"])]
    return out


def list_label_sets() -> list[str]:
    """Registered label-set names."""
    return LABEL_SETS.names()
