"""Self-describing model packages: a folder with ``model.json`` plus weight files.

``model.json`` holds the registry name, the estimator parameters, ``classes``,
``input_level``, the versions of serkit / python / numpy / torch / scikit-learn, the fitted
history (neural models), the weight file names and ``extra`` (by convention ``extractor`` =
``extractor.to_dict()``, ``label_set``, anything the caller wants to keep). Weights are written
by the estimator's ``_save_weights(folder)`` and read by ``_load_weights(folder, meta)``, which
every registered model has; the formats cannot run code when loaded (neural: a torch
``state_dict`` plus normalisation statistics in ``weights.pt``, loaded with
``weights_only=True``; classic: the fitted sklearn pipeline in skops format,
``pipeline.skops``, loaded with an explicit list of trusted sklearn types, see
:mod:`serkit.models.classic`). Nothing is pickled.

Integrity (format 2): ``model.json`` records the SHA-256 of every weight file
(``checksums``), the input the weights expect (``input``: ``level``, ``dim``, ``channels``) and
a digest of each of its own fields (``digests``), and :func:`load_model` verifies all three
before it reads a weight, so a package whose files were edited, truncated, swapped with another
package's or mixed (classes reordered, another front end recorded) is refused with a
:class:`~serkit.errors.PackageError` naming the file, instead of predicting quietly.
Packages of format 1 (no checksums) still load; their classic models are pickles
(``pipeline.joblib`` / ``estimator.joblib``), which run whatever code they contain when
loaded, so :func:`load_model` refuses them unless the caller passes ``trust_pickle=True``.

The folder is written next to its destination and renamed into place, so a package is either
complete or absent; temps left by a writer that was killed are removed by the next save.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from serkit.atomic import atomic_dir
from serkit.errors import ConfigError, Hint, PackageError

FORMAT = "serkit-model"
FORMAT_VERSION = 2
META = "model.json"
#: weight formats that cannot run code when loaded (and how serkit loads them)
SAFE_SUFFIXES = {
    ".pt": "torch.load(weights_only=True)",
    ".skops": "skops.io.load with trusted types",
    ".json": "json",
    ".npy": "numpy.load(allow_pickle=False)",
    ".npz": "numpy.load(allow_pickle=False)",
}
#: the weight files of format-1 packages that are pickles
PICKLES = ("estimator.joblib", "pipeline.joblib")
#: the remedy for a refused pickle
TRUST_PICKLE = Hint(
    "trust_pickle",
    True,
    "to load it anyway, only if you trust whoever made the package (loading runs its code); "
    "then save it again with save_model() to get a package in safe formats",
)
#: said whenever a recorded checksum or digest does not match
MODIFIED = "the package was modified after it was saved; re-export or retrain"


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


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes (64 hex chars), read in 1-MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def meta_digests(meta: dict[str, Any]) -> dict[str, str]:
    """SHA-256 of each field of ``model.json`` but ``digests`` itself, of its canonical JSON
    (sorted keys, no spaces): re-indenting the file keeps them, editing a value changes the
    digest of its field, so the field can be named."""
    return {
        key: hashlib.sha256(
            json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
        ).hexdigest()
        for key, value in meta.items()
        if key != "digests"
    }


def input_dim(model: Any) -> int | None:
    """The feature dimension a fitted model takes (``n_features_in_``, ``input_dim_`` or an
    ONNX model's recorded ``input_dim``), or ``None`` when it does not say."""
    for attr in ("n_features_in_", "input_dim_"):
        value = getattr(model, attr, None)
        if value is not None:
            return int(value)
    value = (getattr(model, "meta", None) or {}).get("input_dim")
    return None if value is None else int(value)


def input_spec(model: Any, extra: dict[str, Any]) -> dict[str, Any]:
    """What the weights expect: ``{"level", "dim", "channels"}`` (channels from the recorded
    front end's extractor, ``None`` when the package records none)."""
    channels = None
    spec = extra.get("frontend") or extra.get("extractor")
    if spec:
        from serkit.features.frontend import Frontend

        channels = int(Frontend.from_dict(spec).extractor.channels)
    return {
        "level": getattr(model, "input_level", "utterance"),
        "dim": input_dim(model),
        "channels": channels,
    }


def _check_safe(folder: Path, files: list[str], name: str) -> None:
    """Refuse weight files in a format that could run code when loaded."""
    for file in files:
        suffix = Path(file).suffix
        with open(folder / file, "rb") as handle:
            head = handle.read(2)
        if suffix not in SAFE_SUFFIXES or head[:1] == b"\x80":  # 0x80: pickle protocol >= 2
            raise ConfigError(
                f"model {name!r}: _save_weights wrote {file!r}, which is not in a format that "
                f"is safe to load ({', '.join(SAFE_SUFFIXES)}); save fitted state as torch "
                "tensors, skops, JSON or numpy arrays, never as a pickle"
            )


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
        ConfigError: the model is not registered, not fitted, has no ``_save_weights`` /
            ``_load_weights`` or wrote a weight file in an unsafe format.
    """
    name = getattr(type(model), "model_name", None)
    if name is None:
        raise ConfigError(
            f"{type(model).__name__} is not a registered model (no model_name); register it "
            "with @serkit.models.register_model"
        )
    if not hasattr(model, "classes_"):
        raise ConfigError(f"model {name!r} is not fitted; call fit() before save_model()")
    if not (hasattr(model, "_save_weights") and hasattr(model, "_load_weights")):
        raise ConfigError(
            f"model {name!r} ({type(model).__name__}) has no _save_weights/_load_weights; "
            "serkit does not pickle estimators (loading a pickle runs its code): implement "
            "both, writing tensors, skops, JSON or numpy arrays"
        )
    extra = jsonable(extra or {})
    folder = Path(folder)
    with atomic_dir(folder) as tmp:
        files = [str(f) for f in model._save_weights(tmp)]
        _check_safe(tmp, files, name)
        meta = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "name": name,
            "class": f"{type(model).__module__}.{type(model).__qualname__}",
            "params": jsonable(model.get_params(deep=False)),
            "classes": jsonable(np.asarray(model.classes_)),
            "input_level": getattr(model, "input_level", "utterance"),
            "input": input_spec(model, extra),
            "weights": files,
            "checksums": {file: file_sha256(tmp / file) for file in files},
            "history": jsonable(getattr(model, "history_", [])),
            "versions": _versions(),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "extra": extra,
        }
        meta = json.loads(json.dumps(meta))  # digests of what load_model reads back
        meta["digests"] = meta_digests(meta)
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
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PackageError(f"{path}: invalid JSON ({exc}); the package is damaged") from exc
    if not isinstance(meta, dict):
        raise PackageError(
            f"{path}: expected a JSON object, found {type(meta).__name__}; the package is "
            "damaged"
        )
    if meta.get("format") != FORMAT:
        raise ConfigError(f"{path}: format {meta.get('format')!r}, expected {FORMAT!r}")
    version = meta.get("format_version", 1)
    if not isinstance(version, int) or isinstance(version, bool):
        raise PackageError(f"{path}: format_version {version!r} is not a number; {MODIFIED}")
    if version > FORMAT_VERSION:
        raise ConfigError(
            f"{path}: package format {version} is newer than this serkit understands "
            f"({FORMAT_VERSION}); upgrade serkit"
        )
    kinds = {"name": str, "params": dict, "classes": list, "weights": list}
    bad = [key for key, kind in kinds.items() if not isinstance(meta.get(key), kind)]
    if bad:
        raise PackageError(
            f"{path}: {', '.join(bad)} missing or of the wrong type (expected "
            f"{', '.join(f'{k}: {kinds[k].__name__}' for k in bad)}); {MODIFIED}"
        )
    return meta


def _short(digest: str) -> str:
    return f"{digest[:16]}..."


def verify_package(folder: str | os.PathLike, meta: dict[str, Any] | None = None) -> None:
    """Check a package against what ``model.json`` recorded when it was saved.

    Format 2: the digests of ``model.json``'s fields, then every weight file's presence and
    SHA-256. Format 1 (no checksums recorded): presence only.

    Args:
        folder: the package folder.
        meta: its parsed ``model.json`` (read when ``None``).

    Raises:
        PackageError: naming the file, the expected and the found checksum.
    """
    folder = Path(folder)
    meta = read_meta(folder) if meta is None else meta
    # a format-1 package has neither field: one that has them was edited to look older
    versioned = int(meta.get("format_version", 1)) >= 2 or "digests" in meta or "checksums" in meta
    if versioned:
        _check_digests(folder, meta)
    checksums = meta.get("checksums") or {}
    for file in meta.get("weights", []):
        path = folder / file
        if not path.is_file():
            raise PackageError(
                f"{path}: weight file listed in {META} is missing; copy the whole package "
                f"folder, or {MODIFIED}"
            )
        if not versioned:
            continue
        if file not in checksums:
            raise PackageError(f"{folder / META}: no checksum recorded for {file!r}; {MODIFIED}")
        found = file_sha256(path)
        if found != checksums[file]:
            raise PackageError(
                f"{path}: SHA-256 {_short(found)} ({path.stat().st_size} bytes) does not match "
                f"the {_short(checksums[file])} recorded in {META} (the file is truncated, "
                f"replaced or from another package); {MODIFIED}"
            )


def is_current(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` holds an intact package of the current format (checksums verified),
    e.g. for a runner deciding whether a saved model can be reused or must be written again."""
    try:
        meta = read_meta(folder)
        if int(meta.get("format_version", 1)) != FORMAT_VERSION:
            return False
        verify_package(folder, meta)
    except ConfigError:
        return False
    return True


def _check_digests(folder: Path, meta: dict[str, Any]) -> None:
    """Name the fields of ``model.json`` whose content changed since it was saved."""
    recorded = meta.get("digests")
    if not isinstance(recorded, dict):
        raise PackageError(f"{folder / META}: no digests recorded (format 2 has them); {MODIFIED}")
    found = meta_digests(meta)
    changed = sorted(k for k in set(recorded) | set(found) if recorded.get(k) != found.get(k))
    if changed:
        first = changed[0]
        raise PackageError(
            f"{folder / META}: {', '.join(changed)} changed since the package was saved "
            f"({first}: SHA-256 {_short(str(found.get(first)))}, recorded "
            f"{_short(str(recorded.get(first)))}); {MODIFIED}"
        )


def _refuse_unsafe(folder: Path, meta: dict[str, Any], trust_pickle: bool) -> None:
    """Refuse pickles unless trusted, and any weight file of an unknown format."""
    for file in meta.get("weights", []):
        if not isinstance(file, str) or Path(file).name != file or file.startswith("."):
            raise PackageError(
                f"{folder / META}: weight file {file!r} is not a plain file name in the "
                f"package folder; {MODIFIED}"
            )
        if file in PICKLES or Path(file).suffix in (".joblib", ".pkl", ".pickle"):
            if trust_pickle:
                continue
            raise PackageError(
                f"{folder / file}: this package (format {meta.get('format_version', 1)}, "
                "written by an older serkit) holds its model as a pickle, and loading a "
                "pickle runs whatever code it contains",
                hint=TRUST_PICKLE,
            )
        elif Path(file).suffix not in SAFE_SUFFIXES:
            raise PackageError(
                f"{folder / file}: weight file of unknown format {Path(file).suffix!r} "
                f"(serkit reads {', '.join(SAFE_SUFFIXES)}); {MODIFIED}"
            )


def _check_loaded(model: Any, folder: Path, meta: dict[str, Any]) -> None:
    """The loaded weights agree with ``model.json`` on classes and input dimension."""
    weights = ", ".join(meta.get("weights", [])) or "the weights"
    own = getattr(model, "classes_", None)
    listed = [str(c) for c in meta["classes"]]
    if own is not None and [str(c) for c in np.asarray(own).tolist()] != listed:
        raise PackageError(
            f"{folder / META} lists the classes {listed} but {weights} were trained on "
            f"{[str(c) for c in np.asarray(own).tolist()]}; {MODIFIED}"
        )
    expected = (meta.get("input") or {}).get("dim")
    found = input_dim(model)
    if expected is not None and found is not None and int(expected) != found:
        raise PackageError(
            f"{folder / META} records input dimension {expected} but {weights} take "
            f"{found}-dimensional features; {MODIFIED}"
        )


def load_model(
    folder: str | os.PathLike, *, trust_pickle: bool = False
) -> tuple[Any, dict[str, Any]]:
    """Rebuild a model from a package folder, after verifying it (:func:`verify_package`).

    Args:
        folder: the package folder.
        trust_pickle: load the pickled model of a format-1 package (``pipeline.joblib``,
            ``estimator.joblib``); loading a pickle runs its code, so pass it only for a
            package whose origin you trust.

    Returns:
        ``(model, meta)``: the fitted estimator and the parsed ``model.json``.

    Raises:
        PackageError: the package is damaged or was modified (names the file and the expected
            and found checksum or value), or holds a pickle and ``trust_pickle`` is false.
    """
    from serkit.models import get_model

    folder = Path(folder)
    meta = read_meta(folder)
    _refuse_unsafe(folder, meta, trust_pickle)
    verify_package(folder, meta)
    if meta["weights"] == ["estimator.joblib"]:
        import joblib

        model = joblib.load(folder / "estimator.joblib")  # trusted by the caller
    else:
        params = dict(meta["params"])
        model = get_model(meta["name"], **params)
        model._load_weights(folder, meta)
    _check_loaded(model, folder, meta)
    model.classes_ = np.asarray(meta["classes"])
    return model, meta
