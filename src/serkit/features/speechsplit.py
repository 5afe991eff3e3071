"""The SpeechSplit / SpeechFlow pitch code (seed 000, section 0.2) from WORLD F0.

Registered extractor ``"speechsplit-f0"`` (frame): log-F0 on a 256-sample hop (16 ms at 16 kHz,
the SpeechSplit mel frames: ``samples // hop + 1`` frames), ``z = (lf0 - mu) / sigma / 4``
clipped to [-1, 1], mapped to ``(z + 1) / 2`` and quantised to 256 bins
(``round(x * 255) + 1``) with bin 0 = unvoiced; output one-hot ``(frames, 257)``, the bin index
``(frames, 1)`` or the normalised value ``(frames, 1)`` (unvoiced = -1). The F0 search range
follows the speaker's gender (male 50-250 Hz, female 100-600 Hz, unknown 50-600 Hz). The seed
used RAPT (pysptk), which is not installable here; WORLD dio (default) or harvest replaces it.

Per-speaker normalisation: extractors see one utterance at a time, so the log-F0 statistics are
config fields ``f0_mean`` / ``f0_std``. Compute them per speaker with :func:`speaker_f0_stats`
over that speaker's (training) utterances and pass them, e.g.
``get_extractor("speechsplit-f0", f0_mean=mu, f0_std=sd)``; when they are ``None`` the
utterance's own voiced log-F0 statistics are used (per-file normalisation, as in the original
SpeechSplit code). The seed recommends per-speaker statistics.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import numpy as np

from serkit.errors import ConfigError
from serkit.features import signal as S
from serkit.features.base import Extractor, ExtractorConfig, register_extractor
from serkit.features.prosody import F0_METHODS, f0_range, track_f0


def log_f0_stats(f0: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation of natural log-F0 over voiced frames (``f0 > 0``).

    Returns ``(0.0, 1.0)`` when no frame is voiced; the std is at least 1e-6.
    """
    voiced = np.asarray(f0)[np.asarray(f0) > 0]
    if voiced.size == 0:
        return 0.0, 1.0
    lf0 = np.log(voiced)
    return float(lf0.mean()), float(max(lf0.std(), 1e-6))


def normalize_log_f0(f0: np.ndarray, mean: float, std: float) -> np.ndarray:
    """SpeechSplit normalisation: ``((log f0 - mean) / std / 4).clip(-1, 1)`` mapped to [0, 1].

    Args:
        f0: ``(frames,)`` F0 in Hz, 0 = unvoiced.
        mean: log-F0 mean. std: log-F0 std (> 0).

    Returns:
        ``(frames,)`` values in [0, 1] for voiced frames, -1 for unvoiced ones.
    """
    if std <= 0:
        raise ConfigError(f"log-F0 std must be > 0, found {std}")
    f0 = np.asarray(f0, dtype=np.float64)
    out = np.full(f0.shape, -1.0)
    voiced = f0 > 0
    z = (np.log(f0[voiced]) - mean) / std / 4.0
    out[voiced] = (np.clip(z, -1.0, 1.0) + 1.0) / 2.0
    return out


def quantize_f0(norm: np.ndarray, bins: int = 256) -> np.ndarray:
    """Quantise normalised F0 in [0, 1] to ``round(x * (bins - 1)) + 1``; values < 0 give bin 0.

    Returns:
        ``(frames,)`` int64 bin indices in ``[0, bins]``.
    """
    norm = np.asarray(norm, dtype=np.float64)
    idx = np.zeros(norm.shape, dtype=np.int64)
    voiced = norm >= 0
    idx[voiced] = np.round(np.clip(norm[voiced], 0.0, 1.0) * (bins - 1)).astype(np.int64) + 1
    return idx


def one_hot(index: np.ndarray, depth: int) -> np.ndarray:
    """``(frames,)`` int -> ``(frames, depth)`` float32 one-hot."""
    out = np.zeros((len(index), depth), dtype=np.float32)
    out[np.arange(len(index)), index] = 1.0
    return out


SPEECHSPLIT_OUTPUTS = ("onehot", "index", "normalized")


