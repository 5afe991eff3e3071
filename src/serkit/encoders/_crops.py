"""Fixed-length crops of padded utterances (shared by the families with ``segment_frames``).

A crop is a start frame ``s`` (negative for an utterance shorter than the segment) and the
positions ``s .. s + segment - 1``; positions outside ``[0, length)`` are filled by repeating
the first / last real frame (the seed's edge padding) and flagged as not real, so a loss can
ignore them. Only real frames are ever read, so padded frames of a batch never change a crop.

* training (:func:`random_starts`): one crop per row, uniform over the real frames; a row
  shorter than the segment is centred and edge-padded;
* embedding (:func:`sliding_starts`): Resemblyzer-style partial utterances: crops every
  ``step`` frames from frame 0, plus one crop ending on the last real frame when the regular
  ones leave a tail uncovered (so every real frame is in some crop and no crop reads padding).
  The family averages the crops' embeddings per row (:func:`mean_by_row`).

Example:
    >>> import torch
    >>> rows, starts = sliding_starts(torch.tensor([10, 3]), segment=4, step=4)
    >>> rows.tolist(), starts.tolist()
    ([0, 0, 0, 1], [0, 4, 6, 0])
    >>> pos, real = positions(torch.tensor([3]), torch.tensor([0]), segment=4)
    >>> pos.tolist(), real.tolist()
    ([[0, 1, 2, 2]], [[True, True, True, False]])
"""

from __future__ import annotations

import torch


def check_lengths(lengths: torch.Tensor, frames: int, who: str) -> torch.Tensor:
    """``lengths`` as a long tensor, refused when a row has no frame or more than ``frames``."""
    lengths = torch.as_tensor(lengths).long().cpu()
    if lengths.numel() and (int(lengths.min()) < 1 or int(lengths.max()) > frames):
        raise ValueError(
            f"{who}: lengths must lie in [1, {frames}] (the padded batch has {frames} frames), "
            f"found {lengths.tolist()}; drop empty rows before encoding them"
        )
    return lengths


def centred_start(lengths: torch.Tensor, segment: int) -> torch.Tensor:
    """Start of a centred crop for rows shorter than ``segment`` (negative), else 0."""
    return -((segment - lengths).clamp(min=0) // 2)


def random_starts(lengths: torch.Tensor, segment: int) -> torch.Tensor:
    """One random start per row (``torch`` RNG): uniform over ``[0, length - segment]``."""
    room = (lengths - segment).clamp(min=0)
    offset = (torch.rand(lengths.shape) * (room + 1).to(torch.float32)).long().clamp(max=room)
    return torch.where(lengths >= segment, offset, centred_start(lengths, segment))


def sliding_starts(
    lengths: torch.Tensor, segment: int, step: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Partial-utterance crops of every row: ``(rows (crops,), starts (crops,))``."""
    rows, starts = [], []
    for i, n in enumerate(lengths.tolist()):
        if n <= segment:
            row_starts = [int(centred_start(torch.tensor(n), segment))]
        else:
            row_starts = list(range(0, n - segment + 1, step))
            if row_starts[-1] + segment < n:
                row_starts.append(n - segment)
        rows += [i] * len(row_starts)
        starts += row_starts
    return torch.tensor(rows, dtype=torch.long), torch.tensor(starts, dtype=torch.long)


def positions(
    lengths: torch.Tensor, starts: torch.Tensor, segment: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Frame indices ``(crops, segment)`` clamped to the real frames, and their real flags."""
    pos = starts.unsqueeze(1) + torch.arange(segment).unsqueeze(0)
    real = (pos >= 0) & (pos < lengths.unsqueeze(1))
    return torch.minimum(pos.clamp(min=0), lengths.unsqueeze(1) - 1), real


def gather(x: torch.Tensor, rows: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
    """Crops ``(crops, segment, dim)`` of ``x`` ``(batch, frames, dim)`` at ``pos``."""
    rows, pos = rows.to(x.device), pos.to(x.device)
    return x[rows.unsqueeze(1), pos]


def mean_by_row(values: torch.Tensor, rows: torch.Tensor, n: int) -> torch.Tensor:
    """Mean of ``values`` ``(crops, ...)`` per row index: ``(n, ...)``."""
    rows = rows.to(values.device)
    total = values.new_zeros((n, *values.shape[1:])).index_add(0, rows, values)
    count = torch.bincount(rows, minlength=n).to(values.dtype).clamp(min=1.0)
    return total / count.view(n, *([1] * (values.dim() - 1)))


def overlap_add(
    crops: torch.Tensor, rows: torch.Tensor, pos: torch.Tensor, real: torch.Tensor, shape: tuple
) -> torch.Tensor:
    """Put crops ``(crops, segment, dim)`` back in a ``(batch, frames, dim)`` tensor.

    Frames covered by several crops get their mean; padded positions of a crop and frames no
    crop covers stay 0.
    """
    batch, frames, dim = shape
    flat = (rows.unsqueeze(1) * frames + pos)[real].to(crops.device)
    total = crops.new_zeros(batch * frames, dim).index_add(0, flat, crops[real.to(crops.device)])
    count = torch.bincount(flat, minlength=batch * frames).to(crops.dtype).clamp(min=1.0)
    return (total / count.unsqueeze(1)).view(batch, frames, dim)
