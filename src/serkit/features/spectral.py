"""Spectral extractors: ``spectrogram``, ``logmel``, ``mfcc`` and their utterance statistics.

Presets reproduce the front ends of the seed systems (see ``reference/seed_methods.md``):

* ``spectrogram:rhemo`` (RH-emo, 3.2): Hamming 256, hop 128, magnitude, zero-padded ends,
  scaled by the window sum (``scipy.signal.stft``), 128 bins (top bin dropped).
* ``logmel:acrnn`` (3-D ACRNN, 0.5): python_speech_features ``logfbank`` style: 40 HTK bands,
  25 ms rectangular frames, 10 ms hop, 512-point FFT, pre-emphasis 0.97, natural log, + deltas
  and delta-deltas (N = 2): 3 channels.
* ``logmel:dcnn`` (DCNN-BLSTMwA, 2.2): pre-emphasis 0.97, n_fft = win = 400, hop 160, centred
  with reflect padding, power, 64 bands 20-8000 Hz, HTK scale with Slaney area norm,
  ``ln(mel + 1e-8)``, deltas N = 2, per-channel min-max to ``[0, 1]``: 3 channels.
* ``logmel:speechsplit`` (SpeechFlow, 0.2): 30 Hz order-5 zero-phase high-pass, FFT 1024 hop
  256 periodic Hann with reflect padding, magnitude, 80 Slaney bands 90-7600 Hz,
  ``(20 log10(max(1e-5, M)) - 16 + 100) / 100`` clipped to ``[0, 1]``. The 0.96 scaling and
  the 1e-6 dither of the original are left out (they change values by < 0.004).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np

from serkit.errors import ConfigError
from serkit.features import functional as F
from serkit.features import pooling as P
from serkit.features import signal as S
from serkit.features.base import Extractor, ExtractorConfig, register_extractor

_LOGS = ("db", "ln", "log10", "speechsplit", "none")
_NORMS = ("none", "minmax", "zscore")


@dataclasses.dataclass(frozen=True)
class SpectrogramConfig(ExtractorConfig):
    """STFT settings; ``win_length`` 0 means ``n_fft``, ``n_bins`` 0 keeps all bins."""

    n_fft: int = 512
    win_length: int = 0
    hop_length: int = 160
    window: str = "hann"
    center: bool = True
    pad_mode: str = "reflect"
    power: float = 1.0
    normalized: bool = False
    log: str = "none"
    log_eps: float = 1e-10
    n_bins: int = 0


def _check_common(cfg: Any, name: str) -> None:
    if cfg.n_fft <= 0 or cfg.hop_length <= 0:
        raise ConfigError(f"{name}: n_fft and hop_length must be positive")
    if cfg.win_length < 0 or cfg.win_length > cfg.n_fft:
        raise ConfigError(
            f"{name}: win_length {cfg.win_length} must be between 0 (= n_fft) and n_fft {cfg.n_fft}"
        )
    if cfg.pad_mode not in ("reflect", "constant"):
        raise ConfigError(f"{name}: pad_mode {cfg.pad_mode!r}; expected reflect or constant")
    if cfg.log not in _LOGS:
        raise ConfigError(f"{name}: log {cfg.log!r}; expected one of {', '.join(_LOGS)}")
    if cfg.power not in (1.0, 2.0):
        raise ConfigError(f"{name}: power {cfg.power}; expected 1 (magnitude) or 2 (power)")


@register_extractor
class Spectrogram(Extractor):
    """Linear STFT magnitude or power spectrogram, time x frequency: ``(frames, bins)``."""

    name = "spectrogram"
    level = "frame"
    Config = SpectrogramConfig
    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "rhemo": {
            "n_fft": 256,
            "win_length": 256,
            "hop_length": 128,
            "window": "hamming",
            "center": True,
            "pad_mode": "constant",
            "power": 1.0,
            "normalized": True,
            "n_bins": 128,
        },
    }

    def __init__(self, config: ExtractorConfig | None = None, **params: Any) -> None:
        super().__init__(config, **params)
        _check_common(self.config, self.name)

    def compute(self, signal: np.ndarray) -> np.ndarray:
        cfg = self.config
        spec = S.stft(
            signal,
            n_fft=cfg.n_fft,
            hop_length=cfg.hop_length,
            win_length=cfg.win_length or cfg.n_fft,
            window_name=cfg.window,
            center=cfg.center,
            pad_mode=cfg.pad_mode,
            power=cfg.power,
            normalized=cfg.normalized,
        )
        if cfg.n_bins:
            spec = spec[:, : cfg.n_bins]
        return F.log_compress(spec, cfg.log, eps=cfg.log_eps, power=cfg.power)

    def feature_names(self) -> list[str]:
        bins = self.config.n_bins or self.config.n_fft // 2 + 1
        step = self.sample_rate / self.config.n_fft
        return [f"bin{i}_{i * step:.0f}Hz" for i in range(bins)]


@dataclasses.dataclass(frozen=True)
class LogMelConfig(ExtractorConfig):
    """Log-mel settings; ``win_length`` 0 = ``n_fft``, ``fmax`` 0 = Nyquist, ``highpass`` 0 = off.

    ``mel_scale`` is "slaney" or "htk"; ``mel_norm`` "slaney" (area) or "none"; ``log`` one of
    db, ln, log10, speechsplit, none; ``deltas`` 0/1/2 stacks static, delta and delta-delta
    channel-major (``delta_width`` = regression N); ``normalize`` none, minmax (per channel) or
    zscore (per dimension), over the utterance; ``clip`` clips to ``[0, 1]`` at the end.
    """

    n_mels: int = 64
    n_fft: int = 512
    win_length: int = 400
    hop_length: int = 160
    window: str = "hann"
    center: bool = True
    pad_mode: str = "reflect"
    power: float = 2.0
    fmin: float = 0.0
    fmax: float = 0.0
    mel_scale: str = "slaney"
    mel_norm: str = "slaney"
    pre_emphasis: float = 0.0
    highpass: float = 0.0
    log: str = "db"
    log_eps: float = 1e-10
    deltas: int = 0
    delta_width: int = 2
    normalize: str = "none"
    clip: bool = False


def _check_logmel(cfg: Any, name: str) -> None:
    _check_common(cfg, name)
    if cfg.mel_scale not in ("slaney", "htk"):
        raise ConfigError(f"{name}: mel_scale {cfg.mel_scale!r}; expected slaney or htk")
    if cfg.mel_norm not in ("slaney", "none"):
        raise ConfigError(f"{name}: mel_norm {cfg.mel_norm!r}; expected slaney or none")
    if cfg.deltas not in (0, 1, 2):
        raise ConfigError(f"{name}: deltas {cfg.deltas}; expected 0, 1 or 2")
    if cfg.normalize not in _NORMS:
        raise ConfigError(f"{name}: normalize {cfg.normalize!r}; expected one of {_NORMS}")
    nyquist = cfg.sample_rate / 2
    if cfg.fmax and not cfg.fmin < cfg.fmax <= nyquist:
        raise ConfigError(f"{name}: need fmin {cfg.fmin} < fmax {cfg.fmax} <= {nyquist} Hz")
    if cfg.n_mels <= 0:
        raise ConfigError(f"{name}: n_mels must be positive, got {cfg.n_mels}")


def log_mel_frames(cfg: Any, signal: np.ndarray) -> np.ndarray:
    """The static log-mel of a :class:`LogMelConfig`-like config: ``(frames, n_mels)``."""
    x = signal
    if cfg.highpass:
        x = S.highpass(x, cfg.sample_rate, cfg.highpass, order=5)
    if cfg.pre_emphasis:
        x = S.pre_emphasis(x, cfg.pre_emphasis)
    mel = F.mel_spectrogram(
        x,
        cfg.sample_rate,
        n_mels=cfg.n_mels,
        n_fft=cfg.n_fft,
        hop_length=cfg.hop_length,
        win_length=cfg.win_length or cfg.n_fft,
        window_name=cfg.window,
        center=cfg.center,
        pad_mode=cfg.pad_mode,
        power=cfg.power,
        fmin=cfg.fmin,
        fmax=cfg.fmax or None,
        htk=cfg.mel_scale == "htk",
        norm=None if cfg.mel_norm == "none" else cfg.mel_norm,
    )
    return F.log_compress(mel, cfg.log, eps=cfg.log_eps, power=cfg.power)


def with_deltas(static: np.ndarray, order: int, width: int) -> np.ndarray:
    """Stack static, delta (order >= 1) and delta-delta (order 2) channel-major."""
    chans = [static]
    for _ in range(order):
        chans.append(F.deltas(chans[-1], width))
    return F.stack_channels(chans) if order else np.ascontiguousarray(static, dtype=np.float32)


def finish(features: np.ndarray, cfg: Any, channels: int) -> np.ndarray:
    """Apply the config's per-utterance normalisation and clipping."""
    if cfg.normalize == "minmax":
        features = P.minmax_normalize(features, channels)
    elif cfg.normalize == "zscore":
        features = P.zscore_normalize(features)
    if cfg.clip:
        features = np.clip(features, 0.0, 1.0)
    return np.ascontiguousarray(features, dtype=np.float32)


