"""Our own AlexNet (torchvision layout) and the log-mel "image" preprocessing of DCNN-BLSTMwA.

The layer names match torchvision's ``alexnet`` (``features.0``, ..., ``classifier.6``) so a
torchvision-format state dict (e.g. ImageNet weights a user has locally) loads with
``pretrained_path``. Nothing is downloaded. Presets: ``"paper"`` (227x227 input, 64-192-384-256-256
channels, FC6/FC7 4096) and the default ``"cpu"`` (64x64 input, narrow channels, FC 256).

The registered net ``"alexnet"`` classifies a whole ``(frames, 3 * bins)`` log-mel input as one
image: per-channel min-max to [0, 1] over the real frames, ImageNet mean/std normalisation,
antialiased bilinear resize to ``input_size`` and AlexNet. The resize is written as two
interpolation matrices (identical to ``F.interpolate(mode="bilinear", antialias=True)``) so that
the net exports to ONNX with dynamic time axes.
"""

from __future__ import annotations

import os
from typing import Any

import torch
from torch import nn

from serkit.errors import ConfigError
from serkit.models.nets import register_net

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

ALEXNET_PRESETS: dict[str, dict[str, Any]] = {
    "paper": {
        "widths": (64, 192, 384, 256, 256),
        "fc": 4096,
        "input_size": 227,
        "stem_stride": 4,
        "pool_size": 6,
        "dropout": 0.5,
        "batch_norm": False,
    },
    "cpu": {
        "widths": (24, 64, 96, 64, 64),
        "fc": 256,
        "input_size": 64,
        "stem_stride": 2,
        "pool_size": 2,
        "dropout": 0.5,
        "batch_norm": False,
    },
}


def alexnet_params(preset: str | None, **params: Any) -> dict[str, Any]:
    """Resolve AlexNet parameters: the preset (default ``"cpu"``) updated by ``params``."""
    name = preset or "cpu"
    if name not in ALEXNET_PRESETS:
        raise ConfigError(
            f"unknown AlexNet preset {name!r}; known: {', '.join(sorted(ALEXNET_PRESETS))}"
        )
    out = dict(ALEXNET_PRESETS[name])
    out.update({k: v for k, v in params.items() if v is not None})
    out["widths"] = tuple(int(w) for w in out["widths"])
    if len(out["widths"]) != 5:
        raise ConfigError(f"AlexNet widths need 5 values, found {out['widths']}")
    return out


