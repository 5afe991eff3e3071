"""Signal-level DSP on numpy arrays: pre-emphasis, high-pass, windows, framing, frame dB, STFT.

Conventions: a signal is ``(samples,)`` float32; a frame feature is ``(frames, dim)`` (time
first, as the store keeps it). Every function is deterministic and has no state except a small
cache of windows and filter coefficients. The STFT frames the signal with a strided view and
runs ``scipy.fft.rfft`` in single precision, which is several times faster than
``librosa.stft`` for the short signals of emotion corpora. Spectral features built on the STFT
live in :mod:`serkit.features.functional`; normalisation and pooling in
:mod:`serkit.features.pooling`.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

__all__ = [
    "frame_signal",
    "highpass",
    "n_frames",
    "pre_emphasis",
    "rms_db",
    "stft",
    "window",
]


def pre_emphasis(signal: np.ndarray, coef: float = 0.97) -> np.ndarray:
    """First-order pre-emphasis ``y[n] = x[n] - coef * x[n-1]`` (``y[0] = x[0]``).

    Args:
        signal: ``(samples,)``.
        coef: the filter coefficient; 0 returns a float32 copy.

    Returns:
        ``(samples,)`` float32.
    """
    x = np.asarray(signal, dtype=np.float32)
    if coef == 0 or x.size == 0:
        return x.copy()
    out = np.empty_like(x)
    out[0] = x[0]
    np.subtract(x[1:], np.float32(coef) * x[:-1], out=out[1:])
    return out


def highpass(
    signal: np.ndarray,
    sample_rate: int,
    cutoff: float = 30.0,
    order: int = 5,
    *,
    short: str = "reduce",
    dtype: Any = np.float32,
) -> np.ndarray:
    """Zero-phase Butterworth high-pass (SpeechSplit uses order 5 at 30 Hz, ``filtfilt``).

    ``filtfilt`` pads both ends by ``3 * (order + 1)`` samples (odd extension); a signal not
    longer than that is too short for the full padding.

    Args:
        signal: ``(samples,)``.
        sample_rate: in Hz.
        cutoff: the cut-off frequency in Hz.
        order: the Butterworth order.
        short: what happens to a signal too short for the full padding: ``"reduce"`` filters
            it with the padding cut to ``samples - 1`` (the log-mel front ends), ``"keep"``
            returns it unfiltered (the SpeechSplit F0 tracker). Signals under 2 samples are
            always returned unfiltered.
        dtype: output dtype; the filter runs in float64 (float32 for features, float64 to
            keep its precision, e.g. in front of an F0 tracker).

    Returns:
        ``(samples,)`` of ``dtype``.

    >>> t = np.arange(16000) / 16000
    >>> hum, voice = np.sin(2 * np.pi * 5 * t), np.sin(2 * np.pi * 200 * t)
    >>> out = highpass(hum + voice, 16000, 30.0, dtype=np.float64)
    >>> bool(np.abs(out - voice)[4000:12000].max() < 0.01)
    True
    >>> highpass(np.ones(5), 16000, short="keep").tolist()
    [1.0, 1.0, 1.0, 1.0, 1.0]
    """
    from scipy import signal as sps

    if short not in ("reduce", "keep"):
        raise ValueError(f"highpass short must be 'reduce' or 'keep', got {short!r}")
    x = np.asarray(signal, dtype=np.float64)
    b, a = _butter_highpass(int(sample_rate), float(cutoff), int(order))
    edge = 3 * max(len(a), len(b))
    if x.size < 2 or (short == "keep" and x.size <= edge):
        return x.astype(dtype)
    return sps.filtfilt(b, a, x, padlen=min(edge, x.size - 1)).astype(dtype)


@functools.lru_cache(maxsize=16)
def _butter_highpass(sample_rate: int, cutoff: float, order: int):
    from scipy import signal as sps

    return sps.butter(order, cutoff / (0.5 * sample_rate), btype="high", analog=False)


_COSINE_WINDOWS = {
    "hann": (0.5, -0.5),
    "hamming": (0.54, -0.46),
    "blackman": (0.42, -0.5, 0.08),
    "boxcar": (1.0,),
    "rectangular": (1.0,),
}


@functools.lru_cache(maxsize=32)
def window(name: str, win_length: int, n_fft: int) -> np.ndarray:
    """A periodic analysis window of ``win_length`` centred (zero-padded) in ``n_fft`` samples.

    Args:
        name: any :func:`scipy.signal.get_window` name ("hann", "hamming", "boxcar", ...).
        win_length: window length in samples (<= ``n_fft``).
        n_fft: FFT size.

    Returns:
        ``(n_fft,)`` float32 (read-only, cached).
    """
    if win_length > n_fft:
        raise ValueError(f"win_length {win_length} is longer than n_fft {n_fft}")
    phase = 2.0 * np.pi * np.arange(win_length) / win_length
    if name in _COSINE_WINDOWS:  # periodic, as scipy.signal.get_window(fftbins=True)
        w = sum(c * np.cos(k * phase) for k, c in enumerate(_COSINE_WINDOWS[name]))
    else:  # scipy.signal is slow to import (seconds), so only for the rarer windows
        from scipy.signal import get_window

        w = get_window(name, win_length, fftbins=True)
    w = np.asarray(w, dtype=np.float32)
    left = (n_fft - win_length) // 2
    out = np.zeros(n_fft, dtype=np.float32)
    out[left : left + win_length] = w
    out.setflags(write=False)
    return out


def n_frames(samples: int, n_fft: int, hop_length: int, center: bool = True) -> int:
    """Number of frames :func:`frame_signal` gives for a signal of ``samples`` (always >= 1)."""
    padded = samples + 2 * (n_fft // 2) if center else samples
    return max(1, 1 + (padded - n_fft) // hop_length) if padded >= n_fft else 1


def frame_signal(
    signal: np.ndarray,
    frame_length: int,
    hop_length: int,
    *,
    center: bool = True,
    pad_mode: str = "constant",
    count: int | None = None,
    dtype: Any = np.float32,
) -> np.ndarray:
    """Cut a signal into overlapping frames (a strided view when no copy is needed).

    With ``center`` the signal is padded by ``frame_length // 2`` on both sides (``pad_mode``
    "reflect" like librosa, or "constant" zeros; reflect falls back to zeros for signals too
    short to reflect; librosa 0.11 pads with zeros by default). A signal shorter than one
    frame is zero-padded at the end so that the result always has at least one frame.

    Args:
        signal: ``(samples,)``.
        frame_length: samples per frame.
        hop_length: samples between frame starts.
        center: pad so that frame ``t`` is centred at sample ``t * hop_length``.
        pad_mode: "reflect" or "constant".
        count: how many frames: ``None`` = as many as fit (librosa's rule, see
            :func:`n_frames`); a number gives exactly that many, zero-padding the end as
            needed: ``samples // hop_length + 1`` with ``center`` is one frame per hop
            multiple, the WORLD F0 frames (it differs from librosa's count for odd
            ``frame_length`` when the hop divides the length).
        dtype: dtype of the frames (the signal is cast once, before padding).

    Returns:
        ``(frames, frame_length)`` read-only view of ``dtype``.

    >>> frame_signal(np.arange(5), 4, 2).tolist()
    [[0.0, 0.0, 0.0, 1.0], [0.0, 1.0, 2.0, 3.0], [2.0, 3.0, 4.0, 0.0]]
    >>> frame_signal(np.arange(5), 3, 2, center=False).tolist()
    [[0.0, 1.0, 2.0], [2.0, 3.0, 4.0]]
    >>> frame_signal(np.arange(4), 3, 2).shape, frame_signal(np.arange(4), 3, 2, count=3).shape
    ((2, 3), (3, 3))
    """
    x = np.asarray(signal, dtype=dtype)
    if hop_length <= 0 or frame_length <= 0:
        raise ValueError(
            f"frame_length and hop_length must be positive: {frame_length}, {hop_length}"
        )
    if count is not None and count < 1:
        raise ValueError(f"frame count must be >= 1 (or None), got {count}")
    if center:
        pad = frame_length // 2
        mode = pad_mode if (pad_mode != "reflect" or x.size > pad) else "constant"
        x = np.pad(x, pad, mode=mode) if pad else x
    need = frame_length if count is None else (count - 1) * hop_length + frame_length
    if x.size < need:
        x = np.pad(x, (0, need - x.size))
    if count is None:
        count = 1 + (x.size - frame_length) // hop_length
    stride = x.strides[0]
    return np.lib.stride_tricks.as_strided(
        x, shape=(count, frame_length), strides=(hop_length * stride, stride), writeable=False
    )


def rms_db(frames: np.ndarray, floor_db: float = -100.0) -> np.ndarray:
    """Per-frame RMS level in dBFS, floored at ``floor_db``: ``(frames, length)`` -> ``(frames,)``.

    >>> rms_db(np.array([[0.5, -0.5], [0.0, 0.0]]), floor_db=-60.0).round(2).tolist()
    [-6.02, -60.0]
    """
    rms = np.sqrt(np.mean(np.square(frames), axis=1))
    return 20.0 * np.log10(np.maximum(rms, 10.0 ** (floor_db / 20.0)))


def stft(
    signal: np.ndarray,
    *,
    n_fft: int = 512,
    hop_length: int = 160,
    win_length: int | None = None,
    window_name: str = "hann",
    center: bool = True,
    pad_mode: str = "constant",
    power: float = 1.0,
    normalized: bool = False,
) -> np.ndarray:
    """Magnitude (``power=1``) or power (``power=2``) spectrogram.

    Args:
        signal: ``(samples,)``.
        n_fft: FFT size (frame length).
        hop_length: hop in samples.
        win_length: window length (``None`` = ``n_fft``), centred in the frame.
        window_name: the window (scipy name).
        center: librosa-style centring (see :func:`frame_signal`).
        pad_mode: "reflect" or "constant".
        power: exponent applied to the magnitude.
        normalized: divide the spectrum by the window sum (``scipy.signal.stft`` scaling).

    Returns:
        ``(frames, n_fft // 2 + 1)`` float32.
    """
    import scipy.fft

    win = window(window_name, int(win_length or n_fft), int(n_fft))
    frames = frame_signal(signal, int(n_fft), int(hop_length), center=center, pad_mode=pad_mode)
    spec = scipy.fft.rfft(frames * win, axis=1, workers=1)
    mag2 = np.square(spec.real, dtype=np.float32)
    mag2 += np.square(spec.imag, dtype=np.float32)
    if normalized:
        mag2 /= np.float32(win.sum()) ** 2
    if power == 2.0:
        return mag2
    if power == 1.0:
        return np.sqrt(mag2, out=mag2)
    return np.power(mag2, np.float32(power / 2.0), out=mag2)
