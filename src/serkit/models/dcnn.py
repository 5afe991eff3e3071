"""The DCNN-BLSTMwA estimator (``"dcnn-blstmwa"``; Zhang et al., Front. Physiol. 2021).

Two stages run inside one ``fit`` so every fold stays clean: stage 1 fine-tunes the AlexNet on
64-frame segments (per-utterance min-max + ImageNet normalisation, segment label = utterance
label, validation UAR on mean-pooled segment logits); stage 2 copies it into the
``dcnn-blstmwa`` net and trains the utterance model (BiLSTM + self-attention + DNN; the AlexNet
stays trainable unless ``net_params.freeze_dcnn``).

The utterance decision is the seed's BLSTM head (``decision="blstm"``), the stage-1 AlexNet's
segment posteriors averaged over the utterance (``"segments"``: segment ensembling), or
whichever of the two scores the higher UAR on the fold's own validation speakers (``"auto"``;
the test part is never looked at).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from serkit.errors import ConfigError
from serkit.holdout import validation_split
from serkit.models import register_model
from serkit.models.neural import NeuralClassifier, balanced_weights
from serkit.models.segmented import PooledForward, SegmentCollate, init_params, make_augment

DECISIONS = ("blstm", "segments", "auto")


@register_model("dcnn-blstmwa")
class DCNNBLSTMwAClassifier(NeuralClassifier):
    """Two-stage DCNN-BLSTMwA: AlexNet fine-tuned on segments, then BLSTM + attention + DNN.

    The :class:`NeuralClassifier` parameters drive stage 2 (``net`` defaults to
    ``"dcnn-blstmwa"``, ``normalize`` to ``"none"`` since the net min-max normalises each
    utterance). Windows (``segment_frames``/``segment_hop``, default 64/32) and AlexNet sizes
    come from ``net_params``. With ``checkpoint_dir`` each stage checkpoints (and resumes) in
    its own subfolder, ``stage1/`` and ``stage2/``.

    Args (besides those of :class:`NeuralClassifier`):
        stage1_epochs: AlexNet fine-tuning epochs (0 skips stage 1).
        stage1_lr: stage-1 learning rate.
        stage1_batch_size: stage-1 batch size in utterances (each gives all its windows).
        stage1_patience: stage-1 early-stopping patience (validation UAR of mean-pooled
            segment logits).
        stage1_crops: ``None`` trains stage 1 on every window of every utterance each epoch
            (the seed); an integer draws that many random windows per utterance per epoch
            (faster on a CPU).
        augment: SpecAugment on training inputs (stage 1 windows and stage 2 utterances).
        augment_params: overrides of the mask settings (default 2 x 20 frames, 2 x 5 bins).
        decision: ``"blstm"`` (the seed), ``"segments"`` (mean stage-1 segment posteriors;
            stage 2 is not trained) or ``"auto"`` (the better of the two on the validation
            speakers). With a trainable AlexNet, ``"auto"`` scores the vote of the stage-2
            FC7 features through the stage-1 output layer (which stage 2 does not train).

    Attributes:
        stage1_history_: per-epoch history of stage 1.
        decision_: the head that decides (``"blstm"`` or ``"segments"``).
        decision_scores_: validation UAR of each head (``"auto"`` with a validation split;
            else empty).
        fit_summary_: JSON-able facts of the fit (stage-1 history, decision, scores) that the
            experiment runner keeps beside ``history_``.
    """

    main_stage = "stage2"  # checkpoints: <checkpoint_dir>/stage1/ and <checkpoint_dir>/stage2/

    def __init__(
        self,
        net: str = "dcnn-blstmwa",
        net_params: dict[str, Any] | None = None,
        epochs: int = 20,
        batch_size: int = 16,
        lr: float = 3e-4,
        weight_decay: float = 1e-4,
        optimizer: str = "adamw",
        scheduler: str = "plateau",
        patience: int | None = 6,
        val_fraction: float = 0.15,
        class_weight: str | None = "balanced",
        grad_clip: float | None = 5.0,
        max_frames: int | None = None,
        normalize: str = "none",
        seed: int = 0,
        device: str = "auto",
        num_threads: int | None = None,
        checkpoint_dir: str | None = None,
        resume: bool = True,
        stage1_epochs: int = 15,
        stage1_lr: float = 1e-3,
        stage1_batch_size: int = 16,
        stage1_patience: int | None = 5,
        stage1_crops: int | None = None,
        augment: bool = True,
        augment_params: dict | None = None,
        decision: str = "blstm",
    ) -> None:
        init_params(self, locals())

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        """Tiny settings for the contract suite."""
        from serkit.models.nets import net_test_params

        return {
            "epochs": 3,
            "batch_size": 8,
            "net_params": net_test_params("dcnn-blstmwa"),
            "stage1_epochs": 2,
            "stage1_batch_size": 8,
            "augment": False,
            "lr": 1e-3,
        }

    # ------------------------------------------------------------------ stage 2 hooks

    def build_module_for_weights(self, input_dim: int, n_classes: int) -> Any:
        """The utterance net without reading ``pretrained_path`` (the package holds the
        weights; the file need not exist where the package is loaded)."""
        from serkit.models.nets import build_net

        params = {k: v for k, v in (self.net_params or {}).items() if k != "pretrained_path"}
        return build_net(self.net, input_dim, n_classes, **params)

    def _frozen(self) -> bool:
        return bool((self.net_params or {}).get("freeze_dcnn", False))

    def make_dataset(
        self, frames: list[np.ndarray], labels: np.ndarray | None, module: Any = None
    ) -> Any:
        """Utterances; with a frozen AlexNet, their FC7 window features under ``module``
        (computed once) instead."""
        from serkit.models.data import SequenceDataset

        if not self._frozen():
            return super().make_dataset(frames, labels, module)
        module = module if module is not None else self.module_
        return SequenceDataset(window_features(module, frames, self.batch_size), labels)

    def forward_fn(self) -> Any:
        """Default forward, or the head on cached window features (frozen AlexNet)."""
        return FeatureForward() if self._frozen() else None

    def make_collate(self, train: bool) -> Any:
        """Full utterances (as :class:`NeuralClassifier`), with SpecAugment in training
        (none on cached features: a frozen AlexNet sees each utterance once)."""
        from serkit.models.data import PadCollate

        if self._frozen():
            return PadCollate(None, train=train, seed=self.seed)
        collate = PadCollate(self.max_frames if train else None, train=train, seed=self.seed)
        augment = make_augment(self.augment, self.augment_params, fill="mean") if train else None
        return _AugmentedCollate(collate, augment, self.seed) if augment else collate

    # ------------------------------------------------------------------ fitting

    def check_params(self, input_dim: int | None = None) -> None:
        """:meth:`NeuralClassifier.check_params` plus ``decision`` and the stage-1 options."""
        from serkit.models.options import check_options

        if self.decision not in DECISIONS:
            raise ConfigError(
                f"dcnn-blstmwa decision must be one of {', '.join(DECISIONS)}, found "
                f"{self.decision!r}"
            )
        if self.decision != "blstm" and not (self.stage1_epochs and self.stage1_epochs > 0):
            raise ConfigError(
                f"dcnn-blstmwa decision={self.decision!r} votes with the stage-1 AlexNet; set "
                "stage1_epochs > 0 or decision='blstm'"
            )
        super().check_params(input_dim)
        check_options(
            epochs=self.stage1_epochs,
            lr=self.stage1_lr,
            weight_decay=self.weight_decay,
            batch_size=self.stage1_batch_size,
            patience=self.stage1_patience,
            prefix="stage1_",
        )
        if self.stage1_crops is not None and self.stage1_crops < 1:
            raise ConfigError(f"stage1_crops must be >= 1 or null, found {self.stage1_crops}")

    def fit(self, X: Any, y: Any, groups: Any = None) -> DCNNBLSTMwAClassifier:
        """Stage 1 (AlexNet on segments), stage 2 (utterance model) on the same validation
        split, then the decision head (see ``decision``)."""
        from serkit.models.data import check_frames

        self.check_params()
        frames = check_frames(X, who=type(self).__name__)
        y = np.asarray(y)
        self.stage1_history_: list[dict[str, Any]] = []
        stage1 = None
        if self.stage1_epochs and self.stage1_epochs > 0:
            stage1 = self._fit_stage1(frames, y, groups)

        def start_from_stage1(module: Any) -> None:  # stage 2's AlexNet: the fine-tuned one
            if stage1 is not None:
                module.dcnn.load_state_dict(stage1)

        # decision "segments": the stage-2 head is never used; build the net, train nothing
        epochs = 0 if self.decision == "segments" else None
        self.fit_module(frames, y, groups, init=start_from_stage1, epochs=epochs)
        self.decision_scores_: dict[str, float] = {}
        self.decision_ = "blstm" if self.decision == "blstm" else "segments"
        if self.decision == "auto":
            self.decision_scores_ = self._validation_scores(frames, y, groups)
            if self.decision_scores_:  # ties keep the seed's head (listed first)
                self.decision_ = max(self.decision_scores_, key=self.decision_scores_.get)
            else:
                self.decision_ = "blstm"  # no validation split: nothing to choose on
        self.module_.use_segment_vote(self.decision_ == "segments")
        self.fit_summary_ = {
            "stage1_history": self.stage1_history_,
            "decision": self.decision_,
            "decision_scores": self.decision_scores_,
        }
        return self

    def _validation_scores(self, frames: list[np.ndarray], y: np.ndarray, groups: Any) -> dict:
        """UAR of the BLSTM head and of the segment vote on the fit's validation split."""
        from serkit import metrics

        _, y_idx = np.unique(y, return_inverse=True)
        _, val_idx, _ = validation_split(y_idx, groups, self.val_fraction, self.seed)
        if len(val_idx) == 0:
            return {}
        val = [frames[i] for i in val_idx]
        scores = {}
        for head in ("blstm", "segments"):
            self.module_.use_segment_vote(head == "segments")
            scores[head] = float(metrics.uar(y[val_idx], self.predict(val), self.classes_))
        return scores

    def _load_weights(self, folder: Path, meta: dict[str, Any]) -> None:
        super()._load_weights(folder, meta)
        self.decision_ = "segments" if bool(self.module_.segment_vote) else "blstm"

    def _fit_stage1(self, frames: list[np.ndarray], y: np.ndarray, groups: Any) -> dict:
        import torch

        from serkit.models.data import Normalizer, SequenceDataset
        from serkit.models.nets.alexnet import AlexNetClassifier, minmax_imagenet
        from serkit.models.training import seed_everything, train_module

        if self.num_threads:
            torch.set_num_threads(int(self.num_threads))
        seed_everything(self.seed)  # the AlexNet's initialisation, whatever ran before
        classes, y_idx = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ConfigError(f"need at least 2 classes to train, found {classes.tolist()}")
        train_idx, val_idx, _ = validation_split(y_idx, groups, self.val_fraction, self.seed)
        norm = Normalizer()
        if self.normalize == "global":
            norm.fit([frames[i] for i in train_idx])
        data = norm.transform(frames)
        images = []
        for x in data:  # per-utterance min-max + ImageNet, back to (frames, 3 * bins)
            img = minmax_imagenet(torch.tensor(x)[None])[0]  # (3, bins, T)
            images.append(img.permute(2, 0, 1).reshape(len(x), -1).numpy())
        template = super().build_module(int(frames[0].shape[1]), len(classes))
        stage1 = AlexNetClassifier(
            int(frames[0].shape[1]), len(classes), normalize=False, **template.alexnet_hp
        )
        stage1.alexnet.load_state_dict(template.dcnn.state_dict())  # keeps pretrained_path
        length, hop = template.segment_frames, template.segment_hop
        augment = make_augment(self.augment, self.augment_params)

        def collate(train: bool) -> SegmentCollate:
            return SegmentCollate(
                length,
                hop,
                train=train,
                mode="random" if self.stage1_crops else "all",
                crops=int(self.stage1_crops or 1),
                tail=False,
                augment=augment if train else None,
                seed=self.seed,
                full_lengths=True,
            )

        weights = None
        if self.class_weight == "balanced":
            weights = balanced_weights(y_idx[train_idx], len(classes))
        val = None
        if len(val_idx):
            val = SequenceDataset([images[i] for i in val_idx], y_idx[val_idx])
        result = train_module(
            stage1,
            SequenceDataset([images[i] for i in train_idx], y_idx[train_idx]),
            val,
            epochs=int(self.stage1_epochs),
            lr=self.stage1_lr,
            patience=self.stage1_patience,
            batch_size=self.stage1_batch_size,
            class_weights=weights,
            collate_fn=collate(True),
            eval_collate_fn=collate(False),
            forward_fn=PooledForward("mean", "logits"),
            checkpoint_dir=self.checkpoint_folder("stage1"),
            **self.shared_training_options(),
        )
        self.stage1_history_ = list(result.history)
        return {k: v.detach().cpu() for k, v in stage1.alexnet.state_dict().items()}


