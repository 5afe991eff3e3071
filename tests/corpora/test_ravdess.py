"""RAVDESS recipe on a fake tree (speech + song + stray + video + corrupt) and parse_name."""

from __future__ import annotations

import pytest

from serkit.corpora import get_recipe, ravdess
from serkit.errors import CorpusError

from ._fake import make_tree, write_garbage, write_text

SPEECH = [
    "Actor_01/03-01-01-01-01-01-01.wav",
    "Actor_01/03-01-05-02-02-01-01.wav",
    "Actor_02/03-01-08-01-01-02-02.flac",
]
SONG = ["Actor_02/03-02-06-02-01-01-02.wav"]


def _tree(root):
    make_tree(root, SPEECH + SONG)
    make_tree(root, ["Actor_01/01-01-03-01-01-01-01.wav"])  # audio-video modality
    make_tree(root, ["Actor_01/03-01-09-01-01-01-01.wav", "Actor_02/take2.wav"])  # bad names
    write_text(root / "Actor_01/notes.md", "stray")
    write_text(root / "readme.txt", "known text file")
    return root


def test_ravdess_fake_tree(tmp_path):
    df = ravdess.prepare(_tree(tmp_path))
    rows = df.set_index("id")
    assert sorted(rows.index) == sorted(f"ravdess/{p[9:].split('.')[0]}" for p in SPEECH + SONG)
    row = rows.loc["ravdess/03-01-05-02-02-01-01"]
    assert row["speaker"] == "ravdess/Actor_01"
    assert row["gender"] == "male"
    assert row["emotion"] == "angry"
    assert row["raw_emotion"] == "05"
    assert row["intensity"] == "strong"
    assert row["text"] == "Dogs are sitting by the door"
    assert row["mode"] == "speech"
    song = rows.loc["ravdess/03-02-06-02-01-01-02"]
    assert song["mode"] == "song" and song["emotion"] == "fearful"
    assert song["gender"] == "female" and song["speaker"] == "ravdess/Actor_02"
    assert rows.loc["ravdess/03-01-08-01-01-02-02", "emotion"] == "surprised"
    assert rows.loc["ravdess/03-01-08-01-01-02-02", "path"] == "Actor_02/03-01-08-01-01-02-02.flac"
    assert rows["duration"].round(3).eq(0.2).all()
    stray = "\n".join(df.attrs["stray"])
    assert "01-01-03-01-01-01-01.wav: modality audio-video skipped" in stray
    assert "03-01-09-01-01-01-01.wav: unknown emotion code '09'" in stray
    assert "take2.wav" in stray
    assert "notes.md" in stray
    assert "readme.txt" not in stray
    speech_only = ravdess.prepare(tmp_path, channels=("speech",))
    assert set(speech_only["mode"]) == {"speech"} and len(speech_only) == len(SPEECH)
    assert get_recipe("ravdess") is ravdess


def test_ravdess_corrupt_file(tmp_path):
    make_tree(tmp_path, SPEECH)
    write_garbage(tmp_path / "Actor_03/03-01-02-01-01-01-03.wav")
    with pytest.raises(CorpusError, match="03-01-02-01-01-01-03"):
        ravdess.prepare(tmp_path)
    df = ravdess.prepare(tmp_path, skip_bad=True)
    assert len(df) == len(SPEECH)
    assert len(df.attrs["skipped"]) == 1 and "03-01-02-01-01-01-03" in df.attrs["skipped"][0]


def test_ravdess_parse_name():
    fields = ravdess.parse_name("03-01-02-02-01-02-24")
    assert fields["emotion"] == "calm"
    assert fields["intensity"] == "strong"
    assert fields["repetition"] == "02"
    assert fields["actor"] == "24" and fields["gender"] == "female"
    assert fields["text"] == "Kids are talking by the door"
    assert ravdess.parse_name("03-02-01-01-02-01-13")["gender"] == "male"
    for bad in (
        "03-01-05-02-02-01",
        "04-01-05-02-02-01-01",
        "03-03-05-02-02-01-01",
        "03-01-05-03-02-01-01",
        "03-01-05-02-03-01-01",
        "03-01-05-02-02-03-01",
        "03-01-05-02-02-01-00",
        "3-1-5-2-2-1-1",
    ):
        with pytest.raises(ValueError):
            ravdess.parse_name(bad)
