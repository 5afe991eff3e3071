"""The extractor contract: a small configured callable ``signal, sample_rate -> array``.

An extractor class declares its registry ``name``, its ``level`` (``"utterance"`` gives
``(dim,)``, ``"frame"`` gives ``(frames, dim)``) and a frozen ``Config`` dataclass. The
instance holds only the config; the math lives in pure functions. Multi-channel frame features
(static / delta / delta-delta) are stored channel-major as ``(frames, channels * bins)`` and the
extractor says ``channels``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from serkit.errors import ConfigError, SerkitError
from serkit.registry import Registry

#: Bump when the numbers any extractor produces change; it is part of every store key.
FEATURE_VERSION = 1

Level = Literal["utterance", "frame"]


class FeatureError(SerkitError, ValueError):
    """Features cannot be computed, stored or loaded (names the file / id and what to do)."""


@dataclasses.dataclass(frozen=True)
class ExtractorConfig:
    """Base of every extractor config; subclasses add frozen fields with defaults."""

    sample_rate: int = 16000


class Extractor:
    """Base class of registered extractors.

    Subclasses set ``name``, ``level``, ``Config`` and implement :meth:`compute`.
    Runtime-only options (threads, devices) must not be config fields.
    """

    name: ClassVar[str] = ""
    level: ClassVar[Level] = "utterance"
    Config: ClassVar[type[ExtractorConfig]] = ExtractorConfig
    #: named parameter presets, e.g. {"acrnn": {...}}; selected with ``preset=NAME``
    presets: ClassVar[dict[str, dict[str, Any]]] = {}

    def __init__(self, config: ExtractorConfig | None = None, **params: Any) -> None:
        if config is not None and params:
            raise ConfigError("pass either a config object or keyword parameters, not both")
        self.config = config if config is not None else self.make_config(**params)

    @classmethod
    def make_config(cls, **params: Any) -> ExtractorConfig:
        """Build the config from keyword parameters (``preset=NAME`` first applies a preset)."""
        preset = params.pop("preset", None)
        values: dict[str, Any] = {}
        if preset is not None:
            if preset not in cls.presets:
                raise ConfigError(
                    f"extractor {cls.name!r} has no preset {preset!r}; "
                    f"known presets: {', '.join(sorted(cls.presets)) or 'none'}"
                )
            values.update(cls.presets[preset])
        values.update(params)
        fields = {f.name: f for f in dataclasses.fields(cls.Config)}
        unknown = sorted(set(values) - set(fields))
        if unknown:
            raise ConfigError(
                f"extractor {cls.name!r} has no parameter(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(fields))}"
            )
        for key, value in list(values.items()):
            values[key] = _coerce(value, fields[key].type, cls.name, key)
        return cls.Config(**values)

    @property
    def sample_rate(self) -> int:
        """Audio is resampled to this rate before :meth:`__call__`."""
        return int(self.config.sample_rate)

    @property
    def channels(self) -> int:
        """Number of stacked channels in a frame feature (1 unless overridden)."""
        return 1

    def __call__(self, signal: np.ndarray, sample_rate: int) -> np.ndarray:
        """Compute features of one mono signal ``(samples,)``; returns float32.

        Raises:
            FeatureError: the signal is empty, or the output is empty or not finite (an
                extractor never turns what it cannot compute into zeros).
        """
        if np.size(signal) == 0:
            raise FeatureError(
                f"extractor {self.name!r} got an empty signal (0 samples); nothing to analyse "
                "(a Frontend refuses such audio before the extractor: see "
                "serkit.features.analysable)"
            )
        if sample_rate != self.sample_rate:
            from serkit.audio import resample

            signal = resample(signal, sample_rate, self.sample_rate)
        out = np.asarray(self.compute(np.asarray(signal, dtype=np.float32)), dtype=np.float32)
        expected = 1 if self.level == "utterance" else 2
        if out.ndim != expected:
            raise ValueError(
                f"extractor {self.name!r} returned shape {out.shape}; expected {expected} dims "
                f"for level {self.level!r}"
            )
        if out.shape[0] == 0 or out.size == 0:
            raise FeatureError(
                f"extractor {self.name!r} returned an empty array {out.shape} for a signal of "
                f"{len(signal)} samples ({len(signal) / self.sample_rate:.3f} s); the audio is "
                "too short for it: drop the row or pad the audio"
            )
        finite = np.isfinite(out)
        if not finite.all():
            raise FeatureError(
                f"extractor {self.name!r} returned {int(out.size - finite.sum())} NaN/inf "
                f"value(s) of {out.size} for a signal of {len(signal)} samples "
                f"({len(signal) / self.sample_rate:.3f} s); such a row has no valid features: "
                "drop it or fix the audio"
            )
        return out

    def compute(self, signal: np.ndarray) -> np.ndarray:
        """The extractor's math on a signal already at :attr:`sample_rate`."""
        raise NotImplementedError

    def feature_names(self) -> list[str] | None:
        """Names of the feature dimensions, when known."""
        return None

    def to_dict(self) -> dict[str, Any]:
        """``{"name": ..., "params": {...}}``: enough to rebuild the extractor."""
        params = {k: _plain(v) for k, v in dataclasses.asdict(self.config).items()}
        return {"name": self.name, "params": params}

    def key(self) -> str:
        """Store key: a hash of name, config and :data:`FEATURE_VERSION` (16 hex chars), i.e.
        the key of the front end made of this extractor alone."""
        from serkit.features.frontend import Frontend

        return Frontend(self).key()

    @classmethod
    def example_params(cls, workdir: Path) -> dict[str, Any]:
        """Parameters the contract suite (tests/features/test_contract.py) builds this with.

        The default is none (the defaults work). Extractors that need a resource, such as a
        local model folder, override it to create a tiny one under ``workdir``. Tests only.
        """
        return {}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Extractor:
        """Rebuild an extractor from :meth:`to_dict` output (the name must match)."""
        name = data.get("name")
        if name is not None and EXTRACTORS.get(str(name)) is not cls:
            raise ConfigError(f"config names extractor {name!r}, not {cls.name!r}")
        return cls(**dict(data.get("params") or {}))

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in dataclasses.asdict(self.config).items())
        return f"{type(self).__name__}({params})"


def _coerce(value: Any, annotation: Any, name: str, key: str) -> Any:
    """Coerce a parameter to its field type so that ``8000`` and ``8000.0`` give one key."""
    if isinstance(value, list):  # YAML lists -> tuples so configs stay hashable
        value = tuple(value)
    kind = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    if isinstance(value, np.generic):
        value = value.item()
    if kind == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind == "int" and isinstance(value, float) and value.is_integer():
        return int(value)
    if kind == "bool" and isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if kind in ("int", "float", "bool", "str") and value is not None:
        expected = {"int": int, "float": float, "bool": bool, "str": str}[kind]
        if not isinstance(value, expected) or (kind == "int" and isinstance(value, bool)):
            raise ConfigError(
                f"extractor {name!r}: parameter {key}={value!r} has type "
                f"{type(value).__name__}; expected {kind}"
            )
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


EXTRACTORS: Registry[type[Extractor]] = Registry("extractor")


def register_extractor(cls: type[Extractor]) -> type[Extractor]:
    """Class decorator: register an extractor class under its ``name``."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    EXTRACTORS.add(cls.name, cls)
    return cls