def window_features(module: Any, frames: list[np.ndarray], batch_size: int) -> list[np.ndarray]:
    """FC7 features ``(n_windows_i, fc)`` of each utterance's real windows (eval mode)."""
    import torch

    from serkit.models.data import length_batches, pad_sequences

    device = next(module.parameters()).device
    was_training = module.training
    module.eval()
    out: list[np.ndarray | None] = [None] * len(frames)
    with torch.no_grad():
        for index in length_batches([len(f) for f in frames], max(1, batch_size)):
            x, lengths = pad_sequences([frames[i] for i in index], rng=None)
            feats, counts = module.segment_features(x.to(device), lengths.to(device))
            feats, counts = feats.cpu().numpy(), counts.cpu().numpy()
            for row, i in enumerate(index):
                out[i] = feats[row, : counts[row]].astype(np.float32)
    module.train(was_training)
    return out  # type: ignore[return-value]


class FeatureForward:
    """``forward_fn`` on cached window features: ``module(x, lengths, features=True)``."""

    def __call__(self, module: Any, batch: dict[str, Any]) -> Any:
        return module(batch["x"], batch["lengths"], features=True)


class _AugmentedCollate:
    """Wraps a padding collate: SpecAugment on each item before padding (training only)."""

    def __init__(self, inner: Any, augment: Any, seed: int) -> None:
        self.inner, self.augment, self.seed = inner, augment, seed
        self.rng = np.random.default_rng(seed)

    def set_epoch(self, epoch: int, rank: int = 0) -> None:
        """Reseed the inner collate and the masks."""
        if hasattr(self.inner, "set_epoch"):
            self.inner.set_epoch(epoch, rank)
        self.rng = np.random.default_rng([self.seed, epoch, rank, 1])

    def __call__(self, items: list[tuple[np.ndarray, int]]) -> dict[str, Any]:
        from serkit.models.augment import spec_augment

        items = [(spec_augment(np.asarray(x), self.augment, self.rng), lab) for x, lab in items]
        return self.inner(items)
