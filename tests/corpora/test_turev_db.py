"""TurEV-DB recipe on a fake tree mirroring the real layout (incl. the ogul1 quirk)."""

from __future__ import annotations

import pytest

from serkit.corpora import get_recipe, turev_db

from ._fake import make_tree, write_text

FILES = [
    "Angry/1157_kz_acik.flac",
    "Calm/1984_sk_ordek.flac",
    "Happy/7895_mt_ogul.wav",
    "Sad/7895_hl_ogul1.flac",
    "Sad/1234_hl_pamuk.flac",
]


def test_turev_db_fake_tree(tmp_path):
    make_tree(tmp_path, FILES)
    make_tree(tmp_path, ["Calm/1234_xx_pamuk.flac", "Happy/1234_kz_pamuk.flac"])
    write_text(tmp_path / "Sad/list.txt", "stray")
    df = turev_db.prepare(tmp_path)
    rows = df.set_index("id")
    assert sorted(rows.index) == sorted(f"turev-db/{p.split('/')[1].split('.')[0]}" for p in FILES)
    assert rows.loc["turev-db/1984_sk_ordek", "speaker"] == "turev-db/1984"
    assert rows.loc["turev-db/1157_kz_acik", "emotion"] == "angry"
    assert rows.loc["turev-db/1984_sk_ordek", "emotion"] == "calm"
    assert rows.loc["turev-db/7895_mt_ogul", "emotion"] == "happy"
    assert rows.loc["turev-db/7895_hl_ogul1", "emotion"] == "sad"
    assert rows.loc["turev-db/7895_hl_ogul1", "raw_emotion"] == "hl"
    assert rows.loc["turev-db/7895_hl_ogul1", "text"] == "ogul"
    assert rows.loc["turev-db/7895_hl_ogul1", "repetition"] == "1"
    assert rows.loc["turev-db/1984_sk_ordek", "text"] == "ordek"
    assert (rows["language"] == "tr").all()
    assert "gender" not in df.columns
    stray = "\n".join(df.attrs["stray"])
    assert "1234_xx_pamuk.flac: unknown emotion code 'xx'" in stray
    assert "Happy/1234_kz_pamuk.flac: file name says angry but folder 'Happy' says happy" in stray
    assert "Sad/list.txt" in stray
    assert get_recipe("turev_db") is turev_db
    assert get_recipe("turev-db") is turev_db


def test_turev_db_parse_name():
    assert turev_db.parse_name("1358_MT_Cay")["emotion"] == "happy"
    with pytest.raises(ValueError):
        turev_db.parse_name("1358-mt-cay")
