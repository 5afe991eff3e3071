"""The one training loop of serkit's neural models: seeded, checkpointed, resumable, DDP-ready.

:func:`train_module` trains any ``nn.Module`` classifier on a torch ``Dataset``:

* every epoch starts by reseeding torch / numpy / random from ``(seed, epoch, rank)`` and the
  shuffling sampler from ``(seed, epoch)``, so an epoch is the same whether or not the run was
  interrupted before it;
* loss = class-weighted cross-entropy (``class_weights``) unless ``loss_fn`` is given (a batch
  with ``y_mix`` and ``mix_weight``, from mixup, gets the same blend of both labels' losses);
  gradient-norm clipping (``grad_clip``); AdamW / Adam / SGD; LR schedule ``"plateau"``
  (on validation loss), ``"cosine"`` or ``"none"``;
* early stopping on validation UAR (:func:`serkit.metrics.uar`; ties: lower validation loss)
  with ``patience`` epochs, and the best-validation weights are loaded into the module at the
  end;
* with ``checkpoint_dir``, a checkpoint ``last.pt`` (model, optimizer, scheduler, RNG states,
  history, best weights, early-stopping state) plus ``progress.json`` is written atomically
  after EVERY epoch; with ``resume=True`` a rerun continues after the last finished epoch (a
  finished run returns at once). The checkpoint's fingerprint holds the module's parameter
  shapes and a content hash of the training and validation items, so a folder is never
  resumed by another fold's training (that is an error; see :mod:`serkit.models.checkpoints`);
* under ``torchrun`` (call :func:`~serkit.models.distributed.init_distributed` at the entry
  point first) the module is wrapped in ``DistributedDataParallel``, the training data is
  sharded with ``DistributedSampler``, buffers are re-broadcast from rank 0 after each epoch,
  every rank evaluates the full validation set (identical weights give identical decisions)
  and only rank 0 writes checkpoints.

The caller builds (and so initialises) the module: call :func:`seed_everything` before building
it for reproducible weights (``NeuralClassifier.fit`` does).

Hooks for nets with other batch layouts (segment models, two-stage models):

* ``collate_fn`` / ``eval_collate_fn``: build batch dicts from dataset items (default
  :class:`~serkit.models.data.PadCollate`: ``{"x", "lengths", "y"}``). A collate with a
  ``set_epoch(epoch, rank)`` method is reseeded every epoch.
* ``forward_fn(module, batch) -> logits (batch, classes)``: default
  ``module(batch["x"], batch["lengths"])``. For evaluation it must return one row of logits
  per labelled example in ``batch["y"]`` (e.g. pool segment logits per utterance there).
* ``loss_fn(logits, batch) -> scalar loss``: default weighted cross-entropy on ``batch["y"]``.
* ``on_epoch(entry)``: called on every rank after each epoch's checkpoint is written with the
  history entry ``{epoch, train_loss, val_loss, val_uar, lr, seconds}``.

Example::

    result = train_module(net, SequenceDataset(frames, y), SequenceDataset(vf, vy),
                          epochs=20, lr=1e-3, checkpoint_dir="ckpt/fold1")
    result.history[-1]["val_uar"]
"""

from __future__ import annotations

import copy
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from serkit import metrics
from serkit.errors import ConfigError
from serkit.models.checkpoints import (
    CHECKPOINT,
    cpu_state,
    fit_fingerprint,
    mismatch,
    read_checkpoint,
    set_numpy_rng_state,
    write_checkpoint,
)
from serkit.models.data import PadCollate
from serkit.models.distributed import dist_info
from serkit.models.options import check_options, make_optimizer, make_scheduler

Batch = dict[str, torch.Tensor]
ForwardFn = Callable[[nn.Module, Batch], torch.Tensor]
LossFn = Callable[[torch.Tensor, Batch], torch.Tensor]


@dataclass
class TrainResult:
    """What :func:`train_module` returns (the module itself holds the best weights)."""

    history: list[dict[str, Any]]
    best_epoch: int
    stopped_early: bool
    resumed_from: int | None = None
    best_state: dict[str, torch.Tensor] = field(default_factory=dict, repr=False)


# --------------------------------------------------------------------------- environment


