"""The encoder losses against hand-computed values and independent computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from serkit.encoders.losses import (
    gaussian_kl,
    ge2e_logits,
    ge2e_loss,
    kl_mean,
    masked_recon,
    scale_grad,
)

F64 = torch.float64


def t(values, dtype=F64) -> torch.Tensor:
    return torch.tensor(values, dtype=dtype)


# -- Gaussian KL --------------------------------------------------------------------------


def test_kl_hand_computed_rows_and_mean():
    # row 0: 0.5 * ((e^0 + 1 - 1 - 0) + (2 + 0 - 1 - ln 2)) = 1 - ln(2) / 2
    # row 1: 0.5 * (e^-1 + 4 - 1 + 1) = 2 + 0.5 / e   (one dimension with mu 2, logvar -1)
    mu = t([[1.0, 0.0], [2.0, 0.0]])
    logvar = t([[0.0, math.log(2.0)], [-1.0, 0.0]])
    expected = [1.0 - math.log(2.0) / 2.0, 2.0 + 0.5 / math.e]
    assert gaussian_kl(mu, logvar).tolist() == pytest.approx(expected, rel=1e-12)
    assert float(kl_mean(mu, logvar)) == pytest.approx(sum(expected) / 2.0, rel=1e-12)


def test_kl_matches_torch_distributions_and_is_zero_only_at_the_prior():
    gen = torch.Generator().manual_seed(0)
    mu = torch.randn(5, 3, generator=gen, dtype=F64)
    logvar = torch.randn(5, 3, generator=gen, dtype=F64)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    reference = torch.distributions.kl_divergence(q, p).sum(dim=1)
    assert torch.allclose(gaussian_kl(mu, logvar), reference)
    assert bool((gaussian_kl(mu, logvar) > 0).all())
    zero = torch.zeros(2, 3, dtype=F64)
    assert gaussian_kl(zero, zero).tolist() == [0.0, 0.0]


# -- masked reconstruction ----------------------------------------------------------------


def test_masked_recon_ignores_padded_frames():
    gen = torch.Generator().manual_seed(1)
    pred, target = torch.randn(2, 5, 3, generator=gen), torch.randn(2, 5, 3, generator=gen)
    mask = torch.tensor([[True] * 5, [True, True, False, False, False]])
    before = masked_recon(pred, target, mask)
    pred2, target2 = pred.clone(), target.clone()
    pred2[1, 2:] = 1e3
    target2[1, 2:] = -1e3
    assert torch.equal(masked_recon(pred2, target2, mask), before)
    # the mean over the 7 real frames x 3 dims, computed directly
    err = (pred - target).pow(2)
    direct = (err[0].sum() + err[1, :2].sum()) / 21
    assert torch.allclose(before, direct)
    everything = torch.ones(2, 5, dtype=torch.bool)
    assert torch.allclose(masked_recon(pred, target, everything), (pred - target).pow(2).mean())
    assert torch.allclose(
        masked_recon(pred, target, mask, kind="l1"),
        ((pred - target).abs()[0].sum() + (pred - target).abs()[1, :2].sum()) / 21,
    )


def test_masked_recon_refuses_an_unknown_kind():
    x = torch.zeros(1, 2, 2)
    with pytest.raises(ValueError, match="'huber'"):
        masked_recon(x, x, torch.ones(1, 2, dtype=torch.bool), kind="huber")


# -- GE2E ---------------------------------------------------------------------------------


def ge2e_reference(emb: np.ndarray, labels: np.ndarray, w: float, b: float) -> float:
    """Wan et al. 2018, eq. 9 and 6, written out with loops (mean over the utterances)."""
    classes = sorted(set(labels.tolist()))
    losses = []
    for i, (e, y) in enumerate(zip(emb, labels, strict=True)):
        if (labels == y).sum() < 2:
            continue
        scores = {}
        for k in classes:
            members = [j for j in range(len(emb)) if labels[j] == k and not (k == y and j == i)]
            c = emb[members].mean(axis=0)
            cos = float(e @ c / (np.linalg.norm(e) * np.linalg.norm(c)))
            scores[k] = w * cos + b
        total = sum(math.exp(s) for s in scores.values())
        losses.append(-scores[y] + math.log(total))
    return float(np.mean(losses))


def test_ge2e_hand_computed_exclusive_centroid():
    # class 0 = {(1,0), (0,1)}, class 1 = {(1,0), (0,1)}: each row's own centroid without
    # itself is the other member (cos 0), the other class's centroid is (0.5, 0.5) (cos 1/sqrt 2)
    emb = t([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    labels = torch.tensor([0, 0, 1, 1])
    loss = ge2e_loss(emb, labels, t(1.0), t(0.0))
    assert float(loss) == pytest.approx(math.log(1.0 + math.exp(1.0 / math.sqrt(2.0))), rel=1e-9)
    # a centroid that includes the row itself would give every row cos 1/sqrt 2 twice: ln 2
    assert float(loss) != pytest.approx(math.log(2.0), rel=1e-3)
    logits, valid = ge2e_logits(emb, labels, t(10.0), t(-5.0))
    assert valid.tolist() == [True] * 4
    assert logits[0].tolist() == pytest.approx([-5.0, 10.0 / math.sqrt(2.0) - 5.0])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ge2e_matches_the_loop_reference(seed):
    rng = np.random.default_rng(seed)
    emb = rng.normal(size=(12, 5))
    labels = np.repeat([0, 1, 2], 4)
    w, b = 7.5, -3.0
    got = ge2e_loss(t(emb), torch.tensor(labels), t(w), t(b))
    assert float(got) == pytest.approx(ge2e_reference(emb, labels, w, b), rel=1e-9)


def test_ge2e_properties():
    rng = np.random.default_rng(3)
    emb = t(rng.normal(size=(9, 4)))
    labels = torch.tensor([0, 0, 0, 1, 1, 1, 3, 3, 3])  # class 2 absent: not in the softmax
    w, b = t(10.0), t(-5.0)
    loss = ge2e_loss(emb, labels, w, b)
    perm = torch.from_numpy(rng.permutation(9))
    assert torch.allclose(ge2e_loss(emb[perm], labels[perm], w, b), loss)
    # cosines: one scale for every embedding changes nothing (centroids scale with them)
    assert torch.allclose(ge2e_loss(emb * 3.7, labels, w, b), loss)
    logits, _ = ge2e_logits(emb, labels, w, b)
    assert bool(torch.isinf(logits[:, 2]).all()) and logits.shape == (9, 4)
    assert float(loss) == pytest.approx(ge2e_reference(emb.numpy(), labels.numpy(), 10, -5))


def test_ge2e_leaves_out_rows_without_an_exclusive_centroid():
    rng = np.random.default_rng(4)
    emb = rng.normal(size=(5, 3))
    labels = np.array([0, 0, 1, 1, 2])  # class 2 has a single row
    got = ge2e_loss(t(emb), torch.tensor(labels), t(10.0), t(-5.0))
    assert float(got) == pytest.approx(ge2e_reference(emb, labels, 10.0, -5.0), rel=1e-9)
    _, valid = ge2e_logits(t(emb), torch.tensor(labels), t(10.0), t(-5.0))
    assert valid.tolist() == [True, True, True, True, False]
    single = ge2e_loss(t(emb[:2]), torch.tensor([0, 1]), t(10.0), t(-5.0))
    assert float(single) == 0.0


def test_ge2e_gradient_reaches_w_and_b():
    emb = t([[1.0, 0.2], [0.9, 0.1], [0.1, 1.0], [0.0, 0.8]])
    w = torch.tensor(10.0, dtype=F64, requires_grad=True)
    b = torch.tensor(-5.0, dtype=F64, requires_grad=True)
    ge2e_loss(emb, torch.tensor([0, 0, 1, 1]), w, b).backward()
    # well separated classes: a larger scale sharpens the softmax and lowers the loss
    assert float(w.grad) < 0
    # b shifts every logit of a row equally, so the softmax does not depend on it
    assert float(b.grad) == pytest.approx(0.0, abs=1e-12)


def test_scale_grad_is_identity_forward_and_scales_backward():
    x = torch.tensor([1.0, -2.0], requires_grad=True)
    y = scale_grad(x, 0.01)
    assert torch.equal(y, x)
    (y * torch.tensor([3.0, 5.0])).sum().backward()
    assert x.grad.tolist() == pytest.approx([0.03, 0.05])
