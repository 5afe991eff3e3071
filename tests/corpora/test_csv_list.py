"""The generic CSV/TSV list recipe on small fake trees."""

from __future__ import annotations

import pandas as pd
import pytest

from serkit.corpora import csv_list, get_recipe
from serkit.errors import CorpusError

from ._fake import make_tree, write_text


def test_csv_list_default(tmp_path):
    make_tree(tmp_path, ["audio/a.wav", "audio/b.flac", "audio/long.wav"], seconds=0.2)
    make_tree(tmp_path, ["audio/long2.wav"], seconds=1.0)
    write_text(
        tmp_path / "list.csv",
        "path,label,speaker,gender,split,text,start,end,notes\n"
        "audio/a.wav,Anger,s1,female,train,hello,,,x\n"
        f"{tmp_path}/audio/b.flac,sadness,s2,male,test,,,,\n"
        "audio/long2.wav,neutral,s1,female,train,,0.1,0.5,\n"
        "audio/long2.wav,neutral,s1,female,train,,0.5,0.9,\n"
        "audio/long.wav,,s3,,,,,,\n"
        "audio/a.wav,weird,s1,,,,,,\n",
    )
    df = csv_list.prepare(tmp_path)
    rows = df.set_index("id")
    assert list(rows.index) == [
        "csv/audio/a",
        "csv/audio/b",
        "csv/audio/long2_00000100_00000500",
        "csv/audio/long2_00000500_00000900",
        "csv/audio/long",
    ]
    assert rows.loc["csv/audio/a", "speaker"] == "csv/s1"
    assert rows.loc["csv/audio/a", "emotion"] == "angry"
    assert rows.loc["csv/audio/a", "raw_emotion"] == "Anger"
    assert rows.loc["csv/audio/b", "emotion"] == "sad"
    assert rows.loc["csv/audio/b", "path"] == "audio/b.flac"  # absolute under root -> relative
    assert rows.loc["csv/audio/a", "gender"] == "female"
    assert rows.loc["csv/audio/b", "split"] == "test"
    assert rows.loc["csv/audio/a", "text"] == "hello"
    assert rows.loc["csv/audio/long2_00000100_00000500", "duration"] == pytest.approx(0.4)
    assert rows.loc["csv/audio/a", "duration"] == pytest.approx(0.2, abs=1e-3)
    assert pd.isna(rows.loc["csv/audio/long", "emotion"])
    assert df.attrs["ignored_columns"] == ["notes"]
    assert any("same utterance id 'audio/a'" in s for s in df.attrs["stray"])
    assert get_recipe("tsv") is csv_list and get_recipe("csv-list") is csv_list


def test_tsv_in_subfolder_with_ids(tmp_path):
    make_tree(tmp_path, ["data/x.wav", "data/y.wav"])
    write_text(
        tmp_path / "meta/my.tsv",
        "ID\tPath\tLabel\tSpeaker\n u1\t../data/x.wav\thappy\tp1\nu2\t../data/y.wav\tfear\tp2\n",
    )
    df = csv_list.prepare(tmp_path, list_path="meta/my.tsv", name="own")
    rows = df.set_index("id")
    assert list(rows.index) == ["own/u1", "own/u2"]
    assert rows.loc["own/u1", "path"] == "data/x.wav"
    assert rows.loc["own/u2", "emotion"] == "fearful"
    assert rows.loc["own/u2", "speaker"] == "own/p2"


def test_csv_list_errors_name_the_row(tmp_path):
    make_tree(tmp_path, ["a.wav"])
    write_text(tmp_path / "list.csv", "path,speaker\na.wav,s1\n")
    with pytest.raises(CorpusError, match="lacks column.*label"):
        csv_list.prepare(tmp_path)
    write_text(tmp_path / "list.csv", "path,label,speaker\na.wav,sad,s1\nmissing.wav,sad,s1\n")
    with pytest.raises(CorpusError, match="line 3: audio file missing.wav not found"):
        csv_list.prepare(tmp_path)
    df = csv_list.prepare(tmp_path, skip_bad=True)
    assert len(df) == 1 and any("missing.wav" in s for s in df.attrs["skipped"])
    write_text(tmp_path / "list.csv", "path,label,speaker\na.wav,sad,\n")
    with pytest.raises(CorpusError, match="line 2: empty speaker"):
        csv_list.prepare(tmp_path)
    write_text(tmp_path / "list.csv", "path,label,speaker\n../outside.wav,sad,s1\n")
    with pytest.raises(CorpusError, match="line 2: path .* outside the corpus root"):
        csv_list.prepare(tmp_path)
    (tmp_path / "list.csv").unlink()
    with pytest.raises(CorpusError, match="list.csv or list.tsv"):
        csv_list.prepare(tmp_path)

