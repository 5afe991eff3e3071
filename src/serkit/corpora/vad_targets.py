"""Binary valence / arousal / dominance targets of manifest rows (RH-emo's V/A/D heads, §3.2).

Two sources, recorded per row in the manifest column ``vad_source``:

* ``"corpus"``: the row has its corpus' own dimensional ratings (columns ``valence``,
  ``arousal``, ``dominance``; the IEMOCAP and MSP-IMPROV recipes fill them, on 1-5). They are
  binarised as RH-emo does on IEMOCAP: ``rating > 2.5`` on the 1-5 scale is 1, else 0. A
  corpus on another scale ``(lo, hi)`` (:data:`CORPUS_SCALES`, or ``scales=``) uses the same
  point mapped linearly, ``lo + (2.5 - 1) / (5 - 1) * (hi - lo)``, so a linear re-scaling of
  the ratings never changes a target. A missing rating (NaN) stays missing.
* ``"derived"``: the row has no rating but a canonical ``emotion`` with a mapping in
  :data:`PAD_SIGNS`: the signs of the pleasure, arousal and dominance means of that emotion
  word in Russell & Mehrabian (1977), Table 4 (pleasure is read as valence): positive mean
  -> 1, negative -> 0. A mean within ``±0.10`` of zero gives no sign (missing).
* neither (``NA``): no rating and no mapping; all three targets are missing.

A missing target is ``NaN`` in :func:`binary_targets`; the RH-emo loss leaves it out of that
head's term (the row still trains the reconstruction and the discrete head).

Source of :data:`PAD_MEANS`: J. A. Russell & A. Mehrabian, "Evidence for a three-factor theory
of emotions", Journal of Research in Personality 11(3): 273-294 (1977), Table 4 (mean
pleasure, arousal, dominance of 151 emotion terms on -1..1). The values were read from public
transcriptions of that table (two independent ones agree for angry, fearful, happy, sad, bored);
they were not checked against the printed page. Only their signs are used, and every sign used
is at least 0.11 away from zero.

Canonical emotions and the Table 4 term each maps to:

============  =============  ====================================================
emotion       term           note
============  =============  ====================================================
happy         Happy
sad           Sad
angry         Angry
fearful       Fearful
disgust       Disgusted
surprised     Surprised
bored         Bored
excited       Excited
frustrated    Frustrated
contempt      Contempt
pain          Pain
calm          Relaxed        no "calm" in Table 4; dominance +0.06: no sign
neutral       -              no term: the neutral point has no sign on any axis
amused        -              no term in Table 4
sleepy        -              no term in Table 4
other         -              not an emotion word
============  =============  ====================================================

>>> import pandas as pd
>>> rows = pd.DataFrame({"corpus": ["iemocap", "urdu", "urdu"],
...                      "emotion": ["neutral", "angry", "neutral"],
...                      "valence": [3.5, float("nan"), float("nan")],
...                      "arousal": [2.0, float("nan"), float("nan")],
...                      "dominance": [2.5, float("nan"), float("nan")]})
>>> annotate(rows)["vad_source"].tolist()
['corpus', 'derived', <NA>]
>>> binary_targets(rows).to_numpy().tolist()
[[1.0, 0.0, 0.0], [0.0, 1.0, 1.0], [nan, nan, nan]]
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from serkit.errors import ConfigError

DIMENSIONS: tuple[str, ...] = ("valence", "arousal", "dominance")
SOURCE_COLUMN = "vad_source"
#: RH-emo's threshold on IEMOCAP's 1-5 ratings (rating > 2.5 -> 1)
THRESHOLD_1_5 = 2.5
#: the rating scale of each corpus whose recipe fills the V/A/D columns
CORPUS_SCALES: dict[str, tuple[float, float]] = {"iemocap": (1.0, 5.0), "msp-improv": (1.0, 5.0)}
#: a PAD mean closer to zero than this gives no sign
DEAD_ZONE = 0.10

#: Russell & Mehrabian (1977), Table 4: (pleasure, arousal, dominance) means of the terms used
PAD_MEANS: dict[str, tuple[float, float, float]] = {
    "Happy": (0.81, 0.51, 0.46),
    "Sad": (-0.63, -0.27, -0.33),
    "Angry": (-0.51, 0.59, 0.25),
    "Fearful": (-0.64, 0.60, -0.43),
    "Disgusted": (-0.60, 0.35, 0.11),
    "Surprised": (0.40, 0.67, -0.13),
    "Bored": (-0.65, -0.62, -0.33),
    "Excited": (0.62, 0.75, 0.38),
    "Frustrated": (-0.64, 0.52, -0.35),
    "Contempt": (-0.23, 0.31, 0.18),
    "Pain": (-0.58, 0.41, -0.34),
    "Relaxed": (0.68, -0.46, 0.06),
}
#: canonical emotion -> the Table 4 term its signs come from
TERMS: dict[str, str] = {
    "happy": "Happy",
    "sad": "Sad",
    "angry": "Angry",
    "fearful": "Fearful",
    "disgust": "Disgusted",
    "surprised": "Surprised",
    "bored": "Bored",
    "excited": "Excited",
    "frustrated": "Frustrated",
    "contempt": "Contempt",
    "pain": "Pain",
    "calm": "Relaxed",
}
#: canonical emotions without a defensible mapping (their rows get no V/A/D target)
UNMAPPED: tuple[str, ...] = ("neutral", "amused", "sleepy", "other")


def _sign(value: float) -> float:
    """1.0 / 0.0 for a positive / negative mean, NaN inside the dead zone.

    >>> _sign(0.4), _sign(-0.2), _sign(0.06)
    (1.0, 0.0, nan)
    """
    if abs(value) <= DEAD_ZONE:
        return float("nan")
    return 1.0 if value > 0 else 0.0


#: canonical emotion -> binary (valence, arousal, dominance), NaN where no sign
PAD_SIGNS: dict[str, tuple[float, float, float]] = {
    emotion: tuple(_sign(v) for v in PAD_MEANS[term])  # type: ignore[misc]
    for emotion, term in TERMS.items()
}


def threshold(scale: tuple[float, float]) -> float:
    """RH-emo's 2.5-on-1-5 point mapped linearly onto ``scale`` ``(lo, hi)``.

    >>> threshold((1, 5)), threshold((1, 7)), threshold((0, 1))
    (2.5, 3.25, 0.375)
    """
    lo, hi = float(scale[0]), float(scale[1])
    if not hi > lo:
        raise ConfigError(f"a V/A/D rating scale needs lo < hi, found {scale}")
    return lo + (THRESHOLD_1_5 - 1.0) / 4.0 * (hi - lo)


def binarise(values: np.ndarray, scale: tuple[float, float] = (1.0, 5.0)) -> np.ndarray:
    """Ratings -> 1.0 above :func:`threshold` of ``scale``, 0.0 otherwise, NaN stays NaN.

    >>> binarise(np.array([2.5, 2.51, 1.0, np.nan])).tolist()
    [0.0, 1.0, 0.0, nan]
    """
    values = np.asarray(values, dtype=np.float64)
    out = (values > threshold(scale)).astype(np.float64)
    out[np.isnan(values)] = np.nan
    return out


def _has_ratings(df: pd.DataFrame) -> np.ndarray:
    """``(n,)`` bool: the row has at least one of its own V/A/D ratings."""
    present = [c for c in DIMENSIONS if c in df.columns]
    if not present:
        return np.zeros(len(df), dtype=bool)
    values = df[present].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    return ~np.all(np.isnan(values), axis=1)


def annotate(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with the column ``vad_source``: ``"corpus"``, ``"derived"`` or NA.

    ``"corpus"``: the row has a rating of its own; ``"derived"``: none, but its ``emotion``
    is in :data:`PAD_SIGNS`; NA otherwise. ``df.attrs`` are kept.
    """
    out = df.copy()
    own = _has_ratings(df)
    emotion = df["emotion"].astype("string") if "emotion" in df.columns else None
    mapped = (
        emotion.isin(list(PAD_SIGNS)).fillna(False).to_numpy(dtype=bool)
        if emotion is not None
        else np.zeros(len(df), dtype=bool)
    )
    source = np.where(own, "corpus", np.where(mapped, "derived", None))
    out[SOURCE_COLUMN] = pd.array(source, dtype="string")
    out.attrs = dict(df.attrs)
    return out


