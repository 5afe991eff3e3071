"""``concat``: several utterance-level extractors side by side, as one feature vector.

Feature fusion (e.g. eGeMAPS + ComParE 2016) as an ordinary extractor: ``compute`` runs every
part on the signal and concatenates the vectors in the order of ``parts`` (each part with its
default parameters), so the front end, the store key, predict and serve treat it like any
other extractor. Block sizes for late fusion (:mod:`serkit.models.fusion`) are
:func:`part_dims`.

Parts that are already in a feature store need not be computed again: :func:`fill_from_parts`
writes the concatenation of the stored rows into the ``concat`` folder of another store (same
rows, same audio fingerprints), after which ``extract`` is a cache hit.

Example:
    >>> import numpy as np
    >>> from serkit.features import get_extractor
    >>> signal = 0.1 * np.random.default_rng(0).standard_normal(16000).astype("float32")
    >>> ex = get_extractor("concat", parts=["mfcc-stats", "logmel-stats"])
    >>> parts = [get_extractor(n)(signal, 16000) for n in ("mfcc-stats", "logmel-stats")]
    >>> bool(np.array_equal(ex(signal, 16000), np.concatenate(parts)))
    True
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from serkit.errors import ConfigError
from serkit.features.base import Extractor, ExtractorConfig, register_extractor


@dataclasses.dataclass(frozen=True)
class ConcatConfig(ExtractorConfig):
    """``parts``: names of utterance-level extractors (default parameters), in order."""

    parts: tuple = ("egemaps", "compare")


@register_extractor
class ConcatExtractor(Extractor):
    """Concatenation of utterance-level extractors ``(sum of part dims,)``."""

    name: ClassVar[str] = "concat"
    level: ClassVar[str] = "utterance"
    Config: ClassVar[type[ExtractorConfig]] = ConcatConfig

    def __init__(self, config: ExtractorConfig | None = None, **params: Any) -> None:
        super().__init__(config, **params)
        self._parts = build_parts(self.config.parts)  # type: ignore[attr-defined]

    @classmethod
    def example_params(cls, workdir: Any) -> dict[str, Any]:
        """Two cheap parts for the contract suite."""
        return {"parts": ["prosody-stats", "logmel-stats"]}

    @property
    def parts(self) -> list[Extractor]:
        """The part extractors, in order."""
        return list(self._parts)

    def compute(self, signal: np.ndarray) -> np.ndarray:
        return np.concatenate([part(signal, self.sample_rate) for part in self._parts])

    def feature_names(self) -> list[str] | None:
        names: list[str] = []
        for part in self._parts:
            own = part.feature_names()
            if own is None:
                return None
            names += [f"{part.name}:{n}" for n in own]
        return names


def build_parts(parts: Any) -> list[Extractor]:
    """The part extractors of ``parts`` (names); refuses frame-level, nested or empty lists."""
    from serkit.features import get_extractor, list_extractors

    if isinstance(parts, str) or not parts:
        raise ConfigError(
            f"extractor 'concat': parts must be a non-empty list of extractor names, found "
            f"{parts!r}; e.g. parts=['egemaps', 'compare']"
        )
    built = []
    for name in parts:
        if name == "concat" or name not in list_extractors():
            raise ConfigError(
                f"extractor 'concat': part {name!r} is not a registered extractor other than "
                f"concat; known: {', '.join(n for n in list_extractors() if n != 'concat')}"
            )
        part = get_extractor(str(name))
        if part.level != "utterance":
            raise ConfigError(
                f"extractor 'concat': part {name!r} is {part.level}-level; concat joins "
                "utterance-level extractors only (use e.g. logmel-stats instead of logmel)"
            )
        built.append(part)
    return built


def part_dims(extractor: ConcatExtractor, signal: np.ndarray, sample_rate: int) -> list[int]:
    """Dimension of every part on one signal ``(samples,)`` (the block sizes of late fusion)."""
    return [int(part(signal, sample_rate).shape[0]) for part in extractor.parts]


def _stored_rows(
    manifest: pd.DataFrame, part: Extractor, source: str | os.PathLike, by_id: bool
) -> np.ndarray:
    """``(rows, dim)`` stored features of ``part`` in manifest order."""
    from serkit.features import load
    from serkit.features.base import FeatureError
    from serkit.features.store import FeatureStore

    if not by_id:
        return load(manifest, part, source).X
    folder = FeatureStore(source).open(part)
    index = folder.index().set_index("id")
    ids = [str(i) for i in manifest["id"]]
    absent = [i for i in ids if i not in index.index]
    if absent:
        raise FeatureError(
            f"{folder.path}: {len(absent)} manifest row(s) are not stored ({absent[:3]}); "
            f"extract them first with extract(manifest, {part.name!r}, store)"
        )
    X, _ = folder.read(index.loc[ids].reset_index())
    return X


def fill_from_parts(
    manifest: pd.DataFrame,
    extractor: ConcatExtractor,
    source: str | os.PathLike,
    store: str | os.PathLike,
    *,
    match: str = "fingerprint",
) -> int:
    """Write the concatenation of the parts' stored rows into ``store``'s ``concat`` folder.

    The written rows carry the manifest's *current* audio fingerprints, so a later
    ``extract(manifest, extractor, store)`` finds them all and computes nothing.

    Args:
        manifest: the rows.
        extractor: the ``concat`` extractor.
        source: store that holds every part for every row (only read).
        store: store to fill (may equal ``source``).
        match: ``"fingerprint"`` takes a part's row only when it was stored from the audio
            as it is now (the safe default); ``"id"`` takes it by row id alone, for a store
            whose audio was copied again since extraction (new modification times, same
            content). With ``"id"`` the caller vouches for the audio; check a few rows
            against a fresh computation (``extractor(signal, rate)``) first.

    Returns:
        Number of rows written (rows already stored with the same fingerprint are kept).

    Raises:
        FeatureError: a part lacks (current) rows; names them and the ``extract`` call.
        ConfigError: unknown ``match``.
    """
    from serkit.features.extract import jobs_of
    from serkit.features.store import FeatureStore

    if match not in ("fingerprint", "id"):
        raise ConfigError(f"fill_from_parts: match must be 'fingerprint' or 'id', found {match!r}")
    X = np.concatenate(
        [_stored_rows(manifest, part, source, match == "id") for part in extractor.parts], axis=1
    )
    folder = FeatureStore(store).open(extractor)
    index = folder.index().set_index("id")
    items = []
    for row, job in enumerate(jobs_of(manifest)):
        if job.id in index.index and index.at[job.id, "fingerprint"] == job.fingerprint:
            continue
        items.append((job.id, job.fingerprint, X[row]))
    folder.commit(items)
    return len(items)


__all__ = ["ConcatConfig", "ConcatExtractor", "build_parts", "fill_from_parts", "part_dims"]
