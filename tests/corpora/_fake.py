"""Helpers that build small fake corpus trees mirroring real naming, for recipe tests."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np


def write_tone(
    path: Path, seconds: float = 0.2, sr: int = 16000, freq: float = 220.0, channels: int = 1
) -> Path:
    """Write a short sine tone at 0.5 peak to ``path`` (format from the suffix: .wav/.flac).

    Args:
        path: the file to write (parents are created).
        seconds: length in seconds.
        sr: sample rate in Hz.
        freq: tone frequency in Hz.
        channels: 1 writes ``(samples,)``; more writes ``(samples, channels)``.
    """
    import soundfile as sf

    t = np.arange(int(round(seconds * sr))) / sr
    signal = (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    if channels > 1:
        signal = np.repeat(signal[:, None], channels, axis=1)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = "NIST" if path.suffix.lower() == ".sph" else None
    sf.write(str(path), signal, sr, format=fmt, subtype="PCM_16")
    return path


def make_tree(
    root: Path, rel_paths: Iterable[str], seconds: float = 0.2, sr: int = 16000
) -> list[Path]:
    """Write a tone at each relative path under ``root``; returns the absolute paths."""
    return [write_tone(Path(root) / rel, seconds=seconds, sr=sr) for rel in rel_paths]


def write_text(path: Path, text: str, encoding: str = "utf-8") -> Path:
    """Write a text file (parents created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding=encoding)
    return path


def write_garbage(path: Path, size: int = 256) -> Path:
    """Write deterministic non-audio bytes under an audio name (a corrupt file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    path.write_bytes(b"NOTAUDIO" + rng.integers(0, 256, size, dtype=np.uint8).tobytes())
    return path


def roundtrip(df, folder: Path):
    """Write ``df`` as Parquet and CSV with :func:`serkit.manifest.write`, read both back.

    Returns the Parquet copy; asserts both copies keep the ids, columns and attrs root.
    """
    from serkit import manifest

    copies = []
    for suffix in (".parquet", ".csv"):
        path = manifest.write(df, Path(folder) / f"roundtrip{suffix}")
        back = manifest.read(path)
        assert back["id"].tolist() == df["id"].tolist(), suffix
        assert list(back.columns) == list(df.columns), suffix
        assert back.attrs["root"] == df.attrs["root"], suffix
        copies.append(back)
    return copies[0]