def seed_everything(*seed: int) -> None:
    """Seed python, numpy and torch (CPU and CUDA) from one or more integers."""
    value = int(np.random.SeedSequence(list(seed)).generate_state(1)[0])
    random.seed(value)
    np.random.seed(value)
    torch.manual_seed(value)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> current CUDA device when available, else CPU; ``"cpu"``/``"cuda[:i]"``."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"device {device!r} asked for but CUDA is not available; use 'cpu'")
        if device == "cuda":
            return torch.device("cuda", torch.cuda.current_device())
    if device not in ("cpu",) and not device.startswith("cuda"):
        raise ConfigError(f"unknown device {device!r}; expected 'auto', 'cpu' or 'cuda[:i]'")
    return torch.device(device)


# --------------------------------------------------------------------------- metrics / eval


def default_forward(module: nn.Module, batch: Batch) -> torch.Tensor:
    """``module(batch["x"], batch["lengths"])``."""
    return module(batch["x"], batch["lengths"])


def _to_device(batch: Batch, device: torch.device) -> Batch:
    return {
        k: (v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v)
        for k, v in batch.items()
    }


def _eval_order(dataset: Any) -> list[int]:
    frames = getattr(dataset, "frames", None)
    if frames is None:
        return list(range(len(dataset)))
    return np.argsort([len(f) for f in frames], kind="stable").tolist()


