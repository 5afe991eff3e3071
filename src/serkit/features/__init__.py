"""Feature extraction: registered extractors, the feature store, extract and load.

Every module of this package (except the machinery in :data:`_NOT_EXTRACTORS` and names starting
with ``_``) is imported on first use of the package so that its ``@register_extractor`` classes
register. Heavy optional packages (opensmile, transformers, ...) are imported inside the
extractors' methods, so discovery stays cheap.

Example:
    >>> from serkit import features
    >>> ex = features.get_extractor("logmel", preset="acrnn")
    >>> summary = features.extract(df, ex, "features/")   # doctest: +SKIP
    >>> fs = features.load(df, ex, "features/")            # doctest: +SKIP
    >>> fs.padded()[0].shape                               # doctest: +SKIP
    (1440, 412, 120)
"""

from __future__ import annotations

from typing import Any

from serkit.features.base import (
    EXTRACTORS,
    FEATURE_VERSION,
    Extractor,
    ExtractorConfig,
    FeatureError,
    register_extractor,
)
from serkit.registry import import_submodules

_NOT_EXTRACTORS = {"base", "functional", "signal", "pooling", "store", "extract", "data"}
#: modules that could not be imported because an optional third-party package is missing
DISCOVERY_ERRORS: dict[str, str] = {}


def _discover() -> None:
    import_submodules(__name__, __path__, skip=_NOT_EXTRACTORS, missing=DISCOVERY_ERRORS)


_discover()

from serkit.features.extract import ExtractSummary, extract, merge  # noqa: E402
from serkit.features.featureset import FeatureSet  # noqa: E402
from serkit.features.loading import load  # noqa: E402
from serkit.features.store import FeatureStore  # noqa: E402


def list_extractors() -> list[str]:
    """Registered extractor names, sorted."""
    return EXTRACTORS.names()


def get_extractor(name: str, **params: Any) -> Extractor:
    """Build a registered extractor: ``get_extractor("logmel", preset="dcnn", n_mels=40)``."""
    return EXTRACTORS.get(name)(**params)


def extractor_from_dict(data: dict[str, Any]) -> Extractor:
    """Rebuild an extractor from ``Extractor.to_dict()`` output (``{"name", "params"}``)."""
    from serkit.errors import ConfigError

    if not isinstance(data, dict) or "name" not in data:
        raise ConfigError(f"expected {{'name': ..., 'params': {{...}}}}, got {data!r}")
    return EXTRACTORS.get(str(data["name"])).from_dict(data)


__all__ = [
    "DISCOVERY_ERRORS",
    "EXTRACTORS",
    "FEATURE_VERSION",
    "ExtractSummary",
    "Extractor",
    "ExtractorConfig",
    "FeatureError",
    "FeatureSet",
    "FeatureStore",
    "extract",
    "extractor_from_dict",
    "get_extractor",
    "list_extractors",
    "load",
    "merge",
    "register_extractor",
]
