"""Speaker embeddings: Resemblyzer's GE2E d-vector (256-d, weights ship in its wheel).

Registered extractor ``"resemblyzer"`` (utterance): ``(256,)``, L2-normalised mean of partial
embeddings over 1.6-s windows (``rate`` partials per second, the last kept when it covers at
least ``min_coverage``). Preprocessing follows Resemblyzer's ``preprocess_wav`` (volume raised to
-30 dBFS, never lowered; long silences removed with webrtcvad) with two safety changes: an
all-zero signal is not rescaled (Resemblyzer would divide by zero and return NaN), and when
silence trimming leaves less than ``min_trimmed_s`` seconds (pure tones, noise, very short
clips) the untrimmed signal is embedded instead. The encoder is loaded once per process on the
CPU. Requires the ``speaker`` extra (``resemblyzer``; its ``webrtcvad`` needs setuptools<81).
"""

from __future__ import annotations

import dataclasses
import threading

import numpy as np

from serkit.errors import ConfigError
from serkit.features.base import Extractor, ExtractorConfig, register_extractor

EMBEDDING_DIM = 256
RESEMBLYZER_RATE = 16000
_ENCODER = None
_LOCK = threading.Lock()


def voice_encoder():
    """The process-wide Resemblyzer ``VoiceEncoder`` on the CPU (loads the shipped weights)."""
    global _ENCODER
    with _LOCK:
        if _ENCODER is None:
            try:
                from resemblyzer import VoiceEncoder
            except ImportError as exc:
                raise ImportError(
                    "the 'resemblyzer' extractor needs the resemblyzer package: "
                    "pip install 'serkit[speaker]' (and setuptools<81 for webrtcvad)"
                ) from exc
            _ENCODER = VoiceEncoder("cpu", verbose=False)
        return _ENCODER


def prepare_wav(
    signal: np.ndarray,
    *,
    normalize_volume: bool = True,
    trim_silence: bool = True,
    min_trimmed_s: float = 0.5,
    target_dbfs: float = -30.0,
) -> np.ndarray:
    """Resemblyzer-style preprocessing of a 16 kHz signal, NaN-safe (see the module docstring).

    Returns:
        ``(samples',)`` float32.
    """
    wav = np.asarray(signal, dtype=np.float64)
    rms = float(np.sqrt(np.mean(np.square(wav)))) if wav.size else 0.0
    if normalize_volume and rms > 0:
        gain_db = target_dbfs - 20.0 * np.log10(rms)
        if gain_db > 0:
            wav = wav * 10.0 ** (gain_db / 20.0)
    wav = np.clip(wav, -1.0, 1.0)
    if trim_silence and wav.size:
        from resemblyzer.audio import trim_long_silences

        trimmed = trim_long_silences(wav)
        if len(trimmed) >= min_trimmed_s * RESEMBLYZER_RATE:
            wav = trimmed
    return wav.astype(np.float32)


@dataclasses.dataclass(frozen=True)
class ResemblyzerConfig(ExtractorConfig):
    """Config of ``"resemblyzer"``.

    Attributes:
        normalize_volume: raise quiet audio to -30 dBFS before embedding.
        trim_silence: remove long silences (webrtcvad) before embedding.
        min_trimmed_s: fall back to the untrimmed signal below this trimmed length.
        rate: partial embeddings per second.
        min_coverage: keep the last partial if it covers at least this fraction.
    """

    normalize_volume: bool = True
    trim_silence: bool = True
    min_trimmed_s: float = 0.5
    rate: float = 1.3
    min_coverage: float = 0.75

    def __post_init__(self) -> None:
        if self.sample_rate != RESEMBLYZER_RATE:
            raise ConfigError(
                f"resemblyzer works at {RESEMBLYZER_RATE} Hz; found sample_rate="
                f"{self.sample_rate} (audio is resampled to the config rate, keep 16000)"
            )
        if self.rate <= 0 or not 0 < self.min_coverage <= 1:
            raise ConfigError(
                f"need rate > 0 and 0 < min_coverage <= 1; found {self.rate}, {self.min_coverage}"
            )


@register_extractor
class Resemblyzer(Extractor):
    """Resemblyzer GE2E speaker embedding ``(256,)`` (unit norm)."""

    name = "resemblyzer"
    level = "utterance"
    Config = ResemblyzerConfig

    def compute(self, signal: np.ndarray) -> np.ndarray:
        c = self.config
        wav = prepare_wav(
            signal,
            normalize_volume=c.normalize_volume,
            trim_silence=c.trim_silence,
            min_trimmed_s=c.min_trimmed_s,
        )
        # never empty here (Extractor.__call__ refuses empty signals); a NaN embedding (e.g. of
        # digital silence) is refused by the extractor contract instead of becoming zeros
        embedding = voice_encoder().embed_utterance(wav, rate=c.rate, min_coverage=c.min_coverage)
        return np.asarray(embedding, dtype=np.float32)

    def feature_names(self) -> list[str]:
        return [f"dvector_{i}" for i in range(EMBEDDING_DIM)]
