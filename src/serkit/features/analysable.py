"""What audio is analysable: the one rule every front end applies before its extractor.

A signal (after VAD trimming, when the front end has a VAD) is analysable when it

* is at least ``min_duration_s`` long (default :data:`MIN_DURATION_S`, 0.1 s: longer than the
  longest minimum of the shipped extractors, openSMILE's ~0.07 s below which it fills its
  output with NaN, and a few analysis windows of every frame extractor),
* has only finite samples, and
* has a peak level of at least ``min_level_dbfs`` (default :data:`MIN_LEVEL_DBFS`, -60 dBFS,
  the absolute floor of the energy VAD; digital silence is ``-inf`` dBFS). The peak, not the
  RMS, is used so that long silent stretches around quiet speech never reject it.

:class:`serkit.features.frontend.Frontend` holds the two thresholds (set them per front end;
non-default values are part of its key) and raises :class:`UnanalysableError` for anything else, so
no extractor ever sees such a signal and no row gets a fabricated feature vector. Extraction
reports the row (or, with ``skip_bad``, lists it); prediction returns a row whose ``status``
says why instead of a label.

Example:
    >>> import numpy as np
    >>> unanalysable_reason(np.zeros(800, np.float32), 16000)
    '0.050 s (800 samples) < 0.100 s minimum duration'
    >>> unanalysable_reason(np.zeros(16000, np.float32), 16000)
    'digital silence (all samples are zero) < -60.0 dBFS minimum peak level'
    >>> unanalysable_reason(np.full(16000, 0.1, np.float32), 16000) is None
    True
"""

from __future__ import annotations

import math

import numpy as np

from serkit.errors import ConfigError
from serkit.features.base import FeatureError

#: default shortest analysable signal, in seconds (after VAD trimming)
MIN_DURATION_S = 0.1
#: default lowest analysable peak level, in dB relative to full scale
MIN_LEVEL_DBFS = -60.0


class UnanalysableError(FeatureError):
    """A signal too short, too silent or non-finite to analyse (the reason says which).

    Attributes:
        reason: the short reason, e.g. ``"0.050 s (800 samples) < 0.100 s minimum duration"``.
    """

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def peak_dbfs(signal: np.ndarray) -> float:
    """Peak level of ``(samples,)`` in dBFS (``-inf`` for digital silence or no samples)."""
    x = np.asarray(signal)
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    return 20.0 * math.log10(peak) if peak > 0 else -math.inf


def check_thresholds(min_duration_s: float, min_level_dbfs: float) -> None:
    """Refuse thresholds that are not numbers, a negative duration or a level above 0 dBFS.

    Raises:
        ConfigError: names the parameter and the value found.
    """
    for name, value in (("min_duration_s", min_duration_s), ("min_level_dbfs", min_level_dbfs)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            raise ConfigError(f"{name} must be a number; found {value!r}")
    if min_duration_s < 0:
        raise ConfigError(f"min_duration_s must be >= 0 seconds; found {min_duration_s}")
    if min_level_dbfs > 0:
        raise ConfigError(
            f"min_level_dbfs must be <= 0 dBFS (full scale is 0); found {min_level_dbfs}"
        )


def unanalysable_reason(
    signal: np.ndarray,
    sample_rate: int,
    *,
    min_duration_s: float = MIN_DURATION_S,
    min_level_dbfs: float = MIN_LEVEL_DBFS,
) -> str | None:
    """Why ``signal`` cannot be analysed, or ``None`` when it can.

    Args:
        signal: ``(samples,)`` waveform in [-1, 1] (the extractor's input, after any VAD).
        sample_rate: its rate in Hz.
        min_duration_s: shortest analysable duration (s).
        min_level_dbfs: lowest analysable peak level (dBFS).

    Returns:
        A one-line reason naming the measured value and the threshold, or ``None``.
    """
    x = np.asarray(signal)
    seconds = x.size / float(sample_rate)
    if seconds < min_duration_s:
        samples = f"{x.size} sample" + ("" if x.size == 1 else "s")
        return f"{seconds:.3f} s ({samples}) < {min_duration_s:.3f} s minimum duration"
    finite = np.isfinite(x)
    if not finite.all():
        return f"{int(x.size - finite.sum())} NaN/inf sample(s)"
    level = peak_dbfs(x)
    if level < min_level_dbfs:
        shown = (
            "digital silence (all samples are zero)"
            if level == -math.inf
            else f"peak level {level:.1f} dBFS"
        )
        return f"{shown} < {min_level_dbfs:.1f} dBFS minimum peak level"
    return None
