"""serkit.manifest: schema validation messages, round trips, summary, concat."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from serkit import manifest
from serkit.errors import ManifestError


def _rows(n=4, corpus="demo"):
    emotions = ["angry", "sad", "happy", None]
    return [
        {
            "id": f"{corpus}/u{i}",
            "corpus": corpus,
            "path": f"spk{i % 2}/u{i}.wav",
            "duration": 1.0 + i,
            "speaker": f"{corpus}/spk{i % 2}",
            "emotion": emotions[i % 4],
            "raw_emotion": ["A", "S", "H", "X"][i % 4],
            "gender": "female" if i % 2 else "male",
        }
        for i in range(n)
    ]


@pytest.fixture
def df(tmp_path):
    return manifest.new(_rows(), root=tmp_path)


def test_new_orders_columns_and_types(df, tmp_path):
    assert list(df.columns[:7]) == list(manifest.REQUIRED_COLUMNS)
    assert df["duration"].dtype == np.float64
    assert df["emotion"].isna().sum() == 1
    assert df.attrs["root"] == str(tmp_path.resolve())
    assert manifest.validate(df, labels=["angry", "sad", "happy"]) is df


def test_missing_column_is_named(df):
    with pytest.raises(ManifestError, match=r"missing required column\(s\) speaker"):
        manifest.validate(df.drop(columns=["speaker"]), source="my.parquet")
    with pytest.raises(ManifestError, match="my.parquet"):
        manifest.validate(df.drop(columns=["speaker"]), source="my.parquet")


def test_duplicate_id_is_named(df):
    df.loc[2, "id"] = "demo/u1"
    with pytest.raises(ManifestError, match=r"duplicate id.*demo/u1"):
        manifest.validate(df)


def test_missing_id_names_the_row(df):
    df.loc[3, "id"] = pd.NA
    with pytest.raises(ManifestError, match="row 3 has no id"):
        manifest.validate(df)


def test_unknown_label_names_row_and_value(df):
    with pytest.raises(ManifestError, match=r"row demo/u2 has unknown emotion 'happy'.*angry"):
        manifest.validate(df, labels=["angry", "sad"])


@pytest.mark.parametrize("bad", ["../outside.wav", "spk0/../../x.wav", "/abs/x.wav", "C:\\x.wav"])
def test_path_outside_root_is_rejected(df, bad):
    df.loc[1, "path"] = bad
    with pytest.raises(ManifestError, match=r"row demo/u1 has path .* outside the corpus root"):
        manifest.validate(df)


def test_empty_speaker_is_named(df):
    df.loc[0, "speaker"] = ""
    with pytest.raises(ManifestError, match="row demo/u0 has an empty 'speaker'"):
        manifest.validate(df)


@pytest.mark.parametrize("value", [0.0, -1.0, np.nan])
def test_non_positive_duration_is_named(df, value):
    df.loc[2, "duration"] = value
    with pytest.raises(ManifestError, match=r"row demo/u2 has duration .* positive"):
        manifest.validate(df)


def test_start_not_before_end_is_named(df):
    df["start"] = [0.0, 0.5, 1.0, 0.0]
    df["end"] = [1.0, 1.5, 1.0, 2.0]
    with pytest.raises(ManifestError, match=r"row demo/u2 has start 1.0 >= end 1.0"):
        manifest.validate(df)
    df.loc[2, "end"] = 2.0
    df.loc[3, "start"] = -0.5
    with pytest.raises(ManifestError, match="row demo/u3 has negative start"):
        manifest.validate(df)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_round_trip_keeps_rows_types_and_root(df, tmp_path, suffix):
    df.attrs["skipped"] = ["bad.wav: empty"]
    path = manifest.write(df, tmp_path / "out" / f"m{suffix}")
    back = manifest.read(path)
    assert back.attrs["root"] == df.attrs["root"]
    assert back.attrs["skipped"] == ["bad.wav: empty"]
    pd.testing.assert_frame_equal(back, df, check_dtype=False)
    assert back["duration"].dtype == np.float64
    assert back["emotion"].isna().sum() == 1
    assert [p.name for p in path.parent.iterdir() if p.name.startswith("tmp")] == []
    if suffix == ".csv":
        assert (tmp_path / "out" / "m.csv.meta.json").exists()


def test_read_validates_and_reports_missing_or_unknown_files(df, tmp_path):
    with pytest.raises(ManifestError, match="no such manifest"):
        manifest.read(tmp_path / "nothing.parquet")
    with pytest.raises(ManifestError, match="unknown manifest format"):
        manifest.write(df, tmp_path / "m.json")
    broken = df.copy()
    broken.loc[0, "duration"] = 0.0
    path = manifest.write(broken, tmp_path / "broken.parquet")
    with pytest.raises(ManifestError, match="broken.parquet: row demo/u0 has duration"):
        manifest.read(path)
    assert len(manifest.read(path, validate_schema=False)) == 4


def test_summary_counts(df):
    df["split"] = ["train", "train", "test", pd.NA]
    summary = manifest.summary(df)
    assert summary.rows == 4
    assert summary.hours == pytest.approx((1 + 2 + 3 + 4) / 3600)
    assert summary.speakers == 2
    assert summary.corpora == ["demo"]
    assert summary.per_emotion == {"<NA>": 1, "angry": 1, "happy": 1, "sad": 1}
    assert summary.per_speaker == {"demo/spk0": 2, "demo/spk1": 2}
    assert summary.per_split == {"<NA>": 1, "test": 1, "train": 2}
    text = summary.format()
    assert "rows:     4" in text and "demo/spk0 2" in text and "train 2" in text


def test_concat_keeps_per_corpus_roots_and_audio_paths(tmp_path):
    a = manifest.new(_rows(2, "alpha"), root=tmp_path / "a")
    b = manifest.new(_rows(3, "beta"), root=tmp_path / "b")
    both = manifest.concat([a, b])
    assert len(both) == 5
    assert both.attrs["roots"] == {
        "alpha": str((tmp_path / "a").resolve()),
        "beta": str((tmp_path / "b").resolve()),
    }
    paths = manifest.audio_paths(both)
    assert paths[0] == (tmp_path / "a").resolve() / "spk0/u0.wav"
    assert paths[-1] == (tmp_path / "b").resolve() / "spk0/u2.wav"
    assert manifest.audio_path(both, both.iloc[3]) == (tmp_path / "b").resolve() / "spk1/u1.wav"
    assert manifest.root_of(both, "beta") == Path(both.attrs["roots"]["beta"])
    back = manifest.read(manifest.write(both, tmp_path / "both.parquet"))
    assert manifest.audio_paths(back) == paths


def test_audio_paths_without_root_is_an_error():
    rootless = manifest.new(_rows(1))
    with pytest.raises(ManifestError, match="no corpus root"):
        manifest.audio_paths(rootless)
