"""Voice activity detection: energy VAD, silero-vad, trimming and the VadTrim callable."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import shared_corpus
from serkit.errors import ConfigError
from serkit.features import get_extractor
from serkit.features.vad import (
    VadTrim,
    mask_to_segments,
    postprocess_segments,
    segments_to_frames,
    speech_segments,
    trim_silence,
)

SR = 16000


def burst(total: float = 2.0, start: float = 0.5, end: float = 1.5, seed: int = 0) -> np.ndarray:
    """Silence with a loud harmonic-plus-noise burst between ``start`` and ``end`` seconds."""
    rng = np.random.default_rng(seed)
    x = 1e-4 * rng.standard_normal(int(total * SR))
    a, b = int(start * SR), int(end * SR)
    t = np.arange(b - a) / SR
    x[a:b] += 0.3 * np.sin(2 * np.pi * 150 * t) + 0.05 * rng.standard_normal(b - a)
    return x.astype(np.float32)


def test_energy_vad_finds_the_burst():
    segments = speech_segments(burst(), SR, method="energy", pad_ms=30.0)
    assert len(segments) == 1
    start, end = segments[0]
    tolerance = int(0.03 * SR) + int(0.0125 * SR)  # padding + half a frame
    assert abs(start - 0.5 * SR) <= tolerance and abs(end - 1.5 * SR) <= tolerance


def test_trim_keeps_speech_and_falls_back_on_silence():
    x = burst()
    trimmed = trim_silence(x, SR, method="energy", pad_ms=0.0)
    assert abs(len(trimmed) - SR) <= int(0.025 * SR)  # half a frame at each end
    silent = np.zeros(SR, dtype=np.float32)
    assert speech_segments(silent, SR, method="energy") == []
    np.testing.assert_array_equal(trim_silence(silent, SR, method="energy"), silent)
    assert len(trim_silence(np.zeros(0, np.float32), SR, method="energy")) == 0


def test_postprocess_bridges_drops_pads_and_merges():
    ms = SR // 1000
    segs = [(100 * ms, 400 * ms), (450 * ms, 700 * ms), (1000 * ms, 1100 * ms)]
    out = postprocess_segments(
        segs, 2000 * ms, SR, min_speech_ms=250, min_silence_ms=100, pad_ms=20
    )
    # the 50-ms gap is bridged, the 100-ms island is dropped, padding applied
    assert out == [(80 * ms, 720 * ms)]
    merged = postprocess_segments(
        [(0, 5000), (5100, 9000)], 9000, SR, min_speech_ms=0, min_silence_ms=0, pad_ms=10
    )
    assert merged == [(0, 9000)]  # padding makes them overlap


@given(st.lists(st.tuples(st.integers(0, 20000), st.integers(1, 4000)), max_size=8))
def test_postprocess_output_is_sorted_disjoint_and_in_range(raw):
    segs = sorted((a, a + d) for a, d in raw)
    out = postprocess_segments(segs, 22000, SR, min_speech_ms=10, min_silence_ms=20, pad_ms=5)
    for a, b in out:
        assert 0 <= a < b <= 22000
    for (_, b1), (a2, _) in zip(out, out[1:], strict=False):
        assert b1 < a2


def test_mask_to_segments():
    mask = np.array([0, 1, 1, 0, 0, 1], dtype=bool)
    # decisions belong to the central hop of each frame (offset (25 - 10) // 2 = 7)
    assert mask_to_segments(mask, hop=10, frame=25, n_samples=70) == [(17, 37), (57, 70)]
    assert mask_to_segments(np.ones(3, bool), 10, 25, 45) == [(0, 45)]
    assert mask_to_segments(np.zeros(3, bool), 10, 25, 50) == []


def test_vad_extractor_frames():
    x = burst()
    flags = get_extractor("vad", preset="energy")(x, SR)
    assert flags.shape == (len(x) // 160 + 1, 1) and flags.dtype == np.float32
    assert flags[100, 0] == 1 and flags[10, 0] == 0 and flags[-10, 0] == 0
    np.testing.assert_array_equal(
        segments_to_frames([(0, 320)], 800, 160), np.array([1, 1, 0, 0, 0, 0], np.float32)
    )


def test_vadtrim_is_a_hashable_config():
    trim = VadTrim(method="energy", pad_ms=0.0)
    assert hash(trim) == hash(VadTrim(method="energy", pad_ms=0.0))
    assert VadTrim.from_dict(trim.to_dict()) == trim
    assert trim.to_dict()["name"] == "vad-trim"
    np.testing.assert_array_equal(
        trim(burst(), SR), trim_silence(burst(), SR, **trim.to_dict()["params"])
    )
    with pytest.raises(ConfigError):
        VadTrim(method="webrtc")
    with pytest.raises(ConfigError):
        VadTrim(threshold=1.5)
    with pytest.raises(ConfigError):
        VadTrim.from_dict({"params": {"speed": 2}})


def test_silero_on_silence_and_resampled_rates():
    assert speech_segments(np.zeros(SR, np.float32), SR, method="silero") == []
    assert speech_segments(np.zeros(100, np.float32), SR, method="silero") == []
    x = burst()
    segs = speech_segments(x, 22050, method="silero")  # any rate: mapped back to 22.05 kHz
    assert all(0 <= a < b <= len(x) for a, b in segs)


@pytest.mark.realdata
def test_silero_on_real_speech():
    from serkit.audio import read

    signal, sr = read(shared_corpus("ravdess") / "Actor_01/03-01-01-01-01-01-01.flac")
    segs = speech_segments(signal, sr, method="silero")
    assert len(segs) >= 1
    speech = sum(b - a for a, b in segs)
    assert 0.3 * len(signal) < speech < len(signal)  # RAVDESS clips have leading silence
    trimmed = VadTrim()(signal, sr)
    assert len(trimmed) == speech
    energy = speech_segments(signal, sr, method="energy")
    # the two detectors agree on where the sentence starts (within 150 ms)
    assert abs(energy[0][0] - segs[0][0]) < 0.15 * sr


def test_vadtrim_in_front_of_extract(tmp_path):
    from serkit import features

    from ._synth import make_corpus

    df = make_corpus(tmp_path / "corpus", n=2, seconds=0.5)
    ex = features.get_extractor("energy")
    trim = VadTrim(method="energy", energy_threshold_db=-3.0, min_speech_ms=0.0, pad_ms=0.0)
    assert trim.key() != VadTrim(method="energy").key() and len(trim.key()) == 16
    plain = features.extract(df, ex, tmp_path / "store", progress=False)
    full = features.load(df, ex, tmp_path / "store")
    trimmed = features.extract(df, ex, tmp_path / "store", progress=False, vad=trim)
    assert (plain.computed, trimmed.computed) == (2, 2)  # not a cache hit: the vad is in the key
    assert trimmed.folder != plain.folder and trimmed.vad == trim.to_dict()
    config = json.loads((trimmed.folder / "config.json").read_text())
    assert config["vad"] == trim.to_dict() and config["extractor"]["name"] == "energy"
    short = features.load(df, ex, tmp_path / "store", vad=trim)
    assert all(len(s) < len(f) for s, f in zip(short.frames, full.frames, strict=True))
    # the plain features survive the trimmed run, and both are cache hits now
    unchanged = features.load(df, ex, tmp_path / "store")
    for a, b in zip(unchanged.frames, full.frames, strict=True):
        np.testing.assert_array_equal(a, b)
    for vad in (None, trim, VadTrim.from_dict(trim.to_dict())):
        again = features.extract(df, ex, tmp_path / "store", progress=False, vad=vad)
        assert (again.computed, again.cached) == (0, 2)
    # a changed VAD parameter is another folder (computed again, not loaded by mistake)
    other = dataclasses.replace(trim, pad_ms=10.0)
    with pytest.raises(features.FeatureError, match="no features.*pad_ms=10.0"):
        features.load(df, ex, tmp_path / "store", vad=other)
    changed = features.extract(df, ex, tmp_path / "store", progress=False, vad=other)
    assert changed.computed == 2 and changed.folder not in (plain.folder, trimmed.folder)


def test_experiment_config_asks_for_a_vad(tmp_path):
    from serkit import features
    from serkit.experiment.config import fingerprint, validate_config
    from serkit.experiment.data import load_features

    from ._synth import make_corpus

    raw = {
        "name": "vad-run",
        "data": {"manifests": ["m.parquet"]},
        "features": {"name": "energy", "store": str(tmp_path / "store")},
        "model": {"name": "svm"},
    }
    plain = validate_config(raw)
    assert "vad" not in plain["features"]  # runs without a VAD keep their fingerprint
    with_vad = validate_config({**raw, "features": {**raw["features"], "vad": {"pad_ms": 10}}})
    assert with_vad["features"]["vad"] == VadTrim(pad_ms=10.0).to_dict()["params"]
    assert validate_config(with_vad) == with_vad and fingerprint(with_vad) != fingerprint(plain)
    short = validate_config({**raw, "features": {**raw["features"], "vad": "energy"}})
    assert short["features"]["vad"]["method"] == "energy"
    with pytest.raises(ConfigError, match="features.vad.*webrtc"):
        validate_config({**raw, "features": {**raw["features"], "vad": {"method": "webrtc"}}})

    df = make_corpus(tmp_path / "corpus", n=2, seconds=0.5)
    _, _, fs = load_features(df, short["features"])
    trim = VadTrim.from_dict(short["features"]["vad"])
    assert fs.vad == trim.to_dict()
    assert len(features.load(df, "energy", tmp_path / "store", vad=trim)) == 2
    with pytest.raises(features.FeatureError, match="without VAD"):
        features.load(df, "energy", tmp_path / "store")
