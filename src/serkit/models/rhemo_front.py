"""An RH-emo encoder package in front of a quaternion net (the ``rhemo-cnn`` fine-tune option).

:class:`EncodedNet` takes spectrogram windows ``(batch, window_frames, bins)`` (the RH-emo
package's own front end, cut by the model's collate), applies the package's input
normalisation and max-scaling (its ``scale`` buffer), runs ``encode_map`` (the real RH-emo
encoder, ``(batch, 1, T, F) -> (batch, 4, T / 8, F / 2)``) and feeds the flattened latent to
the quaternion net as one window per row, exactly the rows the ``encoder`` extractor's ``map``
layer would give. Frozen (``finetune=False``): no gradient reaches the encoder and its batch
norms stay in eval mode whatever ``train()`` says; fine-tuned: both train together.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from serkit.errors import ConfigError


class EncodedNet(nn.Module):
    """``encode_map`` of an RH-emo net, then a quaternion net (net contract in and out).

    Args:
        encoder: the RH-emo family instance (``encode_map``, ``scale``, ``bins``,
            ``window_frames``, ``latent_shape``).
        net: a quaternion net built for ``prod(latent_shape)`` inputs.
        finetune: train the encoder too.
        mean, std: the package's input normalisation ``(input_dim,)`` or ``None``.
    """

    def __init__(
        self,
        encoder: nn.Module,
        net: nn.Module,
        finetune: bool,
        mean: Any = None,
        std: Any = None,
    ) -> None:
        super().__init__()
        self.encoder, self.net, self.finetune = encoder, net, bool(finetune)
        self.bins = int(encoder.bins)
        self.window = int(encoder.window_frames)
        dim = 1 if mean is None else len(mean)
        self.register_buffer("in_mean", torch.zeros(dim) if mean is None else torch.as_tensor(mean))
        self.register_buffer("in_std", torch.ones(dim) if std is None else torch.as_tensor(std))
        if not self.finetune:
            for p in self.encoder.parameters():
                p.requires_grad_(False)
        self.train(False)

    @classmethod
    def build(
        cls,
        path: str,
        net_name: str,
        input_dim: int,
        num_classes: int,
        net_params: dict[str, Any],
        *,
        window: int,
        finetune: bool,
    ) -> EncodedNet:
        """Load the package at ``path`` and build ``net_name`` on its latent.

        Raises:
            ConfigError: not an RH-emo package, a window or bin count that does not fit it.
        """
        from serkit.encoders.package import load_encoder
        from serkit.models.nets import build_net

        pkg = load_encoder(path)
        enc = pkg.net
        if not hasattr(enc, "encode_map"):
            raise ConfigError(
                f"rhemo-cnn: encoder {path} is a {pkg.family!r} package; the fine-tune option "
                "needs an RH-emo package (encoder family 'rhemo', with encode_map)"
            )
        if int(window) != int(enc.window_frames):
            raise ConfigError(
                f"rhemo-cnn: window_frames={window} but the RH-emo package at {path} was "
                f"trained on {enc.window_frames}-frame windows; set window_frames: "
                f"{enc.window_frames}"
            )
        if int(input_dim) != int(enc.input_dim):
            raise ConfigError(
                f"rhemo-cnn: the features have {input_dim} values per frame but the RH-emo "
                f"package at {path} reads {enc.input_dim}; use its front end "
                f"({pkg.frontend.to_dict().get('extractor', pkg.meta.get('frontend'))})"
            )
        shape = [int(v) for v in enc.latent_shape]
        given = net_params.get("map_shape")
        if given is not None and [int(v) for v in given] != shape:
            raise ConfigError(
                f"rhemo-cnn: net_params.map_shape={list(given)} but the RH-emo package's latent "
                f"is {shape}; drop map_shape (it is taken from the package)"
            )
        net = build_net(
            net_name, math.prod(shape), num_classes, **{**net_params, "map_shape": shape}
        )
        return cls(enc, net, finetune, pkg.mean, pkg.std)

    def train(self, mode: bool = True) -> EncodedNet:
        super().train(mode)
        if not self.finetune:
            self.encoder.eval()
        return self

    def maps(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Windows ``(batch, frames, input_dim)`` -> flattened latents ``(batch, 4 T' F')``."""
        keep = torch.arange(x.shape[1], device=x.device)[None, :] < lengths[:, None]
        x = (x - self.in_mean) / self.in_std
        x = torch.where(keep[:, :, None], x, torch.zeros_like(x))[:, : self.window, : self.bins]
        if x.shape[1] < self.window:
            x = nn.functional.pad(x, (0, 0, 0, self.window - x.shape[1]))
        spec = (x / self.encoder.scale)[:, None]
        with torch.set_grad_enabled(self.finetune and torch.is_grad_enabled()):
            return self.encoder.encode_map(spec).flatten(1)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``(batch, frames, input_dim)`` windows -> ``(batch, classes)``."""
        z = self.maps(x, lengths)
        ones = torch.ones(z.shape[0], dtype=torch.int64, device=z.device)
        return self.net(z[:, None], ones)
