"""Unregistered test extractors (module level so that spawned workers can unpickle them)."""

from __future__ import annotations

import dataclasses

import numpy as np

from serkit.features.base import Extractor, ExtractorConfig


@dataclasses.dataclass(frozen=True)
class TinyConfig(ExtractorConfig):
    """``bad_below``: return NaN for signals shorter than this many samples."""

    scale: float = 1.0
    bad_below: int = 0


class TinyStats(Extractor):
    """Utterance level: [mean, std, samples] * scale; counts its calls."""

    name = "tiny-stats-test"
    level = "utterance"
    Config = TinyConfig
    calls = 0

    def compute(self, signal: np.ndarray) -> np.ndarray:
        type(self).calls += 1
        out = np.array([signal.mean(), signal.std(), len(signal)], np.float32) * self.config.scale
        if len(signal) < self.config.bad_below:
            out[1] = np.nan
        return out


class TinyFrames(Extractor):
    """Frame level: 10 ms frames of [rms, peak]; counts its calls."""

    name = "tiny-frames-test"
    level = "frame"
    Config = TinyConfig
    calls = 0

    def compute(self, signal: np.ndarray) -> np.ndarray:
        type(self).calls += 1
        hop = self.sample_rate // 100
        count = max(1, len(signal) // hop)
        frames = np.resize(signal, count * hop).reshape(count, hop)
        out = np.stack([np.sqrt((frames**2).mean(1)), np.abs(frames).max(1)], axis=1)
        return (out * self.config.scale).astype(np.float32)
