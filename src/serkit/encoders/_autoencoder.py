"""What the crop-based autoencoder families share: training crops, partial-utterance embedding.

A subclass (``vae``, ``conv-ae``) defines how one batch of fixed-length crops is encoded
(:meth:`CropAutoencoder.encode_crops`: a dict of per-crop tensors, ``"code"`` among them, the
input of the decoder) and decoded (:meth:`CropAutoencoder.decode_crops`), plus the extra loss
terms (:meth:`CropAutoencoder.extra_loss`). This class turns that into the
:class:`~serkit.encoders.base.EncoderNet` contract:

* :meth:`loss`: one random ``segment_frames`` crop per row (a shorter row centred and
  edge-padded), squared reconstruction error over the crop's real frames only (averaged per
  element, or summed per row when the family sets ``recon_reduction = "sum"``), plus the
  extras;
* :meth:`embed`: every row cut into partial utterances
  (:func:`serkit.encoders._crops.sliding_starts`, every ``crop_step`` frames), the layer
  taken per crop and averaged over the row's crops;
* :meth:`reconstruct`: the same crops decoded from their codes and overlap-added back.

Conditioning: with ``cond_dim > 0`` every call takes ``cond`` ``(batch, cond_dim)`` (one
vector per row, e.g. the Resemblyzer speaker embedding) and hands each crop its row's vector.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from serkit.encoders import _crops as C
from serkit.encoders.base import EncoderNet, Reconstructs
from serkit.encoders.losses import masked_recon


def kaiming_init(module: nn.Module) -> None:
    """The seed's init: Kaiming-normal weights, zero biases, for every conv and linear layer."""
    for m in module.modules():
        if isinstance(m, nn.Conv1d | nn.ConvTranspose1d | nn.Linear):
            nn.init.kaiming_normal_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class CropAutoencoder(Reconstructs, EncoderNet):
    """Base of the autoencoders over fixed-length log-mel crops (see the module docstring)."""

    family = "autoencoder"

    def setup_crops(self, input_dim: int, cond_dim: int, segment_frames: int, crop_step: int):
        """Store and check the sizes every crop family has."""
        name = getattr(self, "encoder_name", type(self).__name__)
        if input_dim < 1 or cond_dim < 0:
            raise ValueError(
                f"{name}: need input_dim >= 1 and cond_dim >= 0, found {input_dim} and {cond_dim}"
            )
        if segment_frames < 1 or crop_step < 1:
            raise ValueError(
                f"{name}: segment_frames and crop_step must be >= 1, found "
                f"{segment_frames} and {crop_step}"
            )
        self.input_dim = int(input_dim)
        self.cond_dim = int(cond_dim)
        self.segment_frames = int(segment_frames)
        self.crop_step = int(crop_step)

    # -- what a family defines -------------------------------------------------------------

    def encode_crops(self, crops: torch.Tensor, cond: torch.Tensor | None) -> dict[str, Any]:
        """``crops`` ``(n, segment, dim)`` -> ``{"code": (n, code_dim), <layer>: (n, d), ...}``."""
        raise NotImplementedError

    def decode_crops(self, code: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        """``code`` ``(n, code_dim)`` -> ``(n, segment, dim)``."""
        raise NotImplementedError

    def extra_loss(self, encoded: dict[str, Any]) -> dict[str, tuple[float, torch.Tensor]]:
        """Loss terms besides the reconstruction: ``{name: (weight, value)}`` (e.g. beta, KL).

        The loss adds ``weight * value``; the parts report the unweighted ``value``.
        """
        return {}

    # -- the contract ----------------------------------------------------------------------

    def _cond(self, cond: torch.Tensor | None, batch: int) -> torch.Tensor | None:
        name = getattr(self, "encoder_name", type(self).__name__)
        if self.cond_dim == 0:
            return None
        if cond is None or tuple(cond.shape) != (batch, self.cond_dim):
            found = None if cond is None else tuple(cond.shape)
            raise ValueError(
                f"{name} was built with cond_dim={self.cond_dim}: pass cond of shape "
                f"({batch}, {self.cond_dim}) (one speaker embedding per row), found {found}"
            )
        return cond

    def _crops(self, x: torch.Tensor, lengths: torch.Tensor, starts, rows=None):
        lengths = lengths if rows is None else lengths[rows]
        rows = torch.arange(x.shape[0]) if rows is None else rows
        pos, real = C.positions(lengths, starts, self.segment_frames)
        return rows, pos, real, C.gather(x, rows, pos)

    def loss(self, x, lengths, labels=None, cond=None):
        """Reconstruction over one random crop per row (real frames only) plus the extras."""
        lengths = C.check_lengths(lengths, x.shape[1], self.encoder_name)
        cond = self._cond(cond, x.shape[0])
        starts = C.random_starts(lengths, self.segment_frames)
        rows, _, real, crops = self._crops(x, lengths, starts)
        encoded = self.encode_crops(crops, cond)
        recon = self.decode_crops(encoded["code"], cond)
        reduction = getattr(self, "recon_reduction", "mean")
        error = masked_recon(recon, crops, real.to(x.device), reduction=reduction)
        terms = {"recon": (1.0, error)}
        terms.update(self.extra_loss(encoded))
        total = sum(weight * value for weight, value in terms.values())
        return total, {k: float(value.detach()) for k, (_, value) in terms.items()}

    def _partials(self, x, lengths, cond):
        lengths = C.check_lengths(lengths, x.shape[1], self.encoder_name)
        cond = self._cond(cond, x.shape[0])
        rows, starts = C.sliding_starts(lengths, self.segment_frames, self.crop_step)
        rows, pos, real, crops = self._crops(x, lengths, starts, rows)
        crop_cond = None if cond is None else cond[rows.to(cond.device)]
        return rows, pos, real, crops, crop_cond

    def embed(self, x, lengths, cond=None, layer=None):
        """Mean over the row's partial-utterance crops of the layer's per-crop value."""
        layer = layer or self.layers[0]
        if layer not in self.layers:
            raise ValueError(
                f"{self.encoder_name}: layer {layer!r}; expected one of {list(self.layers)}"
            )
        rows, _, _, crops, crop_cond = self._partials(x, lengths, cond)
        values = self.encode_crops(crops, crop_cond)[layer]
        return C.mean_by_row(values, rows, x.shape[0])

    def reconstruct(self, x, lengths, cond=None):
        """Every partial crop decoded from its code, overlap-added: ``(batch, frames, dim)``."""
        rows, pos, real, crops, crop_cond = self._partials(x, lengths, cond)
        out = self.decode_crops(self.encode_crops(crops, crop_cond)["code"], crop_cond)
        return C.overlap_add(out, rows, pos, real, (x.shape[0], x.shape[1], out.shape[2]))

    def decode(self, z, cond=None, frames=None):
        """Decode codes ``z`` ``(batch, code_dim)`` to ``(batch, frames, dim)``.

        ``frames`` (default ``segment_frames``) may not exceed ``segment_frames``: the decoder
        renders one crop.
        """
        cond = self._cond(cond, z.shape[0])
        out = self.decode_crops(z, cond)
        if frames is None:
            return out
        if not 1 <= frames <= self.segment_frames:
            raise ValueError(
                f"{self.encoder_name}: decode renders at most segment_frames="
                f"{self.segment_frames} frames, asked for frames={frames}"
            )
        return out[:, :frames]
