"""Uploaded bytes -> a mono float32 signal, checked against the request limits.

Two kinds of upload: an audio file (anything soundfile reads: WAV, FLAC, OGG, MP3), whose
header gives the rate and the duration before anything is decoded, and raw little-endian PCM
(``int16`` or ``float32``, interleaved channels) with its rate given by the client.
"""

from __future__ import annotations

import io
import re
from typing import Any

import numpy as np

from serkit.serve.limits import Limits, UploadError

#: sample formats of raw PCM (little endian)
PCM_DTYPES = {"int16": "<i2", "float32": "<f4"}


def decode_file(data: bytes, limits: Limits, *, name: str = "upload") -> tuple[np.ndarray, int]:
    """Decode an audio file held in memory.

    Args:
        data: the file's bytes.
        limits: the duration limit is checked from the header, before decoding.
        name: what to call it in messages (the uploaded file name).

    Returns:
        ``(signal (samples,) float32, sample_rate)``.

    Raises:
        UploadError: 422 for an empty, corrupt or non-finite file; 413 for one too long.
    """
    import soundfile as sf

    if not data:
        raise UploadError(422, f"{name}: empty upload (0 bytes); send the audio file's content")
    try:
        header = sf.info(io.BytesIO(data))
    except Exception as exc:
        raise UploadError(
            422,
            f"{name}: not a readable audio file ({_short(exc)}; {len(data)} bytes); send WAV, "
            "FLAC, OGG or MP3, or raw PCM as audio/pcm with ?sample_rate=N",
        ) from None
    if header.frames <= 0 or header.samplerate <= 0:
        raise UploadError(422, f"{name}: the audio file holds no samples")
    limits.check_duration(header.frames / header.samplerate)
    try:
        samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except Exception as exc:
        raise UploadError(
            422, f"{name}: the audio file is damaged: decoding failed ({_short(exc)})"
        ) from None
    if samples.size == 0:
        raise UploadError(422, f"{name}: the audio file holds no samples")
    return _checked(samples, int(rate), name)


def decode_pcm(
    data: bytes,
    limits: Limits,
    *,
    sample_rate: Any,
    dtype: str = "int16",
    channels: Any = 1,
    name: str = "upload",
) -> tuple[np.ndarray, int]:
    """Decode raw little-endian PCM.

    Args:
        data: the samples, channels interleaved.
        limits: the duration limit.
        sample_rate: samples per second per channel (from the query: text is parsed).
        dtype: ``"int16"`` or ``"float32"``.
        channels: interleaved channels (averaged to mono).
        name: what to call it in messages.

    Raises:
        UploadError: 422 for a missing or bad parameter, an empty body or a length that is not
            whole frames; 413 for audio too long.
    """
    rate = _positive_int(sample_rate, "sample_rate", "e.g. ?sample_rate=16000")
    n_channels = _positive_int(channels, "channels", "1 for mono")
    if dtype not in PCM_DTYPES:
        raise UploadError(
            422, f"dtype {dtype!r}: raw PCM must be one of {', '.join(PCM_DTYPES)} (little endian)"
        )
    if rate < 1000 or rate > 384000:
        raise UploadError(422, f"sample_rate {rate}: expected 1000 to 384000 samples per second")
    if not data:
        raise UploadError(422, f"{name}: empty upload (0 bytes); send the PCM samples")
    frame = np.dtype(PCM_DTYPES[dtype]).itemsize * n_channels
    if len(data) % frame:
        raise UploadError(
            422,
            f"{name}: {len(data)} bytes is not a whole number of {dtype} frames of "
            f"{n_channels} channel(s) ({frame} bytes each); check dtype and channels",
        )
    limits.check_duration(len(data) / frame / rate)
    samples = np.frombuffer(data, dtype=PCM_DTYPES[dtype]).reshape(-1, n_channels)
    if dtype == "int16":
        samples = samples.astype(np.float32) / 32768.0
    return _checked(samples, rate, name)


def _checked(samples: np.ndarray, rate: int, name: str) -> tuple[np.ndarray, int]:
    from serkit.audio import to_mono

    signal = to_mono(samples)
    if not np.all(np.isfinite(signal)):
        raise UploadError(422, f"{name}: the audio contains NaN or infinite samples")
    return signal, rate


def _positive_int(value: Any, name: str, example: str) -> int:
    if value is None or value == "":
        raise UploadError(422, f"raw PCM needs the query parameter {name} ({example})")
    try:
        number = int(str(value))
    except ValueError:
        raise UploadError(422, f"{name} {value!r}: expected a whole number ({example})") from None
    if number <= 0:
        raise UploadError(422, f"{name} {number}: expected a number > 0 ({example})")
    return number


def _short(exc: BaseException) -> str:
    """The last line of a decoder's message, without the in-memory file object it names."""
    text = str(exc).strip().splitlines()
    line = text[-1] if text else type(exc).__name__
    return re.sub(r"^Error opening <[^>]*>: ", "", line).strip().rstrip(".")
