"""Checkpoint files of :func:`~serkit.models.training.train_module`: what is saved, and when
a checkpoint may be resumed.

A checkpoint folder holds ``last.pt`` (model, optimizer, scheduler, RNG states, history, best
weights, early-stopping state; readable with ``torch.load(weights_only=True)``) and
``progress.json`` (``{"epoch", "done"}``), both written atomically after every epoch. Its
fingerprint (:func:`fit_fingerprint`) holds the module's parameter shapes and a content hash of the
training and validation items (:func:`data_digest`), so a folder is never resumed by another
fold's training.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from serkit.atomic import atomic_path, atomic_write_json
from serkit.errors import ConfigError

CHECKPOINT = "last.pt"
PROGRESS = "progress.json"


def _feed(digest: Any, item: Any) -> None:
    if isinstance(item, torch.Tensor):
        item = item.detach().cpu().numpy()
    if isinstance(item, np.ndarray):
        item = np.ascontiguousarray(item)
        digest.update(f"{item.dtype.str}{item.shape}".encode())
        digest.update(item.view(np.uint8).reshape(-1).data)
    elif isinstance(item, (tuple, list)):
        digest.update(f"[{len(item)}".encode())
        for part in item:
            _feed(digest, part)
    else:
        digest.update(repr(item).encode())


def data_digest(dataset: Any) -> str:
    """Content hash (16 hex) of a torch dataset's items, in order.

    A dataset that keeps ``frames`` and ``labels`` (e.g.
    :class:`~serkit.models.data.SequenceDataset`) is hashed from them directly; any other from
    its items ``dataset[i]`` (arrays, tensors, numbers). Two folds of one corpus train on
    different rows, so their digests differ: part of the checkpoint fingerprint, it keeps a
    checkpoint from ever being resumed by another fold's (or another data set's) training.
    """
    digest = hashlib.blake2b(digest_size=8)
    frames, labels = getattr(dataset, "frames", None), getattr(dataset, "labels", None)
    if frames is not None and labels is not None:
        items: Any = zip(frames, np.asarray(labels).tolist(), strict=True)
    else:
        items = (dataset[i] for i in range(len(dataset)))
    digest.update(f"{len(dataset)}".encode())
    for item in items:
        _feed(digest, item)
    return digest.hexdigest()


def fit_fingerprint(module: nn.Module, train_data: Any, val_data: Any | None) -> dict[str, Any]:
    """What a checkpoint must match to be resumed: the module's class and parameter shapes,
    and the content of the training and validation items (:func:`data_digest`)."""
    return {
        "module": f"{type(module).__module__}.{type(module).__qualname__}",
        "parameters": [[k, list(v.shape)] for k, v in module.state_dict().items()],
        "n_train": len(train_data),
        "n_val": len(val_data) if val_data else 0,
        "train_data": data_digest(train_data),
        "val_data": data_digest(val_data) if val_data else None,
    }


def mismatch(saved: dict[str, Any], now: dict[str, Any]) -> str:
    """Which part of two checkpoint fingerprints differs, in words."""
    if saved.get("module") != now["module"] or saved.get("parameters") != now["parameters"]:
        return f"saved {saved.get('module')}, now {now['module']} (or other parameter shapes)"
    sizes = (
        f"saved {saved.get('n_train')}/{saved.get('n_val')}, now {now['n_train']}/{now['n_val']}"
    )
    return f"other training/validation items ({sizes} items; content hashes differ)"


def read_progress(checkpoint_dir: str | os.PathLike) -> dict[str, Any] | None:
    """``{"epoch": last finished epoch, "done": bool}`` of a checkpoint folder, or ``None``."""
    path = Path(checkpoint_dir) / PROGRESS
    return json.loads(path.read_text()) if path.exists() else None


def cpu_state(module: nn.Module) -> dict[str, torch.Tensor]:
    """A detached CPU copy of ``module``'s state dict."""
    return {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}


def write_checkpoint(
    ckpt_dir: Path,
    epoch: int,
    module: nn.Module,
    opt: Any,
    sched: Any,
    state: dict[str, Any],
    fingerprint: dict[str, Any],
) -> None:
    """Write ``last.pt`` then ``progress.json`` of epoch ``epoch`` into ``ckpt_dir``, atomically."""
    payload = {
        "epoch": epoch,
        "model": cpu_state(module),
        "optimizer": opt.state_dict(),
        "scheduler": sched.state_dict() if sched is not None else None,
        "rng": {
            "python": random.getstate(),
            "numpy": _numpy_rng_state(),
            "torch": torch.get_rng_state(),
        },
        "fingerprint": fingerprint,
        **state,
        "best_key": list(state["best_key"]),
    }
    with atomic_path(ckpt_dir / CHECKPOINT) as tmp:
        torch.save(_plain_numbers(payload), tmp)  # readable with weights_only=True
    atomic_write_json(ckpt_dir / PROGRESS, {"epoch": epoch, "done": bool(state["done"])})


def read_checkpoint(path: Path) -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True`` (no code runs).

    Raises:
        ConfigError: the file is damaged or was written by an older serkit (numpy objects).
    """
    import pickle
    import zipfile

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile) as exc:
        raise ConfigError(
            f"{path}: checkpoint cannot be read as plain tensors ({type(exc).__name__}; damaged, "
            "or written by an older serkit); delete its folder to train that fit from the start"
        ) from exc


def _plain_numbers(value: Any) -> Any:
    """numpy scalars as Python numbers, recursively (``torch.load(weights_only=True)`` reads
    tensors and plain containers only)."""
    if isinstance(value, dict):
        return {k: _plain_numbers(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_plain_numbers(v) for v in value)
    return value.item() if isinstance(value, np.generic) else value


def _numpy_rng_state() -> tuple[Any, ...]:
    """``np.random.get_state()`` with its key array as a tensor (see :func:`_plain_numbers`)."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return (name, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached)


def set_numpy_rng_state(saved: tuple[Any, ...]) -> None:
    """Restore what :func:`_numpy_rng_state` saved."""
    name, keys, pos, has_gauss, cached = saved
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
