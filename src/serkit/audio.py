"""Audio I/O: one reader for every format soundfile reads, mono mixdown, soxr resampling.

Signals are float32 numpy arrays of shape ``(samples,)`` in [-1, 1].
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from serkit.atomic import atomic_path
from serkit.errors import AudioError

AUDIO_EXTENSIONS: tuple[str, ...] = (
    ".wav",
    ".flac",
    ".ogg",
    ".mp3",
    ".aiff",
    ".aif",
    ".au",
    ".sph",
)


@dataclass(frozen=True)
class AudioInfo:
    """Header facts about an audio file."""

    path: Path
    sample_rate: int
    channels: int
    frames: int

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.sample_rate if self.sample_rate else 0.0


def is_audio(path: str | os.PathLike) -> bool:
    """Whether the file name has an audio extension serkit reads."""
    return Path(path).suffix.lower() in AUDIO_EXTENSIONS


def info(path: str | os.PathLike) -> AudioInfo:
    """Read an audio header.

    Raises:
        AudioError: the file is missing, unreadable, not audio, or has no samples.
    """
    import soundfile as sf

    path = Path(path)
    if not path.exists():
        raise AudioError(f"{path}: no such audio file")
    if path.is_dir():
        raise AudioError(f"{path}: is a folder, expected an audio file")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: empty file (0 bytes); re-copy or remove it")
    try:
        header = sf.info(str(path))
    except Exception as exc:  # soundfile raises LibsndfileError / RuntimeError / TypeError
        raise AudioError(
            f"{path}: not a readable audio file ({_short(exc)}); "
            "expected WAV/FLAC/OGG/MP3; re-encode or remove it"
        ) from exc
    if header.frames <= 0:
        raise AudioError(f"{path}: audio has zero samples; remove it")
    return AudioInfo(path, int(header.samplerate), int(header.channels), int(header.frames))


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__


def read(
    path: str | os.PathLike,
    *,
    sample_rate: int | None = None,
    start: float | None = None,
    end: float | None = None,
    normalize: str | None = None,
    target_level: float | None = None,
) -> tuple[np.ndarray, int]:
    """Read audio as a mono float32 signal.

    Args:
        path: any file soundfile reads (WAV, FLAC, OGG, MP3, ...).
        sample_rate: resample to this rate (soxr, high quality); ``None`` keeps the file's rate.
        start: segment start in seconds (``None`` = beginning).
        end: segment end in seconds (``None`` = end of file).
        normalize: ``None``, ``"peak"`` or ``"rms"``.
        target_level: peak (default 1.0) or RMS (default 0.1) level for ``normalize``.

    Returns:
        ``(signal, rate)`` with signal of shape ``(samples,)``.

    Raises:
        AudioError: naming the file, for unreadable, empty or out-of-range reads.
    """
    import soundfile as sf

    header = info(path)
    first = 0 if start is None else int(round(start * header.sample_rate))
    last = header.frames if end is None else int(round(end * header.sample_rate))
    last = min(last, header.frames)
    if first < 0 or first >= last:
        raise AudioError(
            f"{path}: segment start={start} end={end} is empty or outside the file "
            f"(duration {header.duration:.3f} s)"
        )
    try:
        data, rate = sf.read(str(path), start=first, stop=last, dtype="float32", always_2d=True)
    except Exception as exc:
        raise AudioError(f"{path}: failed to decode audio ({_short(exc)})") from exc
    signal = to_mono(data)
    if not np.all(np.isfinite(signal)):
        raise AudioError(f"{path}: audio contains NaN or inf samples")
    if sample_rate is not None and sample_rate != rate:
        signal = resample(signal, rate, sample_rate)
        rate = sample_rate
    if normalize is not None:
        signal = normalize_signal(signal, normalize, target_level)
    return signal, int(rate)


def to_mono(data: np.ndarray) -> np.ndarray:
    """Average channels: ``(samples, channels)`` -> ``(samples,)`` float32."""
    data = np.asarray(data, dtype=np.float32)
    if data.ndim == 1:
        return data
    return data.mean(axis=1).astype(np.float32)


def resample(signal: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Resample with soxr (high quality); returns float32 ``(samples,)``."""
    import soxr

    if rate_in == rate_out:
        return np.asarray(signal, dtype=np.float32)
    out = soxr.resample(np.asarray(signal, dtype=np.float32), rate_in, rate_out, quality="HQ")
    return np.asarray(out, dtype=np.float32)


