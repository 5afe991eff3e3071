"""The spectral extractors and their seed presets."""

from __future__ import annotations

import numpy as np
import pytest

from serkit.errors import ConfigError
from serkit.features import FeatureError, get_extractor

from ._synth import voiced

SR = 16000


@pytest.fixture(scope="module")
def x() -> np.ndarray:
    return voiced(1.0, seed=7)


def test_dcnn_preset_matches_reference_pipeline(x):
    import librosa

    ex = get_extractor("logmel", preset="dcnn")
    out = ex(x, SR)
    assert ex.channels == 3 and out.shape == (101, 3 * 64)
    emphasized = np.append(x[0], x[1:] - 0.97 * x[:-1])
    mel = librosa.feature.melspectrogram(
        y=emphasized,
        sr=SR,
        n_fft=400,
        hop_length=160,
        win_length=400,
        pad_mode="reflect",
        n_mels=64,
        fmin=20,
        fmax=8000,
        htk=True,
        norm="slaney",
        power=2.0,
    )
    static = np.log(mel + 1e-8).T
    delta = librosa.feature.delta(static, width=5, axis=0, mode="nearest")
    ddelta = librosa.feature.delta(delta, width=5, axis=0, mode="nearest")
    reference = []
    for channel in (static, delta, ddelta):
        reference.append((channel - channel.min()) / (channel.max() - channel.min()))
    np.testing.assert_allclose(out, np.concatenate(reference, axis=1), atol=2e-3)


def test_speechsplit_preset_matches_reference(x):
    import librosa
    from scipy import signal as sps

    out = get_extractor("logmel", preset="speechsplit")(x, SR)
    b, a = sps.butter(5, 30 / (SR / 2), btype="high")
    y = sps.filtfilt(b, a, x)
    spec = np.abs(librosa.stft(y, n_fft=1024, hop_length=256, window="hann", pad_mode="reflect"))
    fb = librosa.filters.mel(sr=SR, n_fft=1024, n_mels=80, fmin=90, fmax=7600)
    db = 20 * np.log10(np.maximum(1e-5, fb @ spec)) - 16
    reference = np.clip((db + 100) / 100, 0, 1).T
    assert out.shape == reference.shape == (63, 80)
    np.testing.assert_allclose(out, reference, atol=1e-3)


def test_acrnn_preset_shape_and_channels(x):
    ex = get_extractor("logmel", preset="acrnn")
    out = ex(x, SR)
    assert ex.channels == 3
    assert out.shape == (1 + (SR - 512) // 160, 120)
    names = ex.feature_names()
    assert names[0] == "mel0" and names[40] == "d_mel0" and names[80] == "dd_mel0"


def test_rhemo_spectrogram_shape():
    out = get_extractor("spectrogram", preset="rhemo")(voiced(4.0), SR)
    assert out.shape == (501, 128)  # 4 s -> 501 x 129 in the seed, top bin dropped


@pytest.mark.parametrize("deltas", [0, 1, 2])
def test_channels_follow_deltas(x, deltas):
    ex = get_extractor("logmel", n_mels=20, deltas=deltas)
    out = ex(x, SR)
    assert ex.channels == deltas + 1 and out.shape[1] == 20 * (deltas + 1)
    np.testing.assert_array_equal(out[:, :20], get_extractor("logmel", n_mels=20)(x, SR))


@pytest.mark.parametrize("name", ["logmel", "mfcc", "spectrogram"])
@pytest.mark.parametrize("samples", [1, 50, 399])
def test_very_short_signals_give_one_frame(name, samples):
    ex = get_extractor(name)
    out = ex(voiced(1.0)[:samples], SR)
    assert out.shape[0] >= 1 and np.all(np.isfinite(out))


def test_stats_extractors_pool_the_frame_extractor(x):
    frames = get_extractor("mfcc", deltas=1)(x, SR)
    pooled = get_extractor("mfcc-stats", stats=["mean", "max"])(x, SR)
    np.testing.assert_allclose(pooled, np.concatenate([frames.mean(0), frames.max(0)]), rtol=1e-5)
    names = get_extractor("logmel-stats").feature_names()
    assert names[0] == "mean_mel0" and len(names) == 4 * 2 * 64


def test_int_and_float_params_give_one_key():
    assert get_extractor("logmel", fmax=8000).key() == get_extractor("logmel", fmax=8000.0).key()


@pytest.mark.parametrize(
    "params",
    [
        {"deltas": 3},
        {"mel_scale": "bark"},
        {"log": "log2"},
        {"win_length": 1024, "n_fft": 512},
        {"fmin": 9000.0, "fmax": 8000.0},
        {"n_mels": "many"},
        {"nmels": 40},
        {"preset": "nope"},
    ],
)
def test_bad_params_are_config_errors(params):
    with pytest.raises(ConfigError):
        get_extractor("logmel", **params)


def test_empty_output_is_a_clear_error():
    from serkit.features.base import Extractor

    class Empty(Extractor):
        name = "empty-test"
        level = "frame"

        def compute(self, signal):
            return np.zeros((0, 3), np.float32)

    with pytest.raises(FeatureError, match="too short"):
        Empty()(np.zeros(10, np.float32), 16000)
