"""VCTK recipe on fake 0.92 and 0.80 trees."""

from __future__ import annotations

import pandas as pd
import pytest

from serkit.corpora import get_recipe, vctk
from serkit.errors import CorpusError

from ._fake import make_tree, roundtrip, write_garbage, write_text

INFO_092 = (
    "ID  AGE  GENDER  ACCENTS  REGION COMMENTS \n"
    "p225  23  F    English    Southern  England\n"
    "p226  22  M    English    Surrey\n"
    "p280  25  F    France     (mic2 files unavailable)\n"
)
FILES_092 = [
    "wav48_silence_trimmed/p225/p225_001_mic1.flac",
    "wav48_silence_trimmed/p225/p225_001_mic2.flac",
    "wav48_silence_trimmed/p225/p225_002_mic1.flac",
    "wav48_silence_trimmed/p226/p226_001_mic1.flac",
    "wav48_silence_trimmed/p280/p280_003_mic1.flac",
]


def _tree_092(root):
    make_tree(root, FILES_092)
    write_text(root / "txt/p225/p225_001.txt", "Please call Stella.\n")
    write_text(root / "txt/p226/p226_001.txt", "Please call Stella.\n")
    write_text(root / "speaker-info.txt", INFO_092)
    write_text(root / "README.txt", "readme")
    make_tree(root, ["wav48_silence_trimmed/p225/p225_x_mic1.flac"])
    write_text(root / "wav48_silence_trimmed/p225/log.txt", "x")
    return root


def test_vctk_092(tmp_path):
    df = vctk.prepare(_tree_092(tmp_path))
    roundtrip(df, tmp_path / "out")
    rows = df.set_index("id")
    assert sorted(rows.index) == [
        "vctk/p225_001_mic1",
        "vctk/p225_002_mic1",
        "vctk/p226_001_mic1",
        "vctk/p280_003_mic1",
    ]
    assert rows.loc["vctk/p225_001_mic1", "speaker"] == "vctk/p225"
    assert (rows["emotion"] == "neutral").all() and (rows["raw_emotion"] == "neutral").all()
    assert rows.loc["vctk/p225_001_mic1", "text"] == "Please call Stella."
    assert rows["text"].isna().tolist() == [False, True, False, True]
    assert rows.loc["vctk/p225_001_mic1", "gender"] == "female"
    assert rows.loc["vctk/p226_001_mic1", "gender"] == "male"
    assert rows.loc["vctk/p226_001_mic1", "age"] == 22
    assert rows.loc["vctk/p225_001_mic1", "accent"] == "English"
    assert rows.loc["vctk/p225_001_mic1", "region"] == "Southern England"
    assert pd.isna(rows.loc["vctk/p280_003_mic1", "region"])
    assert rows.loc["vctk/p280_003_mic1", "accent"] == "France"
    stray = " ".join(df.attrs["stray"])
    assert "p225_x_mic1.flac" in stray and "log.txt" in stray
    assert "README" not in stray and "txt/p225" not in stray
    both = vctk.prepare(tmp_path, mic=("mic1", "mic2"))
    assert "vctk/p225_001_mic2" in set(both["id"]) and len(both) == 5
    assert get_recipe("vctk") is vctk


def test_vctk_080(tmp_path):
    make_tree(tmp_path, ["wav48/p225/p225_001.wav", "wav48/p226/p226_009.wav"])
    write_text(tmp_path / "txt/p225/p225_001.txt", "Please call Stella.")
    write_text(
        tmp_path / "speaker-info.txt",
        "ID  AGE  GENDER  ACCENTS  REGION\n225  23  F  English  Southern  England\n",
    )
    df = vctk.prepare(tmp_path).set_index("id")
    assert list(df.index) == ["vctk/p225_001", "vctk/p226_009"]
    assert df.loc["vctk/p225_001", "gender"] == "female"
    assert df["gender"].isna().tolist() == [False, True]


def test_vctk_bad_speaker_info(tmp_path):
    make_tree(tmp_path, ["wav48/p225/p225_001.wav"])
    write_text(tmp_path / "speaker-info.txt", "SPEAKER SEX\n")
    with pytest.raises(CorpusError, match="speaker-info.txt"):
        vctk.prepare(tmp_path)


def test_vctk_corrupt_file(tmp_path):
    _tree_092(tmp_path)
    write_garbage(tmp_path / "wav48_silence_trimmed/p226/p226_002_mic1.wav")
    with pytest.raises(CorpusError, match="p226_002_mic1.wav"):
        vctk.prepare(tmp_path)
    df = vctk.prepare(tmp_path, skip_bad=True)
    assert len(df) == 4
    assert any("p226_002_mic1.wav" in s for s in df.attrs["skipped"])
