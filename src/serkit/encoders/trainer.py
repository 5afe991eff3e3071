"""The one pretraining loop of every encoder family, checkpointed after every epoch.

Each epoch takes the family's batches (:meth:`~serkit.encoders.base.EncoderNet.batch_indices`,
from a generator seeded by ``(seed, epoch)``), pads (and, for families with
``segment_frames``, randomly crops and pads) them with :func:`serkit.models.data.pad_sequences`,
steps Adam on :meth:`~serkit.encoders.base.EncoderNet.loss` with gradient-norm clipping, and
writes ``last.pt`` + ``progress.json`` with :mod:`serkit.models.checkpoints` (model, optimiser,
RNG states, history; fingerprint = the net's parameter shapes and a content hash of the training
frames, labels and conditioning vectors). Started again on the same folder, it resumes after
the last finished epoch and ends with the weights of an uninterrupted run.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from serkit.errors import ConfigError


@dataclass(frozen=True)
class TrainOptions:
    """Options of :func:`train_encoder` (the ``training`` section of a pretrain config)."""

    epochs: int = 20
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    seed: int = 0
    device: str = "cpu"
    num_threads: int | None = None

    def __post_init__(self) -> None:
        for key in ("epochs", "batch_size"):
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"training.{key} must be a positive integer, found {value!r}")
        for key in ("lr", "weight_decay", "grad_clip"):
            value = getattr(self, key)
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"training.{key} must be a number >= 0, found {value!r}")
        if self.lr <= 0:
            raise ConfigError(f"training.lr must be > 0, found {self.lr}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _batch(
    frames: list[np.ndarray], idx: np.ndarray, segment: int | None, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded ``x`` ``(batch, frames, dim)`` and ``lengths``; random crops of ``segment`` frames
    (shorter rows zero-padded up to it)."""
    from serkit.models.data import pad_sequences

    x, lengths = pad_sequences([frames[i] for i in idx], max_frames=segment, rng=rng)
    if segment is not None and x.shape[1] < segment:
        x = torch.nn.functional.pad(x, (0, 0, 0, segment - x.shape[1]))
    return x, lengths


def fingerprint(
    net: torch.nn.Module,
    frames: list[np.ndarray],
    labels: np.ndarray | None,
    cond: np.ndarray | None,
    options: TrainOptions,
    targets: np.ndarray | None = None,
) -> dict[str, Any]:
    """What a checkpoint must match to be resumed (see the module docstring)."""
    from serkit.models.checkpoints import data_digest, fit_fingerprint
    from serkit.models.data import SequenceDataset

    out = fit_fingerprint(net, SequenceDataset(frames, labels), None)
    out["cond"] = None if cond is None else data_digest(np.asarray(cond, np.float32))
    if targets is not None:  # absent key for families without extra targets (old checkpoints)
        out["targets"] = data_digest(np.nan_to_num(np.asarray(targets, np.float32), nan=-1.0))
    out["options"] = {k: v for k, v in options.to_dict().items() if k != "num_threads"}
    return out


