"""Spectral feature math on numpy arrays: mel filterbanks, mel spectrograms, logs, MFCC, deltas.

Conventions: a frame feature is ``(frames, dim)`` (time first, as the store keeps it). Every
function is deterministic and has no state except a small cache of filterbank matrices. The
spectrogram comes from :func:`serkit.features.signal.stft` (framing, windows and the other
signal-level DSP live in :mod:`serkit.features.signal`; normalisation and pooling in
:mod:`serkit.features.pooling`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from serkit.features.signal import stft

__all__ = [
    "amplitude_to_db",
    "deltas",
    "hz_to_mel",
    "log_compress",
    "mel_filterbank",
    "mel_spectrogram",
    "mel_to_hz",
    "mfcc",
    "power_to_db",
    "speechsplit_normalize",
    "stack_channels",
]


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
