"""ESD recipe on a fake tree mirroring the release layout."""

from __future__ import annotations

import pytest

from serkit.corpora import esd, get_recipe
from serkit.errors import CorpusError

from ._fake import make_tree, roundtrip, write_garbage, write_text

FILES = [
    "0001/Neutral/evaluation/0001_000001.wav",
    "0001/Angry/test/0001_000371.wav",
    "0001/Surprise/train/0001_001750.wav",
    "0011/Happy/train/0011_000751.wav",
    "0011/Sad/evaluation/0011_001051.flac",
]


def _tree(root):
    make_tree(root, FILES)
    write_text(root / "0011/0011.txt", "0011_000751\tI am glad.\tHappy\n0011_001051\tOh no.\tSad\n")
    write_text(
        root / "0001/0001.txt",
        "0001_000001\t打远一看\t中立\n0001_000371\t他来了\t生气\n",
        encoding="gb18030",
    )
    write_text(root / "0011/notes.md", "stray")
    make_tree(root, ["0011/Happy/0011_happy.wav"])  # bad name
    return root


def test_esd_fake_tree(tmp_path):
    df = esd.prepare(_tree(tmp_path))
    roundtrip(df, tmp_path / "out")
    rows = df.set_index("id")
    assert set(rows.index) == {f"esd/{p.split('/')[-1].split('.')[0]}" for p in FILES}
    assert rows.loc["esd/0001_000001", "speaker"] == "esd/0001"
    assert rows.loc["esd/0001_000001", "emotion"] == "neutral"
    assert rows.loc["esd/0001_000371", "emotion"] == "angry"
    assert rows.loc["esd/0001_001750", "emotion"] == "surprised"
    assert rows.loc["esd/0011_001051", "raw_emotion"] == "Sad"
    assert rows.loc["esd/0001_000001", "language"] == "zh"
    assert rows.loc["esd/0011_000751", "language"] == "en"
    assert rows.loc["esd/0001_000001", "gender"] == "female"
    assert rows.loc["esd/0011_000751", "gender"] == "male"
    assert rows.loc["esd/0001_000001", "split"] == "dev"
    assert rows.loc["esd/0001_000371", "split"] == "test"
    assert rows.loc["esd/0011_000751", "split"] == "train"
    assert rows.loc["esd/0011_000751", "text"] == "I am glad."
    assert rows.loc["esd/0001_000001", "text"] == "打远一看"
    assert rows.loc["esd/0001_000371", "text_id"] == "zh021"
    assert rows.loc["esd/0011_001051", "text_id"] == "en001"
    assert rows["duration"].round(3).eq(0.2).all()
    assert any("notes.md" in s for s in df.attrs["stray"])
    assert any("0011_happy.wav" in s for s in df.attrs["stray"])
    assert not any("0011.txt" in s for s in df.attrs["stray"])
    assert df.attrs["warnings"] == []
    assert get_recipe("esd") is esd


def test_esd_split_derived_without_subfolders(tmp_path):
    make_tree(
        tmp_path,
        [
            "0015/Angry/0015_000360.wav",
            "0015/Angry/0015_000420.wav",
            "0015/Angry/0015_000380.wav",
            "0015/Angry/0015_000360.flac",  # duplicate id: reported, not a crash
        ],
    )
    df = esd.prepare(tmp_path).set_index("id")
    assert df.loc["esd/0015_000360", "split"] == "dev"
    assert df.loc["esd/0015_000380", "split"] == "test"
    assert df.loc["esd/0015_000420", "split"] == "train"
    assert df.loc["esd/0015_000360", "gender"] == "female"
    assert df.loc["esd/0015_000360", "path"] == "0015/Angry/0015_000360.flac"
    assert any("duplicate" in s and "0015_000360.wav" in s for s in df.attrs["stray"])


def test_esd_mismatch_warns(tmp_path):
    make_tree(tmp_path, ["0012/Happy/test/0012_000005.wav"])
    df = esd.prepare(tmp_path)
    assert df["emotion"].tolist() == ["happy"]
    assert len(df.attrs["warnings"]) == 2  # number block and split folder both disagree


def test_esd_corrupt_file(tmp_path):
    _tree(tmp_path)
    bad = write_garbage(tmp_path / "0011/Happy/train/0011_000752.wav")
    with pytest.raises(CorpusError, match="0011_000752.wav"):
        esd.prepare(tmp_path)
    df = esd.prepare(tmp_path, skip_bad=True)
    assert "esd/0011_000752" not in set(df["id"])
    assert any(str(bad.name) in s for s in df.attrs["skipped"])
    assert len(df) == len(FILES)
