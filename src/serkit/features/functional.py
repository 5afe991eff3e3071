"""Pure feature math on numpy arrays: framing, STFT, mel filterbanks, logs, MFCC, deltas, pooling.

Conventions: a signal is ``(samples,)`` float32; a frame feature is ``(frames, dim)`` (time
first, as the store keeps it). Every function is deterministic and has no state except a small
cache of windows and filterbank matrices. The STFT frames the signal with a strided view and
runs ``scipy.fft.rfft`` in single precision, which is several times faster than
``librosa.stft`` for the short signals of emotion corpora.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "amplitude_to_db",
    "deltas",
    "frame_signal",
    "highpass",
    "hz_to_mel",
    "log_compress",
    "mel_filterbank",
    "mel_spectrogram",
    "mel_to_hz",
    "mfcc",
    "minmax_normalize",
    "n_frames",
    "power_to_db",
    "pre_emphasis",
    "rms_db",
    "speechsplit_normalize",
    "stack_channels",
    "stats_names",
    "stats_pool",
    "stft",
    "window",
    "zscore_normalize",
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


def hz_to_mel(hz: np.ndarray | float, htk: bool = False) -> np.ndarray:
    """Hz -> mel: HTK ``2595 log10(1 + f / 700)`` or Slaney's (linear below 1 kHz, log above)."""
    hz = np.asarray(hz, dtype=np.float64)
    if htk:
        return 2595.0 * np.log10(1.0 + hz / 700.0)
    mel = hz / (200.0 / 3)
    log_part = 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(hz >= 1000.0, log_part, mel)


def mel_to_hz(mel: np.ndarray | float, htk: bool = False) -> np.ndarray:
    """Inverse of :func:`hz_to_mel`."""
    mel = np.asarray(mel, dtype=np.float64)
    if htk:
        return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)
    hz = mel * (200.0 / 3)
    return np.where(mel >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0)), hz)


