"""The SpeechFlow / SpeechSplit building blocks (seed 000, section 0.3): pure torch modules.

* :func:`random_resample` / :class:`InterpLnr`: the random resampler. The time axis is cut into
  consecutive segments of ``min_seg .. max_seg`` frames (uniform, both ends included); each
  segment gets a scale ``s ~ U(0.5, 1.5)`` and its output frame ``k`` is the linear
  interpolation of the input at ``k / s`` (``s > 1`` stretches, ``s < 1`` compresses), kept
  while ``k / s`` stays inside the segment and inside the sequence; the kept frames are
  concatenated and zero-padded / truncated to ``out_frames``. (The original keeps ``k / s <
  L - 1`` and so drops the last frame of every segment even at ``s = 1``; here ``k / s <= L -
  1``, so scale 1 is the identity.) Active in training only.
* :func:`downsample_codes` / :func:`upsample_codes`: a BLSTM's outputs ``(batch, frames, 2h)``
  to one code per ``factor`` frames, ``[forward at t = f-1, 2f-1, ..; backward at t = 0, f,
  ..]`` (code ``i`` summarises frames ``i f .. i f + f - 1``), and back by repetition.
* :class:`ConvStack`: "same" Conv1d (kernel 5, Xavier-uniform with the ReLU gain) + GroupNorm
  (``group_size`` channels per group) + ReLU.
* :class:`RhythmEncoder`, :class:`SyncEncoder` (content + pitch, the shared resampler after
  every conv layer), :class:`Decoder` (BLSTM + Xavier linear).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn


class Resampled(NamedTuple):
    """Output of :func:`random_resample`: ``x`` ``(batch, out_frames, dim)``, ``lengths``
    ``(batch,)`` (frames kept per row, at most ``out_frames``), ``segments`` ``(batch,
    max_segments)`` (segment lengths drawn) and ``scales`` ``(batch, max_segments)``."""

    x: torch.Tensor
    lengths: torch.Tensor
    segments: torch.Tensor
    scales: torch.Tensor


def random_resample(
    x: torch.Tensor,
    lengths: torch.Tensor,
    *,
    out_frames: int,
    min_seg: int = 19,
    max_seg: int = 31,
    max_segments: int = 7,
    scale_range: tuple[float, float] = (0.5, 1.5),
) -> Resampled:
    """Random piecewise-linear time resampling of ``x`` ``(batch, frames, dim)`` (torch RNG).

    Args:
        x: padded input; rows are read up to their ``lengths`` only.
        lengths: ``(batch,)`` valid frames per row (>= 1).
        out_frames: frames of the output (zero-padded or truncated to it).
        min_seg: shortest segment (frames). max_seg: longest segment (included).
        max_segments: segments drawn per row (the original: ``128 // 19 + 1 = 7``).
        scale_range: ``(low, high)`` of the uniform scale; ``(1, 1)`` is the identity.

    Returns:
        :class:`Resampled`.
    """
    batch, frames, dim = x.shape
    device = x.device
    lengths = torch.as_tensor(lengths, device=device).long().clamp(1, frames)
    n = batch * max_segments
    low, high = float(scale_range[0]), float(scale_range[1])
    scales = low + (high - low) * torch.rand(n, device=device)
    seg = torch.randint(min_seg, max_seg + 1, (n, 1), device=device)
    k = torch.arange(int((max_seg - 1) * max(high, 1.0)) + 2, device=device, dtype=x.dtype)
    pos = k.unsqueeze(0) / scales.to(x.dtype).unsqueeze(1)  # (n, K) inside the segment
    offset = torch.nn.functional.pad(seg.view(batch, -1).cumsum(1)[:, :-1], (1, 0)).view(n, 1)
    last = (lengths - 1).repeat_interleave(max_segments).unsqueeze(1)  # last real frame
    src = pos + offset.to(x.dtype)
    keep = (pos <= (seg - 1).to(x.dtype)) & (src <= last.to(x.dtype))
    floor = torch.floor(src).long()
    ceil = torch.minimum(torch.minimum(floor + 1, offset + seg - 1), last)
    lam = (src - floor.to(x.dtype)).unsqueeze(-1)
    rows = torch.arange(batch, device=device).repeat_interleave(max_segments).unsqueeze(1)
    floor_c, ceil_c = floor.clamp(0, frames - 1), ceil.clamp(0, frames - 1)
    values = (1 - lam) * x[rows, floor_c] + lam * x[rows, ceil_c]  # (n, K, dim)
    keep_rows = keep.view(batch, -1)
    out_pos = keep_rows.long().cumsum(1) - 1
    inside = keep_rows & (out_pos < out_frames)
    out = x.new_zeros(batch, out_frames, dim)
    b_idx = torch.arange(batch, device=device).unsqueeze(1).expand_as(out_pos)
    out[b_idx[inside], out_pos[inside]] = values.view(batch, -1, dim)[inside]
    return Resampled(
        out,
        inside.sum(1),
        seg.view(batch, max_segments),
        scales.view(batch, max_segments),
    )


class InterpLnr(nn.Module):
    """The random resampler as a module: identity in eval mode (see :func:`random_resample`;
    ``scale_range`` ``(1, 1)`` makes it the identity in training too)."""

    def __init__(
        self,
        out_frames: int,
        min_seg: int,
        max_seg: int,
        max_segments: int,
        scale_range: tuple[float, float] = (0.5, 1.5),
    ) -> None:
        super().__init__()
        self.out_frames, self.min_seg, self.max_seg = out_frames, min_seg, max_seg
        self.max_segments = max_segments
        self.scale_range = (float(scale_range[0]), float(scale_range[1]))

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``(batch, frames, dim)`` -> ``(batch, out_frames, dim)`` in training, else ``x``."""
        if not self.training:
            return x
        return random_resample(
            x,
            lengths,
            out_frames=self.out_frames,
            min_seg=self.min_seg,
            max_seg=self.max_seg,
            max_segments=self.max_segments,
            scale_range=self.scale_range,
        ).x


def downsample_codes(outputs: torch.Tensor, factor: int) -> torch.Tensor:
    """BLSTM outputs ``(batch, frames, 2 h)`` -> codes ``(batch, frames // factor, 2 h)``.

    Code ``i`` is ``[forward[(i + 1) f - 1], backward[i f]]``; ``frames`` must be a multiple of
    ``factor``.
    """
    hidden = outputs.shape[-1] // 2
    forward = outputs[:, factor - 1 :: factor, :hidden]
    backward = outputs[:, ::factor, hidden:]
    return torch.cat([forward, backward], dim=-1)


def upsample_codes(codes: torch.Tensor, factor: int) -> torch.Tensor:
    """Codes ``(batch, n, d)`` -> ``(batch, n * factor, d)``, each repeated ``factor`` times."""
    return codes.repeat_interleave(factor, dim=1)


def xavier_conv(c_in: int, c_out: int, kernel: int = 5) -> nn.Conv1d:
    """A "same" Conv1d with Xavier-uniform weights (ReLU gain), as SpeechSplit's ``ConvNorm``."""
    conv = nn.Conv1d(c_in, c_out, kernel, padding=kernel // 2)
    nn.init.xavier_uniform_(conv.weight, gain=nn.init.calculate_gain("relu"))
    return conv


class ConvStack(nn.Module):
    """``layers`` x (conv k5 -> GroupNorm(channels / group_size) -> ReLU), channels-first."""

    def __init__(self, c_in: int, channels: int, layers: int, group_size: int) -> None:
        super().__init__()
        if channels % group_size:
            raise ValueError(
                f"speechflow: conv channels {channels} must be a multiple of group_size "
                f"{group_size} (GroupNorm with group_size channels per group)"
            )
        self.blocks = nn.ModuleList(
            nn.Sequential(
                xavier_conv(c_in if i == 0 else channels, channels),
                nn.GroupNorm(channels // group_size, channels),
                nn.ReLU(),
            )
            for i in range(layers)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return x


class RhythmEncoder(nn.Module):
    """Mel ``(batch, frames, mels)`` -> rhythm codes ``(batch, frames / f, 2 hidden)``."""

    def __init__(self, mels: int, channels: int, hidden: int, factor: int, group_size: int):
        super().__init__()
        self.factor = factor
        self.convs = ConvStack(mels, channels, 1, group_size)
        self.lstm = nn.LSTM(channels, hidden, 1, batch_first=True, bidirectional=True)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        h = self.convs(mel.transpose(1, 2)).transpose(1, 2)
        return downsample_codes(self.lstm(h)[0], self.factor)


class SyncEncoder(nn.Module):
    """Content (mel) and pitch (one-hot F0) streams resampled together after every conv layer.

    ``forward(mel (batch, frames, mels), f0 (batch, frames, bins))`` -> ``(content codes
    (batch, frames / f, 2 content_hidden), pitch codes (batch, frames / f, 2 pitch_hidden))``.
    """

    def __init__(
        self,
        mels: int,
        f0_dim: int,
        *,
        content_channels: int,
        pitch_channels: int,
        content_hidden: int,
        pitch_hidden: int,
        factor: int,
        group_size: int,
        interp: InterpLnr,
    ) -> None:
        super().__init__()
        self.factor, self.content_channels = factor, content_channels
        self.content = ConvStack(mels, content_channels, 3, group_size)
        self.pitch = ConvStack(f0_dim, pitch_channels, 3, group_size)
        self.interp = interp
        self.content_lstm = nn.LSTM(
            content_channels, content_hidden, 2, batch_first=True, bidirectional=True
        )
        self.pitch_lstm = nn.LSTM(
            pitch_channels, pitch_hidden, 1, batch_first=True, bidirectional=True
        )

    def forward(self, mel: torch.Tensor, f0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x, p = mel.transpose(1, 2), f0.transpose(1, 2)
        frames = torch.full((mel.shape[0],), mel.shape[1], dtype=torch.long, device=mel.device)
        for conv_x, conv_p in zip(self.content.blocks, self.pitch.blocks, strict=True):
            both = torch.cat([conv_x(x), conv_p(p)], dim=1).transpose(1, 2)
            both = self.interp(both, frames).transpose(1, 2)
            x, p = both[:, : self.content_channels], both[:, self.content_channels :]
        content = downsample_codes(self.content_lstm(x.transpose(1, 2))[0], self.factor)
        pitch = downsample_codes(self.pitch_lstm(p.transpose(1, 2))[0], self.factor)
        return content, pitch


class Decoder(nn.Module):
    """``(batch, frames, code dims + speaker)`` -> mel ``(batch, frames, mels)``."""

    def __init__(self, dim_in: int, hidden: int, layers: int, mels: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(dim_in, hidden, layers, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * hidden, mels)
        nn.init.xavier_uniform_(self.out.weight, gain=nn.init.calculate_gain("linear"))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.out(self.lstm(h)[0])
