"""The 3-D ACRNN estimator (``"acrnn"``; Chen et al., IEEE SPL 2018).

It subclasses :class:`~serkit.models.neural.NeuralClassifier` (same sklearn contract, training
loop, checkpoints, resume and DDP) and trains the ``acrnn`` net on fixed-length segments
(default 300 frames = 3 s, hop 100) after a per-dimension (= per channel, per mel bin) z-score
fitted on the training part; an utterance's decision pools its segments (see
:mod:`serkit.models.segmented`). Validation UAR (early stopping) is computed on pooled
utterances.
"""

from __future__ import annotations

from typing import Any

from serkit.models import register_model
from serkit.models.neural import NeuralClassifier
from serkit.models.segmented import PooledForward, SegmentCollate, init_params, make_augment


@register_model("acrnn")
class ACRNNClassifier(NeuralClassifier):
    """3-D ACRNN on fixed-length segments with utterance-level segment pooling.

    Args (besides those of :class:`NeuralClassifier`; ``net`` defaults to ``"acrnn"``):
        segment_frames: segment length (300 frames = 3 s at a 10-ms hop).
        segment_hop: hop between segments (100 = 1 s).
        train_segments: ``"all"`` (every segment each epoch, the paper) or ``"random"`` (one
            random crop per utterance per epoch).
        pooling: ``"max"`` (paper) or ``"mean"`` over an utterance's segments.
        pool_on: pool ``"logits"`` or ``"posteriors"``.
        augment: SpecAugment masks on training segments.
        augment_params: overrides of ``time_masks``, ``time_width``, ``freq_masks``,
            ``freq_width`` (default 2 x 20 frames, 2 x 5 bins).
        tempo: ``[low, high]``: tempo perturbation of each training utterance by a rate drawn
            from that range (e.g. ``[0.9, 1.1]``), or ``None``.
        mixup: mixup of the training segments with Beta(alpha, alpha) weights (0: off).
    """

    def __init__(
        self,
        net: str = "acrnn",
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
        segment_frames: int = 300,
        segment_hop: int = 100,
        train_segments: str = "all",
        pooling: str = "max",
        pool_on: str = "logits",
        augment: bool = True,
        augment_params: dict | None = None,
        tempo: list[float] | None = None,
        mixup: float = 0.0,
    ) -> None:
        init_params(self, locals())

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        """Tiny settings for the contract suite."""
        from serkit.models.nets import net_test_params

        return {
            "epochs": 3,
            "batch_size": 8,
            "net_params": net_test_params("acrnn"),
            "segment_frames": 16,
            "segment_hop": 8,
            "augment": False,
        }

    def make_collate(self, train: bool) -> SegmentCollate:
        """Segment batches (see :class:`SegmentCollate`)."""
        channels = int((self.net_params or {}).get("channels", 3))
        return SegmentCollate(
            self.segment_frames,
            self.segment_hop,
            train=train,
            mode=self.train_segments,
            augment=make_augment(self.augment, self.augment_params, channels) if train else None,
            seed=self.seed,
            tempo=self.tempo if train else None,
            mixup=self.mixup if train else 0.0,
            channels=channels,
        )

    def forward_fn(self) -> PooledForward:
        """Segment logits in training, pooled per utterance in evaluation."""
        return PooledForward(self.pooling, self.pool_on)
