"""SAVEE recipe on a fake tree mirroring the release layout (and the flattened copy)."""

from __future__ import annotations

import pytest

from serkit.corpora import get_recipe, savee

from ._fake import make_tree, write_text

FILES = [
    "AudioData/DC/a01.wav",
    "AudioData/DC/sa03.wav",
    "AudioData/JE/su15.flac",
    "AudioData/JK/n30.wav",
    "AudioData/KL/d02.wav",
    "AudioData/KL/f07.wav",
    "AudioData/KL/h11.wav",
    "ALL/JE_sa01.wav",
]


def test_savee_fake_tree(tmp_path):
    make_tree(tmp_path, FILES)
    make_tree(tmp_path, ["AudioData/XY/a01.wav", "AudioData/DC/x01.wav", "ALL/DC_a01.wav"])
    write_text(tmp_path / "AudioData/Info.txt", "speaker info")
    write_text(tmp_path / "AudioData/DC/notes.doc", "stray")
    df = savee.prepare(tmp_path)
    rows = df.set_index("id")
    assert sorted(rows.index) == sorted(
        [
            "savee/DC_a01",
            "savee/DC_sa03",
            "savee/JE_su15",
            "savee/JK_n30",
            "savee/KL_d02",
            "savee/KL_f07",
            "savee/KL_h11",
            "savee/JE_sa01",
        ]
    )
    assert rows.loc["savee/DC_sa03", "speaker"] == "savee/DC"
    assert rows.loc["savee/JE_sa01", "speaker"] == "savee/JE"
    expected = {
        "savee/DC_a01": "angry",
        "savee/DC_sa03": "sad",
        "savee/JE_su15": "surprised",
        "savee/JK_n30": "neutral",
        "savee/KL_d02": "disgust",
        "savee/KL_f07": "fearful",
        "savee/KL_h11": "happy",
    }
    for row_id, emotion in expected.items():
        assert rows.loc[row_id, "emotion"] == emotion
    assert rows.loc["savee/JE_su15", "raw_emotion"] == "su"
    assert (rows["gender"] == "male").all()
    stray = "\n".join(df.attrs["stray"])
    assert "AudioData/XY/a01.wav: no speaker" in stray
    assert "AudioData/DC/x01.wav" in stray
    assert "same utterance id 'DC_a01'" in stray  # the flat copy of AudioData/DC/a01
    assert len(df) == len(FILES)
    assert "notes.doc" in stray
    assert "Info.txt" not in stray
    assert get_recipe("savee") is savee


def test_savee_parse_name():
    assert savee.parse_name("SU01", "jk")["local_id"] == "JK_su01"
    with pytest.raises(ValueError, match="no speaker"):
        savee.parse_name("a01", "AudioData")
