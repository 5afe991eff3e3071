"""Tiny synthetic corpora for the feature tests: a few short wav files and their manifest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from serkit import manifest as mf


def voiced(seconds: float, sr: int = 16000, f0: float = 140.0, seed: int = 0) -> np.ndarray:
    """A harmonic, amplitude-modulated tone with a little noise: ``(samples,)`` float32."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(seconds * sr))) / sr
    wave = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3.0 * t)
    signal = 0.2 * envelope * wave + 0.01 * rng.standard_normal(t.size)
    return signal.astype(np.float32)


def make_corpus(root: Path, n: int = 4, seconds: float = 0.5, sr: int = 16000) -> pd.DataFrame:
    """Write ``n`` wav files under ``root`` (lengths vary a little) and return their manifest."""
    import soundfile as sf

    rows = []
    for i in range(n):
        length = seconds + 0.05 * (i % 3)
        rel = f"spk{i % 2}/utt{i:03d}.wav"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(path), voiced(length, sr, f0=110.0 + 15 * i, seed=i), sr)
        rows.append(
            {
                "id": f"synth/utt{i:03d}",
                "corpus": "synth",
                "path": rel,
                "duration": length,
                "speaker": f"synth/spk{i % 2}",
                "emotion": ["neutral", "angry", "happy", "sad"][i % 4],
                "raw_emotion": "x",
            }
        )
    return mf.new(rows, root=root)
