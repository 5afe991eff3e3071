"""Prosodic features: F0 with voicing (WORLD), energy, prosodic functionals.

Registered extractors:

* ``"f0"`` (frame): ``(frames, 2)`` = [F0 in Hz (or natural log-F0 with ``log=True``), voiced
  flag]; unvoiced frames have F0 0 (log-F0 0 too). WORLD ``dio`` (+ ``stonemask`` refinement,
  fast) or ``harvest`` (slower, more robust), frame period 10 ms by default.
* ``"energy"`` (frame): ``(frames, 2)`` = [RMS energy in dBFS (floor -100 dB), zero-crossing
  rate].
* ``"prosody-stats"`` (utterance): prosodic functionals (see :data:`PROSODY_STAT_NAMES`).

The SpeechSplit pitch code ``"speechsplit-f0"`` lives in :mod:`serkit.features.speechsplit`.

Undefined values are never NaN: an utterance without voiced frames gets F0 statistics of 0 and
``voiced_fraction`` 0.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from serkit.errors import ConfigError
from serkit.features import signal as S
from serkit.features.base import Extractor, ExtractorConfig, register_extractor

#: F0 search range per gender used by SpeechSplit (Hz); ``None`` = the union of both.
GENDER_F0_RANGE: dict[str | None, tuple[float, float]] = {
    "male": (50.0, 250.0),
    "female": (100.0, 600.0),
    None: (50.0, 600.0),
}
ENERGY_FLOOR_DB = -100.0
F0_METHODS = ("dio", "harvest")


# --------------------------------------------------------------------------- pure functions


def track_f0(
    signal: np.ndarray,
    sample_rate: int,
    *,
    method: str = "dio",
    f0_min: float = 50.0,
    f0_max: float = 600.0,
    frame_period_ms: float = 10.0,
) -> np.ndarray:
    """F0 contour with WORLD (pyworld).

    Args:
        signal: mono waveform ``(samples,)``.
        sample_rate: its rate in Hz.
        method: ``"dio"`` (followed by ``stonemask``) or ``"harvest"``.
        f0_min: lowest F0 searched (Hz).
        f0_max: highest F0 searched (Hz).
        frame_period_ms: hop between frames; frame ``i`` is centred at ``i * frame_period_ms``.

    Returns:
        ``(frames,)`` float64 F0 in Hz, 0 where unvoiced; ``frames = samples // hop + 1`` up to
        rounding of the period.
    """
    import pyworld

    if method not in F0_METHODS:
        raise ConfigError(f"unknown F0 method {method!r}; expected one of {F0_METHODS}")
    x = np.ascontiguousarray(signal, dtype=np.float64)
    if x.size == 0:
        return np.zeros(1, dtype=np.float64)
    if method == "dio":
        f0, times = pyworld.dio(
            x, sample_rate, f0_floor=f0_min, f0_ceil=f0_max, frame_period=frame_period_ms
        )
        f0 = pyworld.stonemask(x, f0, times, sample_rate)
    else:
        f0, _ = pyworld.harvest(
            x, sample_rate, f0_floor=f0_min, f0_ceil=f0_max, frame_period=frame_period_ms
        )
    f0 = np.nan_to_num(np.asarray(f0, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    f0[f0 < 0] = 0.0
    return f0


def zero_crossing_rate(frames: np.ndarray) -> np.ndarray:
    """Fraction of sign changes between neighbouring samples per frame, ``(n, L)`` -> ``(n,)``."""
    signs = np.signbit(frames)
    return np.mean(signs[:, 1:] != signs[:, :-1], axis=1)


def runs(mask: np.ndarray) -> list[tuple[bool, int]]:
    """Run-length encoding of a boolean sequence: ``[(value, length), ...]``."""
    mask = np.asarray(mask, dtype=bool)
    if mask.size == 0:
        return []
    change = np.flatnonzero(mask[1:] != mask[:-1]) + 1
    bounds = np.concatenate([[0], change, [mask.size]])
    return [(bool(mask[a]), int(b - a)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _slope(values: np.ndarray, times: np.ndarray) -> float:
    if values.size < 2 or np.ptp(times) == 0:
        return 0.0
    return float(np.polyfit(times, values, 1)[0])


PROSODY_STAT_NAMES: tuple[str, ...] = (
    "f0_mean_hz",
    "f0_std_hz",
    "f0_p5_hz",
    "f0_p10_hz",
    "f0_p50_hz",
    "f0_p90_hz",
    "f0_p95_hz",
    "f0_range_hz",
    "f0_slope_hz_per_s",
    "f0_mean_semitones",
    "f0_std_semitones",
    "voiced_fraction",
    "energy_mean_db",
    "energy_std_db",
    "energy_p95_db",
    "energy_range_db",
    "energy_slope_db_per_s",
    "voiced_segment_rate",
    "pause_ratio",
    "mean_voiced_run_s",
    "mean_unvoiced_run_s",
    "duration_s",
)


def prosody_functionals(
    f0: np.ndarray, energy_db: np.ndarray, hop_s: float, *, pause_db: float = 40.0
) -> np.ndarray:
    """Utterance-level prosodic functionals (names in :data:`PROSODY_STAT_NAMES`).

    Args:
        f0: ``(frames,)`` F0 in Hz, 0 = unvoiced.
        energy_db: ``(frames,)`` frame energy in dBFS (same frames as ``f0``; the shorter one
            sets the length).
        hop_s: frame hop in seconds.
        pause_db: a frame is a pause when its energy is more than ``pause_db`` below the
            utterance's 95th-percentile energy, or below -60 dBFS.

    Returns:
        ``(22,)`` float64. F0 statistics over voiced frames (0 when none is voiced; semitones
        relative to 27.5 Hz); percentile range = p95 - p5; slopes by least squares per second;
        ``voiced_segment_rate`` = voiced runs per second (a syllable-rate proxy);
        ``pause_ratio`` = fraction of pause frames; mean run lengths in seconds (0 if none).
    """
    n = min(len(f0), len(energy_db))
    f0 = np.asarray(f0[:n], dtype=np.float64)
    energy_db = np.asarray(energy_db[:n], dtype=np.float64)
    times = np.arange(n) * hop_s
    duration = n * hop_s
    voiced = f0 > 0
    if voiced.any():
        fv = f0[voiced]
        p5, p10, p50, p90, p95 = np.percentile(fv, [5, 10, 50, 90, 95])
        st = 12.0 * np.log2(fv / 27.5)
        f0_stats = [
            fv.mean(),
            fv.std(),
            p5,
            p10,
            p50,
            p90,
            p95,
            p95 - p5,
            _slope(fv, times[voiced]),
            st.mean(),
            st.std(),
        ]
    else:
        f0_stats = [0.0] * 11
    voiced_fraction = float(voiced.mean()) if n else 0.0
    if n:
        e5, e95 = np.percentile(energy_db, [5, 95])
        energy_stats = [
            energy_db.mean(),
            energy_db.std(),
            e95,
            e95 - e5,
            _slope(energy_db, times),
        ]
        pause = (energy_db < e95 - pause_db) | (energy_db < -60.0)
        pause_ratio = float(pause.mean())
    else:
        energy_stats = [ENERGY_FLOOR_DB, 0.0, ENERGY_FLOOR_DB, 0.0, 0.0]
        pause_ratio = 0.0
    rl = runs(voiced)
    voiced_runs = [length for value, length in rl if value]
    unvoiced_runs = [length for value, length in rl if not value]
    rate = len(voiced_runs) / duration if duration > 0 else 0.0
    mean_v = float(np.mean(voiced_runs)) * hop_s if voiced_runs else 0.0
    mean_u = float(np.mean(unvoiced_runs)) * hop_s if unvoiced_runs else 0.0
    out = np.array(
        [*f0_stats, voiced_fraction, *energy_stats, rate, pause_ratio, mean_v, mean_u, duration],
        dtype=np.float64,
    )
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)


def f0_range(gender: str | None, f0_min: float | None, f0_max: float | None) -> tuple[float, float]:
    """F0 search range: the gender's (:data:`GENDER_F0_RANGE`) with optional overrides."""
    if gender not in GENDER_F0_RANGE:
        raise ConfigError(f"unknown gender {gender!r}; expected 'male', 'female' or None")
    lo, hi = GENDER_F0_RANGE[gender]
    lo = lo if f0_min is None else float(f0_min)
    hi = hi if f0_max is None else float(f0_max)
    if not 0 < lo < hi:
        raise ConfigError(f"F0 range must satisfy 0 < f0_min < f0_max; found {lo}..{hi} Hz")
    return lo, hi


