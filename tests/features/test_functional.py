"""Properties of the pure feature math against librosa and closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from serkit.features import functional as F
from serkit.features import pooling as P
from serkit.features import signal as S

from ._synth import voiced


@pytest.fixture(scope="module")
def signal() -> np.ndarray:
    return voiced(1.0, seed=3)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(n_fft=512, hop_length=160, win_length=400, n_mels=64),
        dict(n_fft=1024, hop_length=256, n_mels=80, fmin=90.0, fmax=7600.0),
        dict(n_fft=400, hop_length=160, n_mels=64, fmin=20.0, fmax=8000.0, htk=True),
        dict(n_fft=512, hop_length=160, n_mels=40, htk=True, norm=None, power=1.0),
        dict(n_fft=512, hop_length=128, n_mels=40, center=False),
        dict(n_fft=512, hop_length=160, n_mels=40, pad_mode="reflect", window_name="hamming"),
    ],
)
def test_mel_matches_librosa(signal, kwargs):
    import librosa

    theirs_kwargs = dict(kwargs)
    if "window_name" in theirs_kwargs:
        theirs_kwargs["window"] = theirs_kwargs.pop("window_name")
    theirs = librosa.feature.melspectrogram(y=signal, sr=16000, **theirs_kwargs).T
    ours = F.mel_spectrogram(signal, 16000, **kwargs)
    assert ours.dtype == np.float32
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-3, atol=1e-6 * theirs.max())
    log_ours = F.log_compress(ours, "db", power=kwargs.get("power", 2.0))
    if kwargs.get("power", 2.0) == 2.0:
        np.testing.assert_allclose(log_ours, librosa.power_to_db(theirs, top_db=None), atol=1e-2)


def test_stft_power_and_normalized(signal):
    mag = S.stft(signal, n_fft=256, hop_length=128, power=1.0)
    power = S.stft(signal, n_fft=256, hop_length=128, power=2.0)
    np.testing.assert_allclose(mag**2, power, rtol=1e-4, atol=1e-8)
    norm = S.stft(signal, n_fft=256, hop_length=128, window_name="hamming", normalized=True)
    raw = S.stft(signal, n_fft=256, hop_length=128, window_name="hamming")
    np.testing.assert_allclose(norm * S.window("hamming", 256, 256).sum(), raw, rtol=1e-4)


def test_stft_matches_scipy_stft_rhemo():
    """RH-emo uses scipy.signal.stft(Hamming 256, overlap 128): same magnitudes."""
    from scipy.signal import stft

    x = voiced(0.3, seed=1)
    _, _, z = stft(x, nperseg=256, noverlap=128, window="hamming")
    ours = S.stft(x, n_fft=256, hop_length=128, window_name="hamming", normalized=True)
    n = min(ours.shape[0], z.shape[1])
    np.testing.assert_allclose(ours[:n], np.abs(z.T)[:n], rtol=1e-3, atol=1e-6)


def test_mfcc_matches_librosa(signal):
    import librosa

    mel = F.mel_spectrogram(signal, 16000, n_mels=40, n_fft=512, hop_length=160)
    ours = F.mfcc(F.log_compress(mel, "db"), 13)
    theirs = librosa.feature.mfcc(
        y=signal, sr=16000, n_mfcc=13, n_mels=40, n_fft=512, hop_length=160, htk=False
    ).T
    np.testing.assert_allclose(ours, theirs, atol=1e-2 * np.abs(theirs).max())


def test_pre_emphasis_definition():
    x = np.array([1.0, 2.0, 4.0, 3.0], dtype=np.float32)
    np.testing.assert_allclose(S.pre_emphasis(x, 0.5), [1.0, 1.5, 3.0, 1.0])
    assert S.pre_emphasis(np.zeros(0, np.float32)).size == 0


@settings(max_examples=25, deadline=None)
@given(
    slope=st.floats(-5, 5, allow_nan=False),
    offset=st.floats(-5, 5, allow_nan=False),
    width=st.integers(1, 4),
    frames=st.integers(12, 40),
)
def test_deltas_of_a_ramp_are_constant(slope, offset, width, frames):
    ramp = (offset + slope * np.arange(frames, dtype=np.float64))[:, None] * np.ones((1, 3))
    d = F.deltas(ramp, width)
    np.testing.assert_allclose(d[width:-width], slope, atol=1e-3 * (1 + abs(slope)))
    dd = F.deltas(d, width)
    np.testing.assert_allclose(dd[2 * width : -2 * width], 0.0, atol=1e-3 * (1 + abs(slope)))


def test_deltas_match_librosa_nearest(signal):
    import librosa

    feats = F.log_compress(F.mel_spectrogram(signal, 16000, n_mels=20), "db")
    theirs = librosa.feature.delta(feats, width=5, order=1, axis=0, mode="nearest")
    np.testing.assert_allclose(F.deltas(feats, 2), theirs, atol=1e-3)


def test_deltas_edge_replication():
    x = np.array([[0.0], [1.0], [2.0]], dtype=np.float32)
    # N = 1: d_0 = (x_1 - x_0) / 2 with x_{-1} = x_0
    np.testing.assert_allclose(F.deltas(x, 1)[:, 0], [0.5, 1.0, 0.5])


@pytest.mark.parametrize("stats", [("mean",), ("mean", "std"), ("min", "max", "p10", "median")])
def test_stats_pool_shapes_and_values(stats):
    x = np.random.default_rng(0).standard_normal((50, 7)).astype(np.float32)
    pooled = P.stats_pool(x, stats)
    assert pooled.shape == (len(stats) * 7,) and pooled.dtype == np.float32
    names = P.stats_names([f"d{i}" for i in range(7)], stats)
    assert len(names) == pooled.size and names[0] == f"{stats[0]}_d0"
    expected = {
        "mean": x.mean(0),
        "std": x.std(0),
        "min": x.min(0),
        "max": x.max(0),
        "median": np.median(x, 0),
        "p10": np.percentile(x, 10, 0),
    }
    for i, stat in enumerate(stats):
        np.testing.assert_allclose(pooled[i * 7 : (i + 1) * 7], expected[stat], rtol=1e-5)


def test_stats_pool_constant_and_bad_input():
    const = np.ones((5, 2), np.float32)
    pooled = P.stats_pool(const, ("skew", "kurtosis", "range"))
    assert np.all(np.isfinite(pooled)) and np.all(pooled == 0)
    with pytest.raises(ValueError, match="frames >= 1"):
        P.stats_pool(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="unknown statistic"):
        P.stats_pool(const, ("average",))


def test_normalisations():
    x = np.random.default_rng(1).standard_normal((30, 6)).astype(np.float32) * 5 + 3
    mm = P.minmax_normalize(x, channels=2)
    per_channel = mm.reshape(30, 2, 3)
    np.testing.assert_allclose(per_channel.min(axis=(0, 2)), 0.0, atol=1e-6)
    np.testing.assert_allclose(per_channel.max(axis=(0, 2)), 1.0, atol=1e-6)
    z = P.zscore_normalize(x)
    np.testing.assert_allclose(z.mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(z.std(0), 1.0, atol=1e-4)
    assert np.all(P.minmax_normalize(np.ones((4, 2), np.float32)) == 0)


def test_speechsplit_normalisation_formula():
    mel = np.array([1e-7, 1e-5, 1.0, 10.0], dtype=np.float32)
    expected = (20 * np.log10(np.maximum(1e-5, mel)) - 16 + 100) / 100
    np.testing.assert_allclose(F.speechsplit_normalize(mel), expected, rtol=1e-5)
    clipped = F.speechsplit_normalize(mel, clip=True)
    assert clipped.min() >= 0 and clipped.max() <= 1


def test_highpass_removes_low_frequency():
    sr = 16000
    t = np.arange(sr) / sr
    low = np.sin(2 * np.pi * 5 * t).astype(np.float32)
    high = np.sin(2 * np.pi * 500 * t).astype(np.float32)
    out_low = S.highpass(low, sr, 30.0)
    out_high = S.highpass(high, sr, 30.0)
    assert np.abs(out_low[2000:-2000]).max() < 0.01
    np.testing.assert_allclose(out_high[2000:-2000], high[2000:-2000], atol=0.01)
    assert S.highpass(np.ones(10, np.float32), sr).shape == (10,)


def test_highpass_short_signals_and_dtype():
    x = np.random.default_rng(0).standard_normal(40)
    edge = 3 * 6  # filtfilt's default padding for order 5
    for n in (2, edge - 1, edge):
        np.testing.assert_array_equal(S.highpass(x[:n], 16000, short="keep"), x[:n].astype("f4"))
        assert not np.allclose(S.highpass(x[:n], 16000, short="reduce"), x[:n], atol=1e-3)
    long = x[: edge + 1]  # long enough: both modes filter alike, only the dtype differs
    wide = S.highpass(long, 16000, short="keep", dtype=np.float64)
    assert wide.dtype == np.float64 and not np.allclose(wide, long, atol=1e-3)
    np.testing.assert_array_equal(S.highpass(long, 16000, short="reduce"), wide.astype("f4"))
    np.testing.assert_array_equal(S.highpass(x[:1], 16000), x[:1].astype("f4"))
    with pytest.raises(ValueError, match="short"):
        S.highpass(x, 16000, short="drop")


@given(
    samples=st.integers(0, 900),
    frame_length=st.integers(1, 300),
    hop=st.integers(1, 200),
    center=st.booleans(),
)
@settings(max_examples=150, deadline=None)
def test_framing_matches_index_construction(samples, frame_length, hop, center):
    x = np.random.default_rng(samples).standard_normal(samples)
    padded = np.pad(x, frame_length // 2) if center else x
    for count in (None, samples // hop + 1):
        frames = S.frame_signal(x, frame_length, hop, center=center, count=count, dtype="f8")
        expected_count = S.n_frames(samples, frame_length, hop, center) if count is None else count
        assert frames.shape == (expected_count, frame_length) and frames.dtype == np.float64
        idx = np.arange(expected_count)[:, None] * hop + np.arange(frame_length)[None, :]
        tail = np.pad(padded, (0, max(0, int(idx.max()) + 1 - padded.size)))
        np.testing.assert_array_equal(frames, tail[idx])  # zeros past the end


def test_frame_count_rules_differ_only_for_odd_frames_on_hop_multiples():
    x = np.ones(320, np.float32)
    assert S.frame_signal(x, 400, 160).shape[0] == 320 // 160 + 1 == 3
    assert S.frame_signal(x, 401, 160).shape[0] == 2  # librosa's rule
    assert S.frame_signal(x, 401, 160, count=320 // 160 + 1).shape[0] == 3  # one per hop
    with pytest.raises(ValueError, match="count"):
        S.frame_signal(x, 400, 160, count=0)


def test_rms_db_floor():
    frames = np.array([[0.1, -0.1], [0.0, 0.0], [1e-8, 1e-8]])
    np.testing.assert_allclose(S.rms_db(frames), [-20.0, -100.0, -100.0])
    np.testing.assert_allclose(S.rms_db(frames, floor_db=-200.0), [-20.0, -200.0, -160.0])


@pytest.mark.parametrize("samples", [0, 1, 100, 399, 400, 401, 16000])
@pytest.mark.parametrize("center", [True, False])
def test_framing_always_gives_frames(samples, center):
    x = np.ones(samples, np.float32)
    frames = S.frame_signal(x, 400, 160, center=center, pad_mode="reflect")
    assert frames.shape[0] == S.n_frames(samples, 400, 160, center) >= 1
    assert frames.shape[1] == 400


def test_stack_channels_is_channel_major():
    a = np.zeros((3, 2), np.float32)
    b = np.ones((3, 2), np.float32)
    stacked = F.stack_channels([a, b])
    assert stacked.shape == (3, 4)
    assert np.all(stacked[:, :2] == 0) and np.all(stacked[:, 2:] == 1)


@pytest.mark.parametrize("htk", [False, True])
@pytest.mark.parametrize("norm", ["slaney", None])
@pytest.mark.parametrize(
    "sr, n_fft, n_mels, fmin, fmax",
    [(16000, 512, 40, 0.0, None), (16000, 400, 64, 20.0, 8000.0), (22050, 1024, 80, 90.0, 7600.0)],
)
def test_mel_filterbank_matches_librosa(htk, norm, sr, n_fft, n_mels, fmin, fmax):
    import librosa

    theirs = librosa.filters.mel(
        sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, norm=norm
    )
    ours = F.mel_filterbank(sr, n_fft, n_mels, fmin, fmax, htk, norm)
    assert ours.shape == theirs.shape == (n_mels, n_fft // 2 + 1)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-7 * theirs.max())


@settings(max_examples=30, deadline=None)
@given(hz=st.floats(0.0, 20000.0), htk=st.booleans())
def test_mel_scale_round_trip(hz, htk):
    assert float(F.mel_to_hz(F.hz_to_mel(hz, htk), htk)) == pytest.approx(hz, rel=1e-9, abs=1e-6)


@pytest.mark.parametrize("name", ["hann", "hamming", "blackman", "boxcar", "bartlett"])
def test_windows_match_scipy(name):
    from scipy.signal import get_window

    ours = S.window(name, 400, 512)
    assert ours.shape == (512,) and np.all(ours[:56] == 0) and np.all(ours[456:] == 0)
    np.testing.assert_allclose(ours[56:456], get_window(name, 400, fftbins=True), atol=1e-6)
