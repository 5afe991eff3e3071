"""Recipes on the real corpora in ../shared/data match their README exactly (skip if absent)."""

from __future__ import annotations

import pytest

from conftest import shared_corpus
from serkit.corpora import prepare

pytestmark = pytest.mark.realdata

EXPECTED = {
    "ravdess": {
        "folder": "ravdess",
        "files": 1440,
        "speakers": 24,
        "hours": 1.48,
        "emotions": {
            "neutral": 96,
            **{
                e: 192 for e in ("calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")
            },
        },
    },
    "urdu": {
        "folder": "urdu",
        "files": 400,
        "speakers": 29,
        "hours": 0.28,
        "emotions": {"angry": 100, "happy": 100, "neutral": 100, "sad": 100},
    },
    "turev-db": {
        "folder": "turev_db",
        "files": 1735,
        "speakers": 6,
        "hours": 0.46,
        "emotions": {"angry": 487, "calm": 408, "happy": 357, "sad": 483},
    },
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_corpus_matches_readme(name):
    facts = EXPECTED[name]
    df = prepare(name, shared_corpus(facts["folder"]))
    assert len(df) == facts["files"]
    assert df["speaker"].nunique() == facts["speakers"]
    assert df["emotion"].value_counts().to_dict() == facts["emotions"]
    assert round(df["duration"].sum() / 3600, 2) == facts["hours"]
    assert df.attrs["stray"] == [] and df.attrs["skipped"] == []
    assert df["path"].str.endswith(".flac").all()


def test_real_urdu_speakers_and_gender():
    df = prepare("urdu", shared_corpus("urdu"))
    genders = df.groupby("speaker")["gender"].first()
    assert all((g == "male") == s.split("/")[1].startswith("SM") for s, g in genders.items())
    angry = set(df.loc[df["emotion"] == "angry", "speaker"])
    assert angry == {"urdu/SM1", "urdu/SM2", "urdu/SM3", "urdu/SM4"}  # README: confounded


def test_real_turev_db_quirks():
    df = prepare("turev-db", shared_corpus("turev_db"))
    per_speaker = df.groupby("speaker")["emotion"].agg(set)
    assert set(per_speaker["turev-db/1157"]) == {"angry", "sad"}
    happy_7895 = df[(df["speaker"] == "turev-db/7895") & (df["emotion"] == "happy")]
    assert len(happy_7895) == 29
    assert df.set_index("id").loc["turev-db/7895_hl_ogul1", "text"] == "ogul"
