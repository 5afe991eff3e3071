"""The contract every encoder family follows (what ``pretrain`` and the ``encoder`` extractor call).

A family is an ``nn.Module`` built as ``cls(input_dim, num_classes=0, cond_dim=0, **params)``:

* ``input_dim``: feature dimension of the frame features it consumes, ``(frames, input_dim)``
  (from its front end, by default :attr:`EncoderNet.default_frontend`);
* ``num_classes``: number of label classes (0 for a family that uses no labels);
* ``cond_dim``: size of the conditioning vector (e.g. 256 for a Resemblyzer speaker
  embedding) or 0 when not conditioned.

The pretrain loop (one for every family) feeds padded batches ``x`` ``(batch, frames, dim)``,
``lengths`` ``(batch,)``, ``labels`` ``(batch,)`` (class indices, or ``None`` for label-free
families) and ``cond`` ``(batch, cond_dim)`` (or ``None``), calls :meth:`EncoderNet.loss`,
steps the optimiser, and checkpoints after every epoch.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn


class EncoderNet(nn.Module):
    """Base class of encoder families.

    Class attributes:
        uses_labels: True when :meth:`loss` uses the emotion labels (then the leakage
            certificate refuses test folds that share a speaker with its training rows).
        conditions: conditioning inputs the family accepts (``("speaker",)``: a speaker
            embedding of each row, computed by the ``resemblyzer`` extractor).
        layers: names of the representations :meth:`embed` can return; the first is the
            default.
        layer_levels: per layer, ``"utterance"`` (``(batch, dim)``) or ``"frame"``
            (``(batch, frames', dim)``).
        default_frontend: the front end it consumes by default, ``{"name", "params"}`` of a
            frame-level extractor (e.g. log-mel).
        presets: named parameter sets, at least ``"cpu"`` (the default) and ``"paper"``.
        segment_frames: training crops of this many frames (``None``: whole utterances).
        target_columns: extra per-row targets its loss takes (e.g. ``("valence", "arousal",
            "dominance")``): the pretrain loop reads them from the manifest rows (V/A/D through
            :func:`serkit.corpora.vad_targets.binary_targets`, other names as float columns)
            and passes ``targets`` ``(batch, k)`` (NaN: missing) to :meth:`loss`. Empty: the
            loss gets no ``targets`` keyword.
        input_norm: ``"zscore"`` (the loop z-scores input frames with the training rows'
            per-dimension mean / std, recorded in the package) or ``"none"`` (frames as the
            front end gives them; the family scales them itself, e.g. in
            :meth:`fit_input`).
    """

    uses_labels: ClassVar[bool] = False
    conditions: ClassVar[tuple[str, ...]] = ()
    layers: ClassVar[tuple[str, ...]] = ("latent",)
    layer_levels: ClassVar[dict[str, str]] = {"latent": "utterance"}
    default_frontend: ClassVar[dict[str, Any]] = {"name": "logmel", "params": {}}
    presets: ClassVar[dict[str, dict[str, Any]]] = {"cpu": {}, "paper": {}}
    segment_frames: ClassVar[int | None] = None
    target_columns: ClassVar[tuple[str, ...]] = ()
    input_norm: ClassVar[str] = "zscore"
    #: parameters an ``encoder.init`` package must share with the net it initialises (its
    #: tensors mean something else otherwise, e.g. RH-emo's input compression)
    init_must_match: ClassVar[tuple[str, ...]] = ()

    def fit_input(self, frames: list[np.ndarray]) -> None:
        """Called once by the pretrain loop with the (normalised) training frames, before
        training and before an ``encoder.init`` package's weights are loaded (default: no-op;
        e.g. a family stores the training maximum in a buffer)."""
        return None

    def loss(
        self,
        x: torch.Tensor,
        lengths: torch.Tensor,
        labels: torch.Tensor | None = None,
        cond: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Training loss of one batch and its named parts (for the loss curves).

        Args:
            x: ``(batch, frames, input_dim)`` padded features.
            lengths: ``(batch,)`` valid frames per row.
            labels: ``(batch,)`` class indices (families with ``uses_labels``), else ``None``.
            cond: ``(batch, cond_dim)`` conditioning vectors, or ``None``.

        Families with :attr:`target_columns` also take ``targets`` ``(batch, k)`` (NaN:
        missing).

        Returns:
            ``(loss, parts)``: a scalar tensor and ``{"name": float}`` (e.g. ``recon``, ``kl``).
        """
        raise NotImplementedError

    def embed(
        self,
        x: torch.Tensor,
        lengths: torch.Tensor,
        cond: torch.Tensor | None = None,
        layer: str | None = None,
    ) -> torch.Tensor:
        """The representation ``layer`` (default: the first of :attr:`layers`), in eval mode.

        Returns:
            ``(batch, dim)`` for an utterance-level layer, ``(batch, frames', dim)`` for a
            frame-level one (see :attr:`layer_levels`).
        """
        raise NotImplementedError

    @classmethod
    def batch_indices(
        cls, labels: np.ndarray | None, batch_size: int, rng: np.random.Generator
    ) -> list[np.ndarray]:
        """Row indices of one epoch's batches (default: shuffled chunks of ``batch_size``).

        Families with a structured batch (GE2E: N classes x M utterances) override this.
        """
        n = 0 if labels is None else len(labels)
        order = rng.permutation(n)
        return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def refuse_conditioning(name: str, cond_dim: int) -> None:
    """Refuse a conditioning vector for a family that takes none (``cond_dim`` must be 0).

    >>> refuse_conditioning("ge2e", 0)
    >>> refuse_conditioning("ge2e", 256)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: ge2e takes no conditioning, found cond_dim=256; set condition: null ...
    """
    if cond_dim:
        raise ValueError(
            f"{name} takes no conditioning, found cond_dim={cond_dim}; "
            "set condition: null in the pretrain config"
        )


class Reconstructs:
    """Mixin of autoencoder families that can render what they encode back to features.

    ``reconstruct(x, lengths, cond=None) -> (batch, frames, input_dim)`` and
    ``decode(z, cond=None, frames=None) -> (batch, frames, input_dim)`` for ``z``
    ``(batch, latent_dim)`` (what latent traversals and listening examples use).
    """

    def reconstruct(
        self, x: torch.Tensor, lengths: torch.Tensor, cond: torch.Tensor | None = None
    ) -> torch.Tensor:
        raise NotImplementedError

    def decode(
        self, z: torch.Tensor, cond: torch.Tensor | None = None, frames: int | None = None
    ) -> torch.Tensor:
        raise NotImplementedError