# --------------------------------------------------------------------------- extractors


@dataclasses.dataclass(frozen=True)
class F0Config(ExtractorConfig):
    """Config of ``"f0"``.

    Attributes:
        method: ``"dio"`` (+ stonemask) or ``"harvest"``.
        f0_min: lowest F0 in Hz. f0_max: highest F0 in Hz.
        frame_period_ms: hop in milliseconds.
        log: output natural log-F0 instead of Hz (unvoiced stay 0).
    """

    method: str = "dio"
    f0_min: float = 50.0
    f0_max: float = 600.0
    frame_period_ms: float = 10.0
    log: bool = False

    def __post_init__(self) -> None:
        if self.method not in F0_METHODS:
            raise ConfigError(f"f0 method must be one of {F0_METHODS}, found {self.method!r}")
        f0_range(None, self.f0_min, self.f0_max)
        if self.frame_period_ms <= 0:
            raise ConfigError(f"frame_period_ms must be > 0, found {self.frame_period_ms}")


@register_extractor
class F0(Extractor):
    """Frame-level F0 and voicing: ``(frames, 2)`` = [F0 Hz or log-F0, voiced 0/1]."""

    name = "f0"
    level = "frame"
    Config = F0Config
    presets = {"harvest": {"method": "harvest"}}

    def compute(self, signal: np.ndarray) -> np.ndarray:
        c = self.config
        f0 = track_f0(
            signal,
            self.sample_rate,
            method=c.method,
            f0_min=c.f0_min,
            f0_max=c.f0_max,
            frame_period_ms=c.frame_period_ms,
        )
        voiced = f0 > 0
        value = np.where(voiced, np.log(np.where(voiced, f0, 1.0)), 0.0) if c.log else f0
        return np.stack([value, voiced.astype(np.float64)], axis=1).astype(np.float32)

    def feature_names(self) -> list[str]:
        return ["log_f0" if self.config.log else "f0_hz", "voiced"]


