"""The feature front end: everything that turns audio into model input, as one object.

A :class:`Frontend` is an extractor, the voice-activity trimming in front of it (optional) and
the normalisation after it (``"none"``, ``"speaker"`` or ``"corpus"``: z-scores per speaker
or per corpus, see :mod:`serkit.features.normalize`). It has one :meth:`Frontend.key` (the
feature store keys its folders on the front end's per-row part, :meth:`Frontend.cached`), one
:meth:`Frontend.to_dict` / :meth:`Frontend.from_dict` (written into every model package and
rebuilt by predict and export), and one per-file computation, :meth:`Frontend.compute`, used by
extraction and prediction alike: what trains is what predicts.

Per-speaker and per-corpus normalisation are set-level steps (they need every utterance of a
speaker, of a corpus), so they are never stored per row: :meth:`Frontend.normalise` applies
them to a batch of features with their groups (the manifest column
:attr:`Frontend.group_column`), at training and at prediction time.

What is analysable is decided here too, once: :meth:`Frontend.compute` refuses a signal that,
after the VAD, is shorter than ``min_duration_s`` or quieter than ``min_level_dbfs`` (peak),
raising :class:`~serkit.features.analysable.UnanalysableError` (rule and defaults in
:mod:`serkit.features.analysable`); non-default thresholds are part of the key.

Example:
    >>> from serkit.features import get_extractor
    >>> fe = Frontend(get_extractor("mfcc"), normalize="speaker")
    >>> fe.cached().key() == get_extractor("mfcc").key() != fe.key()
    True
    >>> Frontend.from_dict(fe.to_dict()) == fe
    True
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from serkit.errors import ConfigError
from serkit.features.analysable import (
    MIN_DURATION_S,
    MIN_LEVEL_DBFS,
    UnanalysableError,
    check_thresholds,
    unanalysable_reason,
)
from serkit.features.base import FEATURE_VERSION, Extractor

#: a silence trimmer put in front of an extractor: ``(signal (samples,), rate) -> (samples',)``
Vad = Callable[[np.ndarray, int], np.ndarray]
#: the ``normalize`` values a front end accepts
NORMALIZE_METHODS = ("none", "speaker", "corpus")
#: the manifest column whose groups each set-level ``normalize`` method z-scores separately
NORMALIZE_GROUPS = {"speaker": "speaker", "corpus": "corpus"}


def vad_spec(vad: Vad | None) -> dict[str, Any] | None:
    """What identifies a VAD: its ``to_dict()``, else its qualified name.

    A plain function has no parameters to record, so only its ``module.qualname`` keys it; give
    callables with parameters a ``to_dict()`` (as :class:`serkit.features.vad.VadTrim` has).
    """
    if vad is None:
        return None
    to_dict = getattr(vad, "to_dict", None)
    if callable(to_dict):
        return dict(to_dict())
    qualname = getattr(vad, "__qualname__", type(vad).__qualname__)
    return {"name": f"{getattr(vad, '__module__', '')}.{qualname}"}


def _jsonable(value: Any) -> Any:
    """Tuples as lists, so that a spec compares equal after a JSON round trip."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


