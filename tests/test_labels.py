"""Label sets: selection, merging, gender x emotion classes and their errors."""

from __future__ import annotations

import pandas as pd
import pytest

from serkit.corpora import apply_label_set, get_label_set
from serkit.corpora.labels import CANONICAL, LABEL_SETS, list_label_sets
from serkit.errors import ConfigError


def _manifest(emotions, genders=None):
    df = pd.DataFrame(
        {
            "id": [f"c/{i}" for i in range(len(emotions))],
            "emotion": pd.Series(emotions, dtype="string"),
        }
    )
    if genders is not None:
        df["gender"] = pd.Series(genders, dtype="string")
    df.attrs["root"] = "/data/c"
    return df


def test_four_class_keeps_only_its_emotions():
    df = _manifest(["neutral", "happy", "excited", "sad", "angry", "calm", None, "fearful"])
    out = apply_label_set(df, "four_class")
    assert list(out["id"]) == ["c/0", "c/1", "c/3", "c/4"]
    assert list(out["label"]) == ["neutral", "happy", "sad", "angry"]
    assert out.attrs["classes"] == ["neutral", "happy", "sad", "angry"]
    assert out.attrs["root"] == "/data/c"
    assert len(df) == 8  # input untouched


def test_iemocap4_merges_excited_into_happy():
    df = _manifest(["excited", "happy", "sad", "frustrated", "angry", "neutral"])
    out = apply_label_set(df, "iemocap4")
    assert list(out["label"]) == ["happy", "happy", "sad", "angry", "neutral"]
    assert out.attrs["classes"] == ["neutral", "happy", "sad", "angry"]
    filtered = apply_label_set(df, "iemocap4_filtered")
    assert "c/0" not in set(filtered["id"])


def test_ravdess_gender14_crosses_gender_and_emotion():
    emotions = ["calm", "happy", "sad", "angry", "fearful", "disgust", "surprised", "neutral"]
    df = _manifest(emotions * 2, ["female"] * 8 + ["male"] * 8)
    out = apply_label_set(df, "ravdess_gender14")
    assert len(out) == 14  # neutral dropped
    assert out.attrs["classes"] == [f"{g}_{e}" for g in ("female", "male") for e in emotions[:7]]
    assert len(get_label_set("ravdess_gender14").classes) == 14
    assert out.loc[out["id"] == "c/9", "label"].item() == "male_happy"


def test_by_gender_needs_gender():
    with pytest.raises(ConfigError, match="gender"):
        apply_label_set(_manifest(["sad", "angry"]), "ravdess_gender14")
    with pytest.raises(ConfigError, match="c/1"):
        apply_label_set(_manifest(["sad", "angry"], ["female", None]), "ravdess_gender14")


def test_none_keeps_every_labelled_row_in_canonical_order():
    out = apply_label_set(_manifest(["sad", None, "angry", "neutral"]), None)
    assert list(out["label"]) == ["sad", "angry", "neutral"]
    assert out.attrs["classes"] == ["neutral", "sad", "angry"]


@pytest.mark.parametrize("name", list_label_sets())
def test_every_label_set_maps_canonical_emotions(name):
    label_set = LABEL_SETS.get(name)
    assert set(label_set.mapping) <= set(CANONICAL)
    assert label_set.classes and len(set(label_set.classes)) == len(label_set.classes)