def _channel_names(base: list[str], order: int) -> list[str]:
    prefixes = ["", "d_", "dd_"][: order + 1]
    return [f"{prefix}{name}" for prefix in prefixes for name in base]


@register_extractor
class LogMel(Extractor):
    """Log-mel filterbank energies, optionally with deltas: ``(frames, channels * n_mels)``."""

    name = "logmel"
    level = "frame"
    Config = LogMelConfig
    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "acrnn": {
            "n_mels": 40,
            "n_fft": 512,
            "win_length": 400,
            "hop_length": 160,
            "window": "boxcar",
            "center": False,
            "pre_emphasis": 0.97,
            "mel_scale": "htk",
            "mel_norm": "none",
            "log": "ln",
            "log_eps": 1e-10,
            "deltas": 2,
            "delta_width": 2,
        },
        "dcnn": {
            "n_mels": 64,
            "n_fft": 400,
            "win_length": 400,
            "hop_length": 160,
            "window": "hann",
            "center": True,
            "pad_mode": "reflect",
            "power": 2.0,
            "fmin": 20.0,
            "fmax": 8000.0,
            "mel_scale": "htk",
            "mel_norm": "slaney",
            "pre_emphasis": 0.97,
            "log": "ln",
            "log_eps": 1e-8,
            "deltas": 2,
            "delta_width": 2,
            "normalize": "minmax",
        },
        "speechsplit": {
            "n_mels": 80,
            "n_fft": 1024,
            "win_length": 1024,
            "hop_length": 256,
            "window": "hann",
            "center": True,
            "pad_mode": "reflect",
            "power": 1.0,
            "fmin": 90.0,
            "fmax": 7600.0,
            "mel_scale": "slaney",
            "mel_norm": "slaney",
            "highpass": 30.0,
            "log": "speechsplit",
            "clip": True,
        },
    }

    def __init__(self, config: ExtractorConfig | None = None, **params: Any) -> None:
        super().__init__(config, **params)
        _check_logmel(self.config, self.name)

    @property
    def channels(self) -> int:
        return 1 + int(self.config.deltas)

    def compute(self, signal: np.ndarray) -> np.ndarray:
        cfg = self.config
        out = with_deltas(log_mel_frames(cfg, signal), cfg.deltas, cfg.delta_width)
        return finish(out, cfg, self.channels)

    def feature_names(self) -> list[str]:
        base = [f"mel{i}" for i in range(self.config.n_mels)]
        return _channel_names(base, self.config.deltas)