@dataclass(frozen=True)
class Frontend:
    """Extractor + VAD + normalisation: audio in, model input out.

    Args:
        extractor: the configured extractor.
        vad: optional trimmer ``(signal, rate) -> signal`` (e.g.
            :class:`serkit.features.vad.VadTrim`), applied before the extractor.
        normalize: ``"none"``, ``"speaker"`` (z-score with the statistics of each speaker's
            own utterances; prediction then needs the speaker of every input) or ``"corpus"``
            (the same per corpus; prediction takes the inputs of one call as one corpus
            unless they carry their own).
        min_duration_s: shortest analysable signal after the VAD, in seconds.
        min_level_dbfs: lowest analysable peak level after the VAD, in dBFS.
        speed: play every signal this many times faster first (tempo and pitch together,
            :func:`serkit.audio.speed_perturb`); 1 (the default) leaves it as it is. Only the
            copies and test-time views of an experiment's ``perturb`` section use another
            value; it is part of the key, and left out of :meth:`to_dict` at 1.
    """

    extractor: Extractor
    vad: Vad | None = None
    normalize: str = "none"
    min_duration_s: float = MIN_DURATION_S
    min_level_dbfs: float = MIN_LEVEL_DBFS
    speed: float = 1.0

    def __post_init__(self) -> None:
        if self.normalize not in NORMALIZE_METHODS:
            raise ConfigError(
                f"normalize {self.normalize!r}: expected one of {', '.join(NORMALIZE_METHODS)}"
            )
        check_thresholds(self.min_duration_s, self.min_level_dbfs)
        # floats, so that 1 and 1.0 give one key
        object.__setattr__(self, "min_duration_s", float(self.min_duration_s))
        object.__setattr__(self, "min_level_dbfs", float(self.min_level_dbfs))
        from serkit.audio import SPEED_RANGE

        if not SPEED_RANGE[0] <= float(self.speed) <= SPEED_RANGE[1]:
            raise ConfigError(
                f"front end speed must be in [{SPEED_RANGE[0]}, {SPEED_RANGE[1]}], found "
                f"{self.speed}"
            )
        object.__setattr__(self, "speed", float(self.speed))

    @property
    def thresholds(self) -> dict[str, float]:
        """The analysable thresholds ``{"min_duration_s", "min_level_dbfs"}``."""
        return {"min_duration_s": self.min_duration_s, "min_level_dbfs": self.min_level_dbfs}

    @property
    def custom_thresholds(self) -> dict[str, float]:
        """The thresholds that differ from the defaults (these enter the key)."""
        defaults = {"min_duration_s": MIN_DURATION_S, "min_level_dbfs": MIN_LEVEL_DBFS}
        return {k: v for k, v in self.thresholds.items() if v != defaults[k]}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Frontend) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(self.key())

    # -- identity ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """``{"extractor", "vad", "normalize", "min_duration_s", "min_level_dbfs",
        "feature_version"}`` (and ``"speed"`` when it is not 1), JSON-ready."""
        return _jsonable(
            {
                "extractor": self.extractor.to_dict(),
                "vad": vad_spec(self.vad),
                "normalize": self.normalize,
                **self.thresholds,
                **({"speed": self.speed} if self.speed != 1.0 else {}),
                "feature_version": FEATURE_VERSION,
            }
        )

    def key(self) -> str:
        """A hash (16 hex chars) of the extractor config, :data:`FEATURE_VERSION`, the VAD, the
        normalisation and the analysable thresholds; the parts left at their defaults (no VAD,
        no normalisation, default thresholds) are left out, so an extractor alone keys as
        :meth:`serkit.features.base.Extractor.key`."""
        payload: dict[str, Any] = {
            "extractor": self.extractor.to_dict(),
            "feature_version": FEATURE_VERSION,
        }
        if self.vad is not None:
            payload["vad"] = vad_spec(self.vad)
        if self.normalize != "none":
            payload["normalize"] = self.normalize
        payload.update(self.custom_thresholds)
        if self.speed != 1.0:
            payload["speed"] = self.speed
        text = json.dumps(payload, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def cached(self) -> Frontend:
        """The per-row part the feature store holds (the same front end without normalisation;
        the VAD and the analysable thresholds decide what each row holds and which rows exist,
        so they stay)."""
        return replace(self, normalize="none")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Frontend:
        """Rebuild from :meth:`to_dict` output (or a bare ``Extractor.to_dict()``).

        Raises:
            ConfigError: the mapping names no extractor, or a VAD that cannot be rebuilt.
        """
        from serkit.features import extractor_from_dict

        if not isinstance(data, dict):
            raise ConfigError(f"front end: expected a mapping, got {type(data).__name__}")
        if "extractor" not in data:  # a bare extractor spec (packages before front ends)
            return cls(extractor_from_dict(data))
        return cls(
            extractor_from_dict(data["extractor"]),
            vad=_vad_from_spec(data.get("vad")),
            normalize=str(data.get("normalize") or "none"),
            **_thresholds_of(data),
            speed=float(data.get("speed", 1.0)),
        )

    @classmethod
    def from_config(cls, features_cfg: dict[str, Any]) -> Frontend:
        """The front end of an experiment config's ``features`` section
        (``name``, ``params``, optional ``vad`` mapping, ``normalize``, ``min_duration_s`` and
        ``min_level_dbfs``)."""
        from serkit.features import get_extractor

        return cls(
            get_extractor(features_cfg["name"], **(features_cfg.get("params") or {})),
            vad=_vad_from_spec(features_cfg.get("vad"), config=True),
            normalize=str(features_cfg.get("normalize") or "none"),
            **_thresholds_of(features_cfg),
        )

    # -- computing ---------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The extractor's registered name (progress bars, store folder names)."""
        return self.extractor.name

    @property
    def sample_rate(self) -> int:
        """The rate audio is read at (the extractor's)."""
        return int(self.extractor.sample_rate)

    @property
    def level(self) -> str:
        """``"utterance"`` or ``"frame"``."""
        return self.extractor.level

    @property
    def group_column(self) -> str | None:
        """The manifest column whose groups are z-scored separately (``"speaker"``,
        ``"corpus"``), or ``None`` without set-level normalisation."""
        return NORMALIZE_GROUPS.get(self.normalize)

    @property
    def needs_speakers(self) -> bool:
        """Whether inputs must come with their speaker ids (per-speaker normalisation)."""
        return self.group_column == "speaker"

    def compute(self, signal: np.ndarray, sample_rate: int) -> np.ndarray:
        """Features of one signal: sped up (:attr:`speed`, if not 1), trimmed by the VAD (if
        any), then extracted.

        Args:
            signal: ``(samples,)`` float32 at ``sample_rate``.
            sample_rate: its rate (the extractor resamples if it differs from its own).

        Returns:
            ``(dim,)`` or ``(frames, dim)``; never normalised (see :meth:`normalise`).

        Raises:
            UnanalysableError: the (trimmed) signal is too short, too silent or not finite (see
                :mod:`serkit.features.analysable`); the extractor is not called.
        """
        self.check(signal, sample_rate)  # before the VAD too: it must not see NaN or nothing
        if self.speed != 1.0:
            from serkit.audio import speed_perturb

            signal = speed_perturb(signal, sample_rate, self.speed)
            self.check(signal, sample_rate)
        if self.vad is not None:
            before = len(signal) / sample_rate
            signal = np.asarray(self.vad(signal, sample_rate), dtype=np.float32)
            self.check(signal, sample_rate, trimmed_from=before)
        return self.extractor(signal, sample_rate)

    def check(
        self, signal: np.ndarray, sample_rate: int, *, trimmed_from: float | None = None
    ) -> None:
        """Raise :class:`UnanalysableError` unless ``signal`` passes this front end's thresholds.

        Args:
            signal: ``(samples,)`` at ``sample_rate``.
            sample_rate: its rate.
            trimmed_from: the duration (s) before VAD trimming, when ``signal`` is trimmed.
        """
        reason = unanalysable_reason(signal, sample_rate, **self.thresholds)
        if reason is None:
            return
        if trimmed_from is not None and np.size(signal) == 0:
            reason = f"the VAD found no speech in {trimmed_from:.3f} s"
        elif trimmed_from is not None:
            reason = f"after VAD trimming ({trimmed_from:.3f} s before): {reason}"
        raise UnanalysableError(
            f"unanalysable audio: {reason} (front end min_duration_s={self.min_duration_s}, "
            f"min_level_dbfs={self.min_level_dbfs}); fix or remove the file, or lower the "
            "threshold if the extractor copes with such audio",
            reason=f"unanalysable: {reason}",
        )

    def normalise(
        self,
        features: np.ndarray | Sequence[np.ndarray],
        groups: Sequence[str] | np.ndarray | None,
    ) -> np.ndarray | list[np.ndarray]:
        """Apply the set-level normalisation to a batch (identity for ``"none"``).

        Args:
            features: ``(n, dim)`` or a list of ``n`` ``(frames_i, dim)`` arrays.
            groups: ``(n,)`` group ids, the :attr:`group_column` of each input (speaker ids
                for ``"speaker"``, corpus names for ``"corpus"``).

        Raises:
            ConfigError: set-level normalisation without groups.
        """
        column = self.group_column
        if column is None:
            return features
        from serkit.features.normalize import group_zscore

        if groups is None:
            raise ConfigError(
                f"this front end z-scores features per {column} (normalize={self.normalize!r}): "
                f"give the {column} id of every input"
            )
        return group_zscore(features, groups)

    def describe(self) -> str:
        """One line for logs and reports."""
        params = ", ".join(f"{k}={v}" for k, v in self.extractor.to_dict()["params"].items())
        parts = [f"{self.extractor.name}({params})"]
        if self.vad is not None:
            parts.append(f"vad {vad_spec(self.vad)}")
        if self.normalize != "none":
            parts.append(f"normalize {self.normalize}")
        if self.speed != 1.0:
            parts.append(f"speed x{self.speed:g}")
        parts.append(f"analysable >= {self.min_duration_s} s, peak >= {self.min_level_dbfs} dBFS")
        return ", ".join(parts)


