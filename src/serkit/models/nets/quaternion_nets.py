"""Quaternion AlexNet / ResNet-50 / VGG16 on RH-emo maps and their real twins on spectrograms.

Six registered nets (seed_methods.md 3.6), one backbone definition each
(:mod:`serkit.quaternion.backbones`):

* ``qalexnet``, ``qresnet50``, ``qvgg16``: every frame of the input is one window's RH-emo
  latent, flattened in C order: ``dim = prod(map_shape)`` (``(4, 64, 64)`` -> 16384, the rows
  of the ``encoder`` extractor's ``map`` layer); it is reshaped to ``map_shape`` and read as a
  map of ``map_shape[0] / 4`` quaternions.
* ``ralexnet``, ``rresnet50``, ``rvgg16``: the input is a spectrogram ``(frames, bins)`` cut
  into windows of ``window`` frames (512 = 4.1 s at hop 128), each a one-channel image
  ``(1, window, bins)``, optionally average-pooled by ``input_pool`` first.

Both score every window and average the window logits over an utterance's real windows, so
padded frames never change the output; the ``rhemo-cnn`` model feeds them one window per row
(segment-level training, utterance-level pooling; :mod:`serkit.models.rhemo_cnn`).

Presets: ``paper`` (the exact 3.6 sizes: input (4, 64, 64) or (1, 512, 128), AlexNet
64-192-384-256-256 + FC 4096, ResNet-50 widths 64-512 with blocks 3-4-6-3, VGG16 64-512 + FC
4096, no batch norm in AlexNet/VGG) and ``cpu`` (the default: widths / 4, FC 256, batch norm
after every AlexNet/VGG conv, real twins average-pool each 512 x 128 window by (8, 2) to
64 x 64, the size of the RH-emo latent they are compared with). Any preset value can be
overridden by the parameter of the same name.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
from torch import nn

from serkit.errors import ConfigError
from serkit.models.nets import register_net
from serkit.models.nets.alexnet import dim_size
from serkit.quaternion.backbones import BACKBONES, LayerKit

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "paper": {
        "alexnet": {
            "widths": [64, 192, 384, 256, 256],
            "fc": 4096,
            "pool_size": 6,
            "stem_stride": 4,
            "dropout": 0.5,
            "batch_norm": False,
        },
        "resnet50": {"widths": [64, 128, 256, 512], "blocks": [3, 4, 6, 3]},
        "vgg16": {
            "widths": [64, 128, 256, 512, 512],
            "convs": [2, 2, 3, 3, 3],
            "fc": 4096,
            "dropout": 0.5,
            "batch_norm": False,
        },
        "real": {"window": 512, "input_pool": [1, 1]},
    },
    "cpu": {
        "alexnet": {
            "widths": [16, 48, 96, 64, 64],
            "fc": 256,
            "pool_size": 1,
            "stem_stride": 4,
            "dropout": 0.5,
            "batch_norm": True,
        },
        "resnet50": {"widths": [16, 32, 64, 128], "blocks": [3, 4, 6, 3]},
        "vgg16": {
            "widths": [16, 32, 64, 128, 128],
            "convs": [2, 2, 3, 3, 3],
            "fc": 256,
            "dropout": 0.5,
            "batch_norm": True,
        },
        "real": {"window": 512, "input_pool": [8, 2]},
    },
}
MAP_SHAPE = (4, 64, 64)


def resolve_params(arch: str, preset: str, overrides: dict[str, Any], real: bool) -> dict[str, Any]:
    """The backbone (and, for a real twin, window) parameters of ``preset`` with
    ``overrides`` (``None`` values keep the preset's)."""
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}; known: {', '.join(sorted(PRESETS))}")
    out = dict(PRESETS[preset][arch])
    if real:
        out.update(PRESETS[preset]["real"])
    out.update({k: v for k, v in overrides.items() if v is not None})
    return out


