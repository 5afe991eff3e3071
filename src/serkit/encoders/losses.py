"""Pure losses of the encoder families: Gaussian KL, masked reconstruction, GE2E.

Every function takes tensors and returns tensors; nothing here holds parameters (the GE2E scale
``w`` and bias ``b`` are passed in, the family owns them).

Example (hand-computed KL: ``0.5 * ((1 + 1 - 1 - 0) + (2 + 0 - 1 - ln 2)) = 0.6534``):
    >>> import math, torch
    >>> mu = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    >>> logvar = torch.tensor([[0.0, math.log(2.0)], [0.0, 0.0]])
    >>> [round(v, 4) for v in gaussian_kl(mu, logvar).tolist()]
    [0.6534, 0.0]
    >>> round(float(kl_mean(mu, logvar)), 4)
    0.3267
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``KL(N(mu, exp(logvar)) || N(0, I))`` per row, summed over the latent dimensions.

    ``0.5 * sum_d (exp(logvar_d) + mu_d^2 - 1 - logvar_d)``.

    Args:
        mu: ``(batch, latent)`` posterior means.
        logvar: ``(batch, latent)`` posterior log-variances.

    Returns:
        ``(batch,)`` non-negative KL of each row.
    """
    return 0.5 * (logvar.exp() + mu.pow(2) - 1.0 - logvar).sum(dim=-1)


