"""openSMILE feature sets through the ``opensmile`` Python package.

Registered extractors:

* ``"opensmile"`` (utterance): functionals of any set in :data:`FEATURE_SETS`
  (``feature_level="functionals"``).
* ``"opensmile-lld"`` (frame): low-level descriptors (``"lld"``) or their deltas
  (``"lld_deltas"``) of a set, ``(frames, dim)`` at a 10 ms hop.
* ``"egemaps"`` (eGeMAPSv02 functionals, 88-d), ``"compare"`` (ComParE_2016 functionals,
  6373-d) and ``"emobase2010"`` (1582-d): fixed-set shortcuts.

emobase2010: the opensmile wheel does not ship this set, so serkit ships its own openSMILE
configuration, ``serkit/features/data/emobase2010.conf``, written for serkit (Apache-2.0) from the
published description of the set; it is not audEERING's file. It gives the 1582 functionals of
the emobase2010 / INTERSPEECH 2010 paralinguistic layout with emobase2010's feature names (e.g.
``pcm_fftMag_mfcc_sma[4]_amean``) and its segment-normalised extreme positions. The shipped
``IS10`` set (``IS10_paraling_compat``) is also 1582-d but names MFCCs ``mfcc_sma[..]`` and
gives frame-index extreme positions, so only 952 names coincide. Measured on a RAVDESS file: the
loudness, MFCC, mel-band and LSF functionals agree with IS10 (all but ``maxPos``/``minPos``);
the F0/jitter/shimmer functionals differ because IS10_compat pins pitch-tracker settings
(search range 52-620 Hz, 15 harmonics, ...) that emobase2010 leaves at openSMILE's defaults.
The openSMILE engine itself (``libSMILEapi``) is under audEERING's openSMILE licence (research
and personal use); that licence applies to every extractor in this module.

openSMILE fills its whole output with NaN when a signal is too short for its analysis windows
(about 0.024-0.07 s depending on the set; it warns "Segment too short, filling with NaN").
serkit never turns that into numbers: such a signal raises a :class:`FeatureError` naming its
length (and any other NaN/inf output is refused by the extractor contract), and a
:class:`~serkit.features.frontend.Frontend` refuses signals under its ``min_duration_s``
(0.1 s by default) before openSMILE sees them. ``opensmile.Smile`` objects are slow to build
and are cached per process (see :func:`smile_for`).
"""

from __future__ import annotations

import dataclasses
import threading
import warnings
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from serkit.errors import ConfigError
from serkit.features.base import Extractor, ExtractorConfig, FeatureError, register_extractor

DATA_DIR = Path(__file__).resolve().parent / "data"
#: serkit's own openSMILE configuration of the 1582-d emobase2010 set.
EMOBASE2010_CONFIG = DATA_DIR / "emobase2010.conf"

#: feature-set name -> ``opensmile.FeatureSet`` member name, or a config file serkit ships.
FEATURE_SETS: dict[str, str | Path] = {
    "eGeMAPSv02": "eGeMAPSv02",
    "eGeMAPSv01b": "eGeMAPSv01b",
    "GeMAPSv01b": "GeMAPSv01b",
    "ComParE_2016": "ComParE_2016",
    "emobase": "emobase",
    "IS09": "IS09",
    "IS10": "IS10",
    "IS11": "IS11",
    "IS12": "IS12",
    "IS13": "IS13",
    "emobase2010": EMOBASE2010_CONFIG,
}
#: sets whose configs have no delta LLD level.
NO_LLD_DELTAS: frozenset[str] = frozenset({"eGeMAPSv02", "eGeMAPSv01b", "GeMAPSv01b"})
#: serkit level name -> openSMILE sink level name.
FEATURE_LEVELS: dict[str, str] = {"functionals": "func", "lld": "lld", "lld_deltas": "lld_de"}

_CACHE: dict[tuple[str, str], Any] = {}
_LOCK = threading.Lock()


def smile_for(feature_set: str, feature_level: str):
    """The process-wide cached ``opensmile.Smile`` of a set and level.

    Args:
        feature_set: a key of :data:`FEATURE_SETS`.
        feature_level: a key of :data:`FEATURE_LEVELS`.

    Raises:
        ConfigError: unknown set or level, or a combination openSMILE does not provide.
    """
    _check(feature_set, feature_level, tuple(FEATURE_LEVELS))
    key = (feature_set, feature_level)
    with _LOCK:
        if key not in _CACHE:
            import opensmile

            target = FEATURE_SETS[feature_set]
            level = FEATURE_LEVELS[feature_level]
            try:
                if isinstance(target, Path):
                    smile = opensmile.Smile(feature_set=str(target), feature_level=level)
                else:
                    smile = opensmile.Smile(
                        feature_set=opensmile.FeatureSet[target],
                        feature_level=opensmile.FeatureLevel(level),
                    )
            except Exception as exc:  # opensmile raises ValueError / RuntimeError
                raise ConfigError(
                    f"openSMILE cannot build feature set {feature_set!r} at level "
                    f"{feature_level!r}: {exc}; choose another feature_level"
                ) from exc
            _CACHE[key] = smile
        return _CACHE[key]


