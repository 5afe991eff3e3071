"""JTES recipe on a fake tree mirroring the jtes_v1.1 layout."""

from __future__ import annotations

import pytest

from serkit.corpora import get_recipe, jtes
from serkit.errors import CorpusError

from ._fake import make_tree, roundtrip, write_garbage, write_text

FILES = [
    "wav/f01/ang/f01_ang_01.wav",
    "wav/f01/joy/f01_joy_31.wav",
    "wav/m50/neu/m50_neu_41.flac",
    "wav/m50/sad/m50_sad_50.wav",
]


def _tree(root):
    make_tree(root, FILES)
    make_tree(root, ["wav/f01/ang/f01_sur_02.wav", "wav/m50/joy/m50_neu_03.wav"])
    write_text(root / "wav/f01/memo.txt", "x")
    return root


def test_jtes_fake_tree(tmp_path):
    df = jtes.prepare(_tree(tmp_path))
    roundtrip(df, tmp_path / "out")
    rows = df.set_index("id")
    assert sorted(rows.index) == [
        "jtes/f01_ang_01",
        "jtes/f01_joy_31",
        "jtes/m50_neu_41",
        "jtes/m50_sad_50",
    ]
    assert rows.loc["jtes/f01_ang_01", "speaker"] == "jtes/f01"
    assert rows.loc["jtes/m50_sad_50", "speaker"] == "jtes/m50"
    assert rows["emotion"].to_dict() == {
        "jtes/f01_ang_01": "angry",
        "jtes/f01_joy_31": "happy",
        "jtes/m50_neu_41": "neutral",
        "jtes/m50_sad_50": "sad",
    }
    assert rows.loc["jtes/f01_joy_31", "gender"] == "female"
    assert rows.loc["jtes/m50_neu_41", "gender"] == "male"
    assert rows.loc["jtes/f01_joy_31", "text_id"] == "joy_31"
    assert rows["sentence_split"].tolist() == ["train", "dev", "test", "test"]
    stray = " ".join(df.attrs["stray"])
    assert "f01_sur_02.wav" in stray  # unknown emotion code
    assert "m50_neu_03.wav" in stray  # emotion folder disagrees with the name
    assert "memo.txt" in stray
    assert get_recipe("jtes") is jtes


def test_jtes_corrupt_file(tmp_path):
    _tree(tmp_path)
    write_garbage(tmp_path / "wav/f01/sad/f01_sad_07.wav")
    with pytest.raises(CorpusError, match="f01_sad_07.wav"):
        jtes.prepare(tmp_path)
    df = jtes.prepare(tmp_path, skip_bad=True)
    assert len(df) == len(FILES)
    assert any("f01_sad_07.wav" in s for s in df.attrs["skipped"])