def _scale_of(corpus: str, values: np.ndarray, scales: Mapping[str, tuple[float, float]]):
    if corpus in scales:
        return tuple(scales[corpus])
    finite = values[np.isfinite(values)]
    if finite.size and (finite.min() < 1.0 or finite.max() > 5.0):
        raise ConfigError(
            f"corpus {corpus!r}: V/A/D ratings range {finite.min():g}..{finite.max():g}, outside "
            "the 1-5 scale assumed for a corpus of unknown scale; pass its scale as "
            f"scales={{{corpus!r}: (lo, hi)}}"
        )
    return (1.0, 5.0)


def binary_targets(
    df: pd.DataFrame, scales: Mapping[str, tuple[float, float]] | None = None
) -> pd.DataFrame:
    """``(n, 3)`` float frame ``valence, arousal, dominance`` of 1.0 / 0.0 / NaN (see module).

    Args:
        df: manifest rows (``corpus``, ``emotion``, optional rating columns).
        scales: rating scale per corpus name (default :data:`CORPUS_SCALES`; other corpora
            with ratings are taken to be on 1-5 and refused when a rating is outside it).

    Raises:
        ConfigError: a corpus of unknown scale has ratings outside 1-5 (names the corpus).
    """
    scales = dict(CORPUS_SCALES if scales is None else scales)
    source = annotate(df)[SOURCE_COLUMN]
    out = np.full((len(df), len(DIMENSIONS)), np.nan)
    own = (source == "corpus").fillna(False).to_numpy(dtype=bool)
    if own.any():
        corpus = df["corpus"].astype(str).to_numpy()
        for j, dim in enumerate(DIMENSIONS):
            if dim not in df.columns:
                continue
            values = pd.to_numeric(df[dim], errors="coerce").to_numpy(dtype=np.float64)
            for name in np.unique(corpus[own]):
                rows = own & (corpus == name)
                scale = _scale_of(str(name), values[rows], scales)
                out[rows, j] = binarise(values[rows], scale)
    derived = (source == "derived").fillna(False).to_numpy(dtype=bool)
    emotions = df["emotion"].astype(str).to_numpy() if "emotion" in df.columns else []
    for i in np.flatnonzero(derived):
        out[i] = PAD_SIGNS[str(emotions[i])]
    return pd.DataFrame(out, columns=list(DIMENSIONS), index=df.index)


def source_counts(df: pd.DataFrame) -> dict[str, int]:
    """Rows per ``vad_source`` (``corpus``, ``derived``, ``none``) of annotated rows.

    >>> source_counts(annotate(pd.DataFrame({"corpus": ["x"], "emotion": ["sad"]})))
    {'corpus': 0, 'derived': 1, 'none': 0}
    """
    source = df[SOURCE_COLUMN].astype("string")
    return {
        "corpus": int((source == "corpus").fillna(False).sum()),
        "derived": int((source == "derived").fillna(False).sum()),
        "none": int(source.isna().sum()),
    }
