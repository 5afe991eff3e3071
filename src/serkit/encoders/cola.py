"""``cola-alexnet``: contrastive pretraining of the DCNN-BLSTMwA's AlexNet, label-free.

COLA (Saeed et al., ICASSP 2021): two windows cut at random times from the same utterance are a
positive pair, the other rows' windows in the batch are the negatives; the loss is the
cross-entropy of a bilinear similarity over the batch (InfoNCE, here in both directions). The
encoder is serkit's AlexNet (:class:`serkit.models.nets.alexnet.AlexNet`, the DCNN-BLSTMwA's
``cpu`` preset with batch norm by default) fed exactly as DCNN-BLSTMwA feeds it: a 64-mel +
delta + delta-delta log-mel (front end ``logmel`` preset ``dcnn``), min-max per channel over
the utterance's real frames, ImageNet mean/std, a ``window_frames`` window (zero beyond the
last real frame) resized to ``input_size`` squared. COLA's head follows the AlexNet's FC7:
Linear ``fc -> proj_dim``, layer norm, tanh, and a learnt bilinear form.

It stands in for the ImageNet weights the seed fine-tunes (issue 16: no outside weights): the
DCNN-BLSTMwA loads a package with ``net_params.pretrained_path: <package or pretrain run>``
(:func:`alexnet_state`) and stage 1 fine-tunes it. An emotion lasts the whole utterance,
so two windows of one utterance share it; they also share speaker, channel and sentence, which
is what the negatives (mostly other speakers) make easiest to use. Each view gets its own
SpecAugment-style masks (one time mask and one frequency mask of up to a quarter of the
image, filled with 0: the ImageNet-normalised mean), so that copying local texture does not
solve the task.

Training: the pretrain loop crops ``segment_frames`` frames per row; inside them the two
windows start independently and uniformly over the real frames (a row shorter than a window
gives one zero-padded window, seen twice with different masks). Layer ``embedding``
(utterance level): FC7 (before its ReLU, the DCNN-BLSTMwA's segment feature) of windows every
``crop_step`` frames, averaged per row. Sizes: ``cpu`` is the DCNN-BLSTMwA cpu AlexNet
(64 x 64 images, FC 256), ``paper`` the 227 x 227 AlexNet with FC 4096.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from serkit.encoders import _crops as C
from serkit.encoders import register_encoder
from serkit.encoders.base import EncoderNet, refuse_conditioning
from serkit.errors import ConfigError

#: the DCNN-BLSTMwA's front end (64 log-mels + deltas + delta-deltas, channel-major)
DCNN_LOGMEL: dict[str, Any] = {"preset": "dcnn"}


def window_images(
    img: torch.Tensor,
    lengths: torch.Tensor,
    rows: torch.Tensor,
    starts: torch.Tensor,
    window: int,
    size: int,
) -> torch.Tensor:
    """Windows of min-max normalised log-mel images, resized: ``(crops, 3, size, size)``.

    Args:
        img: ``(batch, 3, bins, frames)`` from :func:`~serkit.models.nets.alexnet.minmax_imagenet`
            (padded frames 0).
        lengths: ``(batch,)`` real frames.
        rows: ``(crops,)`` the row of each window.
        starts: ``(crops,)`` its first frame (a negative start, a short row's centred crop,
            reads from frame 0); frames past the row's end read as 0, as DCNN-BLSTMwA
            zero-pads a short utterance's window.
        window: frames per window.
        size: output image side.
    """
    from serkit.models.nets.alexnet import resize_matrix

    pos, real = C.positions(lengths[rows], starts.clamp(min=0), window)
    rows_d, pos_d = rows.to(img.device), pos.to(img.device)
    crops = img.permute(0, 3, 1, 2)[rows_d.unsqueeze(1), pos_d]  # (crops, window, 3, bins)
    crops = crops * real.to(img.device)[:, :, None, None].to(img.dtype)
    crops = crops.permute(0, 2, 3, 1)  # (crops, 3, bins, window)
    mh = resize_matrix(int(img.shape[2]), size).to(img)
    mw = resize_matrix(window, size).to(img)
    return torch.matmul(torch.matmul(mh, crops), mw.transpose(0, 1))


def mask_images(images: torch.Tensor, fraction: float) -> torch.Tensor:
    """One time and one frequency band per image set to 0, each up to ``fraction`` of the side
    (torch RNG; ``fraction`` 0 returns ``images`` unchanged). ``images``: ``(n, 3, h, w)``."""
    if fraction <= 0:
        return images
    n, _, h, w = images.shape
    keep = torch.ones(n, 1, h, w, dtype=images.dtype, device=images.device)
    for axis, side in ((2, h), (3, w)):
        width = (torch.rand(n) * (int(side * fraction) + 1)).long()
        start = (torch.rand(n) * (side - width + 1).to(torch.float32)).long()
        idx = torch.arange(side)[None, :]
        band = ((idx >= start[:, None]) & (idx < (start + width)[:, None])).to(images.device)
        shape = (n, 1, side, 1) if axis == 2 else (n, 1, 1, side)
        keep = keep * (~band).to(images.dtype).view(shape)
    return images * keep


@register_encoder("cola-alexnet")
class ColaAlexNet(EncoderNet):
    """AlexNet + COLA head trained to tell which windows come from the same utterance.

    Args:
        input_dim: ``3 * bins`` of the ``logmel`` ``dcnn`` front end.
        num_classes: unused (label-free).
        cond_dim: must be 0 (no conditioning).
        alexnet: AlexNet preset (``"cpu"`` or ``"paper"``).
        alexnet_params: overrides of the preset (DCNN-BLSTMwA's ``alexnet_params``; the
            shipped DCNN configs use ``{batch_norm: true}``). A DCNN-BLSTMwA loads the
            package only with the same AlexNet settings.
        proj_dim: size of COLA's projection.
        window_frames: frames per window (DCNN-BLSTMwA's ``segment_frames``).
        segment_frames: frames of the training crop both windows are cut from.
        crop_step: frames between the windows of :meth:`embed`.
        mask_fraction: the largest masked band of each view, as a fraction of the image side.
    """

    layers: ClassVar[tuple[str, ...]] = ("embedding",)
    layer_levels: ClassVar[dict[str, str]] = {"embedding": "utterance"}
    default_frontend: ClassVar[dict[str, Any]] = {"name": "logmel", "params": DCNN_LOGMEL}
    input_norm: ClassVar[str] = "none"  # the AlexNet path min-max normalises each utterance
    segment_frames: ClassVar[int | None] = 320
    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "cpu": {"alexnet": "cpu", "alexnet_params": {"batch_norm": True}, "proj_dim": 128},
        "paper": {"alexnet": "paper", "alexnet_params": {}, "proj_dim": 512},
    }

    def __init__(
        self,
        input_dim: int,
        num_classes: int = 0,
        cond_dim: int = 0,
        *,
        alexnet: str = "cpu",
        alexnet_params: dict[str, Any] | None = None,
        proj_dim: int = 128,
        window_frames: int = 128,
        segment_frames: int = 320,
        crop_step: int = 64,
        mask_fraction: float = 0.25,
    ) -> None:
        super().__init__()
        from serkit.models.nets.alexnet import AlexNet
        from serkit.models.nets.alexnet import alexnet_params as resolve

        name = self.encoder_name
        refuse_conditioning(name, cond_dim)
        if input_dim < 3 or input_dim % 3:
            raise ValueError(f"{name} needs input_dim = 3 * bins, found {input_dim}")
        if min(window_frames, segment_frames, crop_step, proj_dim) < 1:
            raise ValueError(
                f"{name}: window_frames, segment_frames, crop_step and proj_dim must be >= 1, "
                f"found {window_frames}, {segment_frames}, {crop_step} and {proj_dim}"
            )
        if segment_frames < window_frames:
            raise ValueError(
                f"{name}: segment_frames ({segment_frames}) must hold a window "
                f"(window_frames {window_frames}); raise segment_frames"
            )
        if not 0 <= mask_fraction < 1:
            raise ValueError(f"{name}: mask_fraction must lie in [0, 1), found {mask_fraction}")
        self.input_dim = int(input_dim)
        self.alexnet_name = str(alexnet)
        self.alexnet_overrides = dict(alexnet_params or {})
        self.hp = resolve(self.alexnet_name, **self.alexnet_overrides)
        self.proj_dim, self.window_frames = int(proj_dim), int(window_frames)
        self.segment_frames, self.crop_step = int(segment_frames), int(crop_step)
        self.mask_fraction = float(mask_fraction)
        self.alexnet = AlexNet(1, **self.hp)  # classifier.6 is never used nor exported
        self.head = nn.Sequential(
            nn.Linear(self.alexnet.feature_dim, self.proj_dim),
            nn.LayerNorm(self.proj_dim),
            nn.Tanh(),
        )
        self.bilinear = nn.Linear(self.proj_dim, self.proj_dim, bias=False)

    def get_config(self) -> dict[str, Any]:
        """JSON-able params: ``cls(input_dim, 0, 0, **get_config())`` rebuilds the net."""
        return {
            "alexnet": self.alexnet_name,
            "alexnet_params": dict(self.alexnet_overrides),
            "proj_dim": self.proj_dim,
            "window_frames": self.window_frames,
            "segment_frames": self.segment_frames,
            "crop_step": self.crop_step,
            "mask_fraction": self.mask_fraction,
        }

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        """Tiny sizes for the contract suite: DCNN-BLSTMwA's test AlexNet with batch norm
        (40-pixel images), 16-frame windows."""
        from serkit.models.nets.dcnn_blstm import DCNNBLSTMwA

        return {
            "alexnet_params": {**DCNNBLSTMwA.test_params()["alexnet_params"], "batch_norm": True},
            "proj_dim": 16,
            "window_frames": 16,
            "segment_frames": 24,
            "crop_step": 8,
        }

    def _image(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``(batch, 3, bins, frames)`` min-max + ImageNet normalised log-mel images."""
        from serkit.models.nets.alexnet import minmax_imagenet

        return minmax_imagenet(x, lengths.to(x.device))

    def _windows(self, img: torch.Tensor, lengths: torch.Tensor, rows, starts) -> torch.Tensor:
        size = int(self.hp["input_size"])
        return window_images(img, lengths, rows, starts, self.window_frames, size)

    def pair_logits(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Bilinear similarities ``(batch, batch)`` of two random windows per row: entry
        ``(i, j)`` scores row ``i``'s first window against row ``j``'s second."""
        lengths = C.check_lengths(lengths, x.shape[1], self.encoder_name)
        rows = torch.arange(x.shape[0])
        img = self._image(x, lengths)
        views = []
        for _ in range(2):
            starts = C.random_starts(lengths, self.window_frames)
            images = mask_images(self._windows(img, lengths, rows, starts), self.mask_fraction)
            views.append(self.head(self.alexnet.embed(images)))
        return views[0] @ self.bilinear(views[1]).T

    def loss(self, x, lengths, labels=None, cond=None):
        """Symmetric InfoNCE over the batch; parts ``nce`` and ``accuracy`` (the share of rows
        whose own second window scores highest)."""
        logits = self.pair_logits(x, lengths)
        target = torch.arange(logits.shape[0], device=logits.device)
        loss = 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))
        with torch.no_grad():
            accuracy = float((logits.argmax(dim=1) == target).float().mean())
        return loss, {"nce": float(loss.detach()), "accuracy": accuracy}

    def embed(self, x, lengths, cond=None, layer=None):
        """Utterance embeddings ``(batch, fc)``: mean FC7 of windows every ``crop_step`` frames."""
        if layer not in (None, "embedding"):
            raise ValueError(f"{self.encoder_name}: layer {layer!r}; expected 'embedding'")
        lengths = C.check_lengths(lengths, x.shape[1], self.encoder_name)
        rows, starts = C.sliding_starts(lengths, self.window_frames, self.crop_step)
        feats = self.alexnet.embed(self._windows(self._image(x, lengths), lengths, rows, starts))
        return C.mean_by_row(feats, rows, x.shape[0])


def alexnet_state(path: str | os.PathLike, layout: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The AlexNet tensors of a ``cola-alexnet`` package, checked against AlexNet settings.

    Args:
        path: an encoder package folder or a single-package pretrain run folder.
        layout: :attr:`~serkit.models.nets.alexnet.AlexNet.layout` of the net that will load
            them.

    Returns:
        The state dict of the package's AlexNet without ``classifier.6`` (the output layer).

    Raises:
        ConfigError: not a package of this family, or its AlexNet has other settings (names
            each differing setting and both values).
    """
    from serkit.encoders.package import load_encoder

    package = load_encoder(path)
    net = package.net
    if not isinstance(net, ColaAlexNet):
        raise ConfigError(
            f"pretrained_path {str(path)!r} is a {package.meta['family']!r} encoder package; "
            "only cola-alexnet packages hold AlexNet weights (or pass a torchvision .pth file)"
        )
    own = net.alexnet.layout
    differ = [k for k in sorted(layout) if own.get(k) != layout[k]]
    if differ:
        found = ", ".join(f"{k}: package {own.get(k)!r}, net {layout[k]!r}" for k in differ)
        raise ConfigError(
            f"pretrained_path {str(path)!r}: its AlexNet was trained with other settings "
            f"({found}); use the same alexnet preset and alexnet_params as the pretrain config"
        )
    return {k: v for k, v in net.alexnet.state_dict().items() if not k.startswith("classifier.6.")}

