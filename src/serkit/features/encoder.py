"""Learned representations as features: the ``encoder`` extractor over an encoder package.

``get_extractor("encoder", path=..., layer=None, pooling="mean")`` turns the package that
``serkit pretrain`` wrote (``path``: the package folder or the run folder ``runs/<name>/``) into
features, so every model and protocol works on it (a linear probe is ``model: logreg``).

* ``layer``: one of the family's layers (``""``: its first, see
  :attr:`serkit.encoders.base.EncoderNet.layers`).
* ``pooling``: for a frame-level layer, ``"mean"``, ``"max"`` or ``"mean+std"`` pool it to one
  utterance vector, and ``"none"`` keeps the frames (this extractor is then frame-level);
  an utterance-level layer is returned as it is whatever ``pooling`` says.
* ``fold``: which package of a per-fold pretrain run (``encoder/<fold>/``). Left empty on such a
  run, the extractor stands for the whole run: its key hashes every fold's package, it computes
  with the first fold's package (what the final model and predict use), and the experiment
  runner gives each experiment fold the package whose training speakers are disjoint from that
  fold's test speakers (:func:`serkit.encoders.data.fold_dataset`).
* ``package_key``: the package's content key (:meth:`EncoderPackage.key`), filled in from the
  package when not given, and refused when given and different (the package at ``path`` was
  retrained or replaced since the features were recorded). It is part of :meth:`key`, so a new
  package at the same path gets new store folders instead of stale features.
* ``sample_rate``: defaults to the rate of the package's front end.

Packages are loaded (and verified) once per process, path and file state.
"""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any

import numpy as np

from serkit.errors import ConfigError
from serkit.features.base import Extractor, ExtractorConfig, register_extractor

POOLINGS = ("mean", "max", "mean+std", "none")
_CACHE: dict[tuple[Any, ...], Any] = {}
_LOCK = threading.Lock()


def _package_folders(path: str) -> dict[str, Path]:
    from serkit.encoders.package import encoder_folders

    if not path:
        raise ConfigError(
            "the 'encoder' extractor needs path: an encoder package folder or a `serkit "
            "pretrain` run folder (runs/<name>/)"
        )
    return encoder_folders(Path(path).expanduser())


def _package_folder(path: str, fold: str) -> Path:
    """The package of ``fold`` (``""``: the single package, or a per-fold run's first)."""
    folders = _package_folders(path)
    if not fold:
        return folders.get("", next(iter(folders.values())))
    if fold not in folders:
        raise ConfigError(f"{path}: no encoder for fold {fold!r}; folds: {', '.join(folders)}")
    return folders[fold]


def cached_package(path: str, fold: str = "") -> Any:
    """The verified :class:`~serkit.encoders.package.EncoderPackage` (cached per process)."""
    from serkit.encoders.package import META, WEIGHTS, load_encoder

    folder = _package_folder(path, fold).resolve()
    stamp = tuple((folder / f).stat().st_mtime_ns for f in (META, WEIGHTS) if (folder / f).exists())
    key = (str(folder), stamp)
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = load_encoder(folder)
        return _CACHE[key]


def content_key(path: str, fold: str = "") -> str:
    """The content key behind ``path``/``fold``: the package's, or for a per-fold run without
    ``fold`` a hash of every fold's package key (any retrained fold changes it)."""
    folders = _package_folders(path)
    if fold or "" in folders:
        return cached_package(path, fold).key()
    import hashlib

    keys = ",".join(f"{name}={cached_package(path, name).key()}" for name in folders)
    return hashlib.sha256(keys.encode()).hexdigest()[:16]


def pinned_key(path: str, fold: str, given: str) -> str:
    """:func:`content_key` of ``path``/``fold``, checked against the ``package_key`` a feature
    config was made with (``given``; empty: not pinned yet).

    Raises:
        ConfigError: the package there has another key (it was retrained or replaced).
    """
    key = content_key(path, fold)
    if given and given != key:
        raise ConfigError(
            f"{path}: the encoder package there has content key {key}, not the "
            f"{given} these features were made with (it was retrained or replaced); "
            "extract again without package_key, and retrain what used it"
        )
    return key


def pool(frames: np.ndarray, pooling: str) -> np.ndarray:
    """``(frames, dim)`` -> ``(dim,)`` (mean, max) or ``(2 * dim,)`` (mean+std)."""
    from serkit.features.pooling import stats_pool

    stats = {"mean": ("mean",), "max": ("max",), "mean+std": ("mean", "std")}
    if pooling not in stats:
        raise ConfigError(f"pooling must be one of {POOLINGS}; found {pooling!r}")
    return stats_pool(frames, stats[pooling])


@dataclasses.dataclass(frozen=True)
class EncoderConfig(ExtractorConfig):
    """Config of ``"encoder"`` (see the module docstring for each field)."""

    path: str = ""
    fold: str = ""
    layer: str = ""
    pooling: str = "mean"
    package_key: str = ""

    def __post_init__(self) -> None:
        if self.pooling not in POOLINGS:
            raise ConfigError(f"pooling must be one of {POOLINGS}; found {self.pooling!r}")


@register_extractor
class EncoderFeatures(Extractor):
    """The representation of a trained encoder package (``level`` follows layer and pooling)."""

    name = "encoder"
    level = "utterance"
    Config = EncoderConfig

    def __init__(self, config: EncoderConfig | None = None, **params: Any) -> None:
        if config is None:
            path, fold = str(params.get("path") or ""), str(params.get("fold") or "")
            pkg = cached_package(path, fold)
            params.setdefault("sample_rate", pkg.frontend.sample_rate)
            params["package_key"] = pinned_key(path, fold, params.get("package_key") or "")
        super().__init__(config, **params)
        c = self.config
        pkg = cached_package(c.path, c.fold)
        level = pkg.layer_level(c.layer or None)
        self.level = "frame" if level == "frame" and c.pooling == "none" else "utterance"

    @property
    def package(self) -> Any:
        """The :class:`~serkit.encoders.package.EncoderPackage` this extractor uses."""
        return cached_package(self.config.path, self.config.fold)

    @classmethod
    def example_params(cls, workdir: Path) -> dict[str, Any]:
        """A tiny untrained package of a registered family under ``workdir`` (tests)."""
        from serkit.encoders import get_encoder_class, list_encoders
        from serkit.encoders.package import META, save_encoder
        from serkit.features.frontend import Frontend

        families = list_encoders()
        if not families:
            return {}
        folder = Path(workdir) / "tiny-encoder"
        if not (folder / META).is_file():
            import torch

            family = get_encoder_class(families[0])
            frontend = Frontend.from_config(family.default_frontend)
            dim = int(
                frontend.compute(np.random.default_rng(0).normal(0, 0.1, 8000), 16000).shape[1]
            )
            torch.manual_seed(0)
            classes = ["a", "b"] if family.uses_labels else []
            net = family(dim, num_classes=len(classes), **family.test_params())
            save_encoder(
                net,
                folder,
                frontend=frontend,
                input_dim=dim,
                ids=["x/1"],
                speakers=["x/s"],
                classes=classes,
            )
        return {"path": str(folder)}

    def compute(self, signal: np.ndarray) -> np.ndarray:
        c = self.config
        out = self.package.embed(signal, self.sample_rate, layer=c.layer or None)
        if out.ndim == 2 and self.level == "utterance":
            out = pool(out, c.pooling)
        return np.asarray(out, dtype=np.float32)
