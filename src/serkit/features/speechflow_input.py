"""The SpeechFlow / SpeechSplit front end (seed 000, section 0.2): 80-mel in [0, 1] + log-F0.

Registered extractor ``"speechflow-input"`` (frame): ``(frames, n_mels + 1)`` on a 256-sample
hop (16 ms at 16 kHz, ``samples // 256 + 1`` frames):

* columns ``0 .. n_mels - 1``: the SpeechSplit mel. A signal whose length is a multiple of 256
  gets one tiny sample appended; zero-phase order-5 Butterworth high-pass at 30 Hz; scaled by
  0.96 plus uniform dither of amplitude 1e-6 (seeded from ``dither_seed`` and the signal's
  content, so the same audio always gives the same features; the original seeds per speaker);
  STFT 1024 / hop 256, periodic Hann, reflect padding, magnitude; 80 Slaney mels 90-7600 Hz;
  ``(20 log10(max(1e-5, M)) - 16 + 100) / 100`` clipped to [0, 1]. The mel math is the
  ``logmel:speechsplit`` preset's (:func:`serkit.features.spectral.log_mel_frames`).
* the last column: normalised log-F0 of the same processed signal, ``(z + 1) / 2`` in [0, 1]
  with ``z = ((ln F0 - mu) / sigma / 4)`` clipped to [-1, 1]; unvoiced frames are -1. It is the
  ``speechsplit-f0`` extractor's ``output="normalized"`` (WORLD ``dio`` or ``harvest`` replaces
  the seed's RAPT, which is not installable here; search range by ``gender``, 50-600 Hz when
  unknown). The ``speechflow`` encoder family quantises it to 257 bins.

F0 normalisation: per utterance (``f0_mean`` / ``f0_std`` unset: the utterance's own voiced
log-F0 statistics, as the original SpeechSplit code does). An extractor sees one signal and not
its speaker, so per-speaker statistics (what the fork effectively does) are only possible for a
single speaker, by passing that speaker's ``f0_mean`` / ``f0_std``
(:func:`serkit.features.speechsplit.speaker_f0_stats`); a multi-speaker corpus uses per-utterance
statistics.

Inverting the mel part (Griffin-Lim, :mod:`serkit.encoders.listen`): :func:`mel_frontend` is the
``logmel`` front end with the same mel settings.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import numpy as np

from serkit.errors import ConfigError
from serkit.features import signal as S
from serkit.features.base import Extractor, ExtractorConfig, register_extractor
from serkit.features.prosody import F0_METHODS, f0_range
from serkit.features.spectral import LogMel, LogMelConfig, log_mel_frames
from serkit.features.speechsplit import SpeechSplitF0

HOP = 256


@dataclasses.dataclass(frozen=True)
class SpeechFlowInputConfig(ExtractorConfig):
    """Config of ``"speechflow-input"`` (see the module docstring).

    Attributes:
        highpass_hz: high-pass cut-off (order-5 Butterworth, zero phase); 0 = off.
        scale: gain applied after the high-pass (the original's 0.96).
        dither: amplitude of the uniform dither (the original's 1e-6); 0 = off.
        dither_seed: seed of the dither (combined with a hash of the signal).
        gender: F0 search range, ``"male"`` (50-250 Hz), ``"female"`` (100-600 Hz) or ``None``
            (50-600 Hz).
        f0_method: WORLD tracker, ``"dio"`` or ``"harvest"``.
        f0_mean: log-F0 mean of the (single) speaker; ``None``: the utterance's own.
        f0_std: log-F0 std of the speaker; ``None``: the utterance's own.
    """

    highpass_hz: float = 30.0
    scale: float = 0.96
    dither: float = 1e-6
    dither_seed: int = 0
    gender: str | None = None
    f0_method: str = "dio"
    f0_mean: float | None = None
    f0_std: float | None = None

    def __post_init__(self) -> None:
        f0_range(self.gender, None, None)
        if self.sample_rate != 16000:
            raise ConfigError(
                f"speechflow-input: sample_rate must be 16000 (the SpeechSplit mel: 1024 / 256 "
                f"samples, 90-7600 Hz), found {self.sample_rate}"
            )
        if not 0 <= self.highpass_hz < self.sample_rate / 2:
            raise ConfigError(
                f"speechflow-input: highpass_hz must be in [0, {self.sample_rate / 2}) "
                f"(0 = off), found {self.highpass_hz}"
            )
        if self.scale <= 0 or self.dither < 0:
            raise ConfigError(
                f"speechflow-input: need scale > 0 and dither >= 0, found scale={self.scale}, "
                f"dither={self.dither}"
            )
        if self.f0_method not in F0_METHODS:
            raise ConfigError(
                f"speechflow-input: f0_method must be one of {F0_METHODS}, found {self.f0_method!r}"
            )
        if (self.f0_mean is None) != (self.f0_std is None):
            raise ConfigError(
                "speechflow-input: give both f0_mean and f0_std (from speaker_f0_stats) or "
                "neither (per-utterance normalisation)"
            )


def mel_config() -> LogMelConfig:
    """The ``logmel:speechsplit`` settings without their high-pass (applied before the dither)."""
    return LogMel.make_config(preset="speechsplit", highpass=0.0)  # type: ignore[return-value]


def mel_frontend() -> Any:
    """The ``logmel`` front end with the mel settings of this extractor (for Griffin-Lim)."""
    from serkit.features.frontend import Frontend

    return Frontend(LogMel(mel_config()))


def preprocess(signal: np.ndarray, config: SpeechFlowInputConfig) -> np.ndarray:
    """SpeechSplit's waveform preprocessing: tail sample, high-pass, scale and dither.

    Args:
        signal: ``(samples,)`` at 16 kHz.
        config: the extractor config.

    Returns:
        ``(samples',)`` float64 (one sample longer when ``samples`` is a multiple of 256).
    """
    x = np.asarray(signal, dtype=np.float64)
    if len(x) % HOP == 0:
        x = np.concatenate([x, [1e-6]])
    if config.highpass_hz > 0:
        x = S.highpass(x, config.sample_rate, config.highpass_hz, order=5, dtype=np.float64)
    digest = hashlib.blake2b(np.ascontiguousarray(signal, np.float32).tobytes(), digest_size=8)
    rng = np.random.default_rng([int(config.dither_seed), int.from_bytes(digest.digest(), "big")])
    return x * config.scale + (rng.random(len(x)) - 0.5) * config.dither


@register_extractor
class SpeechFlowInput(Extractor):
    """SpeechSplit 80-mel in [0, 1] and normalised log-F0: ``(frames, 81)``."""

    name = "speechflow-input"
    level = "frame"
    Config = SpeechFlowInputConfig
    presets = {"male": {"gender": "male"}, "female": {"gender": "female"}}

    def compute(self, signal: np.ndarray) -> np.ndarray:
        c = self.config
        wav = preprocess(signal, c)
        mel = np.clip(log_mel_frames(mel_config(), wav.astype(np.float32)), 0.0, 1.0)
        tracker = SpeechSplitF0(
            gender=c.gender,
            method=c.f0_method,
            f0_mean=c.f0_mean,
            f0_std=c.f0_std,
            output="normalized",
            highpass_hz=0.0,
        )
        f0 = tracker.compute(wav)
        n = min(len(mel), len(f0))
        return np.concatenate([mel[:n], f0[:n]], axis=1).astype(np.float32)

    def feature_names(self) -> list[str]:
        return [f"mel{i}" for i in range(mel_config().n_mels)] + ["f0_norm"]
