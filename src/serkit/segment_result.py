"""Results of long-audio prediction: segments with timestamps, a whole-file decision, formats.

A :class:`Segment` is one analysed stretch of audio (``start``/``end`` in seconds from the
beginning of the file), with a label and class probabilities when ``status == "ok"``, or no
label (``None``), NaN probabilities and a ``status`` that says why (``"unanalysable: ..."``:
no speech in the window, too short, too quiet). :class:`LongResult` holds the segments and the
whole-file decision (:func:`decide`: the duration-weighted mean of the probabilities of the
``ok`` segments; its label is their arg-max) and writes CSV (:meth:`LongResult.to_csv`: one row
per segment and a last row ``segment == "file"`` with the decision), JSON
(:meth:`LongResult.to_json`, NaN as ``null``) and SubRip subtitles (:meth:`LongResult.to_srt`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

#: how the whole-file decision is made (written into every result)
DECISION_RULE = "duration-weighted mean of the probabilities of the analysable segments"


@dataclass(frozen=True)
class Segment:
    """One analysed segment.

    Attributes:
        start: seconds from the start of the audio.
        end: seconds (exclusive).
        label: the arg-max class, ``None`` when unanalysable.
        probs: class -> probability (NaN when unanalysable).
        status: ``"ok"`` or ``"unanalysable: <why>"``.
    """

    start: float
    end: float
    label: str | None
    probs: dict[str, float]
    status: str = "ok"

    @property
    def duration(self) -> float:
        """``end - start`` in seconds."""
        return self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (NaN as ``None``)."""
        return {
            "start": round(self.start, 6),
            "end": round(self.end, 6),
            "label": self.label,
            "status": self.status,
            "probs": {k: _finite(v) for k, v in self.probs.items()},
        }


def decide(segments: Sequence[Segment], classes: Sequence[str]) -> dict[str, Any]:
    """The whole-file decision: :data:`DECISION_RULE`.

    Returns:
        ``{"label", "probs", "status", "rule", "segments_used"}``; with no analysable segment
        the label is ``None``, the probabilities NaN and the status says so.
    """
    ok = [s for s in segments if s.status == "ok"]
    weights = np.array([s.duration for s in ok], dtype=np.float64)
    if not ok or weights.sum() <= 0:
        why = "no segment" if not segments else f"none of the {len(segments)} segment(s)"
        return {
            "label": None,
            "probs": {c: math.nan for c in classes},
            "status": f"unanalysable: {why} could be analysed (no speech found?)",
            "rule": DECISION_RULE,
            "segments_used": 0,
        }
    matrix = np.array([[s.probs[c] for c in classes] for s in ok], dtype=np.float64)
    mean = weights @ matrix / weights.sum()
    return {
        "label": str(classes[int(np.argmax(mean))]),
        "probs": {c: float(v) for c, v in zip(classes, mean, strict=True)},
        "status": "ok",
        "rule": DECISION_RULE,
        "segments_used": len(ok),
    }


@dataclass
class LongResult:
    """Segments of one recording and the whole-file decision.

    Attributes:
        segments: in time order.
        decision: see :func:`decide`.
        duration: seconds of audio seen (at the model's rate).
        classes: the class order of the probabilities.
        source: the file (or ``"<stream>"``).
        config: the segmentation settings (``SegmentConfig.to_dict()``).
        peak_samples: the most audio samples held in memory at once while segmenting.
    """

    segments: list[Segment]
    decision: dict[str, Any]
    duration: float
    classes: list[str]
    source: str = "<stream>"
    config: dict[str, Any] = field(default_factory=dict)
    peak_samples: int = 0

    def to_frame(self, *, decision: bool = False) -> pd.DataFrame:
        """One row per segment: ``segment, start, end, label, status, prob_<class>...``
        (with ``decision``: a last row ``segment == "file"`` covering the whole audio)."""
        rows = [
            {
                "segment": str(i),
                "start": s.start,
                "end": s.end,
                "label": s.label,
                "status": s.status,
            }
            | {f"prob_{c}": s.probs.get(c, math.nan) for c in self.classes}
            for i, s in enumerate(self.segments)
        ]
        if decision:
            d = self.decision
            rows.append(
                {
                    "segment": "file",
                    "start": 0.0,
                    "end": self.duration,
                    "label": d["label"],
                    "status": d["status"],
                }
                | {f"prob_{c}": d["probs"][c] for c in self.classes}
            )
        columns = ["segment", "start", "end", "label", "status"] + [
            f"prob_{c}" for c in self.classes
        ]
        return pd.DataFrame(rows, columns=columns)

    def to_csv(self) -> str:
        """CSV text: the segments, then the ``file`` row with the decision."""
        return self.to_frame(decision=True).to_csv(index=False, float_format="%.6f")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``source, duration, classes, config, decision, segments``."""
        d = dict(self.decision)
        d["probs"] = {k: _finite(v) for k, v in d["probs"].items()}
        return {
            "source": self.source,
            "duration": round(self.duration, 6),
            "classes": list(self.classes),
            "config": self.config,
            "decision": d,
            "segments": [s.to_dict() for s in self.segments],
        }

    def to_json(self) -> str:
        """JSON text of :meth:`to_dict` (indented)."""
        return json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n"

    def to_srt(self) -> str:
        """SubRip subtitles: one cue per segment, ``label (probability)`` or ``[status]``."""
        cues = []
        for i, s in enumerate(self.segments, start=1):
            if s.status == "ok" and s.label is not None:
                text = f"{s.label} ({s.probs[s.label]:.2f})"
            else:
                text = f"[{s.status}]"
            cues.append(f"{i}\n{srt_time(s.start)} --> {srt_time(s.end)}\n{text}\n")
        return "\n".join(cues)

    def render(self, fmt: str) -> str:
        """Text in ``fmt``: ``"csv"``, ``"json"`` or ``"srt"``."""
        from serkit.errors import ConfigError

        writers = {"csv": self.to_csv, "json": self.to_json, "srt": self.to_srt}
        if fmt not in writers:
            raise ConfigError(f"format {fmt!r}: expected one of {', '.join(writers)}")
        return writers[fmt]()


def srt_time(seconds: float) -> str:
    """``HH:MM:SS,mmm`` (SubRip time stamp)."""
    ms = int(round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def _finite(value: float | None) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value
