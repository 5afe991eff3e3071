"""The one pretraining loop of every encoder family, checkpointed after every epoch.

Each epoch takes the family's batches (:meth:`~serkit.encoders.base.EncoderNet.batch_indices`,
from a generator seeded by ``(seed, epoch)``), pads (and, for families with
``segment_frames``, randomly crops and pads) them with :func:`serkit.models.data.pad_sequences`,
steps Adam on :meth:`~serkit.encoders.base.EncoderNet.loss` with gradient-norm clipping, and
writes ``last.pt`` + ``progress.json`` with :mod:`serkit.models.checkpoints` (model, optimiser,
RNG states, history; fingerprint = the net's parameter shapes and a content hash of the training
frames, labels and conditioning vectors). Started again on the same folder, it resumes after
the last finished epoch and ends with the weights of an uninterrupted run.

With validation rows (:class:`ValidationRows`, whole speakers held out by
:mod:`serkit.encoders.validation`), every epoch ends with the family's loss on them (eval
mode, no gradient, the same crops every epoch); the net keeps the weights of the epoch with
the lowest validation loss and, with ``patience``, stops after that many epochs without a
lower one (:func:`fit_encoder`). The checkpoint then also holds the best weights, the best
epoch and the patience counter, and the validation rows enter its fingerprint.
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
    #: validation speakers (:mod:`serkit.encoders.validation`): ``{"speakers": [...]}`` or
    #: ``{"fraction": f, "seed": s}``; ``None``: train on every row, keep the last weights
    validation: dict[str, Any] | None = None
    #: epochs without a validation loss lower than the best by more than ``min_delta``
    #: before the training stops (``None``: run all ``epochs``, still keep the best weights)
    patience: int | None = None
    min_delta: float | None = None  # None: 0.0

    def __post_init__(self) -> None:
        from serkit.encoders.validation import check_validation

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
        object.__setattr__(self, "validation", check_validation(self.validation))
        p = self.patience
        if p is not None and (not isinstance(p, int) or isinstance(p, bool) or p < 1):
            raise ConfigError(
                f"training.patience must be a positive integer (epochs without a lower "
                f"validation loss before stopping) or null, found {p!r}"
            )
        d = self.min_delta
        if d is not None and (not isinstance(d, int | float) or isinstance(d, bool) or d < 0):
            raise ConfigError(f"training.min_delta must be a number >= 0, found {d!r}")

    def to_dict(self) -> dict[str, Any]:
        """The options as a dict; ``validation``, ``patience`` and ``min_delta`` only when set
        (so configs and checkpoints without them keep their fingerprints)."""
        out = asdict(self)
        for key in OPTIONAL:
            if out[key] is None:
                del out[key]
        return out


#: options absent from :meth:`TrainOptions.to_dict` while unset
OPTIONAL = ("validation", "patience", "min_delta")


@dataclass(frozen=True)
class ValidationRows:
    """The validation rows of a training, prepared like its training rows.

    Attributes:
        frames: ``m`` normalised ``(frames_i, input_dim)`` arrays (the training rows'
            normaliser applied).
        labels: ``(m,)`` class indices (families with ``uses_labels``), else ``None``.
        cond: ``(m, cond_dim)`` conditioning vectors, or ``None``.
        targets: ``(m, k)`` extra targets (families with ``target_columns``), or ``None``.
    """

    frames: list[np.ndarray]
    labels: np.ndarray | None = None
    cond: np.ndarray | None = None
    targets: np.ndarray | None = None


@dataclass
class EncoderFit:
    """What :func:`fit_encoder` returns (the net itself holds the kept weights).

    Attributes:
        history: per finished epoch ``{"epoch", "loss", <parts>, ["val_loss", "val_<part>"],
            "seconds"}``.
        done: the training finished (all epochs, or stopped early); ``False`` when
            ``stop_after_epochs`` interrupted it (its checkpoint remains).
        best_epoch: the epoch whose weights the net holds with validation (lowest
            ``val_loss``, the earliest on ties); the last epoch without.
        best_val_loss: that epoch's validation loss (``None`` without validation).
        stopped_early: ``patience`` epochs passed without improvement before ``epochs``.
    """

    history: list[dict[str, Any]]
    done: bool
    best_epoch: int
    best_val_loss: float | None = None
    stopped_early: bool = False

    @property
    def epochs_run(self) -> int:
        return len(self.history)


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
    validation: ValidationRows | None = None,
) -> dict[str, Any]:
    """What a checkpoint must match to be resumed (see the module docstring)."""
    from serkit.models.checkpoints import data_digest, fit_fingerprint
    from serkit.models.data import SequenceDataset

    out = fit_fingerprint(net, SequenceDataset(frames, labels), None)
    out["cond"] = None if cond is None else data_digest(np.asarray(cond, np.float32))
    if targets is not None:  # absent key for families without extra targets (old checkpoints)
        out["targets"] = data_digest(np.nan_to_num(np.asarray(targets, np.float32), nan=-1.0))
    out["options"] = {k: v for k, v in options.to_dict().items() if k != "num_threads"}
    if validation is not None:  # absent key without validation rows (old checkpoints)
        v = validation
        out["validation"] = {
            "n": len(v.frames),
            "data": data_digest(SequenceDataset(v.frames, _row_labels(v.labels, len(v.frames)))),
            "cond": None if v.cond is None else data_digest(np.asarray(v.cond, np.float32)),
            "targets": None
            if v.targets is None
            else data_digest(np.nan_to_num(np.asarray(v.targets, np.float32), nan=-1.0)),
        }
    return out


def _row_labels(labels: np.ndarray | None, n: int) -> np.ndarray:
    return np.asarray(labels) if labels is not None else np.zeros(n, dtype=np.int64)


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
    """Train ``net`` in place on all its rows; return its per-epoch history
    (:func:`fit_encoder` without validation rows)."""
    return fit_encoder(
        net,
        frames,
        labels=labels,
        cond=cond,
        targets=targets,
        options=options,
        checkpoint_dir=checkpoint_dir,
        log=log,
        stop_after_epochs=stop_after_epochs,
    ).history


def _batch_loss(
    net: Any,
    rows: ValidationRows,
    idx: np.ndarray,
    segment: int | None,
    rng: np.random.Generator,
    device: torch.device,
) -> tuple[torch.Tensor, dict[str, float]]:
    """The family's ``(loss, parts)`` on rows ``idx`` of ``rows`` (the training rows or the
    validation rows, in the same container; ``targets`` ``None`` where the family takes none)."""
    x, lengths = _batch(rows.frames, idx, segment, rng)
    extra = {}
    if rows.targets is not None:
        t = torch.as_tensor(np.asarray(rows.targets)[idx], dtype=torch.float32)
        extra["targets"] = t.to(device)
    y = None if rows.labels is None else torch.as_tensor(rows.labels[idx], dtype=torch.int64)
    c = None if rows.cond is None else torch.as_tensor(rows.cond[idx], dtype=torch.float32)
    return net.loss(
        x.to(device),
        lengths.to(device),
        labels=None if y is None else y.to(device),
        cond=None if c is None else c.to(device),
        **extra,
    )


def _validation_loss(
    net: Any,
    rows: ValidationRows,
    options: TrainOptions,
    device: torch.device,
    columns: tuple[str, ...],
) -> dict[str, float]:
    """``{"val_loss", "val_<part>"}``: the family's loss on the validation rows (row-weighted
    mean over batches), in eval mode, without gradient, with the same batches, crops and torch
    random draws every epoch (a generator and a torch seed of their own, so the training's
    random streams are left as they were)."""
    segment = getattr(net, "segment_frames", None)
    labels = _row_labels(rows.labels, len(rows.frames))
    rng = np.random.default_rng([options.seed, 0])  # the epochs draw from (seed, epoch >= 1)
    try:
        batches = net.batch_indices(labels, options.batch_size, rng)
    except ValueError as exc:
        raise ConfigError(
            f"training.validation: encoder family {type(net).__name__} cannot batch the "
            f"validation rows ({exc}); choose other validation speakers"
        ) from None
    devices = [device.index or 0] if device.type == "cuda" else []
    given = ValidationRows(rows.frames, rows.labels, rows.cond, rows.targets if columns else None)
    sums: dict[str, float] = {}
    seen = 0
    net.eval()
    with torch.no_grad(), torch.random.fork_rng(devices=devices):
        torch.manual_seed(options.seed)
        for idx in batches:
            idx = np.asarray(idx)
            if len(idx) == 0:
                continue
            loss, parts = _batch_loss(net, given, idx, segment, rng, device)
            for key, value in {"loss": loss.item(), **parts}.items():
                sums[key] = sums.get(key, 0.0) + float(value) * len(idx)
            seen += len(idx)
    return {f"val_{k}": v / max(seen, 1) for k, v in sums.items()}


def _check_validation(net: Any, validation: ValidationRows | None, options: TrainOptions) -> None:
    """Validation rows where the options select on them, shaped like the training rows."""
    name = type(net).__name__
    if validation is None:
        given = [k for k in OPTIONAL if getattr(options, k) is not None]
        if given:
            raise ConfigError(
                f"training.{given[0]} selects on validation rows and none were given: pass "
                "validation=ValidationRows(...) (serkit.encoders.pretrain takes them from "
                "training.validation), or remove training." + given[0]
            )
        return
    m = len(validation.frames)
    if m == 0:
        raise ConfigError("training.validation: no validation rows; choose other speakers")
    if net.uses_labels and validation.labels is None:
        raise ConfigError(f"encoder family {name} trains on labels; the validation rows have none")
    columns = tuple(getattr(net, "target_columns", ()) or ())
    shape = None if validation.targets is None else np.shape(validation.targets)
    if columns and shape is not None and shape != (m, len(columns)):
        raise ConfigError(
            f"encoder family {name}: validation targets must have shape ({m}, {len(columns)}), "
            f"found {np.shape(validation.targets)}"
        )


def fit_encoder(
    net: Any,
    frames: list[np.ndarray],
    *,
    labels: np.ndarray | None = None,
    cond: np.ndarray | None = None,
    targets: np.ndarray | None = None,
    validation: ValidationRows | None = None,
    options: TrainOptions = TrainOptions(),
    checkpoint_dir: str | Path | None = None,
    log: Callable[[str], None] | None = None,
    stop_after_epochs: int | None = None,
) -> EncoderFit:
    """Train ``net`` in place; with ``validation``, keep the weights of its best epoch.

    With validation rows, each epoch ends with the family's loss on them
    (:func:`_validation_loss`, recorded as ``val_loss`` / ``val_<part>``); the net ends with
    the weights of the epoch of the lowest ``val_loss`` (the earliest on ties; an epoch counts
    as better when it is lower than the best by more than ``options.min_delta``), and with
    ``options.patience`` the training stops after that many epochs without a better one. The
    checkpoint holds the best weights, epoch and patience counter too: a resumed run ends
    exactly as an uninterrupted one.

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
        validation: the validation rows (whole speakers held out of ``frames``), or ``None``.
        options: epochs, batch size, learning rate, patience, ...
        checkpoint_dir: write ``last.pt`` / ``progress.json`` here after every epoch and resume
            from them (``None``: no checkpoints).
        log: called with one line per epoch.
        stop_after_epochs: stop after this many new epochs (tests); the checkpoint remains.

    Returns:
        An :class:`EncoderFit` (history, done, best epoch, stopped early).

    Raises:
        ConfigError: the checkpoint belongs to another training, the family's loss is not
            finite, or ``patience`` / ``min_delta`` / ``validation`` options come without
            validation rows.
    """
    from serkit.models.checkpoints import (
        CHECKPOINT,
        cpu_state,
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
    _check_validation(net, validation, options)
    device = resolve_device(options.device)
    net.to(device)
    opt = make_optimizer("adam", net.parameters(), options.lr, options.weight_decay)
    ckpt = Path(checkpoint_dir) if checkpoint_dir is not None else None
    fp = (
        fingerprint(net, frames, labels, cond, options, targets, validation)
        if ckpt is not None
        else {}
    )
    min_delta = float(options.min_delta or 0.0)
    # best_key: [] before the first finite validation loss, then [lowest val_loss]
    state: dict[str, Any] = {"history": [], "best_key": [], "done": False}
    if validation is not None:
        state |= {"best_state": cpu_state(net), "best_epoch": 0, "bad_epochs": 0}
        state["stopped_early"] = False
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
        for key in state:
            state[key] = saved[key]
        state["history"] = list(state["history"])
        state["best_key"] = list(state["best_key"])
        random.setstate(saved["rng"]["python"])
        set_numpy_rng_state(saved["rng"]["numpy"])
        torch.set_rng_state(saved["rng"]["torch"])
        start = int(saved["epoch"]) + 1
        if not state["done"] and start <= options.epochs:
            log(f"resuming after epoch {saved['epoch']} ({ckpt})")
    history: list[dict[str, Any]] = state["history"]
    batch_labels = labels if labels is not None else np.zeros(n, dtype=np.int64)
    training_rows = ValidationRows(frames, labels, cond, targets if columns else None)
    segment = getattr(net, "segment_frames", None)
    done_now = 0
    for epoch in range(start, options.epochs + 1):
        if state["done"]:
            break
        began = time.perf_counter()
        rng = np.random.default_rng([options.seed, epoch])
        net.train()
        sums: dict[str, float] = {}
        seen = 0
        for idx in net.batch_indices(batch_labels, options.batch_size, rng):
            idx = np.asarray(idx)
            if len(idx) == 0:
                continue
            loss, parts = _batch_loss(net, training_rows, idx, segment, rng, device)
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
        note, stop = "", False
        if validation is not None:
            row |= _validation_loss(net, validation, options, device, columns)
            note, stop = _select(state, net, epoch, row["val_loss"], min_delta, options)
        row["seconds"] = round(time.perf_counter() - began, 3)
        history.append(row)
        parts_text = ", ".join(f"{k} {v:.4g}" for k, v in row.items() if k not in ("epoch",))
        log(f"epoch {epoch}/{options.epochs}: {parts_text}{note}")
        state["done"] = stop or epoch == options.epochs
        if stop and epoch < options.epochs:
            state["stopped_early"] = True
            log(
                f"stopping early after epoch {epoch}: no val_loss lower than "
                f"{state['best_key'][0] if state['best_key'] else float('nan'):.4g} (epoch "
                f"{state['best_epoch']}) for {options.patience} epoch(s) (training.patience)"
            )
        if ckpt is not None:
            ckpt.mkdir(parents=True, exist_ok=True)
            write_checkpoint(ckpt, epoch, net, opt, None, state, fp)
        done_now += 1
        if stop_after_epochs is not None and done_now >= stop_after_epochs:
            break
    net.cpu()
    best_epoch = int(history[-1]["epoch"]) if history else 0
    best_loss = None
    if validation is not None:
        best_epoch = int(state["best_epoch"])
        best_loss = float(state["best_key"][0]) if state["best_key"] else None
        if state["done"] and best_epoch:
            net.load_state_dict(state["best_state"])
    net.eval()
    return EncoderFit(
        history=history,
        done=bool(state["done"]),
        best_epoch=best_epoch,
        best_val_loss=best_loss,
        stopped_early=bool(state.get("stopped_early", False)),
    )


def _select(
    state: dict[str, Any],
    net: Any,
    epoch: int,
    val_loss: float,
    min_delta: float,
    options: TrainOptions,
) -> tuple[str, bool]:
    """Update the best state with this epoch's ``val_loss``; ``(log note, stop now)``."""
    from serkit.models.checkpoints import cpu_state

    best = state["best_key"][0] if state["best_key"] else None
    if np.isfinite(val_loss) and (best is None or val_loss < best - min_delta):
        state.update(best_key=[float(val_loss)], best_epoch=epoch, bad_epochs=0)
        state["best_state"] = cpu_state(net)
        return " (best)", False
    state["bad_epochs"] += 1
    stop = options.patience is not None and state["bad_epochs"] >= options.patience
    of = f"/{options.patience}" if options.patience is not None else ""
    return f" (best: epoch {state['best_epoch']}; {state['bad_epochs']}{of} without)", stop
