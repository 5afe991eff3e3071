"""Self-describing model packages: a folder with ``model.json`` plus weight files.

``model.json`` holds the registry name, the estimator parameters, ``classes``,
``input_level``, the versions of serkit / python / numpy / torch / scikit-learn, the fitted
history (neural models), the weight file names and ``extra`` (by convention ``extractor`` =
``extractor.to_dict()``, ``label_set``, anything the caller wants to keep). Weights are written
by the estimator's ``_save_weights(folder)`` (neural: a torch ``state_dict`` plus normalisation
statistics in ``weights.pt``, loaded with ``weights_only=True``; classic: the fitted sklearn
pipeline with joblib, which is a pickle: load only packages you trust). Estimators without that
hook are pickled whole (``estimator.joblib``).

The folder is written next to its destination and renamed into place, so a package is either
complete or absent.
"""

from __future__ import annotations

import json
import math
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from serkit.atomic import atomic_dir
from serkit.errors import ConfigError

FORMAT = "serkit-model"
FORMAT_VERSION = 1
META = "model.json"


def jsonable(value: Any) -> Any:
    """Recursively convert numpy scalars/arrays, tuples, paths and NaN to plain JSON values."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, os.PathLike):
        return str(value)
    return value


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version(), "numpy": np.__version__}
    for dist in ("serkit", "torch", "scikit-learn"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "absent"
    return out


def save_model(
    model: Any, folder: str | os.PathLike, *, extra: dict[str, Any] | None = None
) -> Path:
    """Write a fitted registered model as a package folder (replacing an existing one).

    Args:
        model: a fitted estimator registered in :data:`serkit.models.MODELS`.
        folder: destination folder.
        extra: JSON-able facts to keep (``extractor``, ``label_set``, ...).

    Returns:
        The package folder.

    Raises:
        ConfigError: the model is not registered or not fitted.
    """
    name = getattr(type(model), "model_name", None)
    if name is None:
        raise ConfigError(
            f"{type(model).__name__} is not a registered model (no model_name); register it "
            "with @serkit.models.register_model"
        )
    if not hasattr(model, "classes_"):
        raise ConfigError(f"model {name!r} is not fitted; call fit() before save_model()")
    folder = Path(folder)
    with atomic_dir(folder) as tmp:
        if hasattr(model, "_save_weights"):
            files = list(model._save_weights(tmp))
        else:
            import joblib

            joblib.dump(model, tmp / "estimator.joblib")
            files = ["estimator.joblib"]
        meta = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "name": name,
            "class": f"{type(model).__module__}.{type(model).__qualname__}",
            "params": jsonable(model.get_params(deep=False)),
            "classes": jsonable(np.asarray(model.classes_)),
            "input_level": getattr(model, "input_level", "utterance"),
            "weights": files,
            "history": jsonable(getattr(model, "history_", [])),
            "versions": _versions(),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "extra": jsonable(extra or {}),
        }
        (tmp / META).write_text(json.dumps(meta, indent=2))
    return folder


def read_meta(folder: str | os.PathLike) -> dict[str, Any]:
    """Read and check ``model.json`` of a package folder.

    Raises:
        ConfigError: naming the folder, when it is not a serkit model package.
    """
    folder = Path(folder)
    path = folder / META
    if not path.exists():
        raise ConfigError(
            f"{folder}: not a model package (no {META}); expected a folder written by "
            "save_model() or a run folder with model/ inside"
        )
    try:
        meta = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: invalid JSON ({exc}); the package is damaged") from exc
    if meta.get("format") != FORMAT:
        raise ConfigError(f"{path}: format {meta.get('format')!r}, expected {FORMAT!r}")
    if int(meta.get("format_version", 0)) > FORMAT_VERSION:
        raise ConfigError(
            f"{path}: package format {meta['format_version']} is newer than this serkit "
            f"understands ({FORMAT_VERSION}); upgrade serkit"
        )
    return meta


def load_model(folder: str | os.PathLike) -> tuple[Any, dict[str, Any]]:
    """Rebuild a model from a package folder.

    Returns:
        ``(model, meta)``: the fitted estimator and the parsed ``model.json``.
    """
    from serkit.models import get_model

    folder = Path(folder)
    meta = read_meta(folder)
    for file in meta.get("weights", []):
        if not (folder / file).exists():
            raise ConfigError(f"{folder}: weight file {file!r} listed in {META} is missing")
    if meta["weights"] == ["estimator.joblib"]:
        import joblib

        model = joblib.load(folder / "estimator.joblib")
    else:
        params = dict(meta["params"])
        model = get_model(meta["name"], **params)
        model._load_weights(folder, meta)
    model.classes_ = np.asarray(meta["classes"])
    return model, meta
