"""Voice-quality (Praat) extractors: jitter, shimmer, HNR, formants; never NaN."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import lfilter

from serkit.errors import ConfigError
from serkit.features import FeatureError, get_extractor
from serkit.features.voice import VOICE_QUALITY_NAMES, voice_quality

SR = 16000


def vowel(f0: float = 140.0, formants=(700.0, 1200.0, 2600.0), seconds: float = 0.5):
    """Impulse train through three second-order resonators: a synthetic /a/."""
    n = int(seconds * SR)
    x = np.zeros(n)
    x[:: int(round(SR / f0))] = 1.0
    for freq in formants:
        bw = 80.0
        r = np.exp(-np.pi * bw / SR)
        a = [1.0, -2 * r * np.cos(2 * np.pi * freq / SR), r * r]
        x = lfilter([1.0 - r], a, x)
    return (0.3 * x / np.max(np.abs(x))).astype(np.float32)


def test_voice_quality_on_a_synthetic_vowel():
    ex = get_extractor("voice-quality")
    out = ex(vowel(), SR)
    assert out.shape == (len(VOICE_QUALITY_NAMES),) and out.dtype == np.float32
    named = dict(zip(ex.feature_names(), out, strict=True))
    assert named["voiced_fraction"] > 0.8
    assert abs(named["f0_mean_hz"] - SR / round(SR / 140.0)) < 2.0
    assert 0 <= named["jitter_local"] < 0.01  # perfectly periodic pulses
    assert 0 <= named["shimmer_local"] < 0.05
    assert named["hnr_mean_db"] > 15
    assert abs(named["f1_mean_hz"] - 700) < 120
    assert abs(named["f2_mean_hz"] - 1200) < 150


def test_jitter_grows_with_period_perturbation():
    rng = np.random.default_rng(0)
    n = SR // 2
    x = np.zeros(n)
    pos = 0.0
    while pos < n:
        x[int(pos)] = 1.0
        pos += (SR / 140.0) * (1 + 0.05 * rng.standard_normal())
    x = lfilter([1.0], [1.0, -0.9], x).astype(np.float32) * 0.3
    rough = voice_quality(x, SR)
    clean = voice_quality(vowel(), SR)
    assert rough[3] > 3 * clean[3]  # jitter_local


def test_unvoiced_measures_are_zero_not_nan():
    """Silence long enough to analyse: every measure is undefined, so 0 (documented)."""
    out = get_extractor("voice-quality")(np.zeros(SR // 2, dtype=np.float32), SR)
    assert np.all(out == 0)
    frames = get_extractor("formants")(np.zeros(SR // 2, dtype=np.float32), SR)
    assert np.all(np.isfinite(frames)) and np.all(frames == 0)


@pytest.mark.parametrize("samples", [0, 1, 100])
def test_too_short_audio_raises_instead_of_zeros(samples):
    signal = vowel()[:samples]
    with pytest.raises(FeatureError, match="empty signal" if samples == 0 else "3 pitch periods"):
        get_extractor("voice-quality")(signal, SR)
    with pytest.raises(FeatureError, match="empty signal" if samples == 0 else "two analysis"):
        get_extractor("formants")(signal, SR)


def test_noise_is_finite():
    noise = np.random.default_rng(1).standard_normal(SR // 2).astype(np.float32) * 0.1
    assert np.all(np.isfinite(get_extractor("voice-quality")(noise, SR)))


def test_formant_frames():
    ex = get_extractor("formants")
    out = ex(vowel(), SR)
    assert out.shape == (SR // 2 // 160 + 1, 3)
    middle = out[10:-10]
    assert abs(np.median(middle[:, 0]) - 700) < 120
    assert np.all(np.diff(middle, axis=1) > 0)  # F1 < F2 < F3


def test_config_errors():
    with pytest.raises(ConfigError):
        get_extractor("voice-quality", f0_min=300.0, f0_max=100.0)
    with pytest.raises(ConfigError):
        get_extractor("formants", max_formant=9000.0)
    assert get_extractor("voice-quality", preset="male").config.max_formant == 5000.0
