"""The CycleGAN losses (seed 004 §4.3): label smoothing, cycle loss on known mappings."""

from __future__ import annotations

import math

import pytest
import torch

from serkit.augment import losses


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def _entropy(p: float) -> float:
    return -(p * math.log(p) + (1 - p) * math.log(1 - p))


def test_discriminator_loss_value_with_one_sided_smoothing():
    real = torch.full((5, 1), _logit(0.9))
    fake = torch.full((5, 1), _logit(0.2))
    # 0.5 * [BCE(0.9 | target 0.9) + BCE(0.2 | target 0)]
    expected = 0.5 * (_entropy(0.9) - math.log(1 - 0.2))
    assert float(losses.discriminator_loss(real, fake)) == pytest.approx(expected, rel=1e-6)


def test_smoothed_real_label_is_the_optimum_and_fakes_are_not_smoothed():
    real = torch.tensor([[_logit(0.9)]], requires_grad=True)
    fake = torch.tensor([[_logit(0.1)]], requires_grad=True)
    losses.discriminator_loss(real, fake).backward()
    assert float(real.grad) == pytest.approx(0.0, abs=1e-6)  # sigmoid = 0.9 is the optimum
    assert float(fake.grad) > 0  # fakes still pushed towards 0 (not towards 0.1)


def test_label_smoothing_parameter_moves_the_optimum():
    real = torch.tensor([[_logit(0.8)]], requires_grad=True)
    losses.discriminator_loss(real, torch.zeros(1, 1), real_label=0.8).backward()
    assert float(real.grad) == pytest.approx(0.0, abs=1e-6)


def test_adversarial_loss_targets_the_real_label():
    logits = torch.full((3, 1), 0.0)
    # sigmoid(0) = 0.5: BCE = -(0.9 log 0.5 + 0.1 log 0.5) = log 2
    assert float(losses.adversarial_loss(logits)) == pytest.approx(math.log(2), rel=1e-6)


def test_cycle_loss_is_zero_for_inverse_mappings_and_c_squared_otherwise():
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(16, 4, generator=gen), torch.randn(16, 4, generator=gen)
    shift = 0.7

    def g(x):
        return x + shift

    def f_inverse(x):
        return x - shift

    def f_identity(x):
        return x

    assert float(losses.cycle_loss(a, f_inverse(g(a)), b, g(f_inverse(b)))) == pytest.approx(
        0.0, abs=1e-12
    )
    # F = identity: both round trips are off by `shift` in every element
    value = float(losses.cycle_loss(a, f_identity(g(a)), b, g(f_identity(b))))
    assert value == pytest.approx(2 * shift**2, rel=1e-5)


def test_generator_loss_combines_its_terms():
    fake_t, fake_s = torch.zeros(2, 1), torch.zeros(2, 1)
    cycle = torch.tensor(0.5)
    got = float(losses.generator_loss(fake_t, fake_s, cycle, lambda_cyc=5.0))
    assert got == pytest.approx(2 * math.log(2) + 5.0 * 0.5, rel=1e-6)


def test_classification_loss_is_cross_entropy():
    logits = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    labels = torch.tensor([0, 1])
    expected = -math.log(math.exp(2) / (math.exp(2) + 1))
    assert float(losses.classification_loss(logits, labels)) == pytest.approx(expected, rel=1e-6)