def _thresholds_of(data: dict[str, Any]) -> dict[str, float]:
    """The analysable thresholds a mapping sets (absent or ``None``: the defaults)."""
    keys = ("min_duration_s", "min_level_dbfs")
    return {k: data[k] for k in keys if data.get(k) is not None}


def as_frontend(extractor: Extractor | Frontend, vad: Vad | None = None) -> Frontend:
    """``extractor`` behind ``vad`` as a front end (a front end is returned as it is).

    Raises:
        ConfigError: a front end together with a ``vad`` (it has its own).
    """
    if isinstance(extractor, Frontend):
        if vad is not None and vad_spec(vad) != vad_spec(extractor.vad):
            raise ConfigError(
                "pass the VAD inside the Frontend or as vad=, not both (they differ: "
                f"{vad_spec(extractor.vad)} vs {vad_spec(vad)})"
            )
        return extractor
    return Frontend(extractor, vad)


def _vad_from_spec(spec: Any, *, config: bool = False) -> Vad | None:
    """A :class:`~serkit.features.vad.VadTrim` from its ``to_dict()`` (or, with ``config``,
    from the config's ``features.vad`` parameter mapping)."""
    if not spec:
        return None
    from serkit.features.vad import VadTrim

    if not isinstance(spec, dict):
        raise ConfigError(f"vad: expected a mapping such as {{method: silero}}, got {spec!r}")
    if config or spec.get("name") == "vad-trim":
        return VadTrim.from_dict(spec)
    raise ConfigError(
        f"vad {spec!r} cannot be rebuilt (only serkit's vad-trim can); pass the VAD object to "
        "Frontend(...) yourself"
    )
