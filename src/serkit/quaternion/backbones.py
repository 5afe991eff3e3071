"""AlexNet, ResNet-50 and VGG16 built twice from one definition: quaternion and real twins.

Each backbone maps images ``(batch, channels, H, W)`` to logits ``(batch, classes)``. It is
written once against a :class:`LayerKit`; :data:`QUATERNION` gives quaternion convolutions,
linears and batch norms (channel counts in real units, seed_methods.md 3.6), :data:`REAL` gives
``nn.Conv2d`` / ``nn.Linear`` / ``nn.BatchNorm2d`` of the same widths, so a quaternion net has
~1/4 of its real twin's parameters for the same widths and input size. The last classifier
layer is always a real ``nn.Linear``.

The adaptive average pool (AlexNet) is a pair of fixed pooling matrices computed for the input
size the backbone was built for (:func:`adaptive_pool_matrix`), so the nets export to ONNX
whatever the sizes (torch's exporter refuses adaptive pools that do not divide evenly).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from serkit.errors import ConfigError
from serkit.quaternion.batchnorm import QuaternionBatchNorm2d
from serkit.quaternion.layers import QuaternionConv2d, QuaternionLinear


@dataclass(frozen=True)
class LayerKit:
    """Builds the layers of one flavour.

    Attributes:
        quaternion: quaternion layers (else real ones).
        bn_stats: ``stats`` of :class:`QuaternionBatchNorm2d` (quaternion only).
    """

    quaternion: bool
    bn_stats: str = "channel"

    def conv(
        self,
        c_in: int,
        c_out: int,
        kernel: int,
        stride: int = 1,
        padding: int = 0,
        bias: bool = True,
    ) -> nn.Module:
        if self.quaternion:
            return QuaternionConv2d(c_in, c_out, kernel, stride, padding, bias=bias)
        conv = nn.Conv2d(c_in, c_out, kernel, stride, padding, bias=bias)
        nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
        if bias:
            nn.init.zeros_(conv.bias)
        return conv

    def bn(self, channels: int) -> nn.Module:
        if self.quaternion:
            return QuaternionBatchNorm2d(channels, stats=self.bn_stats)
        return nn.BatchNorm2d(channels)

    def linear(self, f_in: int, f_out: int) -> nn.Module:
        return QuaternionLinear(f_in, f_out) if self.quaternion else nn.Linear(f_in, f_out)


QUATERNION = LayerKit(quaternion=True)
REAL = LayerKit(quaternion=False)


def adaptive_pool_matrix(size_in: int, size_out: int) -> torch.Tensor:
    """``(size_out, size_in)`` matrix of ``nn.AdaptiveAvgPool1d``: row ``o`` averages inputs
    ``floor(o * n / m)`` .. ``ceil((o + 1) * n / m) - 1``."""
    m = torch.zeros(size_out, size_in)
    for o in range(size_out):
        start = (o * size_in) // size_out
        end = -((-(o + 1) * size_in) // size_out)
        m[o, start:end] = 1.0 / (end - start)
    return m


class FixedAdaptivePool(nn.Module):
    """``nn.AdaptiveAvgPool2d(out)`` for a fixed ``(H, W)`` input, as two matrix products."""

    def __init__(self, in_hw: Sequence[int], out_hw: Sequence[int]) -> None:
        super().__init__()
        self.register_buffer("rows", adaptive_pool_matrix(int(in_hw[0]), int(out_hw[0])))
        self.register_buffer("cols", adaptive_pool_matrix(int(in_hw[1]), int(out_hw[1])))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("oh,bchw,pw->bcop", self.rows, x, self.cols)


def output_shape(module: nn.Module, shape: Sequence[int], who: str) -> tuple[int, ...]:
    """The output shape of ``module`` for one ``shape`` input, run on torch's meta device.

    Raises:
        ConfigError: the input is too small for the layers (naming ``who`` and the shape).
    """
    probe = copy.deepcopy(module).to("meta").eval()
    try:
        with torch.no_grad():
            out = probe(torch.zeros((1, *shape), device="meta"))
    except (RuntimeError, ValueError) as exc:
        raise ConfigError(
            f"{who}: input {tuple(shape)} is too small for its layers "
            f"({str(exc).splitlines()[0]}); use a larger input (window, map_shape) or a "
            "smaller stride (stem_stride)"
        ) from exc
    return tuple(out.shape[1:])


def _act() -> nn.Module:
    return nn.ReLU(inplace=True)


def _head(kit: LayerKit, f_in: int, fc: int, classes: int, dropout: float) -> nn.Sequential:
    """Dropout, FC, ReLU, Dropout, FC, ReLU, real Linear (AlexNet and VGG)."""
    return nn.Sequential(
        nn.Dropout(dropout),
        kit.linear(f_in, fc),
        _act(),
        nn.Dropout(dropout),
        kit.linear(fc, fc),
        _act(),
        nn.Linear(fc, classes),
    )


class AlexNetBackbone(nn.Module):
    """AlexNet (seed_methods.md 3.6): 5 convs (11/5/3/3/3), 3 max-pools, adaptive avg-pool,
    two FC layers, a real output layer.

    Args:
        kit: layer flavour.
        in_shape: ``(channels, H, W)`` of the input images.
        num_classes: outputs.
        widths: the 5 conv widths (real units).
        fc: width of the two FC layers.
        pool_size: side of the adaptive average pool (6 in the original).
        stem_stride: stride of the 11x11 first conv (4).
        dropout: before each FC layer.
        batch_norm: a batch norm after each conv (not in the original).
    """

    def __init__(
        self,
        kit: LayerKit,
        in_shape: Sequence[int],
        num_classes: int,
        *,
        widths: Sequence[int] = (64, 192, 384, 256, 256),
        fc: int = 4096,
        pool_size: int = 6,
        stem_stride: int = 4,
        dropout: float = 0.5,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        if len(widths) != 5:
            raise ConfigError(f"AlexNet widths need 5 values, found {list(widths)}")
        w = [int(in_shape[0]), *(int(v) for v in widths)]
        specs = [(11, stem_stride, 2), (5, 1, 2), (3, 1, 1), (3, 1, 1), (3, 1, 1)]
        layers: list[nn.Module] = []
        for n, (kernel, stride, pad) in enumerate(specs):
            layers.append(kit.conv(w[n], w[n + 1], kernel, stride, pad))
            if batch_norm:
                layers.append(kit.bn(w[n + 1]))
            layers.append(_act())
            if n in (0, 1, 4):
                layers.append(nn.MaxPool2d(kernel_size=3, stride=2))
        self.features = nn.Sequential(*layers)
        shape = output_shape(self.features, in_shape, "AlexNet")
        self.avgpool = FixedAdaptivePool(shape[1:], (pool_size, pool_size))
        self.classifier = _head(kit, w[5] * pool_size * pool_size, fc, num_classes, dropout)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(images)), 1))


class Bottleneck(nn.Module):
    """ResNet bottleneck: 1x1, 3x3 (stride), 1x1 (x expansion), batch norms, identity or
    projected shortcut; bias-free convs."""

    expansion = 4

    def __init__(self, kit: LayerKit, c_in: int, width: int, stride: int) -> None:
        super().__init__()
        c_out = width * self.expansion
        self.body = nn.Sequential(
            kit.conv(c_in, width, 1, bias=False),
            kit.bn(width),
            _act(),
            kit.conv(width, width, 3, stride, 1, bias=False),
            kit.bn(width),
            _act(),
            kit.conv(width, c_out, 1, bias=False),
            kit.bn(c_out),
        )
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                kit.conv(c_in, c_out, 1, stride, bias=False), kit.bn(c_out)
            )
        self.act = _act()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.shortcut(x))


class ResNetBackbone(nn.Module):
    """ResNet-50 layout (torchvision; seed_methods.md 3.6): stem 7x7/2 + BN + ReLU + max-pool
    3/2, four stages of bottlenecks, global average pool, real Linear.

    Args:
        kit: layer flavour.
        in_shape: ``(channels, H, W)``.
        num_classes: outputs.
        widths: bottleneck widths of the four stages (64, 128, 256, 512); the stem has
            ``widths[0]`` channels, stage outputs ``4 x`` the width.
        blocks: bottlenecks per stage ((3, 4, 6, 3) = ResNet-50).
    """

    def __init__(
        self,
        kit: LayerKit,
        in_shape: Sequence[int],
        num_classes: int,
        *,
        widths: Sequence[int] = (64, 128, 256, 512),
        blocks: Sequence[int] = (3, 4, 6, 3),
    ) -> None:
        super().__init__()
        if len(widths) != 4 or len(blocks) != 4:
            raise ConfigError(
                f"ResNet needs 4 widths and 4 block counts, found widths {list(widths)}, "
                f"blocks {list(blocks)}"
            )
        stem = int(widths[0])
        self.stem = nn.Sequential(
            kit.conv(int(in_shape[0]), stem, 7, 2, 3, bias=False),
            kit.bn(stem),
            _act(),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
        )
        stages: list[nn.Module] = []
        c_in = stem
        for n, (width, count) in enumerate(zip(widths, blocks, strict=True)):
            for b in range(int(count)):
                stride = 2 if n > 0 and b == 0 else 1
                stages.append(Bottleneck(kit, c_in, int(width), stride))
                c_in = int(width) * Bottleneck.expansion
        self.stages = nn.Sequential(*stages)
        output_shape(nn.Sequential(self.stem, self.stages), in_shape, "ResNet")
        self.fc = nn.Linear(c_in, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.fc(self.stages(self.stem(images)).mean(dim=(2, 3)))


class VGGBackbone(nn.Module):
    """VGG16 (seed_methods.md 3.6): five stages of 3x3 convs + ReLU and a 2x2 max-pool, flatten,
    two FC layers, a real output layer.

    Args:
        kit: layer flavour.
        in_shape: ``(channels, H, W)``.
        num_classes: outputs.
        widths: conv width of each of the 5 stages (64, 128, 256, 512, 512).
        convs: convs per stage ((2, 2, 3, 3, 3) = VGG16).
        fc: width of the two FC layers.
        dropout: before the second and third FC layers.
        batch_norm: a batch norm after each conv (not in the original).
    """

    def __init__(
        self,
        kit: LayerKit,
        in_shape: Sequence[int],
        num_classes: int,
        *,
        widths: Sequence[int] = (64, 128, 256, 512, 512),
        convs: Sequence[int] = (2, 2, 3, 3, 3),
        fc: int = 4096,
        dropout: float = 0.5,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        if len(widths) != len(convs):
            raise ConfigError(
                f"VGG needs one width per stage, found widths {list(widths)}, convs {list(convs)}"
            )
        layers: list[nn.Module] = []
        c_in = int(in_shape[0])
        for width, count in zip(widths, convs, strict=True):
            for _ in range(int(count)):
                layers.append(kit.conv(c_in, int(width), 3, 1, 1))
                if batch_norm:
                    layers.append(kit.bn(int(width)))
                layers.append(_act())
                c_in = int(width)
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        self.features = nn.Sequential(*layers)
        flat = math.prod(output_shape(self.features, in_shape, "VGG"))
        self.classifier = nn.Sequential(
            kit.linear(flat, fc),
            _act(),
            nn.Dropout(dropout),
            kit.linear(fc, fc),
            _act(),
            nn.Dropout(dropout),
            nn.Linear(fc, num_classes),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(images), 1))


BACKBONES: dict[str, Any] = {
    "alexnet": AlexNetBackbone,
    "resnet50": ResNetBackbone,
    "vgg16": VGGBackbone,
}