class AlexNet(nn.Module):
    """AlexNet with torchvision's layer names.

    Args:
        num_classes: output classes of ``classifier.6``.
        widths: channels of the 5 conv layers.
        fc: width of FC6 and FC7.
        stem_stride: stride of the 11x11 first conv (4 in the original).
        pool_size: output size of the adaptive average pool (6 in the original).
        dropout: dropout before FC6 and FC7.
        input_size: the (square) image size the net is fed, when fixed; then the adaptive
            average pool is replaced by an equivalent fixed pool (exportable to ONNX).
        batch_norm: batch normalisation after every conv (not in the original; trains from
            scratch much faster; the layer names then differ from torchvision's, so
            ``load_pretrained`` takes only a ``cola-alexnet`` package).
    """

    def __init__(
        self,
        num_classes: int,
        *,
        widths: tuple[int, ...] = (64, 192, 384, 256, 256),
        fc: int = 4096,
        stem_stride: int = 4,
        pool_size: int = 6,
        dropout: float = 0.5,
        input_size: int | None = None,
        batch_norm: bool = False,
        **_: Any,
    ) -> None:
        super().__init__()
        w1, w2, w3, w4, w5 = widths
        self.batch_norm = bool(batch_norm)
        #: the settings that fix the tensors' layout and meaning (what a package must share)
        self.layout = {
            "widths": tuple(int(w) for w in widths),
            "fc": int(fc),
            "stem_stride": int(stem_stride),
            "pool_size": int(pool_size),
            "input_size": None if input_size is None else int(input_size),
            "batch_norm": self.batch_norm,
        }

        def conv(c_in: int, c_out: int, **kw: Any) -> list[nn.Module]:
            layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, **kw)]
            if self.batch_norm:
                layers.append(nn.BatchNorm2d(c_out))
            return [*layers, nn.ReLU(inplace=True)]

        self.features = nn.Sequential(
            *conv(3, w1, kernel_size=11, stride=stem_stride, padding=2),
            nn.MaxPool2d(kernel_size=3, stride=2),
            *conv(w1, w2, kernel_size=5, padding=2),
            nn.MaxPool2d(kernel_size=3, stride=2),
            *conv(w2, w3, kernel_size=3, padding=1),
            *conv(w3, w4, kernel_size=3, padding=1),
            *conv(w4, w5, kernel_size=3, padding=1),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((pool_size, pool_size))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(w5 * pool_size * pool_size, fc),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(fc, fc),
            nn.ReLU(inplace=True),
            nn.Linear(fc, num_classes),
        )
        self.feature_dim = fc
        self.pool_kernel: int | None = None
        self.pool_side = 0
        if input_size is not None:
            side = (int(input_size) + 4 - 11) // stem_stride + 1
            for _ in range(3):
                side = (side - 3) // 2 + 1
            if side < 1:
                raise ConfigError(
                    f"AlexNet input_size {input_size} is too small for stem_stride "
                    f"{stem_stride} (the feature map vanishes); use a larger input_size"
                )
            if side % pool_size == 0:
                self.pool_kernel, self.pool_side = side // pool_size, side

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """FC7 output **before** its ReLU (the DCNN-BLSTMwA segment feature).

        Args:
            images: ``(n, 3, height, width)``.

        Returns:
            ``(n, fc)``.
        """
        h = self.features(images)
        fixed = self.pool_kernel is not None and (
            torch.jit.is_tracing() or tuple(h.shape[-2:]) == (self.pool_side, self.pool_side)
        )
        if not fixed:
            h = self.avgpool(h)
        elif self.pool_kernel > 1:
            h = nn.functional.avg_pool2d(h, self.pool_kernel)
        h = torch.flatten(h, 1)
        c = self.classifier
        return c[4](c[3](c[2](c[1](c[0](h)))))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Logits ``(n, num_classes)`` of images ``(n, 3, height, width)``."""
        return self.classifier[6](self.classifier[5](self.embed(images)))

    def load_pretrained(self, path: str | os.PathLike) -> list[str]:
        """Load a torchvision-format state dict from a local file, or the AlexNet of a
        ``cola-alexnet`` encoder package (a folder: :func:`serkit.encoders.cola.alexnet_state`;
        its AlexNet settings must equal this net's, batch norm included).

        The last layer (``classifier.6``) is skipped when its shape differs (another number of
        classes) or the source has none. Returns the names of the skipped keys.

        Raises:
            ConfigError: the file is missing, a feature/FC tensor has another shape, or the
                package's AlexNet has other settings.
        """
        if not os.path.exists(path):
            raise ConfigError(
                f"AlexNet pretrained_path {str(path)!r} does not exist; pass a local "
                "torchvision-format state dict (.pth), a cola-alexnet package (`serkit "
                "pretrain` writes it, e.g. configs/pretrain/cola_alexnet_cpu.yaml), or leave "
                "pretrained_path empty"
            )
        if os.path.isdir(path):
            from serkit.encoders.cola import alexnet_state

            state = alexnet_state(path, self.layout)
            self.load_state_dict(state, strict=False)
            return sorted(k for k in self.state_dict() if k not in state)
        if self.batch_norm:
            raise ConfigError(
                f"AlexNet pretrained_path {str(path)!r}: torchvision AlexNet weights fit the "
                "layout without batch normalisation; set batch_norm: false to load them, or "
                "pass a cola-alexnet encoder package (serkit pretrain) trained with batch norm"
            )
        state = torch.load(path, map_location="cpu", weights_only=True)
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
        own = self.state_dict()
        skipped, load = [], {}
        for key, value in state.items():
            key = key.removeprefix("module.")
            if key not in own:
                skipped.append(key)
                continue
            if own[key].shape != value.shape:
                if key.startswith("classifier.6."):
                    skipped.append(key)
                    continue
                raise ConfigError(
                    f"{path}: tensor {key!r} has shape {tuple(value.shape)}, this AlexNet expects "
                    f"{tuple(own[key].shape)}; use preset='paper' for ImageNet AlexNet weights"
                )
            load[key] = value
        self.load_state_dict(load, strict=False)
        return skipped


def weights_key(path: str | os.PathLike) -> str:
    """Content key (16 hex) of a ``pretrained_path``: a package's key, a file's SHA-256, or
    ``"missing"`` (the net refuses a missing path when it is built); part of a run's
    fingerprint, so replacing the weights at the same path recomputes its folds."""
    from serkit.encoders.package import encoder_folders, meta_key, read_encoder_meta
    from serkit.models.package import file_sha256

    if os.path.isdir(path):
        folders = encoder_folders(path)
        if "" not in folders:
            return "per-fold"  # the net refuses it with the list of folds
        return meta_key(read_encoder_meta(folders[""]))
    return file_sha256(path)[:16] if os.path.isfile(path) else "missing"


def dim_size(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Size of ``t`` along ``dim`` as a 0-d int64 tensor (stays dynamic in ONNX export)."""
    if torch.jit.is_tracing() or torch.onnx.is_in_onnx_export():
        return torch._shape_as_tensor(t)[dim]
    return torch.tensor(t.shape[dim])


def resize_matrix(
    in_size: torch.Tensor | int, out_size: int, lengths: torch.Tensor | None = None
) -> torch.Tensor:
    """Antialiased bilinear interpolation matrix ``(out_size, in_size)``.

    ``M @ v`` equals ``F.interpolate(..., mode="bilinear", antialias=True,
    align_corners=False)`` along one axis (triangle filter widened by the downscale factor,
    weights normalised per output sample). Built from torch ops so ONNX export keeps
    ``in_size`` dynamic.

    Args:
        in_size: input samples along the axis.
        out_size: output samples.
        lengths: optional ``(batch,)`` real samples per example; then the result is
            ``(batch, out_size, in_size)`` and example ``b`` resizes only its first
            ``lengths[b]`` samples (padding gets weight 0).
    """
    n_in = torch.as_tensor(in_size)
    src = torch.arange(n_in.to(torch.long), dtype=torch.float32) + 0.5
    steps = torch.arange(out_size, dtype=torch.float32) + 0.5
    if lengths is None:
        size = n_in.to(torch.float32).reshape(1)
    else:
        size = lengths.to(torch.float32).reshape(-1)
    scale = size / out_size  # (B,)
    support = torch.clamp(scale, min=1.0)
    centers = steps[None, :] * scale[:, None]  # (B, out)
    dist = torch.abs(src[None, None, :] - centers[:, :, None]) / support[:, None, None]
    w = torch.clamp(1.0 - dist, min=0.0)
    w = torch.where(src[None, None, :] < size[:, None, None], w, torch.zeros_like(w))
    w = w / w.sum(dim=2, keepdim=True)
    return w if lengths is not None else w[0]


def minmax_imagenet(
    x: torch.Tensor, lengths: torch.Tensor | None = None, channels: int = 3
) -> torch.Tensor:
    """Per-example, per-channel min-max to [0, 1] over the real frames, then ImageNet mean/std.

    Args:
        x: ``(batch, frames, channels * bins)`` log-mel (+ deltas), channel-major.
        lengths: ``(batch,)`` real frames; padded frames are excluded from min/max and set to 0
            in the output.
        channels: number of stacked channels (3 for ImageNet statistics).

    Returns:
        ``(batch, channels, bins, frames)`` image tensor.
    """
    batch, frames, dim = x.shape
    if channels != 3 or dim % 3:
        raise ConfigError(
            f"DCNN input must be 3-channel log-mel (static, delta, delta-delta) stacked as "
            f"(frames, 3 * bins); found dim {dim} with channels={channels}"
        )
    img = x.reshape(batch, frames, 3, dim // 3).permute(0, 2, 3, 1)  # (B, 3, bins, frames)
    if lengths is None:
        valid = torch.ones(batch, 1, 1, frames, dtype=torch.bool, device=x.device)
    else:
        t = torch.arange(frames, device=x.device)
        valid = (t[None, :] < lengths.to(x.device)[:, None])[:, None, None, :]
    big = torch.finfo(x.dtype).max
    lo = torch.where(valid, img, torch.full_like(img, big)).amin(dim=(2, 3), keepdim=True)
    hi = torch.where(valid, img, torch.full_like(img, -big)).amax(dim=(2, 3), keepdim=True)
    img = (img - lo) / torch.clamp(hi - lo, min=1e-8)
    mean = torch.tensor(IMAGENET_MEAN, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    img = (img - mean) / std
    return torch.where(valid, img, torch.zeros_like(img))


def resize_images(
    images: torch.Tensor, size: int, lengths: torch.Tensor | None = None
) -> torch.Tensor:
    """Antialiased bilinear resize of ``(n, c, h, w)`` to ``(n, c, size, size)`` (ONNX-safe).

    With ``lengths`` ``(n,)`` only the first ``lengths[i]`` columns (frames) of image ``i`` are
    resized, so zero padding along the width does not change the result.
    """
    h, w = dim_size(images, -2), dim_size(images, -1)
    mh = resize_matrix(h, size).to(images)
    out = torch.matmul(mh, images)  # (n, c, size, w)
    if lengths is None:
        return torch.matmul(out, resize_matrix(w, size).to(images).transpose(0, 1))
    mw = resize_matrix(w, size, lengths).to(images)  # (n, size, w)
    return torch.matmul(out, mw.transpose(1, 2)[:, None])


@register_net("alexnet")
class AlexNetClassifier(nn.Module):
    """Registered net ``"alexnet"``: a whole log-mel input classified as one image.

    Args:
        input_dim: ``3 * bins`` (channel-major static, delta, delta-delta).
        num_classes: output classes.
        preset: ``"cpu"`` (default) or ``"paper"``; other parameters override it.
        normalize: apply :func:`minmax_imagenet` (False when the input is already normalised).
        pretrained_path: optional local torchvision-format AlexNet state dict.
        **params: ``widths``, ``fc``, ``input_size``, ``stem_stride``, ``pool_size``,
            ``dropout``.
    """

    def __init__(
        self,
        input_dim: int,
        num_classes: int,
        preset: str | None = None,
        normalize: bool = True,
        pretrained_path: str | None = None,
        **params: Any,
    ) -> None:
        super().__init__()
        if input_dim % 3:
            raise ConfigError(f"alexnet needs input_dim = 3 * bins, found {input_dim}")
        self.hp = alexnet_params(preset, **params)
        self.normalize = bool(normalize)
        self.input_size = int(self.hp["input_size"])
        self.alexnet = AlexNet(num_classes, **self.hp)
        if pretrained_path:
            self.alexnet.load_pretrained(pretrained_path)

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        """Small sizes for contract tests."""
        return {
            "widths": (8, 16, 16, 16, 16),
            "fc": 32,
            "input_size": 40,
            "pool_size": 1,
            "dropout": 0.0,
        }

    def images(self, x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
        """``(batch, frames, 3 * bins)`` -> resized ``(batch, 3, size, size)`` images."""
        if self.normalize:
            img = minmax_imagenet(x, lengths)
        else:
            b, t, d = x.shape
            img = x.reshape(b, t, 3, d // 3).permute(0, 2, 3, 1)
        return resize_images(img, self.input_size, lengths)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Logits ``(batch, classes)`` of ``x`` ``(batch, frames, 3 * bins)``."""
        return self.alexnet(self.images(x, lengths))
