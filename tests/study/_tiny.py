"""A tiny untrained ``speechflow`` package (the family's ``test_params()``) and test audio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def speechflow_package(folder: Path, speakers: tuple[str, ...] = ("x/s",)) -> Path:
    """An untrained speechflow package under ``folder`` (skips when the family is missing)."""
    from serkit.encoders import list_encoders

    if "speechflow" not in list_encoders():
        pytest.skip("the speechflow encoder family is not registered")
    from serkit.features.speechflow import tiny_package

    return tiny_package(folder, speakers=speakers)


def voice(seconds: float = 1.0, f0: float = 140.0, seed: int = 0, sr: int = 16000) -> np.ndarray:
    """A voiced, vibrato tone with harmonics and a little noise: ``(samples,)`` float32."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    pitch = f0 * (1 + 0.08 * np.sin(2 * np.pi * 3 * t))
    phase = 2 * np.pi * np.cumsum(pitch) / sr
    wave = sum(np.sin(k * phase) / k for k in range(1, 6)) * (0.5 + 0.5 * np.sin(2 * np.pi * t))
    return (0.2 * wave + rng.normal(0, 0.005, t.size)).astype(np.float32)
