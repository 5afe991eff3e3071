"""EmoDB recipe on a fake tree mirroring the Berlin release."""

from __future__ import annotations

import pytest

from serkit.corpora import emodb, get_recipe
from serkit.errors import CorpusError

from ._fake import make_tree, roundtrip, write_garbage, write_text

FILES = ["wav/03a01Fa.wav", "wav/08b10Wb.wav", "wav/16a07Lc.flac", "wav/11b03Na.wav"]


def _tree(root):
    make_tree(root, FILES)
    make_tree(root, ["wav/03a01Xa.wav", "wav/99a01Fa.wav"])  # unknown letter, unknown speaker
    write_text(root / "wav/notes.txt", "x")
    write_text(root / "silb/03a01Fa.silb", "ignored: outside wav/")
    return root


def test_emodb_fake_tree(tmp_path):
    df = emodb.prepare(_tree(tmp_path))
    roundtrip(df, tmp_path / "out")
    rows = df.set_index("id")
    assert sorted(rows.index) == [
        "emodb/03a01Fa",
        "emodb/08b10Wb",
        "emodb/11b03Na",
        "emodb/16a07Lc",
    ]
    assert rows.loc["emodb/03a01Fa", "path"] == "wav/03a01Fa.wav"
    assert rows.loc["emodb/03a01Fa", "speaker"] == "emodb/03"
    assert rows["emotion"].to_dict() == {
        "emodb/03a01Fa": "happy",
        "emodb/08b10Wb": "angry",
        "emodb/11b03Na": "neutral",
        "emodb/16a07Lc": "bored",
    }
    assert rows.loc["emodb/08b10Wb", "raw_emotion"] == "W"
    assert rows.loc["emodb/03a01Fa", "gender"] == "male"
    assert rows.loc["emodb/08b10Wb", "gender"] == "female"
    assert rows.loc["emodb/08b10Wb", "text_id"] == "b10"
    assert rows.loc["emodb/03a01Fa", "text"] == "Der Lappen liegt auf dem Eisschrank."
    assert rows.loc["emodb/16a07Lc", "repetition"] == "c"
    stray = " ".join(df.attrs["stray"])
    assert "03a01Xa.wav" in stray and "99a01Fa.wav" in stray and "notes.txt" in stray
    assert "silb" not in stray
    assert get_recipe("emo-db") is emodb


def test_emodb_flat_root(tmp_path):
    make_tree(tmp_path, ["03a01Fa.wav"])
    assert emodb.prepare(tmp_path)["path"].tolist() == ["03a01Fa.wav"]


def test_emodb_corrupt_file(tmp_path):
    _tree(tmp_path)
    write_garbage(tmp_path / "wav/09a02Ta.wav")
    with pytest.raises(CorpusError, match="09a02Ta.wav"):
        emodb.prepare(tmp_path)
    df = emodb.prepare(tmp_path, skip_bad=True)
    assert "emodb/09a02Ta" not in set(df["id"])
    assert any("09a02Ta.wav" in s for s in df.attrs["skipped"])
