"""``vae`` and ``beta-vae``: the seed's convolutional VAE over fixed-length log-mel crops.

Architecture (seed 001, ``EmotionNet_VAE2``; mels are Conv1d channels): encoder Conv1d blocks
``input_dim -> channels[0] -> ... -> channels[-1]`` (kernel 4, stride 2, padding 1: each halves
the frames), ReLU after each, then one Conv1d ``channels[-1] -> hidden`` whose kernel spans the
frames left (``segment_frames / 2 ** len(channels)``) so the crop becomes one ``hidden`` vector,
ReLU, Linear ``hidden -> 2 * latent`` split into ``mu`` and ``logvar``;
``z = mu + eps * exp(logvar / 2)``. Decoder: Linear ``latent -> hidden``, ReLU, the mirror
image (ConvTranspose1d back to ``segment_frames`` frames, ReLU between, linear output).
Kaiming-normal init, zero biases. Loss: ``recon + beta * KL``, the KL summed over latent
dimensions and averaged over rows.

``recon_reduction`` sets the scale of the reconstruction term, and with it what ``beta`` means:
``"sum"`` (default) sums the squared error over a crop's real frames and mels and averages over
rows, the scale of a log-likelihood (``beta = 0.5`` is the ELBO of a unit-variance Gaussian
decoder), as in Kingma & Welling and Higgins et al.; ``"mean"`` averages it per element, as the
seed's code does. With ``"mean"`` one nat of KL costs as much as the whole mean squared error:
the seed's un-normalised dB mels (variance about 400 per element on RAVDESS) leave room for
that, but on the standardised features the pretrain loop feeds (variance 1) the posterior
collapses within an epoch (measured on RAVDESS: KL 11 -> 0.0001 nats, ``mu`` the same for every
row), so ``"mean"`` needs a ``beta`` of about ``1 / (segment_frames * n_mels)``.

The seed's ``paper`` sizes: 80 mels x 128 frames, channels 64, 32, 16, 16, 128, hidden 256,
latent 8 (the seed's last encoder conv is kernel 3 stride 2 on the 4 frames left, which never
reads the 4th frame; here the kernel covers all 4).

``beta-vae`` is the same class registered a second time with ``beta = 4`` by default; ``vae``
takes ``beta`` too (``beta = 1`` by default), so ``vae`` with ``beta: 4`` and ``beta-vae``
build the same net.

Speaker conditioning (``cond_dim > 0``, e.g. 256 for the ``resemblyzer`` embedding): the
decoder always gets ``[z, cond]``, so the speaker's voice need not be carried by ``z``, and the
KL term, which charges every bit ``z`` holds, pushes it out of the latent. With
``cond_encoder: true`` the encoder gets ``cond`` too (concatenated before the ``mu``/``logvar``
layer, the usual conditional VAE ``q(z | x, c)``), which lets it explain the speaker away
explicitly; the default is off, so that embedding a row needs no speaker vector's help to
remove the speaker and the latent is a function of the audio alone.

Layers (utterance level, averaged over the row's partial-utterance crops): ``mu`` (default)
and ``logvar`` (the seed's mu-versus-sigma plots per latent dimension).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from serkit.encoders import register_encoder
from serkit.encoders._autoencoder import CropAutoencoder, kaiming_init
from serkit.encoders._frontends import TRANSFORM_LOGMEL
from serkit.encoders.losses import kl_mean


@register_encoder("vae")
class ConvVAE(CropAutoencoder):
    """Convolutional VAE over ``segment_frames``-frame log-mel crops (see the module docstring).

    Args:
        input_dim: mel bands of the input frames.
        num_classes: unused (the VAE uses no labels).
        cond_dim: size of the speaker vector given to the decoder (0: unconditioned).
        channels: encoder conv channels; ``segment_frames`` must be divisible by
            ``2 ** len(channels)``.
        hidden: size of the vector a crop is encoded to before ``mu`` / ``logvar``.
        latent: latent dimensions.
        beta: weight of the KL term (1: VAE; > 1: beta-VAE).
        cond_encoder: give ``cond`` to the encoder too (see the module docstring).
        recon_reduction: ``"sum"`` (per crop, log-likelihood scale) or ``"mean"`` (per
            element, the seed's); see the module docstring.
        segment_frames: frames per crop.
        crop_step: frames between the partial-utterance crops of :meth:`embed`.
    """

    conditions: ClassVar[tuple[str, ...]] = ("speaker",)
    layers: ClassVar[tuple[str, ...]] = ("mu", "logvar")
    layer_levels: ClassVar[dict[str, str]] = {"mu": "utterance", "logvar": "utterance"}
    default_frontend: ClassVar[dict[str, Any]] = {"name": "logmel", "params": TRANSFORM_LOGMEL}
    segment_frames: ClassVar[int | None] = 128
    default_beta: ClassVar[float] = 1.0
    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "cpu": {"channels": [32, 32, 16, 16, 64], "hidden": 128, "latent": 8},
        "paper": {"channels": [64, 32, 16, 16, 128], "hidden": 256, "latent": 8},
    }

    def __init__(
        self,
        input_dim: int,
        num_classes: int = 0,
        cond_dim: int = 0,
        *,
        channels: tuple[int, ...] | list[int] = (32, 32, 16, 16, 64),
        hidden: int = 128,
        latent: int = 8,
        beta: float | None = None,
        cond_encoder: bool = False,
        recon_reduction: str = "sum",
        segment_frames: int = 128,
        crop_step: int = 64,
    ) -> None:
        super().__init__()
        self.setup_crops(input_dim, cond_dim, segment_frames, crop_step)
        channels = [int(c) for c in channels]
        left, rem = divmod(segment_frames, 2 ** len(channels))
        if not channels or rem or left < 1:
            raise ValueError(
                f"{self.encoder_name}: segment_frames={segment_frames} must be a multiple of "
                f"2 ** len(channels) = {2 ** len(channels)} (channels={channels}); change "
                f"segment_frames or the number of channels"
            )
        self.channels, self.hidden, self.latent = channels, int(hidden), int(latent)
        self.beta = float(self.default_beta if beta is None else beta)
        self.cond_encoder = bool(cond_encoder)
        if recon_reduction not in ("sum", "mean"):
            raise ValueError(f"{self.encoder_name}: recon_reduction {recon_reduction!r}; "
                             f"expected 'sum' or 'mean'")
        self.recon_reduction = recon_reduction

        enc: list[nn.Module] = []
        for c_in, c_out in zip([input_dim, *channels[:-1]], channels, strict=True):
            enc += [nn.Conv1d(c_in, c_out, 4, stride=2, padding=1), nn.ReLU()]
        enc += [nn.Conv1d(channels[-1], hidden, left), nn.ReLU()]
        self.encoder = nn.Sequential(*enc)
        enc_cond = cond_dim if cond_encoder else 0
        self.to_latent = nn.Linear(hidden + enc_cond, 2 * latent)

        self.from_latent = nn.Sequential(nn.Linear(latent + cond_dim, hidden), nn.ReLU())
        dec: list[nn.Module] = [nn.ConvTranspose1d(hidden, channels[-1], left)]
        outs = [*reversed(channels[:-1]), input_dim]
        for c_in, c_out in zip(reversed(channels), outs, strict=True):
            dec += [nn.ReLU(), nn.ConvTranspose1d(c_in, c_out, 4, stride=2, padding=1)]
        self.decoder = nn.Sequential(*dec)
        kaiming_init(self)

    def get_config(self) -> dict[str, Any]:
        """JSON-able params: ``cls(input_dim, 0, cond_dim, **get_config())`` rebuilds the net."""
        return {
            "channels": list(self.channels),
            "hidden": self.hidden,
            "latent": self.latent,
            "beta": self.beta,
            "cond_encoder": self.cond_encoder,
            "recon_reduction": self.recon_reduction,
            "segment_frames": self.segment_frames,
            "crop_step": self.crop_step,
        }

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        """Tiny sizes for the contract suite (16-frame crops)."""
        return {"channels": [8, 8], "hidden": 16, "latent": 4, "segment_frames": 16, "crop_step": 8}

    def encode_crops(self, crops: torch.Tensor, cond: torch.Tensor | None) -> dict[str, Any]:
        """``(n, segment, mels)`` -> ``mu``, ``logvar`` ``(n, latent)`` and the decoder's ``code``.

        ``code`` is a sample ``z`` in training mode and ``mu`` in eval mode.
        """
        h = self.encoder(crops.transpose(1, 2)).squeeze(-1)  # (n, hidden)
        if self.cond_encoder and cond is not None:
            h = torch.cat([h, cond.to(h.dtype)], dim=1)
        mu, logvar = self.to_latent(h).chunk(2, dim=1)
        code = mu + torch.randn_like(mu) * (0.5 * logvar).exp() if self.training else mu
        return {"code": code, "mu": mu, "logvar": logvar}

    def decode_crops(self, code: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        """``z`` ``(n, latent)`` (+ ``cond``) -> ``(n, segment, mels)``."""
        if cond is not None:
            code = torch.cat([code, cond.to(code.dtype)], dim=1)
        h = self.from_latent(code).unsqueeze(-1)  # (n, hidden, 1)
        return self.decoder(h).transpose(1, 2)

    def extra_loss(self, encoded: dict[str, Any]) -> dict[str, tuple[float, torch.Tensor]]:
        """``beta * KL`` (the part ``kl`` reports the unweighted KL, in nats per row)."""
        return {"kl": (self.beta, kl_mean(encoded["mu"], encoded["logvar"]))}


@register_encoder("beta-vae")
class BetaVAE(ConvVAE):
    """:class:`ConvVAE` with ``beta = 4`` by default (Higgins et al. 2017); any ``beta`` works."""

    default_beta: ClassVar[float] = 4.0