#: the speed factors :func:`speed_perturb` accepts (closed interval)
SPEED_RANGE = (0.5, 2.0)


def speed_perturb(signal: np.ndarray, sample_rate: int, factor: float) -> np.ndarray:
    """The signal played ``factor`` times faster at the same rate (tempo and pitch together,
    as sox ``speed`` and Kaldi's speed perturbation): resampled to ``sample_rate / factor``
    and read at ``sample_rate``.

    Args:
        signal: ``(samples,)`` float32.
        sample_rate: its rate in Hz.
        factor: the speed, in :data:`SPEED_RANGE`; 1 returns the signal unchanged.

    Returns:
        ``(round(samples / factor),)`` float32 (within one sample, soxr rounds).

    Raises:
        ValueError: ``factor`` outside :data:`SPEED_RANGE`.

    Example:
        >>> x = np.zeros(16000, dtype=np.float32)
        >>> len(speed_perturb(x, 16000, 1.25)), len(speed_perturb(x, 16000, 0.8))
        (12800, 20000)
    """
    low, high = SPEED_RANGE
    if not low <= float(factor) <= high:
        raise ValueError(f"speed factor must be in [{low}, {high}], found {factor}")
    if float(factor) == 1.0:
        return np.asarray(signal, dtype=np.float32)
    return resample(signal, int(sample_rate), int(round(sample_rate / float(factor))))


def peak_normalize(signal: np.ndarray, peak: float = 1.0) -> np.ndarray:
    """Scale so that max |x| == ``peak``; silence is returned unchanged."""
    top = float(np.max(np.abs(signal))) if signal.size else 0.0
    gain = peak / top if top > 0.0 else np.inf
    if not np.isfinite(gain):  # silence, or so close to it that no gain reaches the peak
        return signal.astype(np.float32)
    return (signal.astype(np.float64) * gain).astype(np.float32)


def rms_normalize(signal: np.ndarray, rms: float = 0.1) -> np.ndarray:
    """Scale to the given RMS level, then clip to [-1, 1]; silence is returned unchanged."""
    level = float(np.sqrt(np.mean(np.square(signal, dtype=np.float64)))) if signal.size else 0.0
    gain = rms / level if level > 0.0 else np.inf
    if not np.isfinite(gain):  # silence, or so close to it that no gain reaches the level
        return signal.astype(np.float32)
    # scale in float64: a float32 signal near the subnormal range would overflow to inf
    return np.clip(signal.astype(np.float64) * gain, -1.0, 1.0).astype(np.float32)


def normalize_signal(signal: np.ndarray, method: str, level: float | None = None) -> np.ndarray:
    """Apply ``"peak"`` or ``"rms"`` normalisation."""
    if method == "peak":
        return peak_normalize(signal, 1.0 if level is None else level)
    if method == "rms":
        return rms_normalize(signal, 0.1 if level is None else level)
    raise ValueError(f"unknown normalisation {method!r}; expected 'peak' or 'rms'")


def write(path: str | os.PathLike, signal: np.ndarray, sample_rate: int) -> Path:
    """Write audio atomically; the format follows the extension (``.wav``, ``.flac``, ...)."""
    import soundfile as sf

    path = Path(path)
    subtype = "PCM_16" if path.suffix.lower() in (".wav", ".flac") else None
    with atomic_path(path, keep_suffix=True) as tmp:
        sf.write(str(tmp), np.asarray(signal, dtype=np.float32), sample_rate, subtype=subtype)
    return path
