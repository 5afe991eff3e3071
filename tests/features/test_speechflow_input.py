"""``speechflow-input``: the SpeechSplit mel (section 0.2) and the normalised log-F0 column.
The registry-driven contract suite (test_contract.py) covers it as every extractor."""

from __future__ import annotations

import numpy as np
import pytest

from serkit.errors import ConfigError
from serkit.features import get_extractor
from serkit.features.speechflow_input import mel_frontend, preprocess
from serkit.features.speechsplit import speaker_f0_stats

from ._synth import voiced


def test_frames_columns_and_ranges():
    signal = voiced(0.5, f0=150.0, seed=0)
    out = get_extractor("speechflow-input")(signal, 16000)
    assert out.shape == (len(signal) // 256 + 1, 81)
    mel, f0 = out[:, :80], out[:, 80]
    assert mel.min() >= 0.0 and mel.max() <= 1.0 and mel.max() > 0.5
    voiced_frames = f0 >= 0
    assert voiced_frames.mean() > 0.8  # a steady harmonic tone
    assert np.all(f0[voiced_frames] <= 1.0) and np.all(f0[~voiced_frames] == -1.0)


def test_mel_is_the_speechsplit_logmel_up_to_scale_and_dither():
    signal = voiced(0.5, seed=1)
    out = get_extractor("speechflow-input")(signal, 16000)[:, :80]
    plain = get_extractor("logmel", preset="speechsplit")(signal, 16000)
    # 20 log10(0.96) / 100 = -0.0035: the 0.96 gain shifts the normalised dB by that much
    assert np.median(out - plain) == pytest.approx(20 * np.log10(0.96) / 100, abs=5e-4)
    same = get_extractor("speechflow-input", scale=1.0, dither=0.0)(signal, 16000)[:, :80]
    np.testing.assert_allclose(same, plain, atol=1e-5)
    assert mel_frontend().compute(signal, 16000).shape == plain.shape


def test_dither_is_seeded_and_a_multiple_of_256_gets_a_tail_sample():
    from serkit.features.speechflow_input import SpeechFlowInputConfig

    signal = voiced(0.256, seed=2)  # 4096 samples, a multiple of 256
    config = SpeechFlowInputConfig()
    a, b = preprocess(signal, config), preprocess(signal, config)
    assert len(a) == len(signal) + 1 and np.array_equal(a, b)
    other = preprocess(signal, SpeechFlowInputConfig(dither_seed=1))
    assert not np.array_equal(a, other) and np.abs(a - other).max() <= 1e-6


def test_per_utterance_f0_normalisation_by_default_and_fixed_statistics_on_request():
    low, high = voiced(0.5, f0=110.0, seed=3), voiced(0.5, f0=220.0, seed=3)
    ex = get_extractor("speechflow-input")
    f0_low, f0_high = ex(low, 16000)[:, 80], ex(high, 16000)[:, 80]
    # per utterance: each contour is centred on its own mean (0.5 after (z + 1) / 2)
    assert np.median(f0_low[f0_low >= 0]) == pytest.approx(0.5, abs=0.05)
    assert np.median(f0_high[f0_high >= 0]) == pytest.approx(0.5, abs=0.05)
    mean, std = speaker_f0_stats([low, high], highpass_hz=0.0)
    fixed = get_extractor("speechflow-input", f0_mean=mean, f0_std=std)
    g_low, g_high = fixed(low, 16000)[:, 80], fixed(high, 16000)[:, 80]
    assert np.median(g_high[g_high >= 0]) > np.median(g_low[g_low >= 0]) + 0.2


def test_bad_parameters_are_refused_naming_them():
    with pytest.raises(ConfigError, match="f0_std"):
        get_extractor("speechflow-input", f0_mean=5.0)
    with pytest.raises(ConfigError, match="sample_rate must be 16000"):
        get_extractor("speechflow-input", sample_rate=8000)
    with pytest.raises(ConfigError, match="f0_method"):
        get_extractor("speechflow-input", f0_method="rapt")
