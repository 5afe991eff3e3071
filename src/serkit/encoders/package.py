"""Encoder packages: a self-describing folder a trained encoder lives in (``runs/<name>/encoder/``).

A package holds ``encoder.json`` and ``weights.pt`` (a torch ``state_dict``, loaded with
``weights_only=True``: loading it runs no code). ``encoder.json`` records the family and its
``get_config()`` parameters, the input dimension, the front end it consumes
(:meth:`~serkit.features.frontend.Frontend.to_dict`), the per-dimension normalisation of its
input frames (mean / std over its training frames), the ids and speakers of every row it heard
(its training rows and, when validation speakers selected its weights, their rows, also listed
apart as ``validation_ids`` / ``validation_speakers``),
its classes and whether it used labels, its conditioning (``None`` or ``"speaker"``, with the
front end of the conditioning vector), the training history, the serkit / torch versions, and
the SHA-256 of the weight file and of each of its own fields (the checks of
:mod:`serkit.models.package`): a package whose weights or facts were edited, truncated or mixed
is refused with a :class:`~serkit.errors.PackageError` naming the file, never used quietly.

Per-fold pretraining writes one package per fold under ``encoder/<fold>/``
(:func:`encoder_folders` lists them). :func:`load_encoder` accepts a package folder or a
pretrain run folder (``runs/<name>/``, whose ``encoder/`` it opens).

Input frames: :meth:`EncoderPackage.frames` returns the front end's features normalised as
the net consumes them; :meth:`EncoderPackage.denormalise` turns frames the net produced
(reconstructions) back into front-end units (e.g. log-mel dB).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from serkit.atomic import atomic_dir
from serkit.errors import ConfigError, PackageError
from serkit.models.package import MODIFIED, file_sha256, jsonable, meta_digests

FORMAT = "serkit-encoder"
FORMAT_VERSION = 1
META = "encoder.json"
WEIGHTS = "weights.pt"
#: the folder of a pretrain run that holds its package(s)
ENCODER_DIR = "encoder"
CONDITIONS = ("speaker",)
#: the front end of the ``speaker`` conditioning vector (Resemblyzer d-vector)
SPEAKER_FRONTEND = {"name": "resemblyzer", "params": {}}
#: conditioning vectors already computed in this process, by (spec, rate, signal digest): the
#: per-fold packages of one run embed the same audio once each, the speaker vector is computed
#: once (bounded; oldest dropped first)
_COND_CACHE: dict[tuple[str, int, str], np.ndarray] = {}
_COND_CACHE_SIZE = 50_000


def cached_condition(extractor: Any, signal: np.ndarray, sample_rate: int) -> np.ndarray:
    """``extractor(signal, sample_rate)`` as float32, memoised per process on the signal's
    content (BLAKE2b of its samples)."""
    data = np.ascontiguousarray(signal, dtype=np.float32)
    key = (
        json.dumps(extractor.to_dict(), sort_keys=True),
        int(sample_rate),
        hashlib.blake2b(data.view(np.uint8).reshape(-1).data, digest_size=16).hexdigest(),
    )
    if key not in _COND_CACHE:
        if len(_COND_CACHE) >= _COND_CACHE_SIZE:
            _COND_CACHE.pop(next(iter(_COND_CACHE)))
        _COND_CACHE[key] = np.asarray(extractor(data, sample_rate), dtype=np.float32)
    return _COND_CACHE[key]


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for dist in ("serkit", "torch"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "absent"
    return out


def save_encoder(
    net: Any,
    folder: str | os.PathLike,
    *,
    frontend: Any,
    input_dim: int,
    ids: list[str],
    speakers: list[str],
    classes: list[str] | None = None,
    condition: str | None = None,
    cond_dim: int = 0,
    norm: dict[str, list[float]] | None = None,
    history: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
    validation_ids: list[str] | None = None,
    validation_speakers: list[str] | None = None,
) -> Path:
    """Write a trained encoder net as a package folder (replacing an existing one, atomically).

    Args:
        net: an instance of a registered encoder family (``encoder_name``, ``get_config()``).
        folder: destination folder.
        frontend: the :class:`~serkit.features.frontend.Frontend` of its input frames.
        input_dim: the frame dimension it was built with.
        ids: training rows' ids.
        speakers: training rows' speakers (one per row, or the set).
        classes: label classes in index order (families with ``uses_labels``).
        condition: ``None`` or ``"speaker"``.
        cond_dim: size of the conditioning vector it was built with (0: none).
        norm: ``{"mean": [...], "std": [...]}`` (``(input_dim,)``) applied to input frames.
        history: per-epoch dicts (loss and its parts).
        extra: further JSON-able facts (config, fold, seconds).
        validation_ids: ids of the rows whose loss selected the weights (validation speakers
            held out of training, ``training.validation``). Their audio was used, so the
            package records them in ``ids`` / ``speakers`` too (what the leakage certificate
            reads) and, apart, as ``validation_ids`` / ``validation_speakers``.
        validation_speakers: those rows' speakers (one per row, or the set).

    Returns:
        The package folder.

    Raises:
        ConfigError: the net is not a registered family, or ``condition`` is unknown.
    """
    import torch

    family = getattr(type(net), "encoder_name", None)
    if family is None:
        raise ConfigError(
            f"{type(net).__name__} is not a registered encoder family (no encoder_name); "
            "register it with @serkit.encoders.register_encoder"
        )
    if condition is not None and condition not in CONDITIONS:
        raise ConfigError(f"condition {condition!r}: expected None or one of {CONDITIONS}")
    uses_labels = bool(getattr(net, "uses_labels", False))
    folder = Path(folder)
    with atomic_dir(folder) as tmp:
        state = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
        torch.save(state, tmp / WEIGHTS)
        meta = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "family": family,
            "params": jsonable(net.get_config()),
            "input_dim": int(input_dim),
            "num_classes": len(classes or []) if uses_labels else 0,
            "cond_dim": int(cond_dim),
            "frontend": frontend.to_dict(),
            "norm": jsonable(norm or {}),
            "uses_labels": uses_labels,
            "classes": [str(c) for c in (classes or [])] if uses_labels else [],
            "condition": condition,
            "condition_frontend": SPEAKER_FRONTEND if condition == "speaker" else None,
            "ids": sorted({str(i) for i in [*ids, *(validation_ids or [])]}),
            "speakers": sorted({str(s) for s in [*speakers, *(validation_speakers or [])]}),
            "weights": [WEIGHTS],
            "checksums": {WEIGHTS: file_sha256(tmp / WEIGHTS)},
            "history": jsonable(history or []),
            "versions": _versions(),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "extra": jsonable(extra or {}),
        }
        if validation_ids:  # absent key without validation rows (packages as before)
            meta["validation_ids"] = sorted({str(i) for i in validation_ids})
            meta["validation_speakers"] = sorted({str(s) for s in validation_speakers or []})
        meta = json.loads(json.dumps(meta))
        meta["digests"] = meta_digests(meta)
        (tmp / META).write_text(json.dumps(meta, indent=1))
    return folder


def fold_folder(fold: str) -> str:
    """The folder name of a fold's package under ``encoder/``: the fold name with ``/`` (speaker
    ids of leave-one-speaker-out folds, ``corpus/speaker``) as ``%2F`` and ``%`` as ``%25``, so
    every fold is one folder level and the name reads back (:func:`encoder_folders`).

    >>> fold_folder("ravdess/Actor_01"), fold_folder("fold0")
    ('ravdess%2FActor_01', 'fold0')
    """
    return fold.replace("%", "%25").replace("/", "%2F")


def _fold_name(folder: str) -> str:
    return folder.replace("%2F", "/").replace("%25", "%")


def encoder_folders(path: str | os.PathLike) -> dict[str, Path]:
    """The package folders at ``path``: ``{"": folder}`` for one package, ``{fold: folder}``
    for the per-fold packages of a run (``encoder/<fold>/``), in fold-name order.

    Args:
        path: a package folder, a run's ``encoder/`` folder or a pretrain run folder.

    Raises:
        ConfigError: naming the folder, when it holds no encoder package.
    """
    path = Path(path)
    if (path / META).is_file():
        return {"": path}
    base = path / ENCODER_DIR if (path / ENCODER_DIR).is_dir() else path
    if (base / META).is_file():
        return {"": base}
    folds = sorted(p for p in base.glob(f"*/{META}")) if base.is_dir() else []
    if folds:
        return {_fold_name(p.parent.name): p.parent for p in folds}
    raise ConfigError(
        f"{path}: not an encoder package (no {META} there, in {ENCODER_DIR}/ or in "
        f"{ENCODER_DIR}/<fold>/); expected a folder written by `serkit pretrain` "
        "(runs/<name>/) or by save_encoder()"
    )


def read_encoder_meta(folder: str | os.PathLike) -> dict[str, Any]:
    """``encoder.json`` of a package folder, checked (fields, digests, weight checksum), without
    loading torch: what the leakage certificate reads.

    Raises:
        ConfigError: the folder holds no package.
        PackageError: the package is damaged or was modified (names the file).
    """
    folder = Path(folder)
    path = folder / META
    if not path.is_file():
        raise ConfigError(
            f"{folder}: not an encoder package (no {META}); expected a folder written by "
            "`serkit pretrain` or save_encoder()"
        )
    try:
        meta = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PackageError(f"{path}: invalid JSON ({exc}); the package is damaged") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise PackageError(f"{path}: format {found!r}, expected {FORMAT!r}; {MODIFIED}")
    if int(meta.get("format_version", 0)) > FORMAT_VERSION:
        raise ConfigError(
            f"{path}: encoder package format {meta['format_version']} is newer than this "
            f"serkit understands ({FORMAT_VERSION}); upgrade serkit"
        )
    kinds = {"family": str, "params": dict, "frontend": dict, "ids": list, "speakers": list}
    kinds |= {"uses_labels": bool, "classes": list, "checksums": dict, "digests": dict}
    bad = [key for key, kind in kinds.items() if not isinstance(meta.get(key), kind)]
    if bad:
        raise PackageError(f"{path}: {', '.join(bad)} missing or of the wrong type; {MODIFIED}")
    found = meta_digests(meta)
    changed = sorted(
        k for k in set(meta["digests"]) | set(found) if meta["digests"].get(k) != found.get(k)
    )
    if changed:
        raise PackageError(
            f"{path}: {', '.join(changed)} changed since the package was saved (their SHA-256 "
            f"differs from the digests recorded in {META}); {MODIFIED}"
        )
    weights = folder / WEIGHTS
    if not weights.is_file():
        raise PackageError(
            f"{weights}: weight file missing; copy the whole package folder, or {MODIFIED}"
        )
    sha = file_sha256(weights)
    if sha != meta["checksums"].get(WEIGHTS):
        raise PackageError(
            f"{weights}: SHA-256 {sha[:16]}... ({weights.stat().st_size} bytes) does not match "
            f"the {str(meta['checksums'].get(WEIGHTS))[:16]}... recorded in {META} (truncated, "
            f"replaced or from another package); {MODIFIED}"
        )
    return meta


def meta_key(meta: dict[str, Any]) -> str:
    """Content key (16 hex) of a package: its weight checksum and its recorded facts."""
    facts = {k: v for k, v in meta.items() if k not in ("created", "digests", "history")}
    text = json.dumps(facts, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class EncoderPackage:
    """A loaded encoder package (see the module docstring; attributes as in ``encoder.json``).

    Attributes:
        net: the family instance, eval mode, on the CPU.
        family, params, frontend, classes, uses_labels, condition, ids, speakers: as recorded.
        folder: the package folder; meta: the parsed ``encoder.json``.
    """

    net: Any
    folder: Path
    meta: dict[str, Any]
    frontend: Any
    mean: np.ndarray | None = None
    std: np.ndarray | None = None
    _cond_extractor: Any = field(default=None, repr=False)

    family = property(lambda self: self.meta["family"])
    params = property(lambda self: dict(self.meta["params"]))
    classes = property(lambda self: list(self.meta["classes"]))
    uses_labels = property(lambda self: bool(self.meta["uses_labels"]))
    condition = property(lambda self: self.meta.get("condition"))
    ids = property(lambda self: set(self.meta["ids"]))
    speakers = property(lambda self: set(self.meta["speakers"]))

    def key(self) -> str:
        """Content hash (16 hex) of weights and facts (part of the ``encoder`` store key)."""
        return meta_key(self.meta)

    @property
    def layers(self) -> tuple[str, ...]:
        """The layers :meth:`embed` can return (the first is the default)."""
        return tuple(self.net.layers)

    def layer_level(self, layer: str | None = None) -> str:
        """``"utterance"`` or ``"frame"`` for ``layer`` (default: the first).

        Raises:
            ConfigError: the family has no such layer.
        """
        layer = layer or self.layers[0]
        if layer not in self.layers:
            raise ConfigError(
                f"{self.folder}: encoder family {self.family!r} has no layer {layer!r}; "
                f"layers: {', '.join(self.layers)}"
            )
        return str(self.net.layer_levels.get(layer, "utterance"))

    def normalise(self, frames: np.ndarray) -> np.ndarray:
        """Front-end frames ``(frames, input_dim)`` -> what the net consumes."""
        if self.mean is None:
            return np.asarray(frames, dtype=np.float32)
        return ((np.asarray(frames, np.float32) - self.mean) / self.std).astype(np.float32)

    def denormalise(self, frames: np.ndarray) -> np.ndarray:
        """Frames the net produced ``(frames, input_dim)`` -> front-end units."""
        if self.mean is None:
            return np.asarray(frames, dtype=np.float32)
        return (np.asarray(frames, np.float32) * self.std + self.mean).astype(np.float32)

    def frames(self, signal: np.ndarray, sample_rate: int) -> np.ndarray:
        """The front end on one signal, normalised: ``(frames, input_dim)`` float32."""
        return self.normalise(self.frontend.compute(signal, sample_rate))

    def condition_vector(self, signal: np.ndarray, sample_rate: int) -> np.ndarray | None:
        """The conditioning vector ``(cond_dim,)`` of one signal (``None`` when unconditioned)."""
        if self.condition is None:
            return None
        if self._cond_extractor is None:
            from serkit.features import extractor_from_dict

            self._cond_extractor = extractor_from_dict(self.meta["condition_frontend"])
        return cached_condition(self._cond_extractor, signal, sample_rate)

    def embed_frames(
        self, frames: np.ndarray, cond: np.ndarray | None = None, layer: str | None = None
    ) -> np.ndarray:
        """Embedding of normalised frames ``(frames, input_dim)``: ``(dim,)`` or
        ``(frames', dim)`` as :meth:`layer_level` says."""
        import torch

        self.layer_level(layer)
        x = torch.from_numpy(np.asarray(frames, np.float32)[None])
        lengths = torch.tensor([x.shape[1]], dtype=torch.int64)
        c = None if cond is None else torch.from_numpy(np.asarray(cond, np.float32)[None])
        with torch.no_grad():
            out = self.net.embed(x, lengths, cond=c, layer=layer)
        return out[0].detach().cpu().numpy().astype(np.float32)

    def embed(self, signal: np.ndarray, sample_rate: int, layer: str | None = None) -> np.ndarray:
        """Embedding of one signal: ``(dim,)`` (utterance layer) or ``(frames', dim)``."""
        return self.embed_frames(
            self.frames(signal, sample_rate), self.condition_vector(signal, sample_rate), layer
        )


def build_net(meta: dict[str, Any]) -> Any:
    """A new (untrained) instance of the recorded family with the recorded sizes."""
    from serkit.encoders import get_encoder_class

    cls = get_encoder_class(meta["family"])
    return cls(
        int(meta["input_dim"]),
        num_classes=int(meta.get("num_classes") or 0),
        cond_dim=int(meta.get("cond_dim") or 0),
        **dict(meta["params"]),
    )


def load_encoder(path: str | os.PathLike, fold: str | None = None) -> EncoderPackage:
    """Load and verify an encoder package.

    Args:
        path: a package folder, or a pretrain run folder (``runs/<name>/``).
        fold: which per-fold package of a per-fold run (``encoder/<fold>/``).

    Returns:
        The :class:`EncoderPackage`, its net in eval mode on the CPU.

    Raises:
        ConfigError: no package there, a per-fold run without ``fold`` (or an unknown one), or
            an unregistered family.
        PackageError: the package is damaged or was modified (names the file).
    """
    import pickle
    import zipfile

    import torch

    from serkit.features.frontend import Frontend

    folders = encoder_folders(path)
    if fold is None and "" not in folders:
        raise ConfigError(
            f"{path} holds one encoder per fold ({', '.join(folders)}); pass fold=NAME (the "
            "`encoder` extractor in an experiment picks each fold's package itself)"
        )
    key = "" if fold is None and "" in folders else str(fold)
    if key not in folders:
        raise ConfigError(f"{path}: no encoder for fold {fold!r}; folds: {', '.join(folders)}")
    folder = folders[key]
    meta = read_encoder_meta(folder)
    net = build_net(meta)
    try:
        state = torch.load(folder / WEIGHTS, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile) as exc:
        raise PackageError(
            f"{folder / WEIGHTS}: cannot be read as plain tensors ({type(exc).__name__}); "
            f"{MODIFIED}"
        ) from exc
    try:
        net.load_state_dict(state)
    except RuntimeError as exc:
        raise PackageError(
            f"{folder / WEIGHTS} does not fit family {meta['family']!r} with the parameters "
            f"recorded in {META} ({str(exc).splitlines()[0]}); {MODIFIED}"
        ) from exc
    net.eval()
    norm = meta.get("norm") or {}
    mean = np.asarray(norm["mean"], np.float32) if norm.get("mean") else None
    std = np.asarray(norm["std"], np.float32) if norm.get("std") else None
    return EncoderPackage(net, folder, meta, Frontend.from_dict(meta["frontend"]), mean, std)