@functools.lru_cache(maxsize=32)
def mel_filterbank(
    sample_rate: int,
    n_fft: int,
    n_mels: int,
    fmin: float = 0.0,
    fmax: float | None = None,
    htk: bool = False,
    norm: str | None = "slaney",
) -> np.ndarray:
    """Triangular mel filterbank, numerically the same as ``librosa.filters.mel``; cached.

    Args:
        sample_rate: in Hz.
        n_fft: FFT size.
        n_mels: number of bands.
        fmin: lowest band edge in Hz.
        fmax: highest band edge in Hz (``None`` = Nyquist).
        htk: HTK mel scale (``2595 log10(1 + f/700)``) instead of Slaney's.
        norm: "slaney" (area normalisation: each band sums to ``2 / bandwidth``) or ``None``
            (peak 1).

    Returns:
        ``(n_mels, n_fft // 2 + 1)`` float32 (read-only).
    """
    if norm not in ("slaney", None):
        raise ValueError(f"unknown mel norm {norm!r}; expected 'slaney' or None")
    fmax = sample_rate / 2.0 if fmax is None else float(fmax)
    fft_freqs = np.linspace(0.0, sample_rate / 2.0, 1 + n_fft // 2)
    edges_mel = np.linspace(hz_to_mel(fmin, htk), hz_to_mel(fmax, htk), n_mels + 2)
    edges = mel_to_hz(edges_mel, htk)
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    if norm == "slaney":
        weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    fb = np.ascontiguousarray(weights, dtype=np.float32)
    fb.setflags(write=False)
    return fb


def mel_spectrogram(
    signal: np.ndarray,
    sample_rate: int,
    *,
    n_mels: int = 64,
    n_fft: int = 512,
    hop_length: int = 160,
    win_length: int | None = None,
    window_name: str = "hann",
    center: bool = True,
    pad_mode: str = "constant",
    power: float = 2.0,
    fmin: float = 0.0,
    fmax: float | None = None,
    htk: bool = False,
    norm: str | None = "slaney",
) -> np.ndarray:
    """Mel spectrogram; every argument means what it means in ``librosa.feature.melspectrogram``.

    Returns:
        ``(frames, n_mels)`` float32 (linear, not log).
    """
    spec = stft(
        signal,
        n_fft=n_fft,
        hop_length=hop_length,
        win_length=win_length,
        window_name=window_name,
        center=center,
        pad_mode=pad_mode,
        power=power,
    )
    fb = mel_filterbank(int(sample_rate), int(n_fft), int(n_mels), float(fmin), fmax, htk, norm)
    return spec @ fb.T


def power_to_db(spec: np.ndarray, *, amin: float = 1e-10, top_db: float | None = None):
    """``10 log10(max(amin, S))`` (reference 1), optionally floored at ``max - top_db``."""
    out = 10.0 * np.log10(np.maximum(np.float32(amin), spec))
    if top_db is not None:
        out = np.maximum(out, out.max() - np.float32(top_db))
    return out.astype(np.float32, copy=False)


def amplitude_to_db(spec: np.ndarray, *, amin: float = 1e-5, top_db: float | None = None):
    """``20 log10(max(amin, S))`` (reference 1), optionally floored at ``max - top_db``."""
    out = 20.0 * np.log10(np.maximum(np.float32(amin), spec))
    if top_db is not None:
        out = np.maximum(out, out.max() - np.float32(top_db))
    return out.astype(np.float32, copy=False)


def speechsplit_normalize(
    mel: np.ndarray,
    *,
    amin: float = 1e-5,
    ref_db: float = 16.0,
    min_db: float = -100.0,
    clip: bool = False,
) -> np.ndarray:
    """SpeechSplit's dB normalisation of a magnitude mel.

    ``S = (20 log10(max(amin, M)) - 16 + 100) / 100``.

    Args:
        mel: magnitude mel spectrogram, any shape.
        amin: floor before the log.
        ref_db: subtracted reference level in dB.
        min_db: the level mapped to 0.
        clip: clip the result to ``[0, 1]`` (SpeechSplit does so when batching).

    Returns:
        Same shape, float32.
    """
    db = amplitude_to_db(mel, amin=amin) - np.float32(ref_db)
    out = (db - np.float32(min_db)) / np.float32(-min_db)
    if clip:
        out = np.clip(out, 0.0, 1.0)
    return out.astype(np.float32, copy=False)


def log_compress(spec: np.ndarray, kind: str = "db", *, eps: float = 1e-10, power: float = 2.0):
    """Compress a (mel) spectrogram.

    Args:
        spec: non-negative values.
        kind: "db" (``10 log10`` of power, i.e. ``(20 / power) log10(max(eps, S))``), "ln"
            (``ln(S + eps)``), "log10" (``log10(S + eps)``), "speechsplit"
            (:func:`speechsplit_normalize`, for magnitude input) or "none".
        eps: floor (db) or offset (ln, log10).
        power: the exponent ``spec`` was computed with (1 magnitude, 2 power); used by "db".

    Returns:
        Same shape, float32.
    """
    if kind == "db":
        scale = np.float32(20.0 / power)
        return (scale * np.log10(np.maximum(np.float32(eps), spec))).astype(np.float32)
    if kind == "ln":
        return np.log(spec + np.float32(eps)).astype(np.float32, copy=False)
    if kind == "log10":
        return np.log10(spec + np.float32(eps)).astype(np.float32, copy=False)
    if kind == "speechsplit":
        return speechsplit_normalize(spec)
    if kind == "none":
        return np.asarray(spec, dtype=np.float32)
    raise ValueError(f"unknown log kind {kind!r}; expected db, ln, log10, speechsplit or none")


def mfcc(log_mel: np.ndarray, n_mfcc: int = 13) -> np.ndarray:
    """Cepstral coefficients: orthonormal DCT-II along the mel axis of a log-mel.

    Args:
        log_mel: ``(frames, n_mels)``.
        n_mfcc: coefficients kept (<= ``n_mels``).

    Returns:
        ``(frames, n_mfcc)`` float32.
    """
    import scipy.fft

    if n_mfcc > log_mel.shape[-1]:
        raise ValueError(
            f"n_mfcc {n_mfcc} is larger than the number of mel bands {log_mel.shape[-1]}"
        )
    out = scipy.fft.dct(np.asarray(log_mel, dtype=np.float32), type=2, norm="ortho", axis=-1)
    return np.ascontiguousarray(out[..., :n_mfcc], dtype=np.float32)


def deltas(features: np.ndarray, width: int = 2, *, axis: int = 0) -> np.ndarray:
    """Regression deltas ``d_t = sum_n n (c_{t+n} - c_{t-n}) / (2 sum_n n^2)``, n = 1..width.

    Edges are replicated (HTK, python_speech_features; ``librosa.feature.delta`` with
    ``mode="nearest"``), so a linear ramp gives a constant slope away from the edges.

    Args:
        features: e.g. ``(frames, dim)``.
        width: the regression half-window N (window of ``2N + 1`` frames).
        axis: the time axis.

    Returns:
        Same shape as ``features``, float32.
    """
    if width < 1:
        raise ValueError(f"delta width must be >= 1, got {width}")
    x = np.moveaxis(np.asarray(features, dtype=np.float32), axis, 0)
    steps = x.shape[0]
    padded = np.concatenate(
        [np.repeat(x[:1], width, axis=0), x, np.repeat(x[-1:], width, axis=0)], axis=0
    )
    out = np.zeros_like(x)
    for n in range(1, width + 1):
        out += np.float32(n) * (
            padded[width + n : width + n + steps] - padded[width - n : width - n + steps]
        )
    out /= np.float32(2 * sum(n * n for n in range(1, width + 1)))
    return np.moveaxis(out, 0, axis)


def stack_channels(channels: Sequence[np.ndarray]) -> np.ndarray:
    """Stack ``(frames, bins)`` channels channel-major into ``(frames, channels * bins)``."""
    return np.ascontiguousarray(np.concatenate(list(channels), axis=1), dtype=np.float32)


def _per_channel(features: np.ndarray, channels: int) -> np.ndarray:
    frames, dim = features.shape
    if dim % channels:
        raise ValueError(f"feature dim {dim} is not divisible by {channels} channels")
    return features.reshape(frames, channels, dim // channels)


def minmax_normalize(features: np.ndarray, channels: int = 1, *, eps: float = 1e-8) -> np.ndarray:
    """Scale each channel of one utterance to ``[0, 1]`` (constant channels become 0).

    Args:
        features: ``(frames, channels * bins)`` channel-major.
        channels: number of stacked channels.
        eps: guards constant channels.

    Returns:
        Same shape, float32.
    """
    x = _per_channel(np.asarray(features, dtype=np.float32), channels)
    low = x.min(axis=(0, 2), keepdims=True)
    span = x.max(axis=(0, 2), keepdims=True) - low
    out = (x - low) / np.maximum(span, np.float32(eps))
    return out.reshape(features.shape).astype(np.float32, copy=False)


def zscore_normalize(features: np.ndarray, *, eps: float = 1e-8) -> np.ndarray:
    """Per-dimension zero mean, unit variance over the frames of one utterance.

    Args:
        features: ``(frames, dim)``.
        eps: added to the standard deviation.

    Returns:
        ``(frames, dim)`` float32.
    """
    x = np.asarray(features, dtype=np.float32)
    mean = x.mean(axis=0, keepdims=True)
    std = x.std(axis=0, keepdims=True)
    return ((x - mean) / (std + np.float32(eps))).astype(np.float32, copy=False)


_STATS = ("mean", "std", "min", "max", "median", "range", "skew", "kurtosis")


def _check_stat(name: str) -> None:
    if name in _STATS:
        return
    if (
        name.startswith("p")
        and name[1:].replace(".", "", 1).isdigit()
        and 0 <= float(name[1:]) <= 100
    ):
        return
    raise ValueError(
        f"unknown statistic {name!r}; expected one of {', '.join(_STATS)} or pNN (percentile)"
    )


def stats_pool(features: np.ndarray, stats: Sequence[str] = ("mean", "std")) -> np.ndarray:
    """Pool frame features to one utterance vector, statistic-major.

    Args:
        features: ``(frames, dim)`` with at least one frame.
        stats: names among mean, std, min, max, median, range, skew, kurtosis and ``pNN``
            (the NN-th percentile, e.g. ``p10``).

    Returns:
        ``(len(stats) * dim,)`` float32: all dims of the first statistic, then the next, ...
        (names from :func:`stats_names`).
    """
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"stats_pool expects (frames >= 1, dim), got shape {x.shape}")
    parts = []
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    for name in stats:
        _check_stat(name)
        if name == "mean":
            parts.append(mean)
        elif name == "std":
            parts.append(std)
        elif name == "min":
            parts.append(x.min(axis=0))
        elif name == "max":
            parts.append(x.max(axis=0))
        elif name == "median":
            parts.append(np.median(x, axis=0))
        elif name == "range":
            parts.append(x.max(axis=0) - x.min(axis=0))
        elif name in ("skew", "kurtosis"):
            safe = np.where(std > 0, std, 1.0)
            z = (x - mean) / safe
            moment = np.mean(z**3 if name == "skew" else z**4, axis=0)
            parts.append(np.where(std > 0, moment - (0.0 if name == "skew" else 3.0), 0.0))
        else:
            parts.append(np.percentile(x, float(name[1:]), axis=0))
    return np.concatenate(parts).astype(np.float32)


def stats_names(names: Sequence[str], stats: Sequence[str] = ("mean", "std")) -> list[str]:
    """Names of :func:`stats_pool` outputs: ``<stat>_<dim name>``, statistic-major."""
    for name in stats:
        _check_stat(name)
    return [f"{stat}_{name}" for stat in stats for name in names]
