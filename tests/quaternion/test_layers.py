"""Quaternion layers equal real layers with the block weight; counts, init, batch norm, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from serkit.errors import ConfigError
from serkit.quaternion import (
    QuaternionBatchNorm2d,
    QuaternionConv2d,
    QuaternionLinear,
    QuaternionTransposeConv2d,
    hamilton,
    quaternion_block_weight,
    quaternion_init,
    quaternion_scale,
)


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _copy_block(real: nn.Module, quat: nn.Module, dim=(0, 1)) -> None:
    with torch.no_grad():
        real.weight.copy_(quaternion_block_weight(*quat.components(), dim=dim))
        real.bias.copy_(quat.bias)


def test_linear_equals_real_linear_with_the_block_weight():
    torch.manual_seed(0)
    quat = QuaternionLinear(8, 12)
    with torch.no_grad():
        quat.bias.normal_()
    real = nn.Linear(8, 12)
    _copy_block(real, quat)
    x = torch.randn(5, 8)
    torch.testing.assert_close(quat(x), real(x))
    # and it IS the Hamilton product W (x) x summed over the input quaternions
    w = torch.stack(quat.components(), -1)  # (3, 2, 4)
    xq = x.reshape(5, 4, 2).permute(0, 2, 1)  # (5, 2, 4)
    y = hamilton(w[None], xq[:, None]).sum(2)  # (5, 3, 4)
    expected = y.permute(0, 2, 1).reshape(5, 12) + quat.bias
    torch.testing.assert_close(quat(x), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 1)])
def test_conv_equals_real_conv_with_the_block_weight(stride, padding):
    torch.manual_seed(1)
    quat = QuaternionConv2d(8, 16, kernel_size=3, stride=stride, padding=padding)
    with torch.no_grad():
        quat.bias.normal_()
    real = nn.Conv2d(8, 16, 3, stride=stride, padding=padding)
    _copy_block(real, quat)
    x = torch.randn(2, 8, 9, 7)
    torch.testing.assert_close(quat(x), real(x))


def test_conv_1x1_is_the_per_pixel_hamilton_product():
    torch.manual_seed(2)
    quat = QuaternionConv2d(4, 4, kernel_size=1, bias=False)
    x = torch.randn(2, 4, 3, 3)
    w = torch.stack([c[0, 0, 0, 0] for c in quat.components()])  # one quaternion weight
    expected = hamilton(w, x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
    torch.testing.assert_close(quat(x), expected, atol=1e-6, rtol=1e-6)


def test_transposed_conv_equals_real_transposed_conv_with_the_block_weight():
    torch.manual_seed(3)
    quat = QuaternionTransposeConv2d(
        8, 4, kernel_size=3, stride=(2, 1), padding=1, output_padding=(1, 0)
    )
    with torch.no_grad():
        quat.bias.normal_()
    real = nn.ConvTranspose2d(8, 4, 3, stride=(2, 1), padding=1, output_padding=(1, 0))
    assert quat.r_weight.shape == (2, 1, 3, 3)  # torch's (in, out) layout, in quaternions
    _copy_block(real, quat, dim=(1, 0))
    x = torch.randn(2, 8, 5, 6)
    out = quat(x)
    assert out.shape == (2, 4, 10, 6)  # the RH-emo decoder step (2, 1) upsampling
    torch.testing.assert_close(out, real(x))
    # a 1x1 transposed conv of one quaternion unit is the Hamilton product too
    one = QuaternionTransposeConv2d(4, 4, kernel_size=1, bias=False)
    w = torch.stack([c[0, 0, 0, 0] for c in one.components()])
    y = torch.randn(1, 4, 2, 2)
    expected = hamilton(w, y.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
    torch.testing.assert_close(one(y), expected, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize(
    "quat,real",
    [
        (lambda: QuaternionLinear(64, 128), lambda: nn.Linear(64, 128)),
        (lambda: QuaternionConv2d(64, 32, 3), lambda: nn.Conv2d(64, 32, 3)),
        (lambda: QuaternionTransposeConv2d(16, 32, 3), lambda: nn.ConvTranspose2d(16, 32, 3)),
    ],
)
def test_parameter_counts_are_a_quarter_of_the_real_layer(quat, real):
    q, r = quat(), real()
    out = r.weight.shape[0] if not isinstance(r, nn.ConvTranspose2d) else r.weight.shape[1]
    assert _count(q) - out == (_count(r) - out) // 4  # weights exactly 1/4; the bias is real
    assert 0.24 < _count(q) / _count(r) < 0.27


@pytest.mark.parametrize("criterion", ["glorot", "he"])
def test_init_statistics_match_the_target_variance(criterion):
    torch.manual_seed(4)
    shape = (64, 32, 3, 3)
    r, i, j, k = quaternion_init(shape, criterion)
    n_in, n_out = 32 * 9, 64 * 9
    sigma = quaternion_scale(shape, criterion)
    target = 2 / (n_in + n_out) if criterion == "glorot" else 2 / n_in
    assert math.isclose(4 * sigma**2, target)
    power = (r**2 + i**2 + j**2 + k**2).mean().item()
    assert abs(power / target - 1) < 0.03  # E|w|^2 = 4 sigma^2 (chi(4) modulus)
    assert abs((r**2).mean().item() / (2 * sigma**2) - 1) < 0.05  # cos^2 phase: half
    for part in (i, j, k):  # a third of the imaginary half each (unit random axis)
        assert abs((part**2).mean().item() / (2 * sigma**2 / 3) - 1) < 0.06
    for part in (r, i, j, k):
        assert abs(part.mean().item()) < 0.02 * math.sqrt(target)
    # the axis is a unit vector: |imaginary| = |w| |sin(theta)| <= |w|
    modulus = torch.sqrt(r**2 + i**2 + j**2 + k**2)
    assert (torch.sqrt(i**2 + j**2 + k**2) <= modulus + 1e-6).all()


def test_layers_start_with_zero_bias_and_the_documented_criterion():
    assert QuaternionLinear(8, 8).init == "he"
    assert QuaternionConv2d(8, 8, 3).init == "glorot"
    assert QuaternionTransposeConv2d(8, 8, 3).init == "he"
    assert torch.count_nonzero(QuaternionConv2d(8, 8, 3).bias) == 0
    with pytest.raises(ConfigError, match="glorot, he.*'xavier'"):
        QuaternionConv2d(8, 8, 3, init="xavier")


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda: QuaternionLinear(6, 8), r"QuaternionLinear: in_features .* found 6; use e.g. 4"),
        (lambda: QuaternionConv2d(4, 30, 3), r"QuaternionConv2d: out_channels .* found 30"),
        (lambda: QuaternionTransposeConv2d(1, 4, 3), r"QuaternionTransposeConv2d: in_channels"),
        (lambda: QuaternionBatchNorm2d(10), r"QuaternionBatchNorm2d: channels .* found 10"),
    ],
)
def test_bad_channel_counts_name_the_layer_and_value(make, message):
    with pytest.raises(ConfigError, match=message):
        make()


@pytest.mark.parametrize("stats", ["channel", "tensor"])
def test_batch_norm_normalises_the_quaternion_variance(stats):
    torch.manual_seed(5)
    bn = QuaternionBatchNorm2d(8, stats=stats)
    scale = torch.tensor([1.0, 2, 3, 4, 5, 6, 7, 8])[None, :, None, None]
    x = torch.randn(16, 8, 6, 6) * scale + 3.0
    y = bn(x)
    q = y.reshape(16, 4, 2, 6, 6)
    power = q.pow(2).sum(1).mean(dim=(0, 2, 3))  # per quaternion channel
    if stats == "channel":
        torch.testing.assert_close(y.mean(dim=(0, 2, 3)), torch.zeros(8), atol=1e-5, rtol=0)
        torch.testing.assert_close(power, torch.ones(2), atol=1e-3, rtol=0)
    else:  # one mean per component block, one variance overall (RH-emo's qbn.py)
        blocks = y.reshape(16, 4, 2, 6, 6).mean(dim=(0, 2, 3, 4))
        torch.testing.assert_close(blocks, torch.zeros(4), atol=1e-5, rtol=0)
        assert abs(power.mean().item() - 1) < 1e-3
        assert power[0] < power[1]  # channels of different scales stay apart (the quirk)
    bn.eval()
    assert torch.isfinite(bn(x)).all()
    # running statistics moved towards the batch ones with momentum 0.1
    assert torch.allclose(bn.running_mean, torch.full((8,), 0.3), atol=0.05)


def test_batch_norm_eval_uses_running_stats_and_gamma_beta():
    bn = QuaternionBatchNorm2d(4)
    with torch.no_grad():
        bn.gamma.fill_(2.0)
        bn.beta.copy_(torch.tensor([1.0, 0, 0, 0]))
        bn.running_var.fill_(4.0)
    bn.eval()
    x = torch.randn(2, 4, 3, 3)
    expected = x * 2 / math.sqrt(4 + 1e-5) + torch.tensor([1.0, 0, 0, 0])[None, :, None, None]
    torch.testing.assert_close(bn(x), expected)
    with pytest.raises(ConfigError, match=r"expected \(batch, 4, H, W\).*\(2, 8, 3, 3\)"):
        bn(torch.zeros(2, 8, 3, 3))


def test_layers_are_trainable_end_to_end():
    torch.manual_seed(6)
    net = nn.Sequential(
        QuaternionConv2d(4, 8, 3, padding=1),
        QuaternionBatchNorm2d(8),
        nn.ReLU(),
        QuaternionTransposeConv2d(8, 4, 3, padding=1),
    )
    x = torch.randn(4, 4, 6, 6)
    target = torch.randn(4, 4, 6, 6)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    first = None
    for _ in range(60):
        loss = torch.nn.functional.mse_loss(net(x), target)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.7 * first
    assert np.isfinite(loss.item())