def _check(feature_set: str, feature_level: str, allowed_levels: tuple[str, ...]) -> None:
    if feature_set not in FEATURE_SETS:
        raise ConfigError(
            f"unknown openSMILE feature_set {feature_set!r}; known: {', '.join(FEATURE_SETS)}"
        )
    if feature_level not in allowed_levels:
        raise ConfigError(
            f"feature_level {feature_level!r} is not available here; expected one of "
            f"{', '.join(allowed_levels)} (functionals -> 'opensmile', lld/lld_deltas -> "
            "'opensmile-lld')"
        )
    if feature_level == "lld_deltas" and feature_set in NO_LLD_DELTAS:
        raise ConfigError(
            f"openSMILE feature set {feature_set!r} has no 'lld_deltas' level; use "
            "feature_level='lld' or a set such as ComParE_2016, emobase, IS09-IS13, emobase2010"
        )


def smile_features(
    signal: np.ndarray, sample_rate: int, feature_set: str, feature_level: str
) -> np.ndarray:
    """Run openSMILE on one signal.

    Returns:
        ``(rows, dim)`` float32: one row for functionals, one per 10 ms frame for LLDs
        (openSMILE's values as they are).

    Raises:
        FeatureError: openSMILE found the signal too short and filled its output with NaN.
    """
    smile = smile_for(feature_set, feature_level)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        frame = smile.process_signal(np.asarray(signal, dtype=np.float32), sample_rate)
    values = np.asarray(frame.to_numpy(), dtype=np.float64)
    if values.ndim == 1:
        values = values[None, :]
    too_short = [str(w.message) for w in caught if "too short" in str(w.message)]
    if too_short or (values.size and np.isnan(values).all()):
        said = f" (openSMILE: {too_short[0]!r})" if too_short else ""
        raise FeatureError(
            f"openSMILE {feature_set} ({feature_level}) cannot analyse a signal of "
            f"{len(signal)} samples ({len(signal) / sample_rate:.3f} s){said}: it is shorter "
            "than openSMILE's analysis windows; use longer audio (a Frontend refuses audio "
            "under its min_duration_s, 0.1 s by default)"
        )
    for w in caught:  # other warnings pass on to the caller as they are
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return values.astype(np.float32)


class _SmileExtractor(Extractor):
    """Shared compute/names of the openSMILE extractors (not registered)."""

    def _set_and_level(self) -> tuple[str, str]:
        return self.config.feature_set, self.config.feature_level  # type: ignore[attr-defined]

    def compute(self, signal: np.ndarray) -> np.ndarray:
        feature_set, feature_level = self._set_and_level()
        values = smile_features(signal, self.sample_rate, feature_set, feature_level)
        if self.level == "utterance":
            return values[0]
        return values  # no frame at all is refused by Extractor.__call__ (never zeros)

    def feature_names(self) -> list[str]:
        return list(smile_for(*self._set_and_level()).feature_names)


@dataclasses.dataclass(frozen=True)
class OpenSmileConfig(ExtractorConfig):
    """Config of ``"opensmile"``: a set of :data:`FEATURE_SETS`, level ``"functionals"``."""

    feature_set: str = "eGeMAPSv02"
    feature_level: str = "functionals"

    def __post_init__(self) -> None:
        _check(self.feature_set, self.feature_level, ("functionals",))


@register_extractor
class OpenSmile(_SmileExtractor):
    """openSMILE functionals of a chosen feature set: ``(dim,)``."""

    name = "opensmile"
    level = "utterance"
    Config = OpenSmileConfig
    presets = {name: {"feature_set": name} for name in FEATURE_SETS}


@dataclasses.dataclass(frozen=True)
class OpenSmileLLDConfig(ExtractorConfig):
    """Config of ``"opensmile-lld"``: a set of :data:`FEATURE_SETS`, ``"lld"``/``"lld_deltas"``."""

    feature_set: str = "eGeMAPSv02"
    feature_level: str = "lld"

    def __post_init__(self) -> None:
        _check(self.feature_set, self.feature_level, ("lld", "lld_deltas"))


@register_extractor
class OpenSmileLLD(_SmileExtractor):
    """openSMILE low-level descriptors (or their deltas) at a 10 ms hop: ``(frames, dim)``."""

    name = "opensmile-lld"
    level = "frame"
    Config = OpenSmileLLDConfig
    presets = {name: {"feature_set": name} for name in FEATURE_SETS}


class _FixedSet(_SmileExtractor):
    """Functionals of one fixed set; the config only holds the sample rate."""

    level = "utterance"
    Config = ExtractorConfig
    FEATURE_SET: ClassVar[str] = ""

    def _set_and_level(self) -> tuple[str, str]:
        return self.FEATURE_SET, "functionals"


@register_extractor
class EGeMAPS(_FixedSet):
    """eGeMAPSv02 functionals (88-d)."""

    name = "egemaps"
    FEATURE_SET = "eGeMAPSv02"


@register_extractor
class ComParE(_FixedSet):
    """ComParE_2016 functionals (6373-d)."""

    name = "compare"
    FEATURE_SET = "ComParE_2016"


@register_extractor
class Emobase2010(_FixedSet):
    """emobase2010 functionals (1582-d) from serkit's own config (see the module docstring)."""

    name = "emobase2010"
    FEATURE_SET = "emobase2010"
