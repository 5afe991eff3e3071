"""Voice-quality features with Praat (parselmouth): jitter, shimmer, HNR, formants.

Registered extractors:

* ``"voice-quality"`` (utterance): ``(17,)``, names in :data:`VOICE_QUALITY_NAMES`.
* ``"formants"`` (frame): ``(frames, 3)`` = F1, F2, F3 in Hz (Burg) at times ``i * hop``.

Praat's measures are undefined on unvoiced audio; serkit never returns NaN: undefined
jitter/shimmer/F0/formant statistics are 0 and HNR is 0 dB, and ``voiced_fraction`` (0 for an
unvoiced utterance) tells a model when they are missing. Audio too short for any analysis
(under three pitch periods, or two formant windows) raises a ``FeatureError`` instead of giving
a vector of zeros. Formant statistics are taken
over voiced frames (all frames where Praat found a formant when none is voiced).

Praat conventions used: periodic cross-correlation point process between ``f0_min`` and
``f0_max``; jitter/shimmer with period range 0.1-20 ms, maximum period factor 1.3 and maximum
amplitude factor 1.6 (Praat's defaults); HNR from "To Harmonicity (cc)" (10 ms, silence
threshold 0.1, 1 period per window); Burg formants with 5 formants up to ``max_formant`` Hz
(5500 suits female and child voices, 5000 male voices), 25 ms window.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from serkit.errors import ConfigError
from serkit.features.base import Extractor, ExtractorConfig, FeatureError, register_extractor

VOICE_QUALITY_NAMES: tuple[str, ...] = (
    "voiced_fraction",
    "f0_mean_hz",
    "f0_std_hz",
    "jitter_local",
    "jitter_rap",
    "jitter_ppq5",
    "shimmer_local",
    "shimmer_local_db",
    "shimmer_apq3",
    "shimmer_apq5",
    "hnr_mean_db",
    "f1_mean_hz",
    "f1_std_hz",
    "f2_mean_hz",
    "f2_std_hz",
    "f3_mean_hz",
    "f3_std_hz",
)


def _finite(value: float, default: float = 0.0) -> float:
    value = float(value)
    return value if math.isfinite(value) else default


def _sound(signal: np.ndarray, sample_rate: int):
    import parselmouth

    return parselmouth.Sound(np.asarray(signal, dtype=np.float64), sampling_frequency=sample_rate)


def formant_track(
    sound, times: np.ndarray, *, max_formant: float, window_s: float = 0.025
) -> np.ndarray:
    """Burg F1-F3 (Hz) of a parselmouth Sound at the given times; 0 where undefined.

    Returns:
        ``(len(times), 3)`` float64.
    """
    formant = sound.to_formant_burg(
        time_step=0.01,
        max_number_of_formants=5.0,
        maximum_formant=max_formant,
        window_length=window_s,
        pre_emphasis_from=50.0,
    )
    out = np.zeros((len(times), 3))
    for i, t in enumerate(times):
        for k in range(3):
            out[i, k] = _finite(formant.get_value_at_time(k + 1, float(t)))
    return out


def _mean_std(values: np.ndarray) -> tuple[float, float]:
    values = values[values > 0]
    if values.size == 0:
        return 0.0, 0.0
    return float(values.mean()), float(values.std())


def voice_quality(
    signal: np.ndarray,
    sample_rate: int,
    *,
    f0_min: float = 75.0,
    f0_max: float = 600.0,
    max_formant: float = 5500.0,
) -> np.ndarray:
    """Utterance-level voice-quality measures (names in :data:`VOICE_QUALITY_NAMES`).

    Args:
        signal: mono waveform ``(samples,)``.
        sample_rate: its rate in Hz.
        f0_min: pitch floor (Hz). f0_max: pitch ceiling (Hz).
        max_formant: Burg formant ceiling (Hz).

    Returns:
        ``(17,)`` float64 without NaN (undefined measures are 0, see the module docstring).
    """
    from parselmouth.praat import call

    sound = _sound(signal, sample_rate)
    if sound.duration < 3.0 / f0_min:  # Praat needs three pitch periods for its analyses
        raise FeatureError(
            f"voice quality needs at least 3 pitch periods (3 / f0_min = {3.0 / f0_min:.3f} s); "
            f"the signal is {sound.duration:.3f} s: use longer audio or a higher f0_min"
        )
    pitch = sound.to_pitch(time_step=0.01, pitch_floor=f0_min, pitch_ceiling=f0_max)
    f0 = np.nan_to_num(pitch.selected_array["frequency"], nan=0.0)
    voiced = f0 > 0
    voiced_fraction = float(voiced.mean()) if f0.size else 0.0
    f0_mean, f0_std = _mean_std(f0)
    points = call(sound, "To PointProcess (periodic, cc)", f0_min, f0_max)
    jitter = [
        _finite(call(points, f"Get jitter ({kind})", 0, 0, 0.0001, 0.02, 1.3))
        for kind in ("local", "rap", "ppq5")
    ]
    shimmer = [
        _finite(call([sound, points], f"Get shimmer ({kind})", 0, 0, 0.0001, 0.02, 1.3, 1.6))
        for kind in ("local", "local_dB", "apq3", "apq5")
    ]
    harmonicity = call(sound, "To Harmonicity (cc)", 0.01, f0_min, 0.1, 1.0)
    hnr = _finite(call(harmonicity, "Get mean", 0, 0))
    formants = formant_track(sound, pitch.xs(), max_formant=max_formant)
    rows = formants[voiced] if voiced.any() else formants
    formant_stats = [v for k in range(3) for v in _mean_std(rows[:, k])]
    out = np.array(
        [voiced_fraction, f0_mean, f0_std, *jitter, *shimmer, hnr, *formant_stats],
        dtype=np.float64,
    )
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)


@dataclasses.dataclass(frozen=True)
class VoiceQualityConfig(ExtractorConfig):
    """Config of ``"voice-quality"``: pitch range and formant ceiling in Hz."""

    f0_min: float = 75.0
    f0_max: float = 600.0
    max_formant: float = 5500.0

    def __post_init__(self) -> None:
        if not 0 < self.f0_min < self.f0_max:
            raise ConfigError(
                f"need 0 < f0_min < f0_max; found f0_min={self.f0_min}, f0_max={self.f0_max}"
            )
        if not 0 < self.max_formant < self.sample_rate / 2:
            raise ConfigError(
                f"max_formant must be in (0, {self.sample_rate / 2}) Hz; found {self.max_formant}"
            )


@register_extractor
class VoiceQuality(Extractor):
    """Jitter, shimmer, HNR, F1-F3 statistics and F0 mean/std: ``(17,)``."""

    name = "voice-quality"
    level = "utterance"
    Config = VoiceQualityConfig
    presets = {"male": {"max_formant": 5000.0}, "female": {"max_formant": 5500.0}}

    def compute(self, signal: np.ndarray) -> np.ndarray:
        c = self.config
        return voice_quality(
            signal, self.sample_rate, f0_min=c.f0_min, f0_max=c.f0_max, max_formant=c.max_formant
        ).astype(np.float32)

    def feature_names(self) -> list[str]:
        return list(VOICE_QUALITY_NAMES)


@dataclasses.dataclass(frozen=True)
class FormantsConfig(ExtractorConfig):
    """Config of ``"formants"``: ceiling (Hz), hop and analysis window (ms)."""

    max_formant: float = 5500.0
    hop_ms: float = 10.0
    window_ms: float = 25.0

    def __post_init__(self) -> None:
        if not 0 < self.max_formant < self.sample_rate / 2:
            raise ConfigError(
                f"max_formant must be in (0, {self.sample_rate / 2}) Hz; found {self.max_formant}"
            )
        if self.hop_ms <= 0 or self.window_ms <= 0:
            raise ConfigError(
                f"hop_ms and window_ms must be > 0; found {self.hop_ms}, {self.window_ms}"
            )


@register_extractor
class Formants(Extractor):
    """Frame-level F1-F3 (Hz, 0 where undefined): ``(samples // hop + 1, 3)``."""

    name = "formants"
    level = "frame"
    Config = FormantsConfig

    def compute(self, signal: np.ndarray) -> np.ndarray:
        c = self.config
        hop = max(1, int(round(c.hop_ms * self.sample_rate / 1000.0)))
        times = np.arange(len(signal) // hop + 1) * hop / self.sample_rate
        sound = _sound(signal, self.sample_rate)
        if sound.duration < 2 * c.window_ms / 1000.0:
            raise FeatureError(
                f"formants need at least two analysis windows (2 x window_ms = "
                f"{2 * c.window_ms / 1000.0:.3f} s); the signal is {sound.duration:.3f} s: use "
                "longer audio or a shorter window_ms"
            )
        track = formant_track(sound, times, max_formant=c.max_formant, window_s=c.window_ms / 1e3)
        return track.astype(np.float32)

    def feature_names(self) -> list[str]:
        return ["f1_hz", "f2_hz", "f3_hz"]
