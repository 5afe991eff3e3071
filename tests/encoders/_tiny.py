"""Two tiny encoder families the encoder tests register themselves (families of ENC-FAM are
tested too, through ``list_encoders()``): a label-free autoencoder and a labelled classifier."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from serkit.encoders import ENCODERS, register_encoder
from serkit.encoders.base import EncoderNet, Reconstructs


def _mean(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    mask = (torch.arange(x.shape[1])[None, :] < lengths[:, None]).to(x.dtype)
    return (x * mask[..., None]).sum(1) / lengths.clamp(min=1)[:, None].to(x.dtype)


class TinyAE(EncoderNet, Reconstructs):
    """Frame MLP, mean-pooled to a latent; the decoder rebuilds the mean frame."""

    uses_labels = False
    conditions = ("speaker",)
    layers = ("latent", "hidden")
    layer_levels = {"latent": "utterance", "hidden": "frame"}
    presets = {"cpu": {"hidden": 8, "latent": 3}, "paper": {"hidden": 32, "latent": 8}}

    def __init__(
        self,
        input_dim: int,
        num_classes: int = 0,
        cond_dim: int = 0,
        *,
        hidden: int = 8,
        latent: int = 3,
    ) -> None:
        super().__init__()
        self.config = {"hidden": hidden, "latent": latent}
        self.frame = nn.Linear(input_dim, hidden)
        self.to_z = nn.Linear(hidden + cond_dim, latent)
        self.out = nn.Linear(latent + cond_dim, input_dim)

    def get_config(self) -> dict[str, Any]:
        return dict(self.config)

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        return {"hidden": 4, "latent": 2}

    def _z(self, x, lengths, cond):
        h = _mean(torch.tanh(self.frame(x)), lengths)
        return self.to_z(h if cond is None else torch.cat([h, cond], 1))

    def loss(self, x, lengths, labels=None, cond=None):
        z = self._z(x, lengths, cond)
        recon = self.out(z if cond is None else torch.cat([z, cond], 1))
        loss = ((recon - _mean(x, lengths)) ** 2).mean()
        return loss, {"recon": loss.item()}

    def embed(self, x, lengths, cond=None, layer=None):
        if (layer or "latent") == "hidden":
            return torch.tanh(self.frame(x))
        return self._z(x, lengths, cond)

    def reconstruct(self, x, lengths, cond=None):
        z = self._z(x, lengths, cond)
        return self.decode(z, cond, frames=x.shape[1])

    def decode(self, z, cond=None, frames=None):
        out = self.out(z if cond is None else torch.cat([z, cond], 1))
        return out[:, None, :].expand(-1, frames or 1, -1)


class TinyClf(EncoderNet):
    """Mean-pooled linear classifier; its latent is the hidden layer (trained with labels)."""

    uses_labels = True
    presets = {"cpu": {"hidden": 4}, "paper": {"hidden": 16}}

    def __init__(
        self, input_dim: int, num_classes: int = 0, cond_dim: int = 0, *, hidden: int = 4
    ) -> None:
        super().__init__()
        self.config = {"hidden": hidden}
        self.hidden = nn.Linear(input_dim, hidden)
        self.head = nn.Linear(hidden, max(num_classes, 1))

    def get_config(self) -> dict[str, Any]:
        return dict(self.config)

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        return {"hidden": 3}

    def loss(self, x, lengths, labels=None, cond=None):
        loss = nn.functional.cross_entropy(self.head(self.embed(x, lengths)), labels)
        return loss, {"ce": loss.item()}

    def embed(self, x, lengths, cond=None, layer=None):
        return torch.tanh(self.hidden(_mean(x, lengths)))


def register() -> None:
    """Register both (idempotent)."""
    for name, cls in (("tiny-ae", TinyAE), ("tiny-clf", TinyClf)):
        if name not in ENCODERS.names():
            register_encoder(name)(cls)


register()