def kl_mean(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Batch mean of :func:`gaussian_kl` (the seed's ``KL``: sum over dims, mean over rows)."""
    return gaussian_kl(mu, logvar).mean()


def masked_recon(
    pred: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    kind: str = "mse",
    reduction: str = "mean",
) -> torch.Tensor:
    """Reconstruction error over the real frames only (padded frames count for nothing).

    Args:
        pred: ``(batch, frames, dim)`` reconstruction.
        target: ``(batch, frames, dim)`` input features.
        mask: ``(batch, frames)`` bool, True on real frames.
        kind: ``"mse"`` (squared error) or ``"l1"`` (absolute error).
        reduction: ``"mean"``: per real frame and dimension; ``"sum"``: summed over a row's
            real frames and dimensions, averaged over rows (the scale of a log-likelihood).

    Returns:
        Scalar error (0 when no frame is real).

    Example:
        >>> import torch
        >>> target = torch.zeros(1, 3, 2)
        >>> pred = torch.tensor([[[1.0, 1.0], [3.0, 1.0], [100.0, 100.0]]])
        >>> float(masked_recon(pred, target, torch.tensor([[True, True, False]])))
        3.0
        >>> float(masked_recon(pred, target, torch.tensor([[True, True, False]]), kind="l1"))
        1.5
        >>> float(masked_recon(pred, target, torch.tensor([[True, True, False]]), reduction="sum"))
        12.0
    """
    if kind == "mse":
        err = (pred - target).pow(2)
    elif kind == "l1":
        err = (pred - target).abs()
    else:
        raise ValueError(f"masked_recon: kind {kind!r}; expected 'mse' or 'l1'")
    keep = mask.to(err.dtype).unsqueeze(-1)
    total = (err * keep).sum()
    if reduction == "sum":
        return total / max(err.shape[0], 1)
    if reduction != "mean":
        raise ValueError(f"masked_recon: reduction {reduction!r}; expected 'mean' or 'sum'")
    return total / (keep.sum() * err.shape[-1]).clamp(min=1.0)


def ge2e_logits(
    emb: torch.Tensor, labels: torch.Tensor, w: torch.Tensor, b: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """GE2E similarity matrix ``S[i, k] = w * cos(e_i, c_k) + b`` (Wan et al. 2018, eq. 5, 9).

    ``c_k`` is the centroid of class ``k``'s embeddings in the batch; for the row's own class
    the centroid excludes the row itself, ``c_y^(-i) = (sum_{j in y} e_j - e_i) / (n_y - 1)``.
    Classes absent from the batch get ``-inf`` (they take no part in the softmax).

    Args:
        emb: ``(batch, dim)`` embeddings.
        labels: ``(batch,)`` class indices (any counts per class; N x M in the paper).
        w: scalar scale (kept positive by the caller; the paper initialises it at 10).
        b: scalar bias (initialised at -5).

    Returns:
        ``(S, valid)``: ``(batch, classes)`` logits with ``classes = labels.max() + 1``, and
        ``(batch,)`` bool, True where the row's class has at least two rows (its own
        exclusive centroid exists).
    """
    labels = labels.long()
    k = int(labels.max()) + 1
    sums = emb.new_zeros(k, emb.shape[1]).index_add(0, labels, emb)
    counts = torch.bincount(labels, minlength=k).to(emb.dtype)
    centroids = sums / counts.clamp(min=1.0).unsqueeze(1)
    cos_all = F.cosine_similarity(emb.unsqueeze(1), centroids.unsqueeze(0), dim=2, eps=1e-8)
    own_count = counts[labels]
    valid = own_count >= 2
    own = (sums[labels] - emb) / (own_count - 1.0).clamp(min=1.0).unsqueeze(1)
    cos_own = F.cosine_similarity(emb, own, dim=1, eps=1e-8)
    onehot = F.one_hot(labels, k).to(torch.bool)
    cos = torch.where(onehot, cos_own.unsqueeze(1), cos_all)
    logits = w * cos + b
    present = (counts > 0).unsqueeze(0).expand_as(logits)
    logits = logits.masked_fill(~present, float("-inf"))
    return logits, valid


def ge2e_loss(
    emb: torch.Tensor, labels: torch.Tensor, w: torch.Tensor, b: torch.Tensor
) -> torch.Tensor:
    """Generalised end-to-end loss, softmax variant: ``mean_i (-S[i, y_i] + log sum_k e^S[i,k])``.

    The paper sums over the N x M utterances; the mean used here (as Resemblyzer's training
    code does) only rescales the loss by ``1 / (N M)``. Rows whose class has a single row in
    the batch have no exclusive centroid and are left out of the mean (0 when none is left).

    Args:
        emb: ``(batch, dim)`` embeddings; labels ``(batch,)``; ``w``, ``b`` as in
            :func:`ge2e_logits`.

    Returns:
        Scalar loss.

    Example (two classes, two identical rows each, w = 10, b = -5: every row scores 10 - 5
    on its own class and -5 on the other, so the loss is ``ln(1 + e^-10)``):
        >>> import math, torch
        >>> emb = torch.tensor([[1.0, 0], [1, 0], [0, 1], [0, 1]], dtype=torch.float64)
        >>> w, b = torch.tensor(10.0, dtype=torch.float64), torch.tensor(-5.0, dtype=torch.float64)
        >>> loss = ge2e_loss(emb, torch.tensor([0, 0, 1, 1]), w, b)
        >>> math.isclose(float(loss), math.log1p(math.exp(-10.0)), rel_tol=1e-6)
        True
    """
    logits, valid = ge2e_logits(emb, labels, w, b)
    if not bool(valid.any()):
        return emb.sum() * 0.0
    ce = F.cross_entropy(logits[valid], labels.long()[valid], reduction="mean")
    return ce


class _ScaleGrad(torch.autograd.Function):
    """Identity forward; multiplies the gradient by ``factor`` on the way back."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, factor: float) -> torch.Tensor:  # noqa: D102
        ctx.factor = factor
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # noqa: D102
        return grad * ctx.factor, None


def scale_grad(x: torch.Tensor, factor: float) -> torch.Tensor:
    """``x`` unchanged, its gradient scaled by ``factor`` (the GE2E ``w``, ``b`` use 0.01).

    Example:
        >>> import torch
        >>> w = torch.tensor(10.0, requires_grad=True)
        >>> (3.0 * scale_grad(w, 0.01)).backward()
        >>> round(float(w.grad), 6)
        0.03
    """
    return _ScaleGrad.apply(x, factor)
