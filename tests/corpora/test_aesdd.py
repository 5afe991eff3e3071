"""AESDD recipe on a fake tree mirroring the release naming and its known quirks."""

from __future__ import annotations

import pytest

from serkit.corpora import aesdd, get_recipe

from ._fake import make_tree, write_text

FILES = [
    "anger/a01 (1).wav",
    "disgust/d04 (5)b.wav",
    "disgust/d04 (5).wav",
    "fear/f12 (01).wav",
    "happiness/h20 (3).flac",
    "sadness/s01 (5)a.wav",
]


def test_aesdd_fake_tree(tmp_path):
    make_tree(tmp_path, FILES)
    make_tree(tmp_path, ["sadness/h05 (2).wav", "fear/fear_take.wav", "fear/f12 (1).wav"])
    write_text(tmp_path / "readme.txt", "about")
    write_text(tmp_path / "fear/list.csv", "stray")
    df = aesdd.prepare(tmp_path)
    rows = df.set_index("id")
    assert sorted(rows.index) == sorted(
        ["aesdd/a01_1", "aesdd/d04_5b", "aesdd/d04_5", "aesdd/f12_1", "aesdd/h20_3", "aesdd/s01_5a"]
    )
    assert rows.loc["aesdd/f12_1", "speaker"] == "aesdd/1"  # "(01)" is actor 1
    assert rows.loc["aesdd/f12_1", "path"] == "fear/f12 (01).wav"
    assert rows.loc["aesdd/d04_5b", "speaker"] == "aesdd/5"
    assert rows.loc["aesdd/d04_5b", "repetition"] == "b"
    assert rows.loc["aesdd/d04_5", "repetition"] == "a"
    assert rows.loc["aesdd/h20_3", "text_id"] == "20"
    expected = {"a01_1": "angry", "d04_5": "disgust", "f12_1": "fearful", "h20_3": "happy"}
    for local, emotion in expected.items():
        assert rows.loc[f"aesdd/{local}", "emotion"] == emotion
    assert rows.loc["aesdd/s01_5a", "emotion"] == "sad"
    assert rows.loc["aesdd/s01_5a", "raw_emotion"] == "s"
    assert "gender" not in df.columns
    stray = "\n".join(df.attrs["stray"])
    assert "sadness/h05 (2).wav: file name says happy but folder 'sadness' says sad" in stray
    assert "fear/fear_take.wav" in stray
    assert "same utterance id 'f12_1'" in stray  # "(01)" and "(1)" are the same take
    assert "fear/list.csv" in stray
    assert "readme.txt" not in stray
    assert get_recipe("aesdd") is aesdd


def test_aesdd_parse_name():
    assert aesdd.parse_name("A3(2) ")["local_id"] == "a03_2"
    with pytest.raises(ValueError):
        aesdd.parse_name("x01 (1)")