@dataclasses.dataclass(frozen=True)
class EnergyConfig(ExtractorConfig):
    """Config of ``"energy"``: window and hop in milliseconds (centred frames)."""

    frame_ms: float = 25.0
    hop_ms: float = 10.0

    def __post_init__(self) -> None:
        if self.frame_ms <= 0 or self.hop_ms <= 0:
            raise ConfigError(
                f"frame_ms and hop_ms must be > 0; found {self.frame_ms}, {self.hop_ms}"
            )


def _energy_frames(signal: np.ndarray, sample_rate: int, frame_ms: float, hop_ms: float):
    """Centred float64 frames, one per hop multiple (``samples // hop + 1``, as the F0 track)."""
    length = max(2, int(round(frame_ms * sample_rate / 1000.0)))
    hop = max(1, int(round(hop_ms * sample_rate / 1000.0)))
    count = len(signal) // hop + 1
    return S.frame_signal(signal, length, hop, count=count, dtype=np.float64)


@register_extractor
class Energy(Extractor):
    """Frame RMS energy (dBFS, floor -100) and zero-crossing rate: ``(frames, 2)``."""

    name = "energy"
    level = "frame"
    Config = EnergyConfig

    def compute(self, signal: np.ndarray) -> np.ndarray:
        frames = _energy_frames(signal, self.sample_rate, self.config.frame_ms, self.config.hop_ms)
        level = S.rms_db(frames, ENERGY_FLOOR_DB)
        return np.stack([level, zero_crossing_rate(frames)], axis=1).astype(np.float32)

    def feature_names(self) -> list[str]:
        return ["energy_db", "zcr"]


@dataclasses.dataclass(frozen=True)
class ProsodyStatsConfig(ExtractorConfig):
    """Config of ``"prosody-stats"`` (F0 tracker, framing and pause threshold)."""

    method: str = "dio"
    f0_min: float = 50.0
    f0_max: float = 600.0
    frame_ms: float = 25.0
    hop_ms: float = 10.0
    pause_db: float = 40.0

    def __post_init__(self) -> None:
        F0Config(
            method=self.method, f0_min=self.f0_min, f0_max=self.f0_max, frame_period_ms=self.hop_ms
        )
        EnergyConfig(frame_ms=self.frame_ms, hop_ms=self.hop_ms)


@register_extractor
class ProsodyStats(Extractor):
    """Utterance-level prosodic functionals ``(22,)``; see :func:`prosody_functionals`."""

    name = "prosody-stats"
    level = "utterance"
    Config = ProsodyStatsConfig

    def compute(self, signal: np.ndarray) -> np.ndarray:
        c = self.config
        f0 = track_f0(
            signal,
            self.sample_rate,
            method=c.method,
            f0_min=c.f0_min,
            f0_max=c.f0_max,
            frame_period_ms=c.hop_ms,
        )
        frames = _energy_frames(signal, self.sample_rate, c.frame_ms, c.hop_ms)
        energy = S.rms_db(frames, ENERGY_FLOOR_DB)
        stats = prosody_functionals(f0, energy, c.hop_ms / 1000.0, pause_db=c.pause_db)
        return stats.astype(np.float32)

    def feature_names(self) -> list[str]:
        return list(PROSODY_STAT_NAMES)
