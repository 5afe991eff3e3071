"""SpecAugment time and frequency masks for frame features (numpy and torch, seeded).

Features are channel-major ``(frames, channels * bins)`` (static, delta, delta-delta stacked);
a frequency mask hides the same bins in every channel, a time mask hides whole frames.
Masked values are set to ``value`` (0 by default: the mean after z-normalisation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from serkit.errors import ConfigError

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class SpecAugment:
    """Mask settings.

    Attributes:
        time_masks: number of time masks per example.
        time_width: maximum width of a time mask in frames (width ~ U{0..time_width}).
        freq_masks: number of frequency masks per example.
        freq_width: maximum width of a frequency mask in bins.
        channels: channels stacked along the feature axis (bins = dim / channels).
        value: fill value of masked cells (used when ``fill="value"``).
        fill: ``"value"`` (the constant ``value``; 0 = the mean after z-normalisation) or
            ``"mean"`` (each channel's mean over the example, for un-normalised log-mels).
    """

    time_masks: int = 2
    time_width: int = 20
    freq_masks: int = 2
    freq_width: int = 8
    channels: int = 3
    value: float = 0.0
    fill: str = "value"

    def __post_init__(self) -> None:
        if self.fill not in ("value", "mean"):
            raise ConfigError(f"SpecAugment fill must be 'value' or 'mean', found {self.fill!r}")
        if self.channels < 1:
            raise ConfigError(f"SpecAugment channels must be >= 1, found {self.channels}")

    @property
    def active(self) -> bool:
        """True when at least one mask of positive width is applied."""
        return (self.time_masks > 0 and self.time_width > 0) or (
            self.freq_masks > 0 and self.freq_width > 0
        )


def _mask_spans(
    rng: np.random.Generator, size: int, count: int, width: int
) -> list[tuple[int, int]]:
    spans = []
    for _ in range(count):
        w = int(rng.integers(0, min(width, size) + 1)) if size > 0 else 0
        if w == 0:
            continue
        start = int(rng.integers(0, size - w + 1))
        spans.append((start, start + w))
    return spans


def spec_augment(
    x: np.ndarray,
    config: SpecAugment,
    rng: np.random.Generator,
    *,
    length: int | None = None,
) -> np.ndarray:
    """Return a masked copy of one example.

    Args:
        x: ``(frames, channels * bins)`` features.
        config: mask settings.
        rng: numpy generator (the caller seeds it; same seed -> same masks).
        length: number of real frames (time masks stay inside them); default all frames.

    Returns:
        ``(frames, channels * bins)`` masked copy.
    """
    x = np.array(x, copy=True)
    frames, dim = x.shape
    if dim % config.channels:
        raise ConfigError(
            f"SpecAugment: feature dim {dim} is not a multiple of channels={config.channels}"
        )
    bins = dim // config.channels
    n = frames if length is None else int(min(length, frames))
    view = x.reshape(frames, config.channels, bins)
    if config.fill == "mean":
        fill = view[:n].mean(axis=(0, 2)).astype(x.dtype)[None, :, None]  # (1, channels, 1)
    else:
        fill = np.full((1, config.channels, 1), config.value, dtype=x.dtype)
    for a, b in _mask_spans(rng, n, config.time_masks, config.time_width):
        view[a:b] = fill
    for a, b in _mask_spans(rng, bins, config.freq_masks, config.freq_width):
        view[:, :, a:b] = fill
    return view.reshape(frames, dim)


def spec_augment_batch(
    x: torch.Tensor,
    config: SpecAugment,
    generator: torch.Generator | None = None,
    lengths: torch.Tensor | None = None,
) -> torch.Tensor:
    """Masked copy of a batch (torch, vectorised; independent masks per example).

    Args:
        x: ``(batch, frames, channels * bins)`` features.
        config: mask settings.
        generator: torch generator for reproducible masks.
        lengths: ``(batch,)`` real frames per example (time masks stay inside them).

    Returns:
        ``(batch, frames, channels * bins)`` tensor.
    """
    import torch

    batch, frames, dim = x.shape
    if dim % config.channels:
        raise ConfigError(
            f"SpecAugment: feature dim {dim} is not a multiple of channels={config.channels}"
        )
    bins = dim // config.channels
    if lengths is None:
        lengths = torch.full((batch,), frames, dtype=torch.long)
    lengths = lengths.to(torch.long).clamp(max=frames)
    keep_t = torch.ones(batch, frames, dtype=torch.bool)
    keep_f = torch.ones(batch, bins, dtype=torch.bool)
    t_idx = torch.arange(frames)[None, :]
    f_idx = torch.arange(bins)[None, :]

    def draw(size: torch.Tensor, width: int) -> tuple[torch.Tensor, torch.Tensor]:
        u1 = torch.rand(batch, generator=generator)
        u2 = torch.rand(batch, generator=generator)
        w = torch.floor(u1 * (torch.clamp(size, max=width) + 1).to(u1.dtype)).to(torch.long)
        start = torch.floor(u2 * (size - w + 1).clamp(min=1).to(u2.dtype)).to(torch.long)
        return start[:, None], (start + w)[:, None]

    for _ in range(config.time_masks if config.time_width > 0 else 0):
        a, b = draw(lengths, config.time_width)
        keep_t &= ~((t_idx >= a) & (t_idx < b))
    full_bins = torch.full((batch,), bins, dtype=torch.long)
    for _ in range(config.freq_masks if config.freq_width > 0 else 0):
        a, b = draw(full_bins, config.freq_width)
        keep_f &= ~((f_idx >= a) & (f_idx < b))
    keep = keep_t[:, :, None, None] & keep_f[:, None, None, :]
    view = x.reshape(batch, frames, config.channels, bins)
    if config.fill == "mean":
        real = (t_idx < lengths[:, None]).to(x.dtype)[:, :, None, None]
        fill = (view * real).sum(dim=(1, 3), keepdim=True) / (
            real.sum(dim=1, keepdim=True) * bins
        ).clamp(min=1)
        out = torch.where(keep, view, fill.expand_as(view))
    else:
        out = torch.where(keep, view, torch.full_like(view, config.value))
    return out.reshape(batch, frames, dim)


def tempo_stretch(x: np.ndarray, rate: float, channels: int = 3) -> np.ndarray:
    """Tempo perturbation of frame features: the same frames played ``rate`` times faster.

    The frames are resampled by linear interpolation to ``round(frames / rate)`` frames (pitch
    and spectral envelope untouched, as sox ``tempo``); channel ``k`` of a stacked
    static / delta / delta-delta layout is scaled by ``rate ** k``, as the time derivatives of
    the faster signal are.

    Args:
        x: ``(frames, channels * bins)`` features.
        rate: speed factor (> 0); 1 returns an unchanged copy.
        channels: channels stacked along the feature axis.

    Returns:
        ``(round(frames / rate), channels * bins)`` float32 features (at least one frame).

    >>> x = np.arange(8, dtype=np.float32).reshape(4, 2)
    >>> tempo_stretch(x, 1.0, channels=1).tolist() == x.tolist()
    True
    >>> tempo_stretch(x, 2.0, channels=2).shape
    (2, 2)
    """
    if not rate > 0:
        raise ConfigError(f"tempo rate must be > 0, found {rate}")
    x = np.asarray(x, dtype=np.float32)
    frames, dim = x.shape
    if dim % channels:
        raise ConfigError(f"tempo: feature dim {dim} is not a multiple of channels={channels}")
    if rate == 1.0 or frames < 2:
        out = x.copy()
    else:
        n = max(1, int(round(frames / rate)))
        position = np.linspace(0.0, frames - 1.0, n)
        lo = np.floor(position).astype(np.int64)
        hi = np.minimum(lo + 1, frames - 1)
        w = (position - lo)[:, None].astype(np.float32)
        out = (1.0 - w) * x[lo] + w * x[hi]
    if rate != 1.0 and channels > 1:
        bins = dim // channels
        scale = np.repeat(np.float32(rate) ** np.arange(channels, dtype=np.float32), bins)
        out = out * scale[None, :]
    return out.astype(np.float32, copy=False)


def mix_batch(
    x: np.ndarray, lengths: np.ndarray, alpha: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Mixup of one batch: every example blended with another of the batch.

    Args:
        x: ``(batch, frames, dim)`` examples.
        lengths: ``(batch,)`` real frames per example.
        alpha: Beta(alpha, alpha) parameter of the mixing weight (> 0).
        rng: numpy generator (seeded by the caller).

    Returns:
        ``(mixed x, lengths, partner, lam)``: the blend ``lam * x + (1 - lam) * x[partner]``,
        the longer of the two lengths, the partner positions ``(batch,)`` and the weight of
        the example's own label (``lam >= 0.5``, so its own label stays the larger share).

    >>> rng = np.random.default_rng(0)
    >>> mixed, lengths, partner, lam = mix_batch(np.ones((4, 3, 2)), np.full(4, 3), 0.4, rng)
    >>> mixed.shape, bool(0.5 <= lam <= 1.0), sorted(partner.tolist())
    ((4, 3, 2), True, [0, 1, 2, 3])
    """
    if not alpha > 0:
        raise ConfigError(f"mixup alpha must be > 0, found {alpha}")
    lam = float(rng.beta(alpha, alpha))
    lam = max(lam, 1.0 - lam)
    partner = rng.permutation(len(x))
    mixed = (lam * x + (1.0 - lam) * x[partner]).astype(x.dtype, copy=False)
    return mixed, np.maximum(lengths, lengths[partner]), partner, lam
