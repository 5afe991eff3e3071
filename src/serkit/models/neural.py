"""``neural``: the estimator that trains any registered net with the one training loop.

:class:`NeuralClassifier` follows the scikit-learn contract on frame-level input (a list of
``(frames_i, dim)`` arrays). Inside ``fit`` it

1. makes a validation split from the training fold: whole speakers (``groups``), about
   ``val_fraction`` of the items; with no groups or fewer than 3 speakers a stratified random
   split instead (``val_split_`` and every ``history_`` entry say which);
2. fits a per-dimension z-score on the training part (``normalize="global"``), stored with the
   model;
3. builds the net (:func:`serkit.models.nets.build_net`) and trains it with
   :func:`serkit.models.training.train_module` (class-weighted CE, early stopping on
   validation UAR, checkpoints in ``checkpoint_dir`` every epoch, resume, DDP under torchrun).

Subclass hooks for other systems (override in a subclass, register it with
``@register_model``): :meth:`NeuralClassifier.build_module`,
:meth:`NeuralClassifier.make_collate`, :meth:`NeuralClassifier.make_dataset`,
:meth:`NeuralClassifier.forward_fn` and :meth:`NeuralClassifier.loss_fn` (``None`` = default).
A subclass that adds ``__init__`` parameters must list all of them explicitly (sklearn
contract) and store them unchanged.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from serkit.errors import ConfigError, PackageError
from serkit.holdout import validation_split
from serkit.models import register_model


def balanced_weights(y: np.ndarray, n_classes: int) -> np.ndarray:
    """``n / (k * count_c)`` per class (1 for classes absent from ``y``)."""
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    present = counts > 0
    weights = np.ones(n_classes)
    weights[present] = counts[present].sum() / (present.sum() * counts[present])
    return weights


@register_model("neural")
class NeuralClassifier(ClassifierMixin, BaseEstimator):
    """Trains a registered net on frame features (sklearn contract, ``input_level="frame"``).

    Args:
        net: registered net name (``serkit list nets``).
        net_params: keyword parameters of the net.
        epochs: maximum epochs.
        batch_size: batch size (training and prediction).
        lr: learning rate.
        weight_decay: weight decay.
        optimizer: ``"adamw"``, ``"adam"`` or ``"sgd"``.
        scheduler: ``"plateau"``, ``"cosine"`` or ``"none"``.
        patience: early-stopping patience in epochs (``None``: train all epochs).
        val_fraction: share of the training fold held out for validation (0: none).
        class_weight: ``"balanced"`` or ``None``.
        grad_clip: gradient-norm clip (``None``: off).
        max_frames: random crop length for training (``None``: full length); prediction
            always uses full length.
        normalize: ``"global"`` (z-score per dimension, fitted on the training part) or
            ``"none"``.
        seed: seed of the split, initialisation, shuffling and crops.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        num_threads: torch CPU threads (``None``: leave torch's setting).
        checkpoint_dir: folder for per-epoch checkpoints (``None``: none). Give each fold
            its own folder (the experiment runner sets ``<run>/checkpoints/<seed>-<fold>/``
            with ``set_params`` on its fresh estimator); a checkpoint of other training items
            is refused, never resumed. Multi-stage subclasses use one subfolder per stage
            (:meth:`checkpoint_folder`).
        resume: continue from ``checkpoint_dir`` when it holds a checkpoint.

    Attributes:
        classes_: ``(classes,)`` labels in logit order.
        module_: the trained ``nn.Module`` (best-validation weights).
        history_: per-epoch dicts ``epoch, train_loss, val_loss, val_uar, lr, seconds,
            val_split``.
        val_split_: how the validation split was made.
        best_epoch_: epoch whose weights were kept.
        resumed_from_: the checkpoint epoch the (main) training continued after, or ``None``.
        norm_mean_, norm_std_: ``(dim,)`` normalisation statistics (or ``None``).
    """

    input_level: ClassVar[str] = "frame"
    #: subfolder of ``checkpoint_dir`` that the main training stage uses (``None``: the
    #: folder itself); multi-stage subclasses give every stage its own
    main_stage: ClassVar[str | None] = None

    def __init__(
        self,
        net: str = "cnn-attn",
        net_params: dict[str, Any] | None = None,
        epochs: int = 30,
        batch_size: int = 32,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        optimizer: str = "adamw",
        scheduler: str = "plateau",
        patience: int | None = 8,
        val_fraction: float = 0.15,
        class_weight: str | None = "balanced",
        grad_clip: float | None = 5.0,
        max_frames: int | None = None,
        normalize: str = "global",
        seed: int = 0,
        device: str = "auto",
        num_threads: int | None = None,
        checkpoint_dir: str | None = None,
        resume: bool = True,
    ) -> None:
        self.net = net
        self.net_params = net_params
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.patience = patience
        self.val_fraction = val_fraction
        self.class_weight = class_weight
        self.grad_clip = grad_clip
        self.max_frames = max_frames
        self.normalize = normalize
        self.seed = seed
        self.device = device
        self.num_threads = num_threads
        self.checkpoint_dir = checkpoint_dir
        self.resume = resume

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        """Tiny settings for the contract suite."""
        from serkit.models.nets import net_test_params

        return {"epochs": 3, "batch_size": 8, "net_params": net_test_params("cnn-attn")}

    # ------------------------------------------------------------------ hooks

    def build_module(self, input_dim: int, n_classes: int) -> Any:
        """The ``nn.Module`` to train (default: registry net ``self.net``)."""
        from serkit.models.nets import build_net

        return build_net(self.net, input_dim, n_classes, **(self.net_params or {}))

    def build_module_for_weights(self, input_dim: int, n_classes: int) -> Any:
        """The module a saved package's weights are loaded into (default: :meth:`build_module`;
        a subclass whose net reads initial weights from a file skips that read here)."""
        return self.build_module(input_dim, n_classes)

    def make_dataset(
        self, frames: list[np.ndarray], labels: np.ndarray | None, module: Any = None
    ) -> Any:
        """A torch ``Dataset`` over normalised frames (default ``SequenceDataset``).

        Args:
            frames: normalised ``(frames_i, dim)`` arrays.
            labels: ``(n,)`` class indices, or ``None`` when predicting.
            module: the module being trained or predicting (for datasets of its features).
        """
        from serkit.models.data import SequenceDataset

        return SequenceDataset(frames, labels)

    def make_collate(self, train: bool) -> Any:
        """Collate for training (random crops) or evaluation (full length)."""
        from serkit.models.data import PadCollate

        return PadCollate(self.max_frames if train else None, train=train, seed=self.seed)

    def forward_fn(self) -> Any:
        """``(module, batch) -> logits`` or ``None`` for ``module(x, lengths)``."""
        return None

    def loss_fn(self) -> Any:
        """``(logits, batch) -> loss`` or ``None`` for class-weighted cross-entropy."""
        return None

    # ------------------------------------------------------------------ sklearn API

    def _normalise(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        from serkit.models.data import Normalizer

        return Normalizer(self.norm_mean_, self.norm_std_).transform(frames)

    def fit(self, X: Any, y: Any, groups: Any = None, *, val_index: Any = None) -> NeuralClassifier:
        """Train on ``X`` (list of ``(frames_i, dim)``), labels ``y`` ``(n,)``.

        Args:
            X: list of ``(frames_i, dim)`` arrays.
            y: ``(n,)`` labels.
            groups: ``(n,)`` speaker ids for the speaker-disjoint validation split (optional).
            val_index: positions of ``X`` to use as the validation set instead of the internal
                split (e.g. a protocol's official validation part); ``[]`` = no validation.
        """
        return self.fit_module(X, y, groups, val_index=val_index)

    def fit_module(
        self,
        X: Any,
        y: Any,
        groups: Any = None,
        *,
        val_index: Any = None,
        init: Any = None,
        epochs: int | None = None,
    ) -> NeuralClassifier:
        """:meth:`fit` with two choices a multi-stage subclass makes for one fit, without
        changing its parameters.

        Args:
            X, y, groups, val_index: as :meth:`fit`.
            init: ``init(module)`` called on the built module before training (e.g. loads the
                weights an earlier stage trained), or ``None``.
            epochs: epochs of this fit instead of ``self.epochs`` (``0``: build, train nothing).
        """
        import torch

        from serkit.models.data import Normalizer, check_frames
        from serkit.models.training import seed_everything, train_module

        frames = check_frames(X, who=type(self).__name__)
        y = np.asarray(y)
        if len(y) != len(frames):
            raise ConfigError(f"{len(frames)} sequences but {len(y)} labels")
        classes, y_idx = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ConfigError(f"need at least 2 classes to train, found {classes.tolist()}")
        if groups is not None and len(groups) != len(frames):
            raise ConfigError(f"{len(frames)} sequences but {len(groups)} groups")
        self.check_params()  # the option values; the net is built below
        if self.num_threads:
            torch.set_num_threads(int(self.num_threads))
        if val_index is not None:
            val_idx = np.unique(np.asarray(val_index, dtype=np.int64))
            if len(val_idx) and (val_idx.min() < 0 or val_idx.max() >= len(frames)):
                raise ConfigError(f"val_index must be positions in 0..{len(frames) - 1}")
            train_idx = np.setdiff1d(np.arange(len(frames)), val_idx)
            note = f"given (val_index, {len(val_idx)} items)" if len(val_idx) else "none (given)"
        else:
            train_idx, val_idx, note = validation_split(y_idx, groups, self.val_fraction, self.seed)
        if len(train_idx) == 0:
            raise ConfigError("no training items left after the validation split")
        norm = Normalizer()
        if self.normalize == "global":
            norm.fit([frames[i] for i in train_idx])
        self.norm_mean_, self.norm_std_ = norm.mean_, norm.std_
        data = self._normalise(frames)
        self.classes_ = classes
        self.input_dim_ = int(frames[0].shape[1])
        seed_everything(self.seed)  # reproducible initialisation
        module = self.build_module(self.input_dim_, len(classes))
        if init is not None:
            init(module)
        weights = None
        if self.class_weight == "balanced":
            weights = balanced_weights(y_idx[train_idx], len(classes))
        elif self.class_weight is not None:
            raise ConfigError(f"class_weight must be 'balanced' or None, found {self.class_weight}")
        val_data = None
        if len(val_idx):
            val_data = self.make_dataset([data[i] for i in val_idx], y_idx[val_idx], module)
        result = train_module(
            module,
            self.make_dataset([data[i] for i in train_idx], y_idx[train_idx], module),
            val_data,
            epochs=self.epochs if epochs is None else int(epochs),
            lr=self.lr,
            patience=self.patience,
            batch_size=self.batch_size,
            class_weights=weights,
            collate_fn=self.make_collate(True),
            eval_collate_fn=self.make_collate(False),
            forward_fn=self.forward_fn(),
            loss_fn=self.loss_fn(),
            checkpoint_dir=self.checkpoint_folder(self.main_stage),
            **self.shared_training_options(),
        )
        self.module_ = module
        self.val_split_ = note
        self.history_ = [dict(entry, val_split=note) for entry in result.history]
        self.best_epoch_ = result.best_epoch
        self.stopped_early_ = result.stopped_early
        self.resumed_from_ = result.resumed_from
        return self

    def check_params(self, input_dim: int | None = None) -> None:
        """Check the parameter values without training: the training options, ``normalize``,
        ``class_weight``, ``val_fraction``, the collate and forward hooks (which check their
        own options) and the net: built for ``input_dim`` on torch's ``meta`` device (no
        memory, no weights), or with ``input_dim=None`` only its parameter names and types.

        Raises:
            ConfigError: naming the parameter and the value found.
        """
        import torch

        from serkit.models.nets import check_net_params
        from serkit.models.options import check_options

        check_options(
            epochs=self.epochs,
            lr=self.lr,
            weight_decay=self.weight_decay,
            batch_size=self.batch_size,
            optimizer=self.optimizer,
            scheduler=self.scheduler,
            patience=self.patience,
            grad_clip=self.grad_clip,
        )
        who = type(self).__name__
        if self.normalize not in ("global", "none"):
            raise ConfigError(
                f"{who}: normalize must be 'global' or 'none', found {self.normalize!r}"
            )
        if self.class_weight not in ("balanced", None):
            raise ConfigError(
                f"{who}: class_weight must be 'balanced' or None, found {self.class_weight!r}"
            )
        if not 0 <= self.val_fraction < 1:
            raise ConfigError(f"{who}: val_fraction must be in [0, 1), found {self.val_fraction}")
        for name in ("max_frames", "num_threads"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"{who}: {name} must be >= 1 or null, found {value}")
        if self.device not in ("auto", "cpu") and not str(self.device).startswith("cuda"):
            raise ConfigError(
                f"{who}: unknown device {self.device!r}; expected 'auto', 'cpu' or 'cuda[:i]'"
            )
        self.make_collate(True), self.make_collate(False), self.forward_fn()
        if input_dim is None:
            check_net_params(self.net, self.net_params or {})
            return
        import warnings

        with torch.device("meta"), warnings.catch_warnings():
            # a pretrained_path is read and checked, its copy into meta tensors is a no-op
            warnings.filterwarnings("ignore", message=".*to a meta parameter", category=UserWarning)
            self.build_module(int(input_dim), 2)

    def checkpoint_folder(self, stage: str | None = None) -> str | None:
        """The checkpoint folder of one training stage: ``checkpoint_dir/<stage>``
        (``stage=None``: ``checkpoint_dir`` itself), or ``None`` without ``checkpoint_dir``."""
        if self.checkpoint_dir is None:
            return None
        return str(Path(self.checkpoint_dir) / stage) if stage else str(self.checkpoint_dir)

    def shared_training_options(self) -> dict[str, Any]:
        """The :func:`~serkit.models.training.train_module` options every training stage of
        this estimator shares (optimiser, schedule, clipping, seed, device, resume)."""
        return {
            "weight_decay": self.weight_decay,
            "optimizer": self.optimizer,
            "scheduler": self.scheduler,
            "grad_clip": self.grad_clip,
            "seed": self.seed,
            "device": self.device,
            "resume": self.resume,
        }

    def predict_logits(self, X: Any) -> np.ndarray:
        """Logits ``(n, classes)`` of full-length sequences, batched by length."""
        from serkit.models.data import check_frames
        from serkit.models.training import predict_logits

        if not hasattr(self, "module_"):
            raise ConfigError(f"{type(self).__name__} is not fitted; call fit() or load_model()")
        frames = check_frames(X, who=type(self).__name__)
        if frames[0].shape[1] != self.input_dim_:
            raise ConfigError(
                f"{type(self).__name__}: input has {frames[0].shape[1]} features per frame but "
                f"the model was trained on {self.input_dim_}; use the front end it was trained "
                "with"
            )
        frames = self._normalise(frames)
        return predict_logits(
            self.module_,
            self.make_dataset(frames, None, self.module_),
            batch_size=self.batch_size,
            collate_fn=self.make_collate(False),
            forward_fn=self.forward_fn(),
            device=self.device,
        )

    def predict_proba(self, X: Any) -> np.ndarray:
        """Posteriors ``(n, classes)`` in ``classes_`` order."""
        logits = self.predict_logits(X).astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        """Labels ``(n,)``."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    # ------------------------------------------------------------------ packages

    def _save_weights(self, folder: Path) -> list[str]:
        import torch

        payload = {
            "state_dict": {k: v.detach().cpu() for k, v in self.module_.state_dict().items()},
            "input_dim": torch.tensor(self.input_dim_),
        }
        if self.norm_mean_ is not None:
            payload["norm_mean"] = torch.from_numpy(np.asarray(self.norm_mean_))
            payload["norm_std"] = torch.from_numpy(np.asarray(self.norm_std_))
        torch.save(payload, folder / "weights.pt")
        return ["weights.pt"]

    def _load_weights(self, folder: Path, meta: dict[str, Any]) -> None:
        import torch

        from serkit.models.training import resolve_device

        path = folder / "weights.pt"
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
        except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile) as exc:
            raise PackageError(
                f"{path}: not a readable torch weights file ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''}); the package is damaged; "
                "re-export or retrain"
            ) from exc
        if not isinstance(payload, dict) or not {"state_dict", "input_dim"} <= set(payload):
            raise PackageError(
                f"{path}: holds no serkit weights (expected the keys state_dict and input_dim); "
                "re-export or retrain"
            )
        self.classes_ = np.asarray(meta["classes"])
        self.input_dim_ = int(payload["input_dim"])
        self.norm_mean_ = payload["norm_mean"].numpy() if "norm_mean" in payload else None
        self.norm_std_ = payload["norm_std"].numpy() if "norm_std" in payload else None
        module = self.build_module_for_weights(self.input_dim_, len(self.classes_))
        try:
            module.load_state_dict(payload["state_dict"])
        except RuntimeError as exc:  # missing/unexpected keys or shapes: not this net's weights
            raise PackageError(
                f"{path}: the weights do not fit the net that {folder / 'model.json'} describes "
                f"({len(self.classes_)} classes, input dimension {self.input_dim_}, params "
                f"{meta.get('params', {}).get('net_params')}): {str(exc).splitlines()[0]}; the "
                "package was modified after it was saved; re-export or retrain"
            ) from exc
        self.module_ = module.to(resolve_device(self.device)).eval()
        self.history_ = meta.get("history", [])
