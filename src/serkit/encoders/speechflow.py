"""``speechflow``: SpeechSplit with a speaker embedding (seed 000, sections 0.1-0.4).

Input frames ``(frames, mels + 1)``: the SpeechSplit mel in [0, 1] and the normalised log-F0
(unvoiced < 0), from the ``speechflow-input`` front end (the pretrain loop leaves them as they
are: :attr:`SpeechFlow.input_norm` is ``"none"``: the net needs the [0, 1] scale to quantise F0).

Architecture (:mod:`serkit.encoders._speechflow_nets`): a rhythm encoder on the original mel
(1 conv + BLSTM ``rhythm_hidden``), a content + pitch ("sync") encoder on the resampled mel and
the one-hot F0 (``f0_bins + 1 = 257`` bins, bin 0 unvoiced) with one random resampler shared by
both streams after each of their 3 conv layers (BLSTMs ``content_hidden`` x 2 layers and
``pitch_hidden``), every code taken once per ``factor = 8`` frames (forward half at ``f-1,
2f-1, ..``, backward half at ``0, f, ..``) and repeated back 8x; a BLSTM decoder on
``[content, rhythm, pitch, speaker]`` with a linear output to the mels. Xavier init, GroupNorm
with ``group_size`` channels per group.

Speaker (timbre): the Resemblyzer embedding of the row (``condition: speaker``, ``cond``
``(batch, 256)``), L2-normalised and scaled to norm ``sqrt(cond_dim)`` (the fork's d-vectors
have norm ``sqrt(32)``), then a learned linear projection to ``speaker_dim`` (32, the fork's
d-vector size) or, with ``speaker_dim: 0``, used whole. Unconditioned (``cond_dim = 0``) the
decoder has no speaker input.

Training (:meth:`SpeechFlow.loss`, section 0.4): every utterance appears ``samples_per_epoch``
times per epoch (:meth:`SpeechFlow.batch_indices`); each time a random crop of ``crop_min ..
crop_max`` frames padded to ``pad_frames`` (mel 0, F0 unvoiced); a separate resampler instance
on ``[mel, F0]`` with the true crop length before F0 is quantised (as the original solver);
loss: MSE between the decoder output and the un-resampled padded mel (all ``pad_frames``).

Decomposition (:meth:`SpeechFlow.decompose`): the removal conditions of section 0.1
(:data:`CONDITIONS`, :func:`removed_inputs`) zero the encoder input of each removed component
(content: the mel into the sync encoder; pitch: the one-hot F0; rhythm: the mel into the
rhythm encoder; timbre: the speaker vector into the decoder); ``swap`` feeds a component from
another utterance. Utterances are processed in chunks of ``crop_max`` frames, each padded to
``pad_frames`` as in training, and the outputs concatenated.

Layers (frame level, one code per 8 frames): ``content``, ``rhythm``, ``pitch``.

:meth:`SpeechFlow.reconstruct` is ``decompose(..., "REC")`` (80 mel columns, not the input's
81). It is not a :class:`~serkit.encoders.base.Reconstructs` family: ``serkit.encoders.listen``
renders ``logmel`` front ends and decodes an utterance-level latent, and SpeechFlow has three
frame-level codes; its mel is inverted with
:func:`serkit.features.speechflow_input.mel_frontend` (``serkit decompose``).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from serkit.encoders import register_encoder
from serkit.encoders._crops import check_lengths
from serkit.encoders._speechflow_nets import (
    Decoder,
    InterpLnr,
    RhythmEncoder,
    SyncEncoder,
    random_resample,
    upsample_codes,
)
from serkit.encoders.base import EncoderNet

#: the removal conditions of the study (seed_methods section 0.1)
CONDITIONS: tuple[str, ...] = ("REC", "NR", "NF", "NC", "NU", "NRF", "NRC", "NFC", "NRFC")
#: the components an utterance is decomposed into
COMPONENTS: tuple[str, ...] = ("rhythm", "pitch", "content", "timbre")
_LETTERS = {"R": "rhythm", "F": "pitch", "C": "content", "U": "timbre"}
#: the F0 value of unvoiced and padded frames inside the family (interpolating it with a voiced
#: neighbour stays unvoiced, as SpeechSplit's -1e10 padding)
UNVOICED = -1e10


def removed_inputs(condition: str) -> frozenset[str]:
    """The components a removal condition zeroes, e.g. ``"NRF"`` -> ``{"rhythm", "pitch"}``.

    >>> sorted(removed_inputs("NRF")), sorted(removed_inputs("NU")), removed_inputs("REC")
    (['pitch', 'rhythm'], ['timbre'], frozenset())

    Raises:
        ValueError: ``condition`` is not one of :data:`CONDITIONS`.
    """
    if condition not in CONDITIONS:
        raise ValueError(
            f"speechflow: unknown condition {condition!r}; expected one of {', '.join(CONDITIONS)}"
        )
    return frozenset(_LETTERS[c] for c in condition[1:]) if condition != "REC" else frozenset()


def quantise_f0(f0: torch.Tensor, bins: int) -> torch.Tensor:
    """Normalised F0 ``(batch, frames)`` -> one-hot ``(batch, frames, bins + 1)``.

    Voiced ``(0, 1]`` -> bin ``round(x (bins - 1)) + 1``; ``<= 0`` -> bin 0 (SpeechSplit's
    ``quantize_f0_torch``).
    """
    voiced = f0 > 0
    index = torch.round(f0.clamp(0.0, 1.0) * (bins - 1)).long() + 1
    index = torch.where(voiced, index, torch.zeros_like(index))
    return torch.nn.functional.one_hot(index, bins + 1).to(
        f0.dtype if f0.is_floating_point() else torch.float32
    )


@register_encoder("speechflow")
class SpeechFlow(EncoderNet):
    """SpeechSplit / SpeechFlow autoencoder (see the module docstring).

    Args:
        input_dim: ``mels + 1`` (the mel columns, then the normalised F0).
        num_classes: unused (label-free).
        cond_dim: size of the speaker vector (256 for Resemblyzer; 0: no speaker input).
        content_channels, pitch_channels, rhythm_channels: conv widths of the three streams.
        group_size: channels per GroupNorm group.
        content_hidden, pitch_hidden, rhythm_hidden: BLSTM sizes per direction (bottlenecks).
        decoder_hidden, decoder_layers: the decoder BLSTM.
        factor: code down-sampling (frames per code).
        f0_bins: voiced F0 bins (one more, bin 0, is unvoiced).
        speaker_dim: projection of the speaker vector (0: used whole).
        pad_frames: training crops are padded to this many frames (a multiple of ``factor``).
        crop_min, crop_max: training crop lengths (``crop_max``: also the decomposition chunk).
        min_seg, max_seg: segment lengths of the random resampler (both included).
        resample_scales: ``(low, high)`` of its uniform time scale (section 0.3: ``(0.5,
            1.5)``); ``(1, 1)`` turns resampling off (aligned codes: the first stage of
            ``configs/pretrain/speechflow_cpu_aligned.yaml``'s two-stage training).
        samples_per_epoch: times every utterance is drawn per epoch.
    """

    uses_labels: ClassVar[bool] = False
    conditions: ClassVar[tuple[str, ...]] = ("speaker",)
    layers: ClassVar[tuple[str, ...]] = ("content", "rhythm", "pitch")
    layer_levels: ClassVar[dict[str, str]] = {
        "content": "frame",
        "rhythm": "frame",
        "pitch": "frame",
    }
    default_frontend: ClassVar[dict[str, Any]] = {"name": "speechflow-input", "params": {}}
    #: the pretrain loop does not z-score the input (the net quantises F0 on its [0, 1] scale)
    input_norm: ClassVar[str] = "none"
    CONDITIONS: ClassVar[tuple[str, ...]] = CONDITIONS
    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "paper": {
            "content_channels": 512,
            "pitch_channels": 256,
            "rhythm_channels": 128,
            "decoder_hidden": 512,
            "decoder_layers": 3,
        },
        "cpu": {
            "content_channels": 128,
            "pitch_channels": 64,
            "rhythm_channels": 64,
            "decoder_hidden": 128,
            "decoder_layers": 2,
        },
    }

    def __init__(
        self,
        input_dim: int,
        num_classes: int = 0,
        cond_dim: int = 0,
        *,
        content_channels: int = 128,
        pitch_channels: int = 64,
        rhythm_channels: int = 64,
        group_size: int = 16,
        content_hidden: int = 8,
        pitch_hidden: int = 32,
        rhythm_hidden: int = 1,
        decoder_hidden: int = 128,
        decoder_layers: int = 2,
        factor: int = 8,
        f0_bins: int = 256,
        speaker_dim: int = 32,
        pad_frames: int = 192,
        crop_min: int = 64,
        crop_max: int = 128,
        min_seg: int = 19,
        max_seg: int = 31,
        resample_scales: tuple[float, float] | list[float] = (0.5, 1.5),
        samples_per_epoch: int = 8,
    ) -> None:
        super().__init__()
        name = "speechflow"
        if input_dim < 2 or cond_dim < 0:
            raise ValueError(
                f"{name}: input_dim must be mels + 1 >= 2 (the mel columns and the F0 column of "
                f"the speechflow-input front end) and cond_dim >= 0; found {input_dim}, {cond_dim}"
            )
        if not 1 <= crop_min <= crop_max <= pad_frames:
            raise ValueError(
                f"{name}: need 1 <= crop_min <= crop_max <= pad_frames, found {crop_min}, "
                f"{crop_max}, {pad_frames}"
            )
        if pad_frames % factor or crop_max % factor:
            raise ValueError(
                f"{name}: pad_frames ({pad_frames}) and crop_max ({crop_max}) must be multiples "
                f"of factor ({factor}), one code per {factor} frames"
            )
        if not 1 <= min_seg <= max_seg:
            raise ValueError(f"{name}: need 1 <= min_seg <= max_seg, found {min_seg}, {max_seg}")
        try:
            scales = tuple(float(v) for v in resample_scales)
        except (TypeError, ValueError):
            scales = ()
        if len(scales) != 2 or not 0 < scales[0] <= scales[1]:
            raise ValueError(
                f"{name}: resample_scales must be [low, high] with 0 < low <= high (section "
                f"0.3: [0.5, 1.5]; [1, 1]: no resampling), found {resample_scales!r}"
            )
        if samples_per_epoch < 1 or f0_bins < 2 or speaker_dim < 0:
            raise ValueError(
                f"{name}: need samples_per_epoch >= 1, f0_bins >= 2, speaker_dim >= 0; found "
                f"{samples_per_epoch}, {f0_bins}, {speaker_dim}"
            )
        self.config: dict[str, Any] = {
            "content_channels": int(content_channels),
            "pitch_channels": int(pitch_channels),
            "rhythm_channels": int(rhythm_channels),
            "group_size": int(group_size),
            "content_hidden": int(content_hidden),
            "pitch_hidden": int(pitch_hidden),
            "rhythm_hidden": int(rhythm_hidden),
            "decoder_hidden": int(decoder_hidden),
            "decoder_layers": int(decoder_layers),
            "factor": int(factor),
            "f0_bins": int(f0_bins),
            "speaker_dim": int(speaker_dim),
            "pad_frames": int(pad_frames),
            "crop_min": int(crop_min),
            "crop_max": int(crop_max),
            "min_seg": int(min_seg),
            "max_seg": int(max_seg),
            "resample_scales": list(scales),
            "samples_per_epoch": int(samples_per_epoch),
        }
        self.input_dim, self.cond_dim, self.mels = int(input_dim), int(cond_dim), int(input_dim) - 1
        self.factor, self.f0_bins, self.pad_frames = int(factor), int(f0_bins), int(pad_frames)
        self.crop_min, self.crop_max = int(crop_min), int(crop_max)
        self.min_seg, self.max_seg = int(min_seg), int(max_seg)
        self.resample_scales = scales
        self.max_segments = self.crop_max // self.min_seg + 1
        self.samples_per_epoch = int(samples_per_epoch)
        self.segment_frames = self.crop_max  # the pretrain loop's crop, re-cropped in loss()
        self.rhythm_encoder = RhythmEncoder(
            self.mels, rhythm_channels, rhythm_hidden, factor, group_size
        )
        self.sync_encoder = SyncEncoder(
            self.mels,
            self.f0_bins + 1,
            content_channels=content_channels,
            pitch_channels=pitch_channels,
            content_hidden=content_hidden,
            pitch_hidden=pitch_hidden,
            factor=factor,
            group_size=group_size,
            interp=InterpLnr(pad_frames, min_seg, max_seg, self.max_segments, scales),
        )
        self.speaker: nn.Module | None = None
        speaker_out = 0
        if cond_dim:
            if speaker_dim:
                proj = nn.Linear(cond_dim, speaker_dim)
                nn.init.xavier_uniform_(proj.weight)
                nn.init.zeros_(proj.bias)
                self.speaker, speaker_out = proj, speaker_dim
            else:
                self.speaker, speaker_out = nn.Identity(), cond_dim
        codes = 2 * (content_hidden + rhythm_hidden + pitch_hidden)
        self.decoder = Decoder(codes + speaker_out, decoder_hidden, decoder_layers, self.mels)

    def get_config(self) -> dict[str, Any]:
        """JSON-able params: ``cls(input_dim, 0, cond_dim, **get_config())`` rebuilds the net."""
        return dict(self.config)

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        """Tiny sizes for the contract suite (8-16-frame crops padded to 32)."""
        return {
            "content_channels": 8,
            "pitch_channels": 8,
            "rhythm_channels": 8,
            "group_size": 4,
            "content_hidden": 2,
            "pitch_hidden": 2,
            "rhythm_hidden": 1,
            "decoder_hidden": 8,
            "decoder_layers": 1,
            "f0_bins": 16,
            "speaker_dim": 4,
            "pad_frames": 32,
            "crop_min": 8,
            "crop_max": 16,
            "min_seg": 4,
            "max_seg": 6,
            "samples_per_epoch": 2,
        }

    def batch_indices(
        self, labels: np.ndarray | None, batch_size: int, rng: np.random.Generator
    ) -> list[np.ndarray]:
        """Every row ``samples_per_epoch`` times, shuffled, in chunks of ``batch_size``."""
        n = 0 if labels is None else len(labels)
        order = rng.permutation(np.repeat(np.arange(n), self.samples_per_epoch))
        return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]

    # -- pieces ----------------------------------------------------------------------------

    def _speaker(self, cond: torch.Tensor | None, batch: int) -> torch.Tensor | None:
        """The decoder's speaker vector ``(batch, speaker_out)`` (``None`` when unconditioned)."""
        if self.speaker is None:
            return None
        if cond is None or tuple(cond.shape) != (batch, self.cond_dim):
            found = None if cond is None else tuple(cond.shape)
            raise ValueError(
                f"speechflow was built with cond_dim={self.cond_dim}: pass cond of shape "
                f"({batch}, {self.cond_dim}) (one speaker embedding per row), found {found}"
            )
        cond = cond.to(torch.float32)
        norm = cond.norm(dim=1, keepdim=True).clamp(min=1e-8)
        return self.speaker(cond / norm * math.sqrt(self.cond_dim))

    def _decode(
        self,
        mel_content: torch.Tensor,
        f0_onehot: torch.Tensor,
        mel_rhythm: torch.Tensor,
        speaker: torch.Tensor | None,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Encoders + decoder on ``pad``-frame inputs: ``(mel (batch, frames, mels), codes)``."""
        content, pitch = self.sync_encoder(mel_content, f0_onehot)
        rhythm = self.rhythm_encoder(mel_rhythm)
        frames = mel_content.shape[1]
        parts = [upsample_codes(c, self.factor) for c in (content, rhythm, pitch)]
        if speaker is not None:
            parts.append(speaker.unsqueeze(1).expand(-1, frames, -1))
        out = self.decoder(torch.cat(parts, dim=-1))
        return out, {"content": content, "rhythm": rhythm, "pitch": pitch}

    def _split(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` -> mel ``(batch, frames, mels)`` (0 beyond ``lengths``) and F0 ``(batch,
        frames)`` (:data:`UNVOICED` where unvoiced or beyond ``lengths``)."""
        if x.shape[-1] != self.input_dim:
            raise ValueError(
                f"speechflow was built for input_dim={self.input_dim} (mels + F0), found "
                f"frames of {x.shape[-1]} columns; use the speechflow-input front end"
            )
        valid = torch.arange(x.shape[1], device=x.device)[None, :] < lengths.to(x.device)[:, None]
        mel = x[..., : self.mels] * valid[..., None].to(x.dtype)
        f0 = x[..., self.mels]
        f0 = torch.where(valid & (f0 > 0), f0, torch.full_like(f0, UNVOICED))
        return mel, f0

    # -- the contract ----------------------------------------------------------------------

    def loss(self, x, lengths, labels=None, cond=None):
        """MSE of the reconstruction of one random crop per row (section 0.4)."""
        lengths = check_lengths(lengths, x.shape[1], "speechflow")
        batch, pad = x.shape[0], self.pad_frames
        speaker = self._speaker(cond, batch)
        mel, f0 = self._split(x, lengths)
        want = torch.randint(self.crop_min, self.crop_max + 1, (batch,))
        crop = torch.minimum(want, lengths)
        start = (torch.rand(batch) * (lengths - crop + 1).to(torch.float32)).long()
        start = torch.minimum(start, lengths - crop)
        steps = torch.arange(pad)
        pos = (start[:, None] + steps[None, :]).clamp(max=x.shape[1] - 1).to(x.device)
        inside = (steps[None, :] < crop[:, None]).to(x.device)
        rows = torch.arange(batch, device=x.device)[:, None]
        mel_c = mel[rows, pos] * inside[..., None].to(x.dtype)
        f0_c = torch.where(inside, f0[rows, pos], torch.full_like(f0[rows, pos], UNVOICED))
        both = torch.cat([mel_c, f0_c[..., None]], dim=-1)
        resampled = random_resample(
            both,
            crop.to(x.device),
            out_frames=pad,
            min_seg=self.min_seg,
            max_seg=self.max_seg,
            max_segments=self.max_segments,
            scale_range=self.resample_scales,
        ).x
        onehot = quantise_f0(resampled[..., self.mels], self.f0_bins)
        out, _ = self._decode(resampled[..., : self.mels], onehot, mel_c, speaker)
        error = torch.mean((out - mel_c) ** 2)
        return error, {"recon": float(error.detach())}

    def _chunks(self, t: torch.Tensor, fill: float) -> torch.Tensor:
        """``(batch, frames, ...)`` -> ``(batch * n, pad_frames, ...)``: consecutive pieces of
        ``crop_max`` frames, each padded with ``fill`` to ``pad_frames``."""
        batch, frames = t.shape[:2]
        n = max(1, math.ceil(frames / self.crop_max))
        tail = [0, 0] * (t.dim() - 2)
        t = torch.nn.functional.pad(t, [*tail, 0, n * self.crop_max - frames], value=fill)
        t = t.reshape(batch * n, self.crop_max, *t.shape[2:])
        extra = self.pad_frames - self.crop_max
        return torch.nn.functional.pad(t, [*tail, 0, extra], value=fill)

    def _inputs(self, x, lengths, cond, frames):
        """One source's mel, F0 and speaker vector, cut or padded to ``frames``."""
        lengths = check_lengths(lengths, x.shape[1], "speechflow")
        mel, f0 = self._split(x, lengths)
        if mel.shape[1] >= frames:
            mel, f0 = mel[:, :frames], f0[:, :frames]
        else:
            extra = frames - mel.shape[1]
            mel = torch.nn.functional.pad(mel, (0, 0, 0, extra))
            f0 = torch.nn.functional.pad(f0, (0, extra), value=UNVOICED)
        return mel, f0, self._speaker(cond, x.shape[0])

    def _run(self, x, lengths, cond, condition, swap):
        """Chunked eval-mode pass: ``(mel (batch, frames, mels), codes by layer)``."""
        removed = removed_inputs(condition)
        swap = dict(swap or {})
        unknown = sorted(set(swap) - set(COMPONENTS))
        if unknown:
            raise ValueError(
                f"speechflow: swap of unknown component(s) {unknown}; expected some of "
                f"{', '.join(COMPONENTS)}"
            )
        batch, frames = x.shape[:2]
        own = self._inputs(x, lengths, cond, frames)
        source = {c: own for c in COMPONENTS}
        for component, (xo, lo, co) in swap.items():
            if xo.shape[0] != batch:
                raise ValueError(
                    f"speechflow: swap[{component!r}] has {xo.shape[0]} rows, x has {batch}"
                )
            source[component] = self._inputs(xo, lo, co, frames)
        mel_c, mel_r = source["content"][0], source["rhythm"][0]
        f0, speaker = source["pitch"][1], source["timbre"][2]
        n = max(1, math.ceil(frames / self.crop_max))
        mel_c, mel_r, f0 = (
            self._chunks(mel_c, 0.0),
            self._chunks(mel_r, 0.0),
            self._chunks(f0, UNVOICED),
        )
        onehot = quantise_f0(f0, self.f0_bins)
        if "content" in removed:
            mel_c = torch.zeros_like(mel_c)
        if "rhythm" in removed:
            mel_r = torch.zeros_like(mel_r)
        if "pitch" in removed:
            onehot = torch.zeros_like(onehot)
        if speaker is not None:
            if "timbre" in removed:
                speaker = torch.zeros_like(speaker)
            speaker = speaker.repeat_interleave(n, dim=0)
        out, codes = self._decode(mel_c, onehot, mel_r, speaker)
        out = out[:, : self.crop_max].reshape(batch, n * self.crop_max, self.mels)[:, :frames]
        per_chunk = self.crop_max // self.factor
        total = math.ceil(frames / self.factor)
        codes = {
            k: v[:, :per_chunk].reshape(batch, n * per_chunk, v.shape[-1])[:, :total]
            for k, v in codes.items()
        }
        return out, codes

    def decompose(
        self,
        x: torch.Tensor,
        lengths: torch.Tensor,
        cond: torch.Tensor | None = None,
        condition: str = "REC",
        swap: dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]] | None = None,
    ) -> torch.Tensor:
        """The re-synthesised mel with the components of ``condition`` removed (eval mode).

        Args:
            x: ``(batch, frames, mels + 1)`` input frames.
            lengths: ``(batch,)`` valid frames per row.
            cond: ``(batch, cond_dim)`` speaker embeddings (conditioned nets), else ``None``.
            condition: one of :data:`CONDITIONS` (:func:`removed_inputs` says what is zeroed).
            swap: ``{component: (x_other, lengths_other, cond_other)}``: that component (one of
                rhythm, pitch, content, timbre) from another utterance per row, cut or
                zero-padded to ``x``'s frames (timbre uses ``cond_other`` only). A swapped
                component that ``condition`` removes stays removed.

        Returns:
            ``(batch, frames, mels)`` on the input mel's scale; the first ``lengths`` frames of
            each row are valid.
        """
        was = self.training
        self.eval()
        try:
            with torch.no_grad():
                return self._run(x, lengths, cond, condition, swap)[0]
        finally:
            self.train(was)

    def reconstruct(self, x, lengths, cond=None):
        """``decompose(x, lengths, cond, "REC")``: ``(batch, frames, mels)``."""
        return self.decompose(x, lengths, cond, "REC")

    def decode(self, z, cond=None, frames=None):
        """Not available: the decoder reads three frame-level codes, not one latent vector."""
        raise ValueError(
            "speechflow has no single latent vector to decode (its decoder reads content, "
            "rhythm and pitch codes per 8 frames); use decompose() or reconstruct()"
        )

    def embed(self, x, lengths, cond=None, layer=None):
        """Codes of ``layer`` (content / rhythm / pitch): ``(batch, ceil(frames / 8), dim)``."""
        layer = layer or self.layers[0]
        if layer not in self.layers:
            raise ValueError(f"speechflow: layer {layer!r}; expected one of {list(self.layers)}")
        was = self.training
        self.eval()
        try:
            with torch.no_grad():
                return self._run(x, lengths, cond, "REC", None)[1][layer]
        finally:
            self.train(was)
