"""Resemblyzer speaker embeddings (weights ship in the resemblyzer wheel)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from conftest import shared_corpus
from serkit.errors import ConfigError

pytest.importorskip("resemblyzer")

from serkit.features import get_extractor  # noqa: E402
from serkit.features.speaker import prepare_wav  # noqa: E402

SR = 16000
warnings.filterwarnings("ignore", message="pkg_resources is deprecated")


def tone(seconds: float = 0.5, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (amp * np.sin(2 * np.pi * 150 * t)).astype(np.float32)


def test_embedding_is_unit_256d_and_deterministic():
    ex = get_extractor("resemblyzer")
    x = tone()
    a, b = ex(x, SR), ex(x, SR)
    assert a.shape == (256,) and a.dtype == np.float32
    assert np.linalg.norm(a) == pytest.approx(1.0, abs=1e-4)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("samples", [50, SR // 2])
def test_silence_gives_a_finite_embedding(samples):
    out = get_extractor("resemblyzer")(np.zeros(samples, dtype=np.float32), SR)
    assert out.shape == (256,) and np.all(np.isfinite(out))


def test_empty_signal_raises_instead_of_a_silence_embedding():
    from serkit.features import FeatureError

    with pytest.raises(FeatureError, match="empty signal"):
        get_extractor("resemblyzer")(np.zeros(0, dtype=np.float32), SR)


def test_prepare_wav_is_nan_safe_and_raises_quiet_audio():
    assert np.all(prepare_wav(np.zeros(SR)) == 0)
    quiet = tone(1.0, amp=0.001)
    louder = prepare_wav(quiet, trim_silence=False)
    rms_db = 20 * np.log10(np.sqrt(np.mean(louder.astype(np.float64) ** 2)))
    assert rms_db == pytest.approx(-30.0, abs=0.1)
    loud = tone(1.0, amp=0.9)  # never lowered
    np.testing.assert_allclose(prepare_wav(loud, trim_silence=False), loud, atol=1e-6)
    # webrtcvad finds no speech in a pure tone: the untrimmed signal is kept
    assert len(prepare_wav(tone(1.0))) == SR


def test_only_16k():
    with pytest.raises(ConfigError, match="16000"):
        get_extractor("resemblyzer", sample_rate=8000)


@pytest.mark.realdata
def test_same_speaker_is_closer_on_ravdess():
    from serkit.audio import read

    root = shared_corpus("ravdess")
    ex = get_extractor("resemblyzer")
    a1 = ex(*read(root / "Actor_01/03-01-01-01-01-01-01.flac"))
    a2 = ex(*read(root / "Actor_01/03-01-05-02-02-02-01.flac"))
    b1 = ex(*read(root / "Actor_02/03-01-01-01-01-01-02.flac"))
    assert float(a1 @ a2) > float(a1 @ b1)
