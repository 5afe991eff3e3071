"""Quaternion neural-network layers (seed_methods.md 3.5; Parcollet et al., RH-emo).

Real sizes, quaternion blocks ``[r | i | j | k]`` along the channel axis, one real weight per
layer assembled from four components, Hamilton-product semantics::

    from serkit.quaternion import QuaternionConv2d, hamilton
    conv = QuaternionConv2d(4, 64, kernel_size=3, padding=1)   # 1 -> 16 quaternion channels

The quaternion CNNs (AlexNet, ResNet-50, VGG16 and their real twins) are registered nets in
:mod:`serkit.models.nets.quaternion_nets`.
"""

from __future__ import annotations

from serkit.quaternion.algebra import hamilton, quaternion_block_weight
from serkit.quaternion.batchnorm import QuaternionBatchNorm2d
from serkit.quaternion.init import quaternion_init, quaternion_scale
from serkit.quaternion.layers import (
    QuaternionConv2d,
    QuaternionLinear,
    QuaternionTransposeConv2d,
    check_quaternion_count,
)

__all__ = [
    "QuaternionBatchNorm2d",
    "QuaternionConv2d",
    "QuaternionLinear",
    "QuaternionTransposeConv2d",
    "check_quaternion_count",
    "hamilton",
    "quaternion_block_weight",
    "quaternion_init",
    "quaternion_scale",
]
