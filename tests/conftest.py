"""Shared fixtures: paths to the real corpora (when present) and small synthetic audio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def shared_corpus(name: str) -> Path:
    """Path of a real corpus under ../shared/data, skipping the test when it is absent."""
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"real corpus {name!r} not available at {path}")
    return path


def write_tone(path: Path, seconds: float = 0.5, sr: int = 16000, freq: float = 220.0) -> Path:
    """Write a short sine tone (float in [-0.5, 0.5]) to ``path`` (format from the suffix)."""
    import soundfile as sf

    t = np.arange(int(seconds * sr)) / sr
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32), sr)
    return path


@pytest.fixture
def tone_factory(tmp_path):
    """Returns ``make(rel_path, seconds=0.5)`` writing a tone under a temp root."""

    def make(rel: str, seconds: float = 0.5, sr: int = 16000) -> Path:
        return write_tone(tmp_path / rel, seconds=seconds, sr=sr)

    return make