class WindowCNN(nn.Module):
    """Base of the six nets: windows of the input -> backbone -> mean of window logits.

    Subclasses set ``arch`` (a key of :data:`~serkit.quaternion.backbones.BACKBONES`) and
    ``quaternion``.
    """

    arch: ClassVar[str]
    quaternion: ClassVar[bool]

    def _setup(self, input_dim: int, num_classes: int, params: dict[str, Any]) -> None:
        name = getattr(self, "net_name", type(self).__name__)
        preset = params.pop("preset")
        bn_stats = params.pop("bn_stats")
        map_shape = params.pop("map_shape")
        window = params.pop("window")
        input_pool = params.pop("input_pool")
        if self.quaternion:
            for key, value in (("window", window), ("input_pool", input_pool)):
                if value is not None:
                    raise ConfigError(
                        f"net {name!r}: {key} is a parameter of the real twins; a quaternion "
                        "net reads one RH-emo map per frame (set map_shape instead)"
                    )
            shape = tuple(int(v) for v in (map_shape or MAP_SHAPE))
            if len(shape) != 3 or shape[0] % 4 or math.prod(shape) != input_dim:
                raise ConfigError(
                    f"net {name!r}: each input frame must be one flattened RH-emo map of "
                    f"map_shape (channels multiple of 4, H, W); map_shape {list(shape)} has "
                    f"{math.prod(shape)} values but the features have {input_dim} per frame. "
                    "Use the encoder extractor's 'map' layer with pooling 'none' (16384 = 4 x 64 "
                    "x 64) or set map_shape; on spectrogram features, give the rhemo-cnn model an "
                    "RH-emo package (encoder: PATH) or use a real twin (r*)"
                )
            self.window, self.pool = 1, (1, 1)
            self.image_shape = shape
            kit = LayerKit(quaternion=True, bn_stats=bn_stats)
            resolved = resolve_params(self.arch, preset, params, real=False)
        else:
            if map_shape is not None:
                raise ConfigError(
                    f"net {name!r}: map_shape is a parameter of the quaternion nets; a real "
                    "twin reads spectrogram windows (set window / input_pool)"
                )
            resolved = resolve_params(
                self.arch, preset, {**params, "window": window, "input_pool": input_pool}, real=True
            )
            self.window = int(resolved.pop("window"))
            self.pool = tuple(int(v) for v in resolved.pop("input_pool"))
            if self.window < 1 or len(self.pool) != 2 or min(self.pool) < 1:
                raise ConfigError(
                    f"net {name!r}: window must be >= 1 and input_pool two positive ints, found "
                    f"{self.window} and {list(self.pool)}"
                )
            self.image_shape = (1, self.window // self.pool[0], int(input_dim) // self.pool[1])
            kit = LayerKit(quaternion=False)
        self.resolved = {"preset": preset, **resolved}
        self.backbone = BACKBONES[self.arch](kit, self.image_shape, int(num_classes), **resolved)

    def images(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Real windows as images ``(n, C, H, W)`` and the batch row ``(n,)`` of each."""
        batch, dim = x.shape[0], x.shape[2]
        frames = dim_size(x, 1)  # a tensor, so the ONNX graph keeps frames dynamic
        keep = torch.arange(frames, device=x.device)[None, :] < lengths[:, None]
        x = torch.where(keep[:, :, None], x, torch.zeros_like(x))
        if self.window > 1:  # pad to whole windows
            whole = (frames + self.window - 1) // self.window * self.window
            x = nn.functional.pad(x, (0, 0, 0, self.window - 1))[:, :whole]
        windows = x.reshape(batch, -1, self.window * dim)  # (batch, n_windows, window * dim)
        starts = torch.arange(dim_size(windows, 1), device=x.device) * self.window
        real = starts[None, :] < lengths[:, None]  # a window with at least one real frame
        row, col = torch.nonzero(real, as_tuple=True)
        flat = windows[row, col]
        if self.quaternion:
            return flat.reshape(-1, *self.image_shape), row
        images = flat.reshape(-1, 1, self.window, dim)
        if self.pool != (1, 1):
            images = nn.functional.avg_pool2d(images, self.pool)
        return images, row

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``(batch, frames, dim)``, ``(batch,)`` -> ``(batch, classes)``: the mean logits of
        each row's real windows."""
        images, row = self.images(x, lengths)
        logits = self.backbone(images)
        total = torch.zeros(x.shape[0], logits.shape[1], dtype=logits.dtype, device=logits.device)
        total = total.scatter_add(0, row[:, None].expand_as(logits), logits)
        count = torch.zeros(x.shape[0], dtype=logits.dtype, device=logits.device)
        count = count.scatter_add(0, row, torch.ones_like(row, dtype=logits.dtype))
        return total / count.clamp_min(1.0)[:, None]


def _test_params(arch: str, quaternion: bool) -> dict[str, Any]:
    tiny = {
        "alexnet": {"widths": [4, 8, 8, 8, 8], "fc": 16, "stem_stride": 1, "dropout": 0.0},
        "resnet50": {"widths": [4, 4, 8, 8], "blocks": [1, 1, 1, 1]},
        "vgg16": {"widths": [4, 8, 8, 8, 8], "convs": [1, 1, 1, 1, 1], "fc": 16, "dropout": 0.0},
    }[arch]
    side = 24 if arch == "alexnet" else 32
    if quaternion:
        return {**tiny, "map_shape": [4, side, side]}
    return {**tiny, "window": side, "input_pool": [1, 1]}


def _make(arch: str, quaternion: bool, doc: str) -> type:
    side = 24 if arch == "alexnet" else 32

    class Net(WindowCNN):
        def __init__(
            self,
            input_dim: int,
            num_classes: int,
            preset: str = "cpu",
            widths: list[int] | None = None,
            fc: int | None = None,
            blocks: list[int] | None = None,
            convs: list[int] | None = None,
            pool_size: int | None = None,
            stem_stride: int | None = None,
            dropout: float | None = None,
            batch_norm: bool | None = None,
            map_shape: list[int] | None = None,
            bn_stats: str = "channel",
            window: int | None = None,
            input_pool: list[int] | None = None,
        ) -> None:
            super().__init__()
            own = {
                "alexnet": ("widths", "fc", "pool_size", "stem_stride", "dropout", "batch_norm"),
                "resnet50": ("widths", "blocks"),
                "vgg16": ("widths", "convs", "fc", "dropout", "batch_norm"),
            }[arch]
            values = dict(locals())
            given = {
                k: values[k]
                for k in ("widths", "fc", "blocks", "convs", "pool_size", "stem_stride")
                + ("dropout", "batch_norm")
                if values[k] is not None
            }
            foreign = sorted(set(given) - set(own))
            if foreign:
                raise ConfigError(
                    f"net {type(self).net_name!r}: {', '.join(foreign)} not used by {arch}; its "
                    f"parameters: {', '.join(own)} (and preset, "
                    f"{'map_shape, bn_stats' if quaternion else 'window, input_pool'})"
                )
            if not quaternion and bn_stats != "channel":
                raise ConfigError(
                    f"net {type(self).net_name!r}: bn_stats is a parameter of the quaternion nets"
                )
            self._setup(
                input_dim,
                num_classes,
                {
                    **given,
                    "preset": preset,
                    "bn_stats": bn_stats,
                    "map_shape": map_shape,
                    "window": window,
                    "input_pool": input_pool,
                },
            )

        @classmethod
        def test_params(cls) -> dict[str, Any]:
            """Tiny sizes for the contract suite."""
            return _test_params(arch, quaternion)

    Net.arch, Net.quaternion = arch, quaternion
    Net.test_input_dim = 4 * side * side if quaternion else side
    Net.__doc__ = doc
    Net.__qualname__ = Net.__name__ = ("Q" if quaternion else "R") + {
        "alexnet": "AlexNet",
        "resnet50": "ResNet50",
        "vgg16": "VGG16",
    }[arch]
    return Net


_Q_ARGS = """

    Args:
        input_dim: values per frame, ``prod(map_shape)`` (16384).
        num_classes: outputs (real last layer).
        preset: ``"cpu"`` (default) or ``"paper"``; other parameters override it.
        map_shape: ``(channels, H, W)`` of one frame (default ``(4, 64, 64)``).
        bn_stats: :class:`~serkit.quaternion.QuaternionBatchNorm2d` statistics.
        widths, fc, blocks, convs, pool_size, stem_stride, dropout, batch_norm: backbone sizes
            (those of this architecture only).
"""
_R_ARGS = """

    Args:
        input_dim: spectrogram bins (128).
        num_classes: outputs.
        preset: ``"cpu"`` (default) or ``"paper"``; other parameters override it.
        window: frames per window (512).
        input_pool: average-pool of each window before the backbone ((8, 2) cpu, (1, 1) paper).
        widths, fc, blocks, convs, pool_size, stem_stride, dropout, batch_norm: backbone sizes
            (those of this architecture only).
"""

QAlexNet = register_net("qalexnet")(
    _make("alexnet", True, "Quaternion AlexNet on RH-emo maps (frames = windows)." + _Q_ARGS)
)
QResNet50 = register_net("qresnet50")(
    _make("resnet50", True, "Quaternion ResNet-50 on RH-emo maps (frames = windows)." + _Q_ARGS)
)
QVGG16 = register_net("qvgg16")(
    _make("vgg16", True, "Quaternion VGG16 on RH-emo maps (frames = windows)." + _Q_ARGS)
)
RAlexNet = register_net("ralexnet")(
    _make("alexnet", False, "Real AlexNet twin on spectrogram windows." + _R_ARGS)
)
RResNet50 = register_net("rresnet50")(
    _make("resnet50", False, "Real ResNet-50 twin on spectrogram windows." + _R_ARGS)
)
RVGG16 = register_net("rvgg16")(
    _make("vgg16", False, "Real VGG16 twin on spectrogram windows." + _R_ARGS)
)

QUATERNION_NETS = ("qalexnet", "qresnet50", "qvgg16")
REAL_TWINS = {"qalexnet": "ralexnet", "qresnet50": "rresnet50", "qvgg16": "rvgg16"}

__all__ = [
    "PRESETS",
    "QUATERNION_NETS",
    "REAL_TWINS",
    "WindowCNN",
    "resolve_params",
]
