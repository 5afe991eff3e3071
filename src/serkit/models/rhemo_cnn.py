"""``rhemo-cnn``: quaternion CNNs on RH-emo maps and their real twins, on 4-s windows.

The estimator (a :class:`~serkit.models.neural.NeuralClassifier`: same training loop,
checkpoints, resume, DDP) trains one of the nets of :mod:`serkit.models.nets.quaternion_nets`
at the segment level (every window inherits its utterance's label) and decides per utterance
by pooling the window scores (:mod:`serkit.models.segmented`). Three inputs:

* a quaternion net (``qalexnet``, ``qresnet50``, ``qvgg16``) on the ``encoder`` extractor's
  ``map`` layer with ``pooling: none``: each frame of ``(windows, 16384)`` is one 4-s window's
  RH-emo latent, so a segment is one frame (``segment_frames`` is 1);
* a real twin (``ralexnet``, ``rresnet50``, ``rvgg16``) on ``spectrogram`` features
  (preset ``rhemo``, ``(frames, 128)``): segments of ``window_frames`` frames (512, 4.1 s);
* a quaternion net with ``encoder: PATH`` (an RH-emo package): spectrogram features,
  ``window_frames`` windows, the package's ``encode_map`` in front of the net; frozen
  (``finetune: false``: no gradient, batch norms in eval mode) or fine-tuned with the net.
  Here ``normalize`` must be ``"none"`` (the package scales its input itself). The saved
  model holds the encoder's (fine-tuned) weights; loading it rebuilds the encoder from PATH.

``normalize`` defaults to ``"none"``: the seed feeds the raw RH-emo maps to the quaternion
nets. Set ``normalize: global`` for the real twins: a per-dimension z-score fitted on the
training part, i.e. per frequency bin (the seed used one global mean and standard deviation).
Do not z-score maps per value: latent values under the zero padding of short utterances are
near-constant in training, so a longer test utterance gets values scaled by up to 1e8 (seen on
RAVDESS: chance-level UAR). ``segment_frames`` / ``segment_hop`` are read-only properties
(what the collate and ONNX export use).
"""

from __future__ import annotations

from typing import Any

from serkit.errors import ConfigError
from serkit.models import register_model
from serkit.models.neural import NeuralClassifier
from serkit.models.segmented import PooledForward, SegmentCollate, init_params
from serkit.models.segments import segment

QUATERNION_NETS = ("qalexnet", "qresnet50", "qvgg16")
REAL_NETS = ("ralexnet", "rresnet50", "rvgg16")


