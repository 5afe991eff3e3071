"""URDU recipe on a fake tree mirroring the real layout."""

from __future__ import annotations

import pytest

from serkit.corpora import get_recipe, urdu
from serkit.errors import CorpusError

from ._fake import make_tree, write_garbage, write_text

FILES = [
    "Angry/SM1_F10_A010.flac",
    "Angry/SM4_F2_A02.wav",
    "Happy/SF1_F1_H01.flac",
    "Neutral/SM20_F10_N014.flac",
    "Sad/SF10_F1_S01.wav",
]


def _tree(root):
    make_tree(root, FILES)
    make_tree(root, ["Sad/SF2_F1_H03.wav", "Happy/recording 1.wav"])  # folder clash, bad name
    write_text(root / "README.md", "corpus notes")
    write_text(root / "Angry/notes.txt", "stray")
    return root


def test_urdu_fake_tree(tmp_path):
    df = urdu.prepare(_tree(tmp_path))
    rows = df.set_index("id")
    assert sorted(rows.index) == sorted(f"urdu/{p.split('/')[1].split('.')[0]}" for p in FILES)
    assert rows.loc["urdu/SM1_F10_A010", "speaker"] == "urdu/SM1"
    assert rows.loc["urdu/SM20_F10_N014", "speaker"] == "urdu/SM20"
    assert rows.loc["urdu/SF1_F1_H01", "gender"] == "female"
    assert rows.loc["urdu/SM4_F2_A02", "gender"] == "male"
    assert rows.loc["urdu/SM1_F10_A010", "emotion"] == "angry"
    assert rows.loc["urdu/SF1_F1_H01", "emotion"] == "happy"
    assert rows.loc["urdu/SM20_F10_N014", "emotion"] == "neutral"
    assert rows.loc["urdu/SF10_F1_S01", "emotion"] == "sad"
    assert rows.loc["urdu/SF10_F1_S01", "raw_emotion"] == "S"
    assert rows.loc["urdu/SF10_F1_S01", "path"] == "Sad/SF10_F1_S01.wav"
    assert (rows["language"] == "ur").all()
    assert rows["duration"].round(3).eq(0.2).all()
    stray = "\n".join(df.attrs["stray"])
    assert "SF2_F1_H03.wav: file name says happy but folder 'Sad' says sad" in stray
    assert "recording 1.wav" in stray
    assert "Angry/notes.txt" in stray
    assert "README.md" not in stray
    assert get_recipe("urdu") is urdu


def test_urdu_corrupt_file(tmp_path):
    make_tree(tmp_path, FILES[:2])
    write_garbage(tmp_path / "Happy/SF1_F1_H01.wav")
    with pytest.raises(CorpusError, match="SF1_F1_H01"):
        urdu.prepare(tmp_path)
    df = urdu.prepare(tmp_path, skip_bad=True)
    assert len(df) == 2
    assert any("SF1_F1_H01" in s for s in df.attrs["skipped"])


def test_urdu_parse_name():
    assert urdu.parse_name("sf12_f3_h05")["speaker"] == "SF12"
    with pytest.raises(ValueError):
        urdu.parse_name("SX1_F1_A01")