@torch.no_grad()
def predict_logits(
    module: nn.Module,
    dataset: Any,
    *,
    batch_size: int = 32,
    collate_fn: Callable | None = None,
    forward_fn: ForwardFn | None = None,
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """Logits ``(n, classes)`` of every item of ``dataset`` in dataset order (eval mode).

    Items are batched by length (when the dataset has ``frames``) to limit padding.
    """
    device = resolve_device(device)
    collate_fn = collate_fn or PadCollate(None, train=False)
    forward_fn = forward_fn or default_forward
    was_training = module.training
    module.eval()
    order = _eval_order(dataset)
    out: np.ndarray | None = None
    for start in range(0, len(order), batch_size):
        index = order[start : start + batch_size]
        batch = _to_device(collate_fn([dataset[i] for i in index]), device)
        logits = forward_fn(module, batch).float().cpu().numpy()
        if out is None:
            out = np.zeros((len(dataset), logits.shape[1]), dtype=np.float32)
        out[index] = logits
    module.train(was_training)
    return out if out is not None else np.zeros((0, 0), dtype=np.float32)


def _labels(dataset: Any) -> np.ndarray:
    labels = getattr(dataset, "labels", None)
    if labels is not None:
        return np.asarray(labels)
    return np.array([int(dataset[i][1]) for i in range(len(dataset))])


# --------------------------------------------------------------------------- the loop


def train_module(
    module: nn.Module,
    train_data: Any,
    val_data: Any | None,
    *,
    epochs: int = 30,
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
    optimizer: str = "adamw",
    scheduler: str = "plateau",
    patience: int | None = 8,
    grad_clip: float | None = 5.0,
    batch_size: int = 32,
    class_weights: np.ndarray | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
    collate_fn: Callable | None = None,
    eval_collate_fn: Callable | None = None,
    forward_fn: ForwardFn | None = None,
    loss_fn: LossFn | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    resume: bool = True,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> TrainResult:
    """Train ``module`` in place and load its best-validation weights.

    Args:
        module: an ``nn.Module``; with the default hooks ``module(x, lengths) -> logits``.
        train_data: a torch ``Dataset`` (default items ``(frames (T, dim), label)``).
        val_data: same for validation, or ``None`` (no early stopping; last epoch is kept).
        epochs: maximum number of epochs (0: train nothing, keep the module as built).
        lr: learning rate.
        weight_decay: optimizer weight decay.
        optimizer: ``"adamw"``, ``"adam"`` or ``"sgd"`` (Nesterov momentum 0.9).
        scheduler: ``"plateau"`` (halve on a validation-loss plateau), ``"cosine"`` or
            ``"none"``.
        patience: stop after this many epochs without a better validation UAR (``None``:
            never).
        grad_clip: max gradient norm (``None``: no clipping).
        batch_size: training and evaluation batch size (per process under DDP).
        class_weights: ``(classes,)`` cross-entropy weights, or ``None``.
        seed: base seed.
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or a ``torch.device``.
        collate_fn: training collate (default ``PadCollate(None, train=True, seed=seed)``).
        eval_collate_fn: evaluation collate (default ``PadCollate(None, train=False)``).
        forward_fn: ``(module, batch) -> logits``; see the module docstring.
        loss_fn: ``(logits, batch) -> loss``; see the module docstring.
        checkpoint_dir: folder for ``last.pt`` / ``progress.json`` (``None``: no checkpoints).
        resume: continue from ``checkpoint_dir/last.pt`` when it exists.
        on_epoch: callback receiving each epoch's history entry.

    Returns:
        :class:`TrainResult` (history, best epoch, whether it stopped early, the epoch it
        resumed after).

    Raises:
        ConfigError: bad options, or a checkpoint that belongs to a different training.
    """
    check_options(
        epochs=epochs,
        lr=lr,
        weight_decay=weight_decay,
        batch_size=batch_size,
        optimizer=optimizer,
        scheduler=scheduler,
        patience=patience,
        grad_clip=grad_clip,
    )
    if len(train_data) == 0:
        raise ConfigError("train_module() got an empty training set")
    distributed, rank, world = dist_info()
    device = resolve_device(device)
    module.to(device)
    forward_fn = forward_fn or default_forward
    collate_fn = collate_fn or PadCollate(None, train=True, seed=seed)
    eval_collate_fn = eval_collate_fn or PadCollate(None, train=False)
    if loss_fn is None:
        weight = None
        if class_weights is not None:
            weight = torch.as_tensor(np.asarray(class_weights), dtype=torch.float32).to(device)
        criterion = nn.CrossEntropyLoss(weight=weight)

        def loss_fn(logits: torch.Tensor, batch: Batch) -> torch.Tensor:
            if "y_mix" in batch:  # mixup: the blend of the two labels' losses
                lam = float(batch["mix_weight"])
                return lam * criterion(logits, batch["y"]) + (1 - lam) * criterion(
                    logits, batch["y_mix"]
                )
            return criterion(logits, batch["y"])

    model: nn.Module = module
    if distributed:
        from torch.nn.parallel import DistributedDataParallel

        ids = [device.index] if device.type == "cuda" else None
        model = DistributedDataParallel(module, device_ids=ids)
    opt = make_optimizer(optimizer, module.parameters(), lr, weight_decay)
    sched = make_scheduler(scheduler, opt, epochs, patience)

    state: dict[str, Any] = {
        "history": [],
        "best_state": cpu_state(module),
        "best_key": (-np.inf, np.inf),
        "best_epoch": 0,
        "bad_epochs": 0,
        "done": False,
        "stopped_early": False,
    }
    ckpt_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
    fingerprint = fit_fingerprint(module, train_data, val_data) if ckpt_dir is not None else {}
    start_epoch, resumed_from = 1, None
    if ckpt_dir is not None and resume and (ckpt_dir / CHECKPOINT).exists():
        saved = read_checkpoint(ckpt_dir / CHECKPOINT)
        if saved["fingerprint"] != fingerprint:
            raise ConfigError(
                f"{ckpt_dir / CHECKPOINT}: checkpoint belongs to a different training "
                f"({mismatch(saved['fingerprint'], fingerprint)}); delete the folder, use "
                "another checkpoint_dir (one per fold), or pass resume=False"
            )
        module.load_state_dict(saved["model"])
        opt.load_state_dict(saved["optimizer"])
        if sched is not None and saved.get("scheduler") is not None:
            sched.load_state_dict(saved["scheduler"])
        for key in state:
            state[key] = saved[key]
        state["best_key"] = tuple(state["best_key"])
        random.setstate(saved["rng"]["python"])
        set_numpy_rng_state(saved["rng"]["numpy"])
        torch.set_rng_state(saved["rng"]["torch"])
        resumed_from = int(saved["epoch"])
        start_epoch = resumed_from + 1

    if not state["done"]:
        sampler = None
        if distributed:
            from torch.utils.data.distributed import DistributedSampler

            sampler = DistributedSampler(
                train_data, num_replicas=world, rank=rank, shuffle=True, seed=seed
            )
        for epoch in range(start_epoch, epochs + 1):
            started = time.perf_counter()
            seed_everything(seed, epoch, rank)
            if sampler is not None:
                sampler.set_epoch(epoch)
                loader_sampler: Any = sampler
            else:
                gen = torch.Generator().manual_seed(int(seed) * 100003 + epoch)
                loader_sampler = torch.utils.data.RandomSampler(train_data, generator=gen)
            if hasattr(collate_fn, "set_epoch"):
                collate_fn.set_epoch(epoch, rank)
            loader = torch.utils.data.DataLoader(
                train_data, batch_size=batch_size, sampler=loader_sampler, collate_fn=collate_fn
            )
            model.train()
            total = torch.zeros(2, dtype=torch.float64)
            for batch in loader:
                batch = _to_device(batch, device)
                logits = forward_fn(model, batch)
                loss = loss_fn(logits, batch)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if grad_clip:
                    nn.utils.clip_grad_norm_(module.parameters(), grad_clip)
                opt.step()
                n = len(batch["y"]) if "y" in batch else 1
                total += torch.tensor([float(loss.detach()) * n, n], dtype=torch.float64)
            if distributed:
                import torch.distributed as dist

                dist.all_reduce(total)
                for buf in module.buffers():
                    dist.broadcast(buf, 0)
            train_loss = float(total[0] / max(total[1], 1))
            val_loss, val_uar = float("nan"), float("nan")
            if val_data is not None and len(val_data):
                val_loss, val_uar = _evaluate(
                    module, val_data, batch_size, eval_collate_fn, forward_fn, loss_fn, device
                )
            lr_now = float(opt.param_groups[0]["lr"])
            if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
                sched.step(val_loss if np.isfinite(val_loss) else train_loss)
            elif sched is not None:
                sched.step()
            entry = {
                "epoch": epoch,
                "train_loss": train_loss,
                "val_loss": val_loss,
                "val_uar": val_uar,
                "lr": lr_now,
                "seconds": round(time.perf_counter() - started, 4),
            }
            state["history"].append(entry)
            key = (val_uar, -val_loss) if np.isfinite(val_uar) else (epoch, 0.0)
            if key > state["best_key"]:
                state.update(best_key=key, best_epoch=epoch, bad_epochs=0)
                state["best_state"] = cpu_state(module)
            else:
                state["bad_epochs"] += 1
            stop = bool(
                np.isfinite(val_uar) and patience is not None and state["bad_epochs"] >= patience
            )
            if stop or epoch == epochs:
                state["done"] = True
                state["stopped_early"] = stop and epoch < epochs
            if ckpt_dir is not None and rank == 0:
                write_checkpoint(ckpt_dir, epoch, module, opt, sched, state, fingerprint)
            if distributed:
                import torch.distributed as dist

                dist.barrier()
            if on_epoch is not None:
                on_epoch(dict(entry))
            if stop:
                break
    module.load_state_dict(state["best_state"])
    return TrainResult(
        history=copy.deepcopy(state["history"]),
        best_epoch=int(state["best_epoch"]),
        stopped_early=bool(state["stopped_early"]),
        resumed_from=resumed_from,
        best_state=state["best_state"],
    )


@torch.no_grad()
def _evaluate(
    module: nn.Module,
    data: Any,
    batch_size: int,
    collate_fn: Callable,
    forward_fn: ForwardFn,
    loss_fn: LossFn,
    device: torch.device,
) -> tuple[float, float]:
    was_training = module.training
    module.eval()
    order = _eval_order(data)
    losses, preds, trues = [], [], []
    for start in range(0, len(order), batch_size):
        batch = _to_device(collate_fn([data[i] for i in order[start : start + batch_size]]), device)
        logits = forward_fn(module, batch)
        losses.append(float(loss_fn(logits, batch)) * len(batch["y"]))
        preds.append(logits.argmax(dim=1).cpu().numpy())
        trues.append(batch["y"].cpu().numpy())
    module.train(was_training)
    y_true, y_pred = np.concatenate(trues), np.concatenate(preds)
    labels = np.union1d(y_true, y_pred)
    return float(np.sum(losses) / len(y_true)), metrics.uar(y_true, y_pred, labels)