@register_model("rhemo-cnn")
class RHEmoCNNClassifier(NeuralClassifier):
    """Quaternion / real CNNs (seed_methods.md 3.6) on windows, pooled per utterance.

    Args (besides those of :class:`NeuralClassifier`; ``net`` defaults to ``"qresnet50"``):
        window_frames: spectrogram frames per window (real twins and the ``encoder`` path).
        window_hop: hop between windows (``None``: ``window_frames``, non-overlapping).
        train_segments: ``"all"`` (every window each epoch) or ``"random"`` (one random crop
            per utterance per epoch).
        pooling: ``"mean"`` or ``"max"`` over an utterance's windows.
        pool_on: pool ``"logits"`` or ``"posteriors"``.
        encoder: an RH-emo encoder package (folder or ``serkit pretrain`` run folder) run in
            front of a quaternion net on spectrogram features; ``None``: the input is maps.
        finetune: train the encoder with the net (``False``: frozen).
    """

    def __init__(
        self,
        net: str = "qresnet50",
        net_params: dict[str, Any] | None = None,
        epochs: int = 30,
        batch_size: int = 32,
        lr: float = 1e-3,
        weight_decay: float = 1e-5,
        optimizer: str = "adam",
        scheduler: str = "plateau",
        patience: int | None = 10,
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
        window_frames: int = 512,
        window_hop: int | None = None,
        train_segments: str = "all",
        pooling: str = "mean",
        pool_on: str = "logits",
        encoder: str | None = None,
        finetune: bool = False,
    ) -> None:
        init_params(self, locals())

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        """Tiny settings for the contract suite (a quaternion net on map rows)."""
        from serkit.models.nets import net_test_params

        return {
            "epochs": 2,
            "batch_size": 8,
            "net": "qvgg16",
            "net_params": net_test_params("qvgg16"),
        }

    # ------------------------------------------------------------------ windows

    @property
    def reads_maps(self) -> bool:
        """True when each input frame is one window's RH-emo map (quaternion net, no
        encoder)."""
        return self.net in QUATERNION_NETS and not self.encoder

    @property
    def segment_frames(self) -> int:
        """Frames per segment: 1 for map rows, else ``window_frames``."""
        return 1 if self.reads_maps else int(self.window_frames)

    @property
    def segment_tail_after(self) -> int | None:
        """RH-emo's window rule (seed_methods.md 3.2): a last window aligned to the end only for
        utterances longer than this many frames (two windows); ``None`` for map rows (already
        windowed by the encoder)."""
        return None if self.reads_maps else 2 * int(self.window_frames)

    @property
    def segment_hop(self) -> int:
        """Hop between segments: 1 for map rows, else ``window_hop`` or ``window_frames``."""
        return 1 if self.reads_maps else int(self.window_hop or self.window_frames)

    def _check_own(self) -> None:
        who = type(self).__name__
        if self.net not in QUATERNION_NETS + REAL_NETS:
            raise ConfigError(
                f"{who}: net must be one of {', '.join(QUATERNION_NETS + REAL_NETS)}, found "
                f"{self.net!r} (other nets train with the 'neural' model)"
            )
        for name in ("window_frames", "window_hop"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"{who}: {name} must be >= 1, found {value}")
        if self.encoder:
            if self.net not in QUATERNION_NETS:
                raise ConfigError(
                    f"{who}: encoder runs an RH-emo package in front of a quaternion net; "
                    f"net {self.net!r} is a real twin (use qalexnet, qresnet50 or qvgg16, or "
                    "drop encoder)"
                )
            if self.normalize != "none":
                raise ConfigError(
                    f"{who}: with encoder, normalize must be 'none' (found "
                    f"{self.normalize!r}): the RH-emo package scales the spectrogram itself"
                )
        elif self.finetune:
            raise ConfigError(f"{who}: finetune=True needs encoder (an RH-emo package path)")
        window = (self.net_params or {}).get("window")
        if self.net in REAL_NETS and window is not None and window != self.window_frames:
            raise ConfigError(
                f"{who}: net_params.window={window} differs from window_frames="
                f"{self.window_frames}; set window_frames only (the net gets it)"
            )

    def check_params(self, input_dim: int | None = None) -> None:
        """The options of :class:`NeuralClassifier` plus this model's (see the class doc).

        With ``encoder`` the net's parameters are checked by name and type only: its size
        comes from the package, which is read when training starts (the run's leakage
        certificate reads it first), so a config validates before the package is pretrained.
        """
        self._check_own()
        super().check_params(None if self.encoder else input_dim)

    # ------------------------------------------------------------------ hooks

    def build_module(self, input_dim: int, n_classes: int) -> Any:
        """The net (real twins get ``window=window_frames``), behind the encoder if any."""
        from serkit.models.nets import build_net

        self._check_own()
        params = dict(self.net_params or {})
        if self.net in REAL_NETS:
            params["window"] = int(self.window_frames)
        if not self.encoder:
            return build_net(self.net, input_dim, n_classes, **params)
        from serkit.models.rhemo_front import EncodedNet

        return EncodedNet.build(
            self.encoder,
            self.net,
            int(input_dim),
            n_classes,
            params,
            window=int(self.window_frames),
            finetune=bool(self.finetune),
        )

    def make_collate(self, train: bool) -> SegmentCollate:
        """Window batches cut as RH-emo cuts them (:class:`RHEmoWindows`); no SpecAugment
        (the seed had none)."""
        return RHEmoWindows(
            self.segment_frames,
            self.segment_hop,
            train=train,
            mode=self.train_segments,
            seed=self.seed,
            tail_after=self.segment_tail_after,
        )

    def forward_fn(self) -> PooledForward:
        """Window logits in training, pooled per utterance in evaluation."""
        return PooledForward(self.pooling, self.pool_on)


class RHEmoWindows(SegmentCollate):
    """:class:`SegmentCollate` with RH-emo's tail rule: the window aligned to the end is added
    only for utterances longer than ``tail_after`` frames (``None``: always, as
    :func:`~serkit.models.segments.segment` does), so the real twins and the fine-tune path
    see the windows of the ``map`` layer.
    """

    def __init__(self, length: int, hop: int, *, tail_after: int | None = None, **kw: Any) -> None:
        super().__init__(length, hop, **kw)
        self.tail_after = tail_after

    def _windows(self, x: Any) -> tuple[Any, int]:
        if self.tail_after is None or (self.train and self.mode == "random"):
            return super()._windows(x)
        tail = len(x) > self.tail_after
        return segment(x, self.length, self.hop, tail=tail), min(len(x), self.length)