def train_encoder(
    net: Any,
    frames: list[np.ndarray],
    *,
    labels: np.ndarray | None = None,
    cond: np.ndarray | None = None,
    targets: np.ndarray | None = None,
    options: TrainOptions = TrainOptions(),
    checkpoint_dir: str | Path | None = None,
    log: Callable[[str], None] | None = None,
    stop_after_epochs: int | None = None,
) -> list[dict[str, Any]]:
    """Train ``net`` in place; return its per-epoch history.

    Args:
        net: a family instance (:class:`~serkit.encoders.base.EncoderNet`), freshly built after
            seeding (the caller seeds with ``options.seed`` before building it).
        frames: ``n`` normalised ``(frames_i, input_dim)`` arrays.
        labels: ``(n,)`` class indices (families with ``uses_labels``), else ``None``.
        cond: ``(n, cond_dim)`` conditioning vectors, or ``None``.
        targets: ``(n, len(net.target_columns))`` extra per-row targets (NaN: missing) of a
            family that declares ``target_columns``; passed to its loss as ``targets``
            ``(batch, k)``. ``None``: the loss gets no ``targets`` (the family then trains
            without them).
        options: epochs, batch size, learning rate, ...
        checkpoint_dir: write ``last.pt`` / ``progress.json`` here after every epoch and resume
            from them (``None``: no checkpoints).
        log: called with one line per epoch.
        stop_after_epochs: stop after this many new epochs (tests); the checkpoint remains.

    Returns:
        ``[{"epoch", "loss", <parts>..., "seconds"}, ...]`` for every finished epoch.

    Raises:
        ConfigError: the checkpoint belongs to another training, or the family's loss is not
            finite.
    """
    from serkit.models.checkpoints import (
        CHECKPOINT,
        mismatch,
        read_checkpoint,
        set_numpy_rng_state,
        write_checkpoint,
    )
    from serkit.models.options import make_optimizer
    from serkit.models.training import resolve_device

    log = log or (lambda _line: None)
    if options.num_threads:
        torch.set_num_threads(int(options.num_threads))
    n = len(frames)
    if net.uses_labels and labels is None:
        raise ConfigError(f"encoder family {type(net).__name__} trains on labels; none given")
    columns = tuple(getattr(net, "target_columns", ()) or ())
    if columns and targets is not None and np.shape(targets) != (n, len(columns)):
        raise ConfigError(
            f"encoder family {type(net).__name__} trains on the per-row targets {columns}: "
            f"pass targets of shape ({n}, {len(columns)}), found {np.shape(targets)}"
        )
    device = resolve_device(options.device)
    net.to(device)
    opt = make_optimizer("adam", net.parameters(), options.lr, options.weight_decay)
    ckpt = Path(checkpoint_dir) if checkpoint_dir is not None else None
    fp = fingerprint(net, frames, labels, cond, options, targets) if ckpt is not None else {}
    history: list[dict[str, Any]] = []
    start = 1
    if ckpt is not None and (ckpt / CHECKPOINT).exists():
        saved = read_checkpoint(ckpt / CHECKPOINT)
        if saved["fingerprint"] != fp:
            raise ConfigError(
                f"{ckpt / CHECKPOINT}: checkpoint belongs to a different pretraining "
                f"({mismatch(saved['fingerprint'], fp)}); delete the folder or pretrain under "
                "another name"
            )
        net.load_state_dict(saved["model"])
        opt.load_state_dict(saved["optimizer"])
        history = list(saved["history"])
        random.setstate(saved["rng"]["python"])
        set_numpy_rng_state(saved["rng"]["numpy"])
        torch.set_rng_state(saved["rng"]["torch"])
        start = int(saved["epoch"]) + 1
        if start <= options.epochs:
            log(f"resuming after epoch {saved['epoch']} ({ckpt})")
    batch_labels = labels if labels is not None else np.zeros(n, dtype=np.int64)
    segment = getattr(net, "segment_frames", None)
    done_now = 0
    for epoch in range(start, options.epochs + 1):
        began = time.perf_counter()
        rng = np.random.default_rng([options.seed, epoch])
        net.train()
        sums: dict[str, float] = {}
        seen = 0
        for idx in net.batch_indices(batch_labels, options.batch_size, rng):
            idx = np.asarray(idx)
            if len(idx) == 0:
                continue
            x, lengths = _batch(frames, idx, segment, rng)
            y = None if labels is None else torch.as_tensor(labels[idx], dtype=torch.int64)
            c = None if cond is None else torch.as_tensor(cond[idx], dtype=torch.float32)
            extra = {}
            if columns and targets is not None:
                t = torch.as_tensor(np.asarray(targets)[idx], dtype=torch.float32)
                extra["targets"] = t.to(device)
            loss, parts = net.loss(
                x.to(device),
                lengths.to(device),
                labels=None if y is None else y.to(device),
                cond=None if c is None else c.to(device),
                **extra,
            )
            if not torch.isfinite(loss):
                raise ConfigError(
                    f"encoder family {type(net).__name__}: loss is {float(loss)} at epoch "
                    f"{epoch}; lower training.lr (now {options.lr}) or check the features"
                )
            opt.zero_grad()
            loss.backward()
            if options.grad_clip:
                torch.nn.utils.clip_grad_norm_(net.parameters(), options.grad_clip)
            opt.step()
            for key, value in {"loss": loss.item(), **parts}.items():
                sums[key] = sums.get(key, 0.0) + float(value) * len(idx)
            seen += len(idx)
        row = {"epoch": epoch, **{k: v / max(seen, 1) for k, v in sums.items()}}
        row["seconds"] = round(time.perf_counter() - began, 3)
        history.append(row)
        parts_text = ", ".join(f"{k} {v:.4g}" for k, v in row.items() if k not in ("epoch",))
        log(f"epoch {epoch}/{options.epochs}: {parts_text}")
        if ckpt is not None:
            ckpt.mkdir(parents=True, exist_ok=True)
            state = {"history": history, "best_key": [], "done": epoch == options.epochs}
            write_checkpoint(ckpt, epoch, net, opt, None, state, fp)
        done_now += 1
        if stop_after_epochs is not None and done_now >= stop_after_epochs:
            break
    net.cpu()
    net.eval()
    return history
