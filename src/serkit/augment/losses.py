"""The CycleGAN losses of seed 004 (Bao et al. 2019, ``seed_methods.md`` §4.3) as pure functions.

Each takes tensors and returns a scalar tensor; none holds state or touches a model, so the
training loop in :mod:`serkit.augment.cyclegan` only wires them together.

* discriminator, one domain: ``0.5 * [BCE(D(real), r) + BCE(D(fake), 0)]`` with the
  one-sided smoothed real label ``r = 1 - label_smoothing`` (0.9 in the paper);
* generator, adversarial: ``BCE(D(fake), r)`` for each of the two directions;
* cycle consistency: ``MSE(a, F(G(a))) + MSE(b, G(F(b)))``;
* classification of synthetic vectors: cross-entropy of the shared classifier.

Example:
    >>> import torch
    >>> from serkit.augment.losses import cycle_loss
    >>> a = torch.zeros(4, 3)
    >>> float(cycle_loss(a, a + 1.0, a, a))  # the first round trip is off by 1 everywhere
    1.0
"""

from __future__ import annotations

from typing import Any

#: the paper's smoothed label of real vectors (``1 - label_smoothing``)
REAL_LABEL = 0.9


def _bce(logits: Any, target: float) -> Any:
    """Mean binary cross-entropy of ``logits`` ``(batch, 1)`` against a constant ``target``."""
    import torch
    from torch.nn import functional

    return functional.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def discriminator_loss(
    real_logits: Any, fake_logits: Any, *, real_label: float = REAL_LABEL
) -> Any:
    """Loss of one discriminator: ``0.5 * [BCE(real, real_label) + BCE(fake, 0)]``.

    Args:
        real_logits: ``(batch, 1)`` logits on real vectors of the domain.
        fake_logits: ``(batch, 1)`` logits on vectors generated into the domain.
        real_label: the smoothed target of real vectors (one-sided: fakes keep 0).
    """
    return 0.5 * (_bce(real_logits, real_label) + _bce(fake_logits, 0.0))


def adversarial_loss(fake_logits: Any, *, real_label: float = REAL_LABEL) -> Any:
    """Generator's adversarial loss for one direction: ``BCE(D(fake), real_label)``.

    Args:
        fake_logits: ``(batch, 1)`` logits of the domain's discriminator on generated vectors.
        real_label: the target the generator aims at (the discriminator's real label).
    """
    return _bce(fake_logits, real_label)


def cycle_loss(a: Any, a_cycled: Any, b: Any, b_cycled: Any) -> Any:
    """Cycle consistency ``MSE(a, F(G(a))) + MSE(b, G(F(b)))`` (each a mean over elements).

    Args:
        a: ``(batch, dim)`` source vectors; ``a_cycled``: ``F(G(a))``, same shape.
        b: ``(batch, dim)`` target vectors; ``b_cycled``: ``G(F(b))``, same shape.
    """
    from torch.nn import functional

    return functional.mse_loss(a_cycled, a) + functional.mse_loss(b_cycled, b)


def classification_loss(logits: Any, labels: Any) -> Any:
    """Cross-entropy of the shared emotion classifier on synthetic vectors.

    Args:
        logits: ``(batch, classes)``.
        labels: ``(batch,)`` int64 class indices (the emotion each generator stands for).
    """
    from torch.nn import functional

    return functional.cross_entropy(logits, labels)


def generator_loss(
    fake_target_logits: Any,
    fake_source_logits: Any,
    cycle: Any,
    *,
    lambda_cyc: float,
    real_label: float = REAL_LABEL,
) -> Any:
    """One CycleGAN's generator loss (without the shared classification term):
    ``BCE(D_T(G(S)), r) + BCE(D_S(F(T)), r) + lambda_cyc * cycle``.

    Args:
        fake_target_logits: ``(batch, 1)`` target discriminator on ``G(S)``.
        fake_source_logits: ``(batch, 1)`` source discriminator on ``F(T)``.
        cycle: the scalar :func:`cycle_loss` of the pair.
        lambda_cyc: weight of the cycle loss (5 in the paper).
        real_label: the smoothed real label.
    """
    return (
        adversarial_loss(fake_target_logits, real_label=real_label)
        + adversarial_loss(fake_source_logits, real_label=real_label)
        + lambda_cyc * cycle
    )
