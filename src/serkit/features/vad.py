"""Voice activity detection: silero-vad (weights ship in its wheel) or a model-free energy VAD.

* :func:`speech_segments` -> ``[(start, end), ...]`` sample ranges of speech.
* :func:`trim_silence` keeps the speech ranges and concatenates them (the original signal is
  returned when no speech is found, unless ``keep_if_silent=False``).
* :class:`VadTrim`: a frozen, hashable callable ``(signal, sample_rate) -> signal`` to put in
  front of any extractor, e.g. ``extract(df, ex, store, vad=VadTrim(method="energy"))``; its
  :meth:`VadTrim.to_dict` describes it for run configs and is hashed into the store folder
  key (``serkit.features.store.store_key``), so trimmed and untrimmed features live side by
  side and never mix. ``serkit features ... --vad silero --vad-set pad_ms=50`` builds one.
* Registered extractor ``"vad"`` (frame): ``(samples // hop + 1, 1)`` speech flag (0/1) per
  frame centred at ``i * hop``.

Methods: ``"silero"`` runs the silero-vad JIT model (loaded once per process, CPU) on 16 kHz
(or 8 kHz) audio, other rates are resampled for detection and the ranges mapped back;
``threshold`` is its speech probability threshold. ``"energy"`` marks 25-ms frames (10-ms hop)
whose RMS level is above ``energy_threshold_db`` relative to the signal's 95th-percentile frame
level and above -60 dBFS; it needs no model. Both then drop speech shorter than
``min_speech_ms``, bridge silences shorter than ``min_silence_ms`` and pad each range by
``pad_ms`` on both sides. Audio is read by serkit.audio, never by silero's own reader (which
needs torchaudio).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from typing import Any

import numpy as np

from serkit.errors import ConfigError
from serkit.features import signal as S
from serkit.features.base import Extractor, ExtractorConfig, register_extractor

VAD_METHODS = ("silero", "energy")
SILERO_RATES = (8000, 16000)
ABSOLUTE_FLOOR_DB = -60.0
Segments = list[tuple[int, int]]
_MODEL = None
_LOCK = threading.Lock()


def silero_model():
    """The process-wide silero-vad JIT model (from the silero-vad wheel, no download)."""
    global _MODEL
    with _LOCK:
        if _MODEL is None:
            from silero_vad import load_silero_vad

            _MODEL = load_silero_vad(onnx=False)
        return _MODEL


def mask_to_segments(mask: np.ndarray, hop: int, frame: int, n_samples: int) -> Segments:
    """Sample ranges of runs of True frames.

    Frame ``i`` spans samples ``i * hop`` to ``i * hop + frame``; its decision is attributed to
    the central ``hop`` samples of that span (the first and last frames reach the signal ends),
    so a range is off by at most half a frame from where the energy changes.
    """
    mask = np.asarray(mask, dtype=bool)
    segments: Segments = []
    if not mask.any():
        return segments
    offset = max(0, (frame - hop) // 2)
    padded = np.concatenate([[False], mask, [False]])
    starts = np.flatnonzero(~padded[:-1] & padded[1:])
    ends = np.flatnonzero(padded[:-1] & ~padded[1:])
    for a, b in zip(starts, ends, strict=True):
        start = 0 if a == 0 else int(a * hop + offset)
        end = n_samples if b == len(mask) else int((b - 1) * hop + offset + hop)
        segments.append((min(start, n_samples), min(end, n_samples)))
    return [(a, b) for a, b in segments if b > a]


def postprocess_segments(
    segments: Segments,
    n_samples: int,
    sample_rate: int,
    *,
    min_speech_ms: float = 250.0,
    min_silence_ms: float = 100.0,
    pad_ms: float = 30.0,
) -> Segments:
    """Bridge short silences, drop short speech, pad and merge overlapping ranges.

    Args:
        segments: sorted ``(start, end)`` sample ranges.
        n_samples: signal length (ranges are clipped to it).
        sample_rate: Hz, to turn milliseconds into samples.

    Returns:
        Sorted, non-overlapping ``(start, end)`` ranges.
    """
    ms = sample_rate / 1000.0
    bridged: Segments = []
    for start, end in sorted(segments):
        if bridged and start - bridged[-1][1] < min_silence_ms * ms:
            bridged[-1] = (bridged[-1][0], max(end, bridged[-1][1]))
        else:
            bridged.append((start, end))
    kept = [(a, b) for a, b in bridged if b - a >= min_speech_ms * ms]
    pad = int(round(pad_ms * ms))
    out: Segments = []
    for start, end in kept:
        start, end = max(0, start - pad), min(n_samples, end + pad)
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return out


def energy_speech_mask(
    signal: np.ndarray,
    sample_rate: int,
    *,
    threshold_db: float = -35.0,
    frame_ms: float = 25.0,
    hop_ms: float = 10.0,
) -> tuple[np.ndarray, int, int]:
    """Energy VAD frame decisions.

    Returns:
        ``(mask, hop, frame)``: ``(frames,)`` bool for non-centred frames starting at
        ``i * hop`` samples, and the hop and frame length in samples.
    """
    frame = max(1, int(round(frame_ms * sample_rate / 1000.0)))
    hop = max(1, int(round(hop_ms * sample_rate / 1000.0)))
    frames = S.frame_signal(signal, frame, hop, center=False, dtype=np.float64)
    level = S.rms_db(frames, floor_db=-200.0)
    reference = np.percentile(level, 95)
    mask = (level > reference + threshold_db) & (level > ABSOLUTE_FLOOR_DB)
    return mask, hop, frame


def speech_segments(
    signal: np.ndarray,
    sample_rate: int,
    *,
    method: str = "silero",
    threshold: float = 0.5,
    energy_threshold_db: float = -35.0,
    min_speech_ms: float = 250.0,
    min_silence_ms: float = 100.0,
    pad_ms: float = 30.0,
) -> Segments:
    """Speech ranges of a mono signal.

    Args:
        signal: ``(samples,)`` float waveform.
        sample_rate: its rate in Hz.
        method: ``"silero"`` or ``"energy"``.
        threshold: silero speech-probability threshold (0-1).
        energy_threshold_db: energy VAD threshold relative to the 95th-percentile frame level.
        min_speech_ms: shortest speech range kept.
        min_silence_ms: shorter silences inside speech are bridged.
        pad_ms: padding added on both sides of each range.

    Returns:
        Sorted, non-overlapping ``(start, end)`` sample ranges (empty when no speech).
    """
    x = np.asarray(signal, dtype=np.float32)
    if x.size == 0:
        return []
    if method == "energy":
        mask, hop, frame = energy_speech_mask(x, sample_rate, threshold_db=energy_threshold_db)
        raw = mask_to_segments(mask, hop, frame, len(x))
    elif method == "silero":
        raw = _silero_raw_segments(x, sample_rate, threshold)
    else:
        raise ConfigError(f"unknown VAD method {method!r}; expected one of {VAD_METHODS}")
    return postprocess_segments(
        raw,
        len(x),
        sample_rate,
        min_speech_ms=min_speech_ms,
        min_silence_ms=min_silence_ms,
        pad_ms=pad_ms,
    )


def _silero_raw_segments(x: np.ndarray, sample_rate: int, threshold: float) -> Segments:
    import torch
    from silero_vad import get_speech_timestamps

    rate = sample_rate if sample_rate in SILERO_RATES else 16000
    if rate != sample_rate:
        from serkit.audio import resample

        y = resample(x, sample_rate, rate)
    else:
        y = x
    window = 512 if rate == 16000 else 256
    if len(y) < window:
        return []
    stamps = get_speech_timestamps(
        torch.from_numpy(np.ascontiguousarray(y)),
        silero_model(),
        threshold=threshold,
        sampling_rate=rate,
        min_speech_duration_ms=0,
        min_silence_duration_ms=0,
        speech_pad_ms=0,
    )
    scale = sample_rate / rate
    return [
        (int(round(s["start"] * scale)), min(len(x), int(round(s["end"] * scale)))) for s in stamps
    ]


def trim_silence(
    signal: np.ndarray,
    sample_rate: int,
    *,
    method: str = "silero",
    threshold: float = 0.5,
    energy_threshold_db: float = -35.0,
    min_speech_ms: float = 250.0,
    min_silence_ms: float = 100.0,
    pad_ms: float = 30.0,
    keep_if_silent: bool = True,
) -> np.ndarray:
    """Keep only the speech ranges of ``signal``, concatenated (arguments: :func:`speech_segments`).

    Args:
        keep_if_silent: when no speech is found, return the original signal (``True``) or an
            empty one (``False``, as :class:`VadTrim` does, so that a front end can refuse it).

    Returns:
        ``(samples',)`` float32.
    """
    x = np.asarray(signal, dtype=np.float32)
    segments = speech_segments(
        x,
        sample_rate,
        method=method,
        threshold=threshold,
        energy_threshold_db=energy_threshold_db,
        min_speech_ms=min_speech_ms,
        min_silence_ms=min_silence_ms,
        pad_ms=pad_ms,
    )
    if not segments:
        return x if keep_if_silent else x[:0]
    return np.concatenate([x[a:b] for a, b in segments]).astype(np.float32)


@dataclasses.dataclass(frozen=True)
class VadTrim:
    """Silence trimming in front of any extractor: ``VadTrim(method="energy")(signal, sr)``.

    Fields are the keyword arguments of :func:`trim_silence`. When no speech is found it
    returns an empty signal (never the silence itself): the front end then reports the row as
    unanalysable (:mod:`serkit.features.analysable`).
    """

    method: str = "silero"
    threshold: float = 0.5
    energy_threshold_db: float = -35.0
    min_speech_ms: float = 250.0
    min_silence_ms: float = 100.0
    pad_ms: float = 30.0

    def __post_init__(self) -> None:
        _coerce_floats(self)
        _validate(self.method, self.threshold, self.min_speech_ms, self.min_silence_ms, self.pad_ms)

    def __call__(self, signal: np.ndarray, sample_rate: int) -> np.ndarray:
        return trim_silence(signal, sample_rate, **dataclasses.asdict(self), keep_if_silent=False)

    def to_dict(self) -> dict[str, Any]:
        """``{"name": "vad-trim", "params": {...}}`` for store keys and run configs."""
        return {"name": "vad-trim", "params": dataclasses.asdict(self)}

    def key(self) -> str:
        """16 hex characters identifying this configuration (a hash of :meth:`to_dict`)."""
        payload = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VadTrim:
        """Inverse of :meth:`to_dict` (also accepts the bare params dict)."""
        params = data.get("params", data) if isinstance(data, dict) else None
        if not isinstance(params, dict):
            raise ConfigError(f"expected {{'name': 'vad-trim', 'params': {{...}}}}; got {data!r}")
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(params) - fields - {"name"})
        if unknown:
            raise ConfigError(f"vad-trim has no parameter(s) {unknown}; known: {sorted(fields)}")
        return cls(**{k: v for k, v in params.items() if k in fields})


def _coerce_floats(config: Any) -> None:
    """Store numeric fields as floats, so ``pad_ms=10`` (e.g. from ``--vad-set``) and
    ``pad_ms=10.0`` give one ``to_dict()`` and one store key."""
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if f.name == "method":
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"VAD parameter {f.name} must be a number; found {value!r}")
        object.__setattr__(config, f.name, float(value))


def _validate(method: str, threshold: float, *durations: float) -> None:
    if method not in VAD_METHODS:
        raise ConfigError(f"VAD method must be one of {VAD_METHODS}; found {method!r}")
    if not 0.0 < threshold < 1.0:
        raise ConfigError(f"VAD threshold must be in (0, 1); found {threshold}")
    if any(d < 0 for d in durations):
        raise ConfigError(f"VAD durations (ms) must be >= 0; found {durations}")


@dataclasses.dataclass(frozen=True)
class VadConfig(ExtractorConfig):
    """Config of ``"vad"``: the :class:`VadTrim` fields plus the output hop in ms."""

    method: str = "silero"
    threshold: float = 0.5
    energy_threshold_db: float = -35.0
    min_speech_ms: float = 250.0
    min_silence_ms: float = 100.0
    pad_ms: float = 30.0
    hop_ms: float = 10.0

    def __post_init__(self) -> None:
        _validate(self.method, self.threshold, self.min_speech_ms, self.min_silence_ms, self.pad_ms)
        if self.hop_ms <= 0:
            raise ConfigError(f"hop_ms must be > 0; found {self.hop_ms}")


def segments_to_frames(segments: Segments, n_samples: int, hop: int) -> np.ndarray:
    """``(n_samples // hop + 1,)`` 0/1 flags: frame ``i`` (at sample ``i * hop``) inside speech."""
    centres = np.arange(n_samples // hop + 1) * hop
    flags = np.zeros(len(centres), dtype=np.float32)
    for start, end in segments:
        flags[(centres >= start) & (centres < end)] = 1.0
    return flags


@register_extractor
class Vad(Extractor):
    """Frame-level speech flag ``(frames, 1)`` from silero-vad or the energy VAD."""

    name = "vad"
    level = "frame"
    Config = VadConfig
    presets = {"energy": {"method": "energy"}}

    def compute(self, signal: np.ndarray) -> np.ndarray:
        c = self.config
        segments = speech_segments(
            signal,
            self.sample_rate,
            method=c.method,
            threshold=c.threshold,
            energy_threshold_db=c.energy_threshold_db,
            min_speech_ms=c.min_speech_ms,
            min_silence_ms=c.min_silence_ms,
            pad_ms=c.pad_ms,
        )
        hop = max(1, int(round(c.hop_ms * self.sample_rate / 1000.0)))
        return segments_to_frames(segments, len(signal), hop)[:, None]

    def feature_names(self) -> list[str]:
        return ["speech"]
