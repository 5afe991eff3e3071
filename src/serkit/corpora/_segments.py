"""Checks for recipes whose rows are segments (start/end) of longer audio files.

:func:`serkit.corpora._common.build` derives a segment's duration from ``end - start`` and so
never opens the file; these helpers read each long file's header once, apply the recipe's
``skip_bad`` policy and clip or drop segments that run past the end of the audio.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from serkit import audio
from serkit.errors import SKIP_BAD, AudioError, CorpusError


def check_files(
    files: list[str], root: Path, *, corpus: str, skip_bad: bool
) -> tuple[dict[str, float], list[str]]:
    """Read the duration of each relative path in ``files``.

    Returns:
        ``(durations, skipped)``: seconds per readable file and one message per unreadable one.

    Raises:
        CorpusError: a file is unreadable and ``skip_bad`` is False (names the file).
    """
    durations: dict[str, float] = {}
    skipped: list[str] = []
    for rel in dict.fromkeys(files):
        try:
            durations[rel] = audio.info(root / rel).duration
        except AudioError as exc:
            if not skip_bad:
                raise CorpusError(f"{corpus}: {exc.message}", hint=SKIP_BAD) from exc
            skipped.append(exc.message)
    return durations, skipped


def fit_segments(
    rows: list[dict], durations: dict[str, float], stray: list[str], *, tolerance: float = 0.05
) -> list[dict]:
    """Keep segments whose file is readable; clip ``end`` to the file length.

    Segments starting at or after the end of their file are dropped and reported in ``stray``;
    segments ending at most ``tolerance`` seconds after the end are clipped silently, longer
    overruns are clipped and reported.
    """
    kept = []
    for row in rows:
        length = durations.get(row["path"])
        if length is None:
            continue
        start, end = float(row["start"]), float(row["end"])
        if start >= length:
            stray.append(
                f"{row['path']}: segment {row['local_id']} starts at {start:.3f} s, after the "
                f"end of the audio ({length:.3f} s); dropped"
            )
            continue
        if end > length:
            if end - length > tolerance:
                stray.append(
                    f"{row['path']}: segment {row['local_id']} ends at {end:.3f} s, after the "
                    f"end of the audio ({length:.3f} s); clipped"
                )
            row = {**row, "end": length}
        kept.append(row)
    return kept


def add_skipped(df: pd.DataFrame, skipped: list[str]) -> pd.DataFrame:
    """Prepend the recipe's own skipped-file messages to ``df.attrs["skipped"]``."""
    df.attrs["skipped"] = list(skipped) + list(df.attrs.get("skipped", []))
    return df
