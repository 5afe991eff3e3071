"""Segment handling shared by the seed classifiers (``acrnn``, ``dcnn-blstmwa``).

Fixed-length segments of an utterance's ``(frames, dim)`` features each inherit the utterance
label for training; :class:`SegmentCollate` batches them (short utterances zero-padded and
masked) and :class:`PooledForward` pools segment logits or posteriors back into one decision per
utterance (``max`` as in the ACRNN paper, or ``mean``). SpecAugment time/frequency masks
(:mod:`serkit.models.augment`) are on by default for training (the seeds had them off).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from serkit.errors import ConfigError
from serkit.models.neural import NeuralClassifier
from serkit.models.segments import segment

DEFAULT_AUGMENT = {"time_masks": 2, "time_width": 20, "freq_masks": 2, "freq_width": 5}


def make_augment(enabled: bool, params: dict[str, Any] | None, channels: int = 3, **extra: Any):
    """The :class:`~serkit.models.augment.SpecAugment` settings, or ``None`` when disabled."""
    from serkit.models.augment import SpecAugment

    if not enabled:
        return None
    values = {**DEFAULT_AUGMENT, "channels": channels, **extra, **(params or {})}
    try:
        config = SpecAugment(**values)
    except TypeError as exc:
        raise ConfigError(
            f"augment_params {params}: {exc}; known: time_masks, time_width, freq_masks, "
            "freq_width, value, fill"
        ) from exc
    return config if config.active else None


class SegmentCollate:
    """Collate utterances ``(frames (T, dim), label)`` into segment batches.

    Training: every utterance gives all its windows (``mode="all"``) or ``crops`` random
    ``length``-frame crops (``mode="random"``); labels are repeated per window; optional tempo
    perturbation per utterance (before windowing), SpecAugment per window and mixup over the
    batch's windows (``y_mix`` / ``mix_weight`` in the batch; the training loop's default loss
    blends the two labels). Evaluation: all windows plus ``owner`` ``(n_windows,)`` (index of
    the utterance in the batch) and one label per utterance.

    Args:
        length: window length in frames.
        hop: hop between windows.
        train: training or evaluation batches.
        mode: ``"all"`` or ``"random"`` (training only).
        tail: add a window ending at the last frame (see :func:`segment_starts`).
        augment: SpecAugment settings or ``None``.
        seed: base seed (reseeded per epoch by :meth:`set_epoch`).
        full_lengths: report ``length`` as every window's length (the net sees the zero padding
            of short utterances, as DCNN-BLSTMwA does) instead of the real frames.
        crops: random crops per utterance (``mode="random"``).
        tempo: ``(low, high)``: each training utterance is tempo-stretched by a rate drawn
            uniformly from that range (:func:`~serkit.models.augment.tempo_stretch`), or
            ``None``.
        mixup: Beta parameter alpha of mixup over the training windows (0: off).
        channels: channels stacked along the feature axis (for ``tempo``).
    """

    def __init__(
        self,
        length: int,
        hop: int,
        *,
        train: bool,
        mode: str = "all",
        tail: bool = True,
        augment: Any = None,
        seed: int = 0,
        full_lengths: bool = False,
        crops: int = 1,
        tempo: tuple[float, float] | None = None,
        mixup: float = 0.0,
        channels: int = 3,
    ) -> None:
        if mode not in ("all", "random"):
            raise ConfigError(f"train_segments must be 'all' or 'random', found {mode!r}")
        self.tempo = check_tempo(tempo)
        if isinstance(mixup, bool) or not isinstance(mixup, int | float) or not mixup >= 0:
            raise ConfigError(f"mixup must be a number >= 0 (0: off), found {mixup!r}")
        self.mixup, self.channels = float(mixup), int(channels)
        self.length, self.hop, self.train, self.mode = int(length), int(hop), train, mode
        self.tail, self.augment, self.seed = tail, augment, seed
        self.full_lengths = full_lengths
        self.crops = max(1, int(crops))
        self.rng = np.random.default_rng(seed)

    def set_epoch(self, epoch: int, rank: int = 0) -> None:
        """Reseed crops and masks so an epoch is reproducible (and resumable)."""
        self.rng = np.random.default_rng([self.seed, epoch, rank])

    def _windows(self, x: np.ndarray) -> tuple[np.ndarray, int]:
        real = min(len(x), self.length)
        if self.train and self.mode == "random":
            starts = self.rng.integers(0, max(len(x) - self.length, 0) + 1, size=self.crops)
            crops = [segment(x[a : a + self.length], self.length, self.hop) for a in starts]
            return np.concatenate(crops), real
        return segment(x, self.length, self.hop, tail=self.tail), real

    def __call__(self, items: list[tuple[np.ndarray, int]]) -> dict[str, Any]:
        import torch

        segs, lengths, labels, owner = [], [], [], []
        for i, (x, label) in enumerate(items):
            x = np.asarray(x, dtype=np.float32)
            if self.train and self.tempo is not None:
                from serkit.models.augment import tempo_stretch

                x = tempo_stretch(x, float(self.rng.uniform(*self.tempo)), self.channels)
            windows, real = self._windows(x)
            if self.train and self.augment is not None:
                from serkit.models.augment import spec_augment

                windows = np.stack(
                    [spec_augment(w, self.augment, self.rng, length=real) for w in windows]
                )
            segs.append(windows)
            n = len(windows)
            lengths += [self.length if self.full_lengths else real] * n
            owner += [i] * n
            labels += [int(label)] * (n if self.train else 0)
        x_all = np.concatenate(segs).astype(np.float32)
        lengths_all = np.asarray(lengths, dtype=np.int64)
        mixed: dict[str, Any] = {}
        if self.train and self.mixup > 0 and len(labels) > 1:
            from serkit.models.augment import mix_batch

            x_all, lengths_all, partner, lam = mix_batch(x_all, lengths_all, self.mixup, self.rng)
            mixed = {"y_mix": torch.tensor(np.asarray(labels)[partner]), "mix_weight": lam}
        batch = {"x": torch.from_numpy(x_all), "lengths": torch.from_numpy(lengths_all)}
        if self.train:
            batch["y"] = torch.tensor(labels, dtype=torch.int64)
            batch |= mixed
        else:
            batch["owner"] = torch.tensor(owner, dtype=torch.int64)
            batch["y"] = torch.tensor([int(item[1]) for item in items], dtype=torch.int64)
        return batch


class PooledForward:
    """``forward_fn`` of the training loop: segment logits, pooled per utterance when the batch
    has ``owner`` (evaluation); returns logits whose softmax is the pooled posterior.

    Args:
        pooling: ``"max"`` or ``"mean"``.
        on: ``"logits"`` or ``"posteriors"``.
    """

    def __init__(self, pooling: str = "max", on: str = "logits") -> None:
        if pooling not in ("max", "mean") or on not in ("logits", "posteriors"):
            raise ConfigError(
                f"pooling must be 'max'/'mean' and pool_on 'logits'/'posteriors'; found "
                f"{pooling!r}, {on!r}"
            )
        self.pooling, self.on = pooling, on

    def __call__(self, module: Any, batch: dict[str, Any]) -> Any:
        import torch

        logits = module(batch["x"], batch["lengths"])
        owner = batch.get("owner")
        if owner is None:
            return logits
        values = logits if self.on == "logits" else torch.softmax(logits, dim=1)
        index = owner[:, None].expand_as(values)
        out = torch.zeros(
            len(batch["y"]), values.shape[1], dtype=values.dtype, device=values.device
        )
        reduce = "amax" if self.pooling == "max" else "mean"
        out = out.scatter_reduce(0, index, values, reduce=reduce, include_self=False)
        return out if self.on == "logits" else torch.log(out.clamp_min(1e-12))


def check_tempo(tempo: Any) -> tuple[float, float] | None:
    """A ``tempo`` range as ``(low, high)`` with ``0 < low <= high``, or ``None``.

    >>> check_tempo([0.9, 1.1])
    (0.9, 1.1)
    """
    if tempo is None:
        return None
    try:
        low, high = (float(v) for v in tempo)
    except (TypeError, ValueError):
        raise ConfigError(
            f"tempo must be [low, high] (e.g. [0.9, 1.1]) or null, found {tempo!r}"
        ) from None
    if not 0 < low <= high:
        raise ConfigError(f"tempo [low, high] needs 0 < low <= high, found {[low, high]}")
    return low, high


def init_params(estimator: Any, values: dict[str, Any]) -> None:
    """Store an estimator's ``__init__`` arguments: NeuralClassifier's via ``super().__init__``,
    the subclass's own as attributes of the same name (the sklearn contract).

    Args:
        estimator: the instance being initialised.
        values: the ``locals()`` of its ``__init__`` (``self`` and ``__class__`` are ignored).
    """
    import inspect

    base_names = [
        name for name in inspect.signature(NeuralClassifier.__init__).parameters if name != "self"
    ]
    NeuralClassifier.__init__(estimator, **{name: values[name] for name in base_names})
    for name in inspect.signature(type(estimator).__init__).parameters:
        if name not in ("self", *base_names):
            setattr(estimator, name, values[name])
