"""Prosody extractors: WORLD F0, SpeechSplit pitch codes, energy, prosodic functionals."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from serkit.errors import ConfigError
from serkit.features import get_extractor
from serkit.features.prosody import prosody_functionals, runs, track_f0
from serkit.features.signal import highpass
from serkit.features.speechsplit import (
    log_f0_stats,
    normalize_log_f0,
    one_hot,
    quantize_f0,
    speaker_f0_stats,
)

SR = 16000


def harmonic(f0: float, seconds: float = 0.5, sr: int = SR, amp: float = 0.3) -> np.ndarray:
    """A 5-harmonic voiced-like signal at ``f0`` Hz."""
    t = np.arange(int(seconds * sr)) / sr
    x = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))
    return (amp * x / np.max(np.abs(x))).astype(np.float32)


@pytest.mark.parametrize("method", ["dio", "harvest"])
def test_track_f0_finds_the_pitch(method):
    f0 = track_f0(harmonic(180.0), SR, method=method)
    assert len(f0) == SR // 2 // 160 + 1
    voiced = f0[f0 > 0]
    assert voiced.size > 0.7 * len(f0)
    assert abs(np.median(voiced) - 180.0) < 3.0


def test_f0_extractor_shape_and_log():
    x = harmonic(150.0)
    hz = get_extractor("f0")(x, SR)
    log = get_extractor("f0", log=True)(x, SR)
    assert hz.shape == (51, 2) and hz.dtype == np.float32
    assert set(np.unique(hz[:, 1])) <= {0.0, 1.0}
    voiced = hz[:, 1] == 1
    np.testing.assert_allclose(log[voiced, 0], np.log(hz[voiced, 0]), rtol=1e-5)
    assert np.all(log[~voiced, 0] == 0)


def test_f0_silence_is_unvoiced_not_nan():
    out = get_extractor("f0")(np.zeros(SR // 2, dtype=np.float32), SR)
    assert np.all(out == 0)


def test_f0_config_errors():
    with pytest.raises(ConfigError):
        get_extractor("f0", method="crepe")
    with pytest.raises(ConfigError):
        get_extractor("f0", f0_min=500.0, f0_max=100.0)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.one_of(st.just(0.0), st.floats(40.0, 800.0)), min_size=1, max_size=50),
    st.floats(3.0, 6.5),
    st.floats(0.05, 1.0),
)
def test_quantisation_properties(f0, mean, std):
    f0 = np.array(f0)
    norm = normalize_log_f0(f0, mean, std)
    idx = quantize_f0(norm)
    assert np.all((norm[f0 > 0] >= 0) & (norm[f0 > 0] <= 1))
    assert np.all(norm[f0 == 0] == -1)
    assert np.all(idx[f0 == 0] == 0)
    assert np.all((idx[f0 > 0] >= 1) & (idx[f0 > 0] <= 256))
    order = np.argsort(f0[f0 > 0], kind="stable")
    assert np.all(np.diff(idx[f0 > 0][order]) >= 0)  # monotone in F0
    hot = one_hot(idx, 257)
    assert hot.shape == (len(f0), 257) and np.all(hot.sum(axis=1) == 1)


def test_quantisation_reference_values():
    # at the mean: z = 0 -> 0.5 -> round(127.5) + 1; 4 sigma above -> top bin
    mean, std = np.log(200.0), 0.25
    f0 = np.array([200.0, 200.0 * np.exp(4 * std), 200.0 * np.exp(-8 * std), 0.0])
    norm = normalize_log_f0(f0, mean, std)
    np.testing.assert_allclose(norm[:3], [0.5, 1.0, 0.0])
    assert quantize_f0(norm).tolist() == [round(127.5) + 1, 256, 1, 0]


def test_speaker_stats_and_speechsplit_code():
    low, high = harmonic(100.0), harmonic(200.0)
    mean, std = speaker_f0_stats([low, high], SR)
    assert abs(mean - np.log(np.sqrt(100 * 200))) < 0.03
    assert abs(std - np.log(2.0) / 2) < 0.03
    ex = get_extractor("speechsplit-f0", f0_mean=mean, f0_std=std)
    code = ex(high, SR)
    assert code.shape == (SR // 2 // 256 + 1, 257)
    bins = code.argmax(axis=1)
    voiced = bins[bins > 0]
    # +1 sigma -> z = 0.25 -> 0.625 -> bin round(0.625 * 255) + 1 = 160
    assert abs(np.median(voiced) - 160) <= 3
    index = get_extractor("speechsplit-f0", f0_mean=mean, f0_std=std, output="index")(high, SR)
    np.testing.assert_array_equal(index[:, 0], bins)
    # per-utterance statistics when none are given
    own = get_extractor("speechsplit-f0", output="normalized")(high, SR)[:, 0]
    clean = highpass(high, SR, 30.0, short="keep", dtype=np.float64)
    track = track_f0(clean, SR, f0_min=50.0, f0_max=600.0, frame_period_ms=16.0)
    track = track[: len(own)]
    expected = normalize_log_f0(track, *log_f0_stats(track))
    np.testing.assert_allclose(own, expected, atol=1e-6)


def test_speechsplit_config_errors():
    with pytest.raises(ConfigError):
        get_extractor("speechsplit-f0", f0_mean=5.0)  # std missing
    with pytest.raises(ConfigError):
        get_extractor("speechsplit-f0", gender="robot")
    assert get_extractor("speechsplit-f0", preset="female").config.gender == "female"


def test_speechsplit_highpass_keeps_float64_and_short_signals():
    t = np.arange(SR) / SR
    rumble, voice = np.sin(2 * np.pi * 5 * t), np.sin(2 * np.pi * 200 * t)
    out = highpass(rumble + voice, SR, 30.0, short="keep", dtype=np.float64)
    middle = slice(SR // 4, 3 * SR // 4)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out[middle], voice[middle], atol=0.01)
    short = np.random.default_rng(0).standard_normal(18)  # not longer than the padding (3 * 6)
    np.testing.assert_array_equal(highpass(short, SR, 30.0, short="keep"), short.astype("f4"))


def test_log_f0_stats_unvoiced_default():
    assert log_f0_stats(np.zeros(10)) == (0.0, 1.0)


def test_energy_levels_and_zcr():
    t = np.arange(SR // 2) / SR
    x = (0.5 * np.sin(2 * np.pi * 400 * t)).astype(np.float32)
    out = get_extractor("energy")(x, SR)
    assert out.shape == (51, 2)
    inner = out[3:-3]
    np.testing.assert_allclose(inner[:, 0], 20 * np.log10(0.5 / np.sqrt(2)), atol=0.2)
    np.testing.assert_allclose(inner[:, 1], 2 * 400 / SR, atol=0.01)
    silent = get_extractor("energy")(np.zeros(SR // 2, dtype=np.float32), SR)
    assert np.all(silent[:, 0] == -100.0) and np.all(silent[:, 1] == 0)


@given(st.lists(st.booleans(), max_size=60))
def test_runs_reconstruct(mask):
    encoded = runs(np.array(mask, dtype=bool))
    rebuilt = [value for value, length in encoded for _ in range(length)]
    assert rebuilt == list(mask)
    assert all(a[0] != b[0] for a, b in zip(encoded, encoded[1:], strict=False))


def test_prosody_functionals_known_values():
    # 100 frames at 10 ms: voiced runs of 20 frames at 100 Hz and 20 at 200 Hz
    f0 = np.zeros(100)
    f0[10:30], f0[60:80] = 100.0, 200.0
    energy = np.full(100, -20.0)
    energy[:5] = -90.0  # 5 pause frames
    stats = dict(zip(_names(), prosody_functionals(f0, energy, 0.01), strict=True))
    assert stats["f0_mean_hz"] == pytest.approx(150.0)
    assert stats["f0_std_hz"] == pytest.approx(50.0)
    assert stats["f0_range_hz"] == pytest.approx(100.0)
    assert stats["f0_slope_hz_per_s"] > 0
    assert stats["voiced_fraction"] == pytest.approx(0.4)
    assert stats["voiced_segment_rate"] == pytest.approx(2 / 1.0)
    assert stats["pause_ratio"] == pytest.approx(0.05)
    assert stats["mean_voiced_run_s"] == pytest.approx(0.2)
    assert stats["mean_unvoiced_run_s"] == pytest.approx(60 / 3 * 0.01)
    assert stats["duration_s"] == pytest.approx(1.0)


def test_prosody_functionals_unvoiced_defaults():
    stats = prosody_functionals(np.zeros(50), np.full(50, -100.0), 0.01)
    assert np.all(np.isfinite(stats))
    named = dict(zip(_names(), stats, strict=True))
    assert named["f0_mean_hz"] == 0 and named["voiced_fraction"] == 0
    assert named["voiced_segment_rate"] == 0 and named["pause_ratio"] == 1.0


def test_prosody_stats_extractor():
    ex = get_extractor("prosody-stats")
    out = ex(harmonic(220.0), SR)
    assert out.shape == (len(ex.feature_names()),) and out.dtype == np.float32
    named = dict(zip(ex.feature_names(), out, strict=True))
    assert abs(named["f0_p50_hz"] - 220.0) < 4 and named["voiced_fraction"] > 0.7
    assert np.all(np.isfinite(ex(np.zeros(800, dtype=np.float32), SR)))


def _names() -> list[str]:
    from serkit.features.prosody import PROSODY_STAT_NAMES

    return list(PROSODY_STAT_NAMES)
