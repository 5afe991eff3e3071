"""``rhemo``: RH-emo, the semi-supervised hybrid real/quaternion autoencoder (seed 003, §3).

Front end (§3.2): the ``spectrogram`` extractor's ``rhemo`` preset (16 kHz, STFT Hamming 256,
hop 128, magnitude scaled by the window sum as ``scipy.signal.stft``, 128 bins: the top bin
dropped), ``(frames, 128)``, not z-scored (``input_norm = "none"``). The net cuts each
utterance into non-overlapping windows of ``window_frames`` (512, ~4.1 s) frames with
:func:`serkit.models.segments.segment_starts` (shorter utterances zero-padded; a last window
aligned to the end only when the utterance is longer than two windows, as the seed does) and
divides them by :attr:`RHEmo.scale`, the maximum of the training frames (a buffer in the
package, set by :meth:`RHEmo.fit_input`). Every window inherits its utterance's labels.

Magnitude (``magnitude``, not in the seed): ``"linear"`` is the seed's linear max-scaling
``x / scale`` (the ``paper`` preset). On TurEV-DB + URDU it COLLAPSED the encoder: the
training maximum (0.94) is an outlier, windows peak at 0.01-0.5 of it, 99 % of the scaled bins
are below 0.009, so reconstructing ~0 under BCE is easy, the first conv learns a negative bias
and its ReLU outputs zero for >99.9 % of the positions of every held-out window: the latent
barely depends on the input (notes in configs/pretrain/rhemo_stage1.yaml). ``"log"`` (the
``cpu`` preset, the default) compresses before scaling: ``log1p(C x / scale) / log1p(C)``
with ``C = 10 ** (dynamic_range_db / 20)`` (80 dB: a bin 40 dB under the maximum maps to
0.5), still in ``[0, 1]`` for frames up to the training maximum, zero stays zero (padding).
Chosen on the pretraining corpora's held-out speakers only (configs' ``exclude_speakers``,
:mod:`serkit.encoders.rhemo_eval`): latent entries varying across windows 7 % -> 68 %, first
ReLU zero fraction 99.99 % -> 92 % (stage 1); stage-2 emotion-head UAR 27 % -> 43 %.

Network (§3.3, :mod:`serkit.encoders._rhemo_net`): real encoder ``(1, 512, 128) -> (4, 64,
64)`` (read as a 64 x 64 map of quaternions, channel 0 = r); four real heads, one per latent
channel flattened (4096 -> H -> H -> out, ReLU, dropout 0.5): channel 0 -> discrete emotion
(``num_classes`` logits), channels 1/2/3 -> valence / arousal / dominance (one logit each); the
quaternion decoder of :mod:`serkit.quaternion` (``decoder: real`` is the real-valued ablation).
Xavier-normal init of the real layers, zero biases.

Loss (§3.4): ``alpha * BCE(recon, window) + beta * (CE(emotion) + beta_vad * (BCE_v + BCE_a +
BCE_d))`` over the windows of the batch; the V/A/D targets are the rows' binary
``valence, arousal, dominance`` (:attr:`RHEmo.target_columns`: the corpus' ratings > 2.5, or
derived from the emotion, :mod:`serkit.corpora.vad_targets`); a missing (NaN) one is left out
of its term. The BCE target is the scaled window clipped to ``[0, 1]`` (a frame louder than
the training maximum cannot be a probability). Ablations (§3.6) are parameters: ``recon:
false`` (no reconstruction), ``beta: 0`` (no emotion terms: stage 1), ``heads: discrete`` or
``heads: vad`` (only those terms), ``decoder: real``. The parts also report the training
accuracies of the heads on the batch windows (``acc``, ``acc_valence``, ...).

Two stages (configs/pretrain/rhemo_stage1.yaml, rhemo_stage2.yaml): stage 1 ``beta: 0``;
stage 2 ``encoder.init`` = the stage-1 run (all tensors, the ``scale`` buffer included, so
stage 2 keeps stage 1's max-scaling). Model selection: the pretrain mechanism has no
validation split and no early stopping; a run trains ``training.epochs`` epochs and keeps the
last weights (the seed saves the best validation loss, patience 100 / 30).

Layers: ``map`` (frame level, first): ``(batch, windows, 4 * T' * F')`` (paper 16384), each
row one window's latent flattened in C order (channel, time, frequency); ``pooled``
(utterance level): the latent averaged over windows and time, ``(4 * F',)`` (paper 256).

API for the quaternion nets (notes/api13.md): :meth:`RHEmo.encode_map`, :attr:`RHEmo.scale`,
:meth:`RHEmo.prepare_windows`; :meth:`RHEmo.head_logits` gives the four heads' outputs and
:meth:`RHEmo.reconstruct` the decoded windows in front-end units. It is not a
:class:`~serkit.encoders.base.Reconstructs` family: ``serkit.encoders.listen``'s traversals
decode an utterance-level default layer, and RH-emo's default (``map``) is a per-window map.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from serkit.encoders import _rhemo_net as N
from serkit.encoders import register_encoder
from serkit.encoders.base import EncoderNet

HEADS = ("all", "discrete", "vad")
MAGNITUDES = ("linear", "log")
VAD = ("valence", "arousal", "dominance")


@register_encoder("rhemo")
class RHEmo(EncoderNet):
    """RH-emo autoencoder with emotion and V/A/D heads (see the module docstring).

    Args:
        input_dim: bins of the input frames (>= ``bins``; the extra top bins are dropped).
        num_classes: discrete emotion classes (channel-0 head outputs).
        cond_dim: must be 0 (unconditioned).
        window_frames: frames per window (multiple of 8; paper 512).
        bins: frequency bins used (even; paper 128).
        hidden: head width H (paper 4096).
        dropout: head dropout.
        decoder: ``"quaternion"`` or ``"real"`` (ablation).
        alpha, beta, beta_vad: loss weights (§3.4).
        heads: ``"all"``, ``"discrete"`` or ``"vad"``: which emotion terms (with ``beta > 0``).
        recon: include the reconstruction term.
        magnitude: ``"linear"`` (the seed's max-scaling) or ``"log"`` (log1p compression).
        dynamic_range_db: the range ``"log"`` maps into ``[0, 1]`` (> 0).
    """

    uses_labels: ClassVar[bool] = True
    layers: ClassVar[tuple[str, ...]] = ("map", "pooled")
    layer_levels: ClassVar[dict[str, str]] = {"map": "frame", "pooled": "utterance"}
    default_frontend: ClassVar[dict[str, Any]] = {
        "name": "spectrogram",
        "params": {"preset": "rhemo"},
    }
    target_columns: ClassVar[tuple[str, ...]] = VAD
    input_norm: ClassVar[str] = "none"
    init_must_match: ClassVar[tuple[str, ...]] = ("magnitude", "dynamic_range_db", "bins")
    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "cpu": {"hidden": 256, "magnitude": "log"},
        "paper": {"hidden": 4096, "magnitude": "linear"},
    }

    def __init__(
        self,
        input_dim: int,
        num_classes: int = 0,
        cond_dim: int = 0,
        *,
        window_frames: int = 512,
        bins: int = 128,
        hidden: int = 256,
        dropout: float = 0.5,
        decoder: str = "quaternion",
        alpha: float = 1.0,
        beta: float = 0.01,
        beta_vad: float = 100.0,
        heads: str = "all",
        recon: bool = True,
        magnitude: str = "linear",
        dynamic_range_db: float = 80.0,
    ) -> None:
        super().__init__()
        name = "rhemo"
        if cond_dim:
            raise ValueError(f"{name}: not conditioned; found cond_dim={cond_dim}")
        if window_frames < 8 or window_frames % 8:
            raise ValueError(
                f"{name}: window_frames must be a positive multiple of 8 (the encoder pools "
                f"time by 8), found {window_frames}"
            )
        if bins < 2 or bins % 2:
            raise ValueError(f"{name}: bins must be even and >= 2, found {bins}")
        if input_dim < bins:
            raise ValueError(
                f"{name}: the front end gives {input_dim} bins, fewer than bins={bins}; lower "
                "bins or use the spectrogram front end's rhemo preset (128 bins)"
            )
        if decoder not in N.DECODERS:
            raise ValueError(f"{name}: decoder {decoder!r}; expected one of {N.DECODERS}")
        if heads not in HEADS:
            raise ValueError(f"{name}: heads {heads!r}; expected one of {HEADS}")
        if magnitude not in MAGNITUDES:
            raise ValueError(f"{name}: magnitude {magnitude!r}; expected one of {MAGNITUDES}")
        if not dynamic_range_db > 0:
            raise ValueError(f"{name}: dynamic_range_db must be > 0, found {dynamic_range_db}")
        if min(alpha, beta, beta_vad) < 0:
            raise ValueError(f"{name}: alpha, beta, beta_vad must be >= 0")
        if not (recon and alpha > 0) and beta == 0:
            raise ValueError(
                f"{name}: nothing to train: recon is off (or alpha 0) and beta is 0; set "
                "recon: true or beta > 0"
            )
        self.input_dim, self.num_classes = int(input_dim), int(num_classes)
        self.window_frames, self.bins, self.hidden = int(window_frames), int(bins), int(hidden)
        self.dropout, self.decoder_kind = float(dropout), decoder
        self.alpha, self.beta, self.beta_vad = float(alpha), float(beta), float(beta_vad)
        self.heads, self.recon = heads, bool(recon)
        self.magnitude, self.dynamic_range_db = magnitude, float(dynamic_range_db)
        self.latent_shape = (4, self.window_frames // 8, self.bins // 2)
        flat = self.latent_shape[1] * self.latent_shape[2]
        self.encoder = N.encoder()
        self.emotion_head = N.head(flat, self.hidden, max(self.num_classes, 1), self.dropout)
        self.vad_heads = nn.ModuleList(N.head(flat, self.hidden, 1, self.dropout) for _ in VAD)
        self.decoder = N.quaternion_decoder() if decoder == "quaternion" else N.real_decoder()
        N.xavier_init(self.encoder)
        N.xavier_init(self.emotion_head)
        N.xavier_init(self.vad_heads)
        if decoder == "real":
            N.xavier_init(self.decoder)
        self.register_buffer("scale", torch.tensor(1.0))

    # -- configuration ---------------------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        """JSON-able params: ``cls(input_dim, num_classes, **get_config())`` rebuilds it."""
        return {
            "window_frames": self.window_frames,
            "bins": self.bins,
            "hidden": self.hidden,
            "dropout": self.dropout,
            "decoder": self.decoder_kind,
            "alpha": self.alpha,
            "beta": self.beta,
            "beta_vad": self.beta_vad,
            "heads": self.heads,
            "recon": self.recon,
            "magnitude": self.magnitude,
            "dynamic_range_db": self.dynamic_range_db,
        }

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        """Tiny sizes for the contract suite: 16-frame windows of 8 bins, latent (4, 2, 4)."""
        return {"window_frames": 16, "bins": 8, "hidden": 8, "beta": 1.0, "beta_vad": 1.0}

    def fit_input(self, frames: list[np.ndarray]) -> None:
        """Store the maximum of the training frames (first ``bins`` bins) as :attr:`scale`.

        Raises:
            ValueError: every training frame is zero (nothing to scale by).
        """
        peak = max(float(np.max(np.asarray(f)[:, : self.bins], initial=0.0)) for f in frames)
        if not peak > 0:
            raise ValueError(
                "rhemo: the training frames are all zero (no maximum to scale by); check the "
                "audio and the front end"
            )
        self.scale.fill_(peak)

    # -- the api13 interface ---------------------------------------------------------------

    def _gain(self) -> float:
        return 10.0 ** (self.dynamic_range_db / 20.0)

    def compress(self, x: torch.Tensor) -> torch.Tensor:
        """Front-end magnitudes (any shape) -> network units: ``x / scale`` (``linear``) or
        ``log1p(C x / scale) / log1p(C)`` (``log``)."""
        x = x / self.scale
        if self.magnitude == "log":
            c = self._gain()
            x = torch.log1p(c * x.clamp(min=0)) / float(np.log1p(c))
        return x

    def expand(self, y: torch.Tensor) -> torch.Tensor:
        """The inverse of :meth:`compress`: network units -> front-end magnitudes."""
        if self.magnitude == "log":
            c = self._gain()
            y = torch.expm1(y * float(np.log1p(c))) / c
        return y * self.scale

    def prepare_windows(self, x: torch.Tensor) -> torch.Tensor:
        """One utterance ``(frames, input_dim)`` -> scaled windows ``(windows, 1, T, F)``
        (:meth:`compress`)."""
        from serkit.models.segments import segment_starts

        frames, length = int(x.shape[0]), self.window_frames
        starts = segment_starts(frames, length, length, tail=frames > 2 * length)
        x = x[:, : self.bins]
        if frames < length:
            x = nn.functional.pad(x, (0, 0, 0, length - frames))
        index = torch.as_tensor(starts, device=x.device)[:, None] + torch.arange(
            length, device=x.device
        )
        return self.compress(x[index])[:, None]

    def encode_map(self, spec: torch.Tensor) -> torch.Tensor:
        """Scaled windows ``(batch, 1, T, F)`` -> latent ``(batch, 4, T / 8, F / 2)``
        (differentiable; in train mode its batch norms use batch statistics)."""
        return self.encoder(spec)

    def head_logits(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        """Latent ``(n, 4, T', F')`` -> ``{"emotion": (n, classes), "valence": (n,), ...}``."""
        flat = z.flatten(2)
        out = {"emotion": self.emotion_head(flat[:, 0])}
        for k, (name, module) in enumerate(zip(VAD, self.vad_heads, strict=True)):
            out[name] = module(flat[:, k + 1])[:, 0]
        return out

    def decode_map(self, z: torch.Tensor) -> torch.Tensor:
        """Latent ``(n, 4, T', F')`` -> reconstruction ``(n, 1, T, F)`` in ``(0, 1)``."""
        out = self.decoder(z)
        return out.mean(dim=1, keepdim=True) if out.shape[1] > 1 else out

    # -- the encoder contract --------------------------------------------------------------

    def _windows(self, x: torch.Tensor, lengths: torch.Tensor):
        """Every row's windows ``(n, 1, T, F)`` and the row each comes from ``(n,)``."""
        wins, owner = [], []
        for i in range(x.shape[0]):
            w = self.prepare_windows(x[i, : max(int(lengths[i]), 1)])
            wins.append(w)
            owner.append(torch.full((w.shape[0],), i, dtype=torch.int64, device=x.device))
        return torch.cat(wins), torch.cat(owner)

    def loss(self, x, lengths, labels=None, cond=None, targets=None):
        """§3.4 loss over the windows of the batch (see the module docstring)."""
        win, owner = self._windows(x, lengths)
        z = self.encode_map(win)
        terms: dict[str, tuple[float, torch.Tensor]] = {}
        parts: dict[str, float] = {}
        if self.recon and self.alpha > 0:
            recon = self.decode_map(z)
            target = win.clamp(0.0, 1.0)
            terms["recon"] = (self.alpha, nn.functional.binary_cross_entropy(recon, target))
        if self.beta > 0:
            logits = self.head_logits(z)
            if self.heads in ("all", "discrete") and labels is not None:
                y = labels[owner]
                ce = nn.functional.cross_entropy(logits["emotion"], y)
                terms["ce"] = (self.beta, ce)
                parts["acc"] = float((logits["emotion"].argmax(1) == y).float().mean())
            if self.heads in ("all", "vad") and targets is not None:
                t = targets[owner]
                for k, name in enumerate(VAD):
                    bce, known = N.masked_bce(logits[name], t[:, k])
                    terms[f"bce_{name}"] = (self.beta * self.beta_vad, bce)
                    if known:
                        hit = ((logits[name] > 0).float() == t[:, k])[~torch.isnan(t[:, k])]
                        parts[f"acc_{name}"] = float(hit.float().mean())
        total = sum(weight * value for weight, value in terms.values())
        return total, {**{k: float(v.detach()) for k, (_, v) in terms.items()}, **parts}

    def _latents(self, x: torch.Tensor, lengths: torch.Tensor):
        win, owner = self._windows(x, lengths)
        return self.encode_map(win), owner

    def embed(self, x, lengths, cond=None, layer=None):
        """``map``: ``(batch, windows, 4 T' F')`` (zero rows pad shorter utterances);
        ``pooled``: ``(batch, 4 F')``."""
        layer = layer or self.layers[0]
        if layer not in self.layers:
            raise ValueError(f"rhemo: layer {layer!r}; expected one of {list(self.layers)}")
        z, owner = self._latents(x, lengths)
        batch = x.shape[0]
        if layer == "pooled":
            per_window = z.mean(dim=2).flatten(1)  # (n, 4 * F')
            out = torch.zeros(batch, per_window.shape[1], dtype=z.dtype, device=z.device)
            out.index_add_(0, owner, per_window)
            counts = torch.bincount(owner, minlength=batch).clamp(min=1)
            return out / counts[:, None].to(z.dtype)
        flat = z.flatten(1)
        counts = torch.bincount(owner, minlength=batch)
        out = torch.zeros(batch, int(counts.max()), flat.shape[1], dtype=z.dtype, device=z.device)
        position = torch.cat([torch.arange(int(c), device=z.device) for c in counts])
        out[owner, position] = flat
        return out

    def _to_frames(self, recon: torch.Tensor, frames: int) -> torch.Tensor:
        """Windows of one utterance ``(w, 1, T, F)`` -> ``(frames, input_dim)`` front-end
        units (overlaps averaged, the dropped top bins zero)."""
        from serkit.models.segments import segment_starts

        length = self.window_frames
        starts = segment_starts(frames, length, length, tail=frames > 2 * length)
        total = max(frames, length)
        acc = torch.zeros(total, self.bins, dtype=recon.dtype, device=recon.device)
        hits = torch.zeros(total, 1, dtype=recon.dtype, device=recon.device)
        for w, s in enumerate(starts):
            acc[int(s) : int(s) + length] += recon[w, 0]
            hits[int(s) : int(s) + length] += 1
        out = self.expand(acc / hits.clamp(min=1))[:frames]
        return nn.functional.pad(out, (0, self.input_dim - self.bins))

    def reconstruct(self, x, lengths, cond=None):
        """The decoded windows put back in place: ``(batch, frames, input_dim)``."""
        out = torch.zeros(x.shape[0], x.shape[1], self.input_dim, dtype=x.dtype, device=x.device)
        for i in range(x.shape[0]):
            n = max(int(lengths[i]), 1)
            recon = self.decode_map(self.encode_map(self.prepare_windows(x[i, :n])))
            out[i, :n] = self._to_frames(recon, n)
        return out