@dataclasses.dataclass(frozen=True)
class SpeechSplitF0Config(ExtractorConfig):
    """Config of ``"speechsplit-f0"``.

    Attributes:
        hop: hop in samples (256 at 16 kHz = 16 ms, matching the SpeechSplit mel frames).
        gender: ``"male"`` (50-250 Hz), ``"female"`` (100-600 Hz) or ``None`` (50-600 Hz).
        f0_min: overrides the gender's lower bound. f0_max: overrides its upper bound.
        method: WORLD tracker, ``"dio"`` or ``"harvest"`` (the seed used RAPT, which is not
            installable here).
        f0_mean: log-F0 mean of the speaker (from :func:`speaker_f0_stats`); ``None`` = the
            utterance's own.
        f0_std: log-F0 std of the speaker; ``None`` = the utterance's own.
        bins: number of voiced quantisation bins (one more, bin 0, is unvoiced).
        output: ``"onehot"`` ``(frames, bins + 1)``, ``"index"`` ``(frames, 1)`` or
            ``"normalized"`` ``(frames, 1)`` in [0, 1] with -1 for unvoiced.
        highpass_hz: SpeechSplit's preprocessing: zero-phase order-5 Butterworth high-pass at
            this cut-off before tracking (0 = off). Its 1e-6 dither is left out (it does not
            change F0 and would need a seed).
    """

    hop: int = 256
    gender: str | None = None
    f0_min: float | None = None
    f0_max: float | None = None
    method: str = "dio"
    f0_mean: float | None = None
    f0_std: float | None = None
    bins: int = 256
    output: str = "onehot"
    highpass_hz: float = 30.0

    def __post_init__(self) -> None:
        f0_range(self.gender, self.f0_min, self.f0_max)
        if not 0 <= self.highpass_hz < self.sample_rate / 2:
            raise ConfigError(
                f"highpass_hz must be in [0, {self.sample_rate / 2}) (0 = off); "
                f"found {self.highpass_hz}"
            )
        if self.method not in F0_METHODS:
            raise ConfigError(f"method must be one of {F0_METHODS}, found {self.method!r}")
        if self.output not in SPEECHSPLIT_OUTPUTS:
            raise ConfigError(f"output must be one of {SPEECHSPLIT_OUTPUTS}, found {self.output!r}")
        if (self.f0_mean is None) != (self.f0_std is None):
            raise ConfigError("give both f0_mean and f0_std (from speaker_f0_stats) or neither")
        if self.f0_std is not None and self.f0_std <= 0:
            raise ConfigError(f"f0_std must be > 0, found {self.f0_std}")
        if self.hop <= 0 or self.bins < 2:
            raise ConfigError(f"need hop > 0 and bins >= 2; found hop={self.hop} bins={self.bins}")


def _speechsplit_track(signal: np.ndarray, config: SpeechSplitF0Config) -> np.ndarray:
    lo, hi = f0_range(config.gender, config.f0_min, config.f0_max)
    n = len(signal) // config.hop + 1
    if config.highpass_hz > 0:
        # float64 into the tracker; a signal too short for filtfilt's padding stays unfiltered
        signal = S.highpass(
            signal, config.sample_rate, config.highpass_hz, short="keep", dtype=np.float64
        )
    f0 = track_f0(
        signal,
        config.sample_rate,
        method=config.method,
        f0_min=lo,
        f0_max=hi,
        frame_period_ms=1000.0 * config.hop / config.sample_rate,
    )
    return np.pad(f0[:n], (0, max(0, n - len(f0))))


def speaker_f0_stats(
    signals: Iterable[np.ndarray], sample_rate: int = 16000, **params: object
) -> tuple[float, float]:
    """Log-F0 mean and std over all voiced frames of one speaker's utterances.

    Args:
        signals: the speaker's waveforms ``(samples,)`` at ``sample_rate`` (use training
            utterances only, so that test data does not leak into the statistics).
        sample_rate: their rate in Hz.
        **params: ``speechsplit-f0`` config fields (``gender``, ``method``, ``hop``, ...) so the
            statistics come from the same tracker as the features.

    Returns:
        ``(f0_mean, f0_std)`` to pass to ``speechsplit-f0``; ``(0.0, 1.0)`` if nothing is voiced.
    """
    config = SpeechSplitF0Config(sample_rate=sample_rate, **params)  # type: ignore[arg-type]
    voiced: list[np.ndarray] = []
    for signal in signals:
        f0 = _speechsplit_track(np.asarray(signal, dtype=np.float32), config)
        voiced.append(f0[f0 > 0])
    return log_f0_stats(np.concatenate(voiced) if voiced else np.zeros(0))


@register_extractor
class SpeechSplitF0(Extractor):
    """SpeechSplit quantised pitch code, ``(frames, 257)`` one-hot by default."""

    name = "speechsplit-f0"
    level = "frame"
    Config = SpeechSplitF0Config
    presets = {
        "male": {"gender": "male"},
        "female": {"gender": "female"},
    }

    def compute(self, signal: np.ndarray) -> np.ndarray:
        c = self.config
        f0 = _speechsplit_track(signal, c)
        if c.f0_mean is None or c.f0_std is None:
            mean, std = log_f0_stats(f0)
        else:
            mean, std = float(c.f0_mean), float(c.f0_std)
        norm = normalize_log_f0(f0, mean, std)
        if c.output == "normalized":
            return norm[:, None].astype(np.float32)
        index = quantize_f0(norm, c.bins)
        if c.output == "index":
            return index[:, None].astype(np.float32)
        return one_hot(index, c.bins + 1)

    def feature_names(self) -> list[str]:
        if self.config.output == "onehot":
            return ["f0_bin_unvoiced"] + [f"f0_bin_{i}" for i in range(1, self.config.bins + 1)]
        return ["f0_bin" if self.config.output == "index" else "f0_norm"]
