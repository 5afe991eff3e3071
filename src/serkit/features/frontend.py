"""The feature front end: everything that turns audio into model input, as one object.

A :class:`Frontend` is an extractor, the voice-activity trimming in front of it (optional) and
the normalisation after it (``"none"`` or ``"speaker"``: per-speaker z-scores, see
:mod:`serkit.features.normalize`). It has one :meth:`Frontend.key` (the feature store keys its
folders on the front end's per-row part, :meth:`Frontend.cached`), one
:meth:`Frontend.to_dict` / :meth:`Frontend.from_dict` (written into every model package and
rebuilt by predict and export), and one per-file computation, :meth:`Frontend.compute`, used by
extraction and prediction alike: what trains is what predicts.

Per-speaker normalisation is a set-level step (it needs every utterance of a speaker), so it is
never stored per row: :meth:`Frontend.normalise` applies it to a batch of features with their
speakers, at training and at prediction time.

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
from serkit.features.base import FEATURE_VERSION, Extractor

#: a silence trimmer put in front of an extractor: ``(signal (samples,), rate) -> (samples',)``
Vad = Callable[[np.ndarray, int], np.ndarray]
#: the ``normalize`` values a front end accepts
NORMALIZE_METHODS = ("none", "speaker")


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
        normalize: ``"none"`` or ``"speaker"`` (z-score with the statistics of each speaker's
            own utterances; prediction then needs the speaker of every input).
    """

    extractor: Extractor
    vad: Vad | None = None
    normalize: str = "none"

    def __post_init__(self) -> None:
        if self.normalize not in NORMALIZE_METHODS:
            raise ConfigError(
                f"normalize {self.normalize!r}: expected one of {', '.join(NORMALIZE_METHODS)}"
            )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Frontend) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(self.key())

    # -- identity ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """``{"extractor", "vad", "normalize", "feature_version"}``, JSON-ready."""
        return _jsonable(
            {
                "extractor": self.extractor.to_dict(),
                "vad": vad_spec(self.vad),
                "normalize": self.normalize,
                "feature_version": FEATURE_VERSION,
            }
        )

    def key(self) -> str:
        """A hash (16 hex chars) of the extractor config, :data:`FEATURE_VERSION`, the VAD and
        the normalisation; the parts left at their defaults (no VAD, no normalisation) are left
        out, so an extractor alone keys as :meth:`serkit.features.base.Extractor.key`."""
        payload: dict[str, Any] = {
            "extractor": self.extractor.to_dict(),
            "feature_version": FEATURE_VERSION,
        }
        if self.vad is not None:
            payload["vad"] = vad_spec(self.vad)
        if self.normalize != "none":
            payload["normalize"] = self.normalize
        text = json.dumps(payload, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def cached(self) -> Frontend:
        """The per-row part the feature store holds (the same front end without normalisation)."""
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
        )

    @classmethod
    def from_config(cls, features_cfg: dict[str, Any]) -> Frontend:
        """The front end of an experiment config's ``features`` section
        (``name``, ``params``, optional ``vad`` mapping and ``normalize``)."""
        from serkit.features import get_extractor

        return cls(
            get_extractor(features_cfg["name"], **(features_cfg.get("params") or {})),
            vad=_vad_from_spec(features_cfg.get("vad"), config=True),
            normalize=str(features_cfg.get("normalize") or "none"),
        )

    # -- computing ---------------------------------------------------------------------------
    @property
    def sample_rate(self) -> int:
        """The rate audio is read at (the extractor's)."""
        return int(self.extractor.sample_rate)

    @property
    def level(self) -> str:
        """``"utterance"`` or ``"frame"``."""
        return self.extractor.level

    @property
    def needs_speakers(self) -> bool:
        """Whether inputs must come with their speaker ids (per-speaker normalisation)."""
        return self.normalize == "speaker"

    def compute(self, signal: np.ndarray, sample_rate: int) -> np.ndarray:
        """Features of one signal: trimmed by the VAD (if any), then extracted.

        Args:
            signal: ``(samples,)`` float32 at ``sample_rate``.
            sample_rate: its rate (the extractor resamples if it differs from its own).

        Returns:
            ``(dim,)`` or ``(frames, dim)``; never normalised (see :meth:`normalise`).
        """
        if self.vad is not None:
            signal = np.asarray(self.vad(signal, sample_rate), dtype=np.float32)
        return self.extractor(signal, sample_rate)

    def normalise(
        self,
        features: np.ndarray | Sequence[np.ndarray],
        speakers: Sequence[str] | np.ndarray | None,
    ) -> np.ndarray | list[np.ndarray]:
        """Apply the set-level normalisation to a batch (identity for ``"none"``).

        Args:
            features: ``(n, dim)`` or a list of ``n`` ``(frames_i, dim)`` arrays.
            speakers: ``(n,)`` speaker ids (needed for ``"speaker"``).

        Raises:
            ConfigError: speaker normalisation without speakers.
        """
        if self.normalize == "none":
            return features
        from serkit.features.normalize import speaker_zscore

        if speakers is None:
            raise ConfigError(
                "this front end z-scores features per speaker (normalize='speaker'): give the "
                "speaker id of every input"
            )
        return speaker_zscore(features, speakers)

    def describe(self) -> str:
        """One line for logs and reports."""
        params = ", ".join(f"{k}={v}" for k, v in self.extractor.to_dict()["params"].items())
        parts = [f"{self.extractor.name}({params})"]
        if self.vad is not None:
            parts.append(f"vad {vad_spec(self.vad)}")
        if self.normalize != "none":
            parts.append(f"normalize {self.normalize}")
        return ", ".join(parts)


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
