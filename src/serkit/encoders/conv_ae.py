"""``conv-ae``: the seed's convolutional autoencoder (``EmotionNet_AE``) over log-mel crops.

Encoder: "same"-padded Conv1d blocks with LeakyReLU (``paper``: ``input_dim -> 32`` kernel 32,
``32 -> 64`` k16, ``64 -> 128`` k8, ``128 -> 256`` k8), then a max over the crop's frames: a
``channels[-1]``-dimensional embedding per crop. Decoder: Linear ``embedding -> channels[-1] x
(segment_frames / 2 ** (len(channels) - 1))``, then ``len(channels) - 1`` ConvTranspose1d
blocks (kernel 4, stride 2: each doubles the frames) through the encoder's channels in reverse,
LeakyReLU between, and a same-padded Conv1d ``channels[0] -> input_dim`` with the first
kernel, linear output. (The seed's decoder uses the encoder's kernel widths in its transposed
convolutions with constant pre-padding; the stride-2 upsampling here reaches the same
``segment_frames`` with fewer parameters.) Kaiming-normal init, zero biases; loss: MSE over
the crop's real frames.

The seed's supervised head (``10 * CE`` on the L2-normalised embedding) is not part of this
label-free family: a linear probe on the embedding (``model: logreg``) plays that role, and the
``ge2e`` family is the label-trained encoder.

Speaker conditioning (``cond_dim > 0``) enters the decoder, as the seed's options do:
``cond_mode: concat`` (default) feeds ``[embedding, cond]``, ``cond_mode: product`` feeds
``embedding * Linear(cond)`` (result.md's element-wise product, the speaker vector projected
to the embedding size). The decoder then has the speaker's voice from ``cond``, so the
embedding need not carry it. The encoder never sees ``cond``: the embedding is a function of the
audio alone.

Layer (utterance level, averaged over the row's partial-utterance crops): ``embedding``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from serkit.encoders import register_encoder
from serkit.encoders._autoencoder import CropAutoencoder, kaiming_init
from serkit.encoders._frontends import TRANSFORM_LOGMEL

COND_MODES = ("concat", "product")


@register_encoder("conv-ae")
class ConvAE(CropAutoencoder):
    """Convolutional autoencoder with a max-pooled crop embedding (see the module docstring).

    Args:
        input_dim: mel bands of the input frames.
        num_classes: unused (label-free).
        cond_dim: size of the speaker vector given to the decoder (0: unconditioned).
        channels: encoder conv channels (the last is the embedding size); ``segment_frames``
            must be divisible by ``2 ** (len(channels) - 1)``.
        kernels: encoder kernel widths, one per channel entry.
        cond_mode: ``concat`` or ``product`` (how the decoder gets ``cond``).
        segment_frames: frames per crop.
        crop_step: frames between the partial-utterance crops of :meth:`embed`.
    """

    conditions: ClassVar[tuple[str, ...]] = ("speaker",)
    layers: ClassVar[tuple[str, ...]] = ("embedding",)
    layer_levels: ClassVar[dict[str, str]] = {"embedding": "utterance"}
    default_frontend: ClassVar[dict[str, Any]] = {"name": "logmel", "params": TRANSFORM_LOGMEL}
    segment_frames: ClassVar[int | None] = 128
    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "cpu": {"channels": [16, 32, 64, 128], "kernels": [9, 7, 5, 5]},
        "paper": {"channels": [32, 64, 128, 256], "kernels": [32, 16, 8, 8]},
    }

    def __init__(
        self,
        input_dim: int,
        num_classes: int = 0,
        cond_dim: int = 0,
        *,
        channels: tuple[int, ...] | list[int] = (16, 32, 64, 128),
        kernels: tuple[int, ...] | list[int] = (9, 7, 5, 5),
        cond_mode: str = "concat",
        segment_frames: int = 128,
        crop_step: int = 64,
    ) -> None:
        super().__init__()
        self.setup_crops(input_dim, cond_dim, segment_frames, crop_step)
        channels, kernels = [int(c) for c in channels], [int(k) for k in kernels]
        name = self.encoder_name
        if not channels or len(kernels) != len(channels):
            raise ValueError(
                f"{name}: need one kernel per channel entry, found channels="
                f"{channels} and kernels={kernels}"
            )
        if cond_mode not in COND_MODES:
            raise ValueError(f"{name}: cond_mode {cond_mode!r}; expected one of {COND_MODES}")
        start, rem = divmod(segment_frames, 2 ** (len(channels) - 1))
        if rem or start < 1:
            raise ValueError(
                f"{name}: segment_frames={segment_frames} must be a multiple of "
                f"2 ** (len(channels) - 1) = {2 ** (len(channels) - 1)}; change "
                f"segment_frames or the number of channels"
            )
        self.channels, self.kernels, self.cond_mode = channels, kernels, cond_mode
        self._start = start
        emb = channels[-1]

        enc: list[nn.Module] = []
        for c_in, c_out, k in zip([input_dim, *channels[:-1]], channels, kernels, strict=True):
            enc += [nn.Conv1d(c_in, c_out, k, padding="same"), nn.LeakyReLU()]
        self.encoder = nn.Sequential(*enc)

        dec_in = emb + cond_dim if cond_dim and cond_mode == "concat" else emb
        self.cond_proj = nn.Linear(cond_dim, emb) if cond_dim and cond_mode == "product" else None
        self.from_embedding = nn.Sequential(nn.Linear(dec_in, emb * start), nn.LeakyReLU())
        dec: list[nn.Module] = []
        rev = list(reversed(channels))
        for c_in, c_out in zip(rev[:-1], rev[1:], strict=True):
            dec += [nn.ConvTranspose1d(c_in, c_out, 4, stride=2, padding=1), nn.LeakyReLU()]
        dec += [nn.Conv1d(channels[0], input_dim, kernels[0], padding="same")]
        self.decoder = nn.Sequential(*dec)
        kaiming_init(self)

    def get_config(self) -> dict[str, Any]:
        """JSON-able params: ``cls(input_dim, 0, cond_dim, **get_config())`` rebuilds the net."""
        return {
            "channels": list(self.channels),
            "kernels": list(self.kernels),
            "cond_mode": self.cond_mode,
            "segment_frames": self.segment_frames,
            "crop_step": self.crop_step,
        }

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        """Tiny sizes for the contract suite (16-frame crops)."""
        return {"channels": [8, 8, 16], "kernels": [5, 3, 3], "segment_frames": 16, "crop_step": 8}

    def encode_crops(self, crops: torch.Tensor, cond: torch.Tensor | None) -> dict[str, Any]:
        """``(n, segment, mels)`` -> ``embedding`` ``(n, channels[-1])`` (also the ``code``)."""
        emb = self.encoder(crops.transpose(1, 2)).amax(dim=2)
        return {"code": emb, "embedding": emb}

    def decode_crops(self, code: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        """Embedding ``(n, channels[-1])`` (+ ``cond``) -> ``(n, segment, mels)``."""
        if cond is not None and self.cond_proj is not None:
            code = code * self.cond_proj(cond.to(code.dtype))
        elif cond is not None:
            code = torch.cat([code, cond.to(code.dtype)], dim=1)
        h = self.from_embedding(code).view(code.shape[0], self.channels[-1], self._start)
        return self.decoder(h).transpose(1, 2)
