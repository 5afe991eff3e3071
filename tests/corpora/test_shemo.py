"""ShEMO recipe on a fake tree mirroring the release layout."""

from __future__ import annotations

from serkit.corpora import get_recipe, shemo

from ._fake import make_tree, write_text

FILES = [
    "female/F01A01.wav",
    "female/F01F02.wav",
    "female/F12H03.flac",
    "male/M01N01.wav",
    "male/M05S10.wav",
    "male/M05W02.wav",
]


def test_shemo_fake_tree(tmp_path):
    make_tree(tmp_path, FILES)
    make_tree(tmp_path, ["male/M05X02.wav", "male/M5A01.wav"])
    write_text(tmp_path / "shemo.json", "{}")
    write_text(tmp_path / "female/Thumbs.db", "stray")
    df = shemo.prepare(tmp_path)
    rows = df.set_index("id")
    assert sorted(rows.index) == sorted(f"shemo/{p.split('/')[1].split('.')[0]}" for p in FILES)
    assert rows.loc["shemo/F01A01", "speaker"] == "shemo/F01"
    assert rows.loc["shemo/M01N01", "speaker"] == "shemo/M01"  # not the same person as F01
    assert rows.loc["shemo/F01A01", "gender"] == "female"
    assert rows.loc["shemo/M05S10", "gender"] == "male"
    expected = {
        "shemo/F01A01": "angry",
        "shemo/F01F02": "fearful",
        "shemo/F12H03": "happy",
        "shemo/M01N01": "neutral",
        "shemo/M05S10": "sad",
        "shemo/M05W02": "surprised",
    }
    for row_id, emotion in expected.items():
        assert rows.loc[row_id, "emotion"] == emotion
    assert rows.loc["shemo/F01F02", "raw_emotion"] == "F"
    assert (rows["language"] == "fa").all()
    stray = "\n".join(df.attrs["stray"])
    assert "M05X02.wav" in stray and "M5A01.wav" in stray
    assert "Thumbs.db" in stray
    assert "shemo.json" not in stray
    assert get_recipe("shemo") is shemo