@dataclasses.dataclass(frozen=True)
class MfccConfig(LogMelConfig):
    """Log-mel settings plus ``n_mfcc`` (DCT-II ortho of the log-mel, like librosa)."""

    n_mfcc: int = 13
    n_mels: int = 40


@register_extractor
class Mfcc(Extractor):
    """MFCCs (DCT-II of the dB log-mel), optionally with deltas: ``(frames, channels * n_mfcc)``."""

    name = "mfcc"
    level = "frame"
    Config = MfccConfig

    def __init__(self, config: ExtractorConfig | None = None, **params: Any) -> None:
        super().__init__(config, **params)
        _check_logmel(self.config, self.name)
        if not 0 < self.config.n_mfcc <= self.config.n_mels:
            raise ConfigError(
                f"mfcc: n_mfcc {self.config.n_mfcc} must be between 1 and n_mels "
                f"{self.config.n_mels}"
            )

    @property
    def channels(self) -> int:
        return 1 + int(self.config.deltas)

    def compute(self, signal: np.ndarray) -> np.ndarray:
        cfg = self.config
        static = F.mfcc(log_mel_frames(cfg, signal), cfg.n_mfcc)
        return finish(with_deltas(static, cfg.deltas, cfg.delta_width), cfg, self.channels)

    def feature_names(self) -> list[str]:
        return _channel_names([f"mfcc{i}" for i in range(self.config.n_mfcc)], self.config.deltas)


_DEFAULT_STATS = ("mean", "std", "min", "max")


@dataclasses.dataclass(frozen=True)
class LogMelStatsConfig(LogMelConfig):
    """Log-mel settings (deltas 1 by default) plus the pooled ``stats``."""

    deltas: int = 1
    stats: tuple[str, ...] = _DEFAULT_STATS


@dataclasses.dataclass(frozen=True)
class MfccStatsConfig(MfccConfig):
    """MFCC settings (deltas 1 by default) plus the pooled ``stats``."""

    deltas: int = 1
    stats: tuple[str, ...] = _DEFAULT_STATS


class _Pooled(Extractor):
    """Utterance statistics of a frame extractor's output (statistic-major)."""

    level = "utterance"
    frame_class: ClassVar[type[Extractor]]

    def __init__(self, config: ExtractorConfig | None = None, **params: Any) -> None:
        super().__init__(config, **params)
        frame_params = {
            f.name: getattr(self.config, f.name)
            for f in dataclasses.fields(self.frame_class.Config)
        }
        self._frames = self.frame_class(**frame_params)
        if not self.config.stats:
            raise ConfigError(f"{self.name}: stats must name at least one statistic")
        try:
            P.stats_names(["x"], self.config.stats)
        except ValueError as exc:
            raise ConfigError(f"{self.name}: {exc}") from None

    def compute(self, signal: np.ndarray) -> np.ndarray:
        return P.stats_pool(self._frames.compute(signal), self.config.stats)

    def feature_names(self) -> list[str]:
        return P.stats_names(self._frames.feature_names(), self.config.stats)


@register_extractor
class LogMelStats(_Pooled):
    """Mean/std/min/max (or any ``stats``) of log-mel (+ deltas) over the utterance."""

    name = "logmel-stats"
    Config = LogMelStatsConfig
    frame_class = LogMel


@register_extractor
class MfccStats(_Pooled):
    """Mean/std/min/max (or any ``stats``) of MFCC (+ deltas) over the utterance."""

    name = "mfcc-stats"
    Config = MfccStatsConfig
    frame_class = Mfcc
