"""EMOVO recipe on a fake tree mirroring the release layout."""

from __future__ import annotations

from serkit.corpora import emovo, get_recipe

from ._fake import make_tree, write_text

FILES = [
    "f1/dis-f1-b1.wav",
    "f1/gio-f1-l4.wav",
    "f3/neu-f3-n5.flac",
    "m1/pau-m1-d2.wav",
    "m2/rab-m2-b3.wav",
    "m3/sor-m3-l1.wav",
    "m3/tri-m3-n1.wav",
]


def test_emovo_fake_tree(tmp_path):
    make_tree(tmp_path, FILES)
    make_tree(tmp_path, ["m3/xyz-m3-n1.wav", "m3/tri_m3_n2.wav"])
    write_text(tmp_path / "documents/emovo.pdf", "stray")
    df = emovo.prepare(tmp_path)
    rows = df.set_index("id")
    assert sorted(rows.index) == sorted(f"emovo/{p.split('/')[1].split('.')[0]}" for p in FILES)
    assert rows.loc["emovo/dis-f1-b1", "speaker"] == "emovo/f1"
    assert rows.loc["emovo/rab-m2-b3", "speaker"] == "emovo/m2"
    assert rows.loc["emovo/neu-f3-n5", "gender"] == "female"
    assert rows.loc["emovo/pau-m1-d2", "gender"] == "male"
    expected = {
        "dis": "disgust",
        "gio": "happy",
        "neu": "neutral",
        "pau": "fearful",
        "rab": "angry",
        "sor": "surprised",
        "tri": "sad",
    }
    for row_id, row in rows.iterrows():
        code = row_id.split("/")[1].split("-")[0]
        assert row["raw_emotion"] == code
        assert row["emotion"] == expected[code]
    assert rows.loc["emovo/gio-f1-l4", "text_id"] == "l4"
    assert (rows["language"] == "it").all()
    stray = "\n".join(df.attrs["stray"])
    assert "xyz-m3-n1.wav: unknown emotion code 'xyz'" in stray
    assert "tri_m3_n2.wav" in stray
    assert "documents/emovo.pdf" in stray
    assert get_recipe("emovo") is emovo
