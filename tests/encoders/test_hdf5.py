"""The seed's HDF5 store: written from a RAVDESS manifest of the demo corpus, read back."""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest

from serkit import audio
from serkit import manifest as mf
from serkit.encoders.hdf5 import leaf_key, read_hdf5, write_hdf5
from serkit.errors import ConfigError, ManifestError
from serkit.features import get_extractor

SMALL = {"speakers": 2, "sentences": 2, "repetitions": 1, "emotions": ("neutral", "angry")}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo corpus as `serkit prepare ravdess` sees it: (manifest, manifest file)."""
    from serkit.corpora import prepare
    from serkit.demo import make_corpus

    root = tmp_path_factory.mktemp("hdf5")
    make_corpus(root / "corpus", **SMALL)
    prepare("ravdess", root / "corpus", output=root / "manifests")
    path = root / "manifests" / "ravdess.parquet"
    return mf.read(path), path


def test_leaf_key_uses_the_file_name_codes():
    assert leaf_key("03-01-08-01-02-02-24") == (
        "statement_02/Actor_24/emotion_08/intensity_01/repete_02"
    )
    with pytest.raises(ValueError, match="unknown emotion code"):
        leaf_key("03-01-09-01-02-02-24")


def test_round_trip_waveforms_features_and_metadata(demo, tmp_path):
    df, _ = demo
    logmel = get_extractor("logmel", n_mels=20)
    summary = write_hdf5(df, tmp_path / "ravdess.h5", features=logmel)
    assert summary.written == len(df) == 2 * 3 * 2 and not summary.skipped
    assert "waveform + logmel" in summary.format()

    data = read_hdf5(tmp_path / "ravdess.h5")
    assert data.table["id"].tolist() == df["id"].tolist()  # manifest order
    assert data.feature_name == "logmel"
    assert data.frontend["extractor"] == logmel.to_dict()
    assert data.table.attrs["root"] == str(mf.root_of(df))
    for i, row in df.reset_index(drop=True).iterrows():
        signal, sr = audio.read(mf.audio_path(df, row), sample_rate=16000)
        np.testing.assert_array_equal(data.waves[i], signal)
        np.testing.assert_allclose(data.features[i], logmel(signal, sr), rtol=1e-6)
        got = data.table.iloc[i]
        for column in ("speaker", "emotion", "raw_emotion", "gender", "intensity", "text"):
            assert got[column] == row[column], column
        assert got["sample_rate"] == 16000
    # the seed's nesting, with the two-digit codes of the file names
    with h5py.File(tmp_path / "ravdess.h5", "r") as h5:
        assert sorted(h5) == ["index", "statement_01", "statement_02"]
        assert sorted(h5["statement_01"]) == ["Actor_01", "Actor_02"]
        assert sorted(h5["statement_01/Actor_01"]) == ["emotion_01", "emotion_05"]
        assert sorted(h5["statement_01/Actor_01/emotion_01"]) == ["intensity_01"]  # no strong
        leaf = h5["statement_02"]["Actor_02"]["emotion_05"]["intensity_02"]["repete_01"]
        assert sorted(leaf) == ["logmel", "wav"]
        assert leaf.attrs["id"] == "ravdess/03-01-05-02-02-01-02"
        assert leaf.attrs["gender"] == "female"
        assert leaf.attrs["statement"] == "Dogs are sitting by the door"
        assert leaf["wav"].dtype == np.float32 and leaf["logmel"].shape[1] == 20


def test_features_only_at_the_files_rate(demo, tmp_path):
    df, _ = demo
    write_hdf5(
        df.iloc[:3], tmp_path / "f.h5", features=get_extractor("mfcc"), waveform=False,
        sample_rate=None,
    )
    data = read_hdf5(tmp_path / "f.h5")
    assert data.waves == [] and len(data.features) == 3 and data.features[0].shape[1] == 13
    with h5py.File(tmp_path / "f.h5", "r") as h5:
        assert "wav" not in h5[data.table["key"][0]]
    assert read_hdf5(tmp_path / "f.h5", features=False).features == []


def test_resampled_waveforms(demo, tmp_path):
    df, _ = demo
    write_hdf5(df.iloc[:2], tmp_path / "w.h5", sample_rate=8000)
    data = read_hdf5(tmp_path / "w.h5")
    assert data.feature_name is None and data.frontend is None
    assert (data.table["sample_rate"] == 8000).all()
    assert abs(len(data.waves[0]) / 8000 - df["duration"].iloc[0]) < 0.01


def test_channel_keeps_one_vocal_channel(demo, tmp_path):
    df, _ = demo
    song = df.copy()
    song["mode"] = "song"
    song["id"] = song["id"] + "-song"
    both = pd.concat([df, song], ignore_index=True)
    both.attrs = df.attrs
    with pytest.raises(ManifestError, match="both map to the leaf") as err:
        write_hdf5(both, tmp_path / "x.h5")
    assert "channel='speech'" in str(err.value)
    assert write_hdf5(both, tmp_path / "x.h5", channel="speech").written == len(df)
    with pytest.raises(ManifestError, match="no rows of vocal channel 'whistle'"):
        write_hdf5(both, tmp_path / "x.h5", channel="whistle")


def test_nothing_to_store_is_refused(demo, tmp_path):
    with pytest.raises(ConfigError, match="waveform"):
        write_hdf5(demo[0], tmp_path / "x.h5", waveform=False)
