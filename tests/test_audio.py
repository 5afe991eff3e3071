"""serkit.audio: reading, mixdown, resampling, segments, normalisation, errors, atomic write."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from serkit import audio
from serkit.errors import AudioError

SR = 16000


def _sine(seconds=0.5, sr=SR, freq=220.0, amp=0.5):
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.mark.parametrize("suffix", [".wav", ".flac"])
def test_read_wav_and_flac(tmp_path, suffix):
    path = tmp_path / f"tone{suffix}"
    sf.write(str(path), _sine(), SR)
    signal, rate = audio.read(path)
    assert rate == SR and signal.dtype == np.float32 and signal.shape == (SR // 2,)
    np.testing.assert_allclose(signal, _sine(), atol=1e-4)  # 16-bit quantisation
    header = audio.info(path)
    assert (header.sample_rate, header.channels, header.frames) == (SR, 1, SR // 2)
    assert header.duration == pytest.approx(0.5)


def test_stereo_is_mixed_down_to_the_channel_mean(tmp_path):
    left, right = _sine(amp=0.2), _sine(freq=440.0, amp=0.4)
    path = tmp_path / "stereo.wav"
    sf.write(str(path), np.stack([left, right], axis=1), SR, subtype="FLOAT")
    signal, _ = audio.read(path)
    assert signal.shape == (len(left),)
    np.testing.assert_allclose(signal, (left + right) / 2, atol=1e-6)
    assert audio.to_mono(np.ones((4, 3))).shape == (4,)


@pytest.mark.parametrize(("rate_in", "rate_out"), [(48000, 16000), (8000, 16000), (22050, 16000)])
def test_resample_length_and_read_with_rate(tmp_path, rate_in, rate_out):
    x = _sine(seconds=1.0, sr=rate_in)
    y = audio.resample(x, rate_in, rate_out)
    assert y.dtype == np.float32
    assert len(y) == pytest.approx(rate_out, abs=1)
    np.testing.assert_array_equal(audio.resample(x, rate_in, rate_in), x)
    path = tmp_path / "x.wav"
    sf.write(str(path), x, rate_in)
    signal, rate = audio.read(path, sample_rate=rate_out)
    assert rate == rate_out and len(signal) == pytest.approx(rate_out, abs=1)


def test_segment_read_start_end(tmp_path):
    ramp = (np.arange(SR) / SR * 0.9).astype(np.float32)
    path = tmp_path / "ramp.wav"
    sf.write(str(path), ramp, SR, subtype="FLOAT")
    seg, _ = audio.read(path, start=0.25, end=0.5)
    assert len(seg) == SR // 4
    assert seg[0] == pytest.approx(ramp[SR // 4])
    tail, _ = audio.read(path, start=0.75)
    assert len(tail) == SR // 4
    head, _ = audio.read(path, end=5.0)  # end beyond the file is clipped to it
    assert len(head) == SR
    for start, end in ((0.5, 0.5), (0.6, 0.4), (2.0, None), (-0.1, 0.2)):
        with pytest.raises(AudioError, match="ramp.wav"):
            audio.read(path, start=start, end=end)


def test_read_with_normalisation(tmp_path):
    path = tmp_path / "t.wav"
    sf.write(str(path), _sine(amp=0.25), SR, subtype="FLOAT")
    peak, _ = audio.read(path, normalize="peak")
    assert np.abs(peak).max() == pytest.approx(1.0)
    rms, _ = audio.read(path, normalize="rms", target_level=0.05)
    assert np.sqrt(np.mean(rms.astype(np.float64) ** 2)) == pytest.approx(0.05, rel=1e-4)


signals = arrays(
    np.float32,
    st.integers(1, 400),
    elements=st.floats(-1.0, 1.0, width=32, allow_nan=False),
)


@settings(max_examples=80, deadline=None)
@given(x=signals, peak=st.floats(0.01, 1.0))
def test_peak_normalize_properties(x, peak):
    y = audio.peak_normalize(x, peak)
    assert y.dtype == np.float32 and y.shape == x.shape
    top = np.abs(x).max()
    if top == 0:
        np.testing.assert_array_equal(y, x)
        return
    assume(top > 1e-6)
    assert np.abs(y).max() == pytest.approx(peak, rel=1e-5)
    np.testing.assert_allclose(y, x * (peak / top), rtol=1e-5, atol=1e-7)  # a pure gain


@settings(max_examples=80, deadline=None)
@given(x=signals, level=st.floats(0.001, 0.5))
def test_rms_normalize_properties(x, level):
    y = audio.rms_normalize(x, level)
    assert y.shape == x.shape and np.all(np.abs(y) <= 1.0)
    rms = float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))
    if rms == 0:
        np.testing.assert_array_equal(y, x)
        return
    assume(rms > 1e-6)
    if np.abs(x).max() * level / rms <= 1.0:  # no clipping: exactly the requested level
        got = float(np.sqrt(np.mean(y.astype(np.float64) ** 2)))
        assert got == pytest.approx(level, rel=1e-4)
    else:  # clipping only lowers the level
        assert float(np.sqrt(np.mean(y.astype(np.float64) ** 2))) <= level * (1 + 1e-4)


def test_normalize_signal_dispatch_and_unknown_method():
    x = _sine(amp=0.2)
    assert np.abs(audio.normalize_signal(x, "peak")).max() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="loudness"):
        audio.normalize_signal(x, "loudness")


def test_missing_empty_garbage_zero_length_and_folder_errors_name_the_file(tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    garbage = tmp_path / "garbage.flac"
    garbage.write_bytes(b"\x00\x01not audio" * 50)
    zero = tmp_path / "zero.wav"
    sf.write(str(zero), np.zeros(0, dtype=np.float32), SR)
    cases = {
        tmp_path / "missing.wav": "no such",
        empty: "empty",
        garbage: "not a readable audio",
        zero: "zero samples",
        tmp_path: "folder",
    }
    for path, reason in cases.items():
        for call in (audio.info, audio.read):
            with pytest.raises(AudioError, match=reason) as info:
                call(path)
            assert str(path) in str(info.value)


def test_nan_samples_are_an_error(tmp_path):
    path = tmp_path / "nan.wav"
    x = _sine()
    x[10] = np.nan
    sf.write(str(path), x, SR, subtype="FLOAT")
    with pytest.raises(AudioError, match="NaN"):
        audio.read(path)


def test_is_audio():
    assert audio.is_audio("a/b.WAV") and audio.is_audio("x.flac")
    assert not audio.is_audio("readme.txt") and not audio.is_audio("noext")


def test_write_is_atomic_and_round_trips(tmp_path, monkeypatch):
    path = tmp_path / "sub" / "out.flac"
    audio.write(path, _sine(), SR)
    signal, rate = audio.read(path)
    assert rate == SR and len(signal) == SR // 2
    before = path.read_bytes()

    import soundfile

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(soundfile, "write", broken)
    with pytest.raises(RuntimeError):
        audio.write(path, np.zeros(10), SR)
    assert path.read_bytes() == before  # the old file is intact
    assert sorted(p.name for p in path.parent.iterdir()) == ["out.flac"]  # no temp left
