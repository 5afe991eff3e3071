"""Crops of padded utterances: every real frame covered, no padded frame read."""

from __future__ import annotations

import pytest
import torch

from serkit.encoders import _crops as C


@pytest.mark.parametrize(("segment", "step"), [(4, 4), (5, 2), (8, 3), (16, 16)])
def test_sliding_crops_cover_the_real_frames_and_read_nothing_else(segment, step):
    lengths = torch.tensor([1, 3, 4, 5, 9, 17, 30])
    rows, starts = C.sliding_starts(lengths, segment, step)
    pos, real = C.positions(lengths[rows], starts, segment)
    assert pos.shape == (len(rows), segment)
    for i, n in enumerate(lengths.tolist()):
        mine = rows == i
        assert int(mine.sum()) >= 1
        assert int(pos[mine].min()) >= 0 and int(pos[mine].max()) < n
        covered = set(pos[mine][real[mine]].tolist())
        assert covered == set(range(n))
        if n >= segment:  # long rows: whole crops of real frames only
            assert bool(real[mine].all())


def test_overlap_add_puts_gathered_crops_back():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(3, 20, 2, generator=gen)
    lengths = torch.tensor([20, 7, 13])
    rows, starts = C.sliding_starts(lengths, 8, 3)
    pos, real = C.positions(lengths[rows], starts, 8)
    back = C.overlap_add(C.gather(x, rows, pos), rows, pos, real, tuple(x.shape))
    for i, n in enumerate(lengths.tolist()):
        assert torch.allclose(back[i, :n], x[i, :n])
        assert float(back[i, n:].abs().sum()) == 0.0


def test_random_crops_stay_inside_the_real_frames():
    torch.manual_seed(0)
    lengths = torch.tensor([3, 10, 10, 40])
    for _ in range(50):
        starts = C.random_starts(lengths, 10)
        assert starts[0] == -3  # centred: 3 pad frames left, 4 right
        assert starts[1] == 0 and starts[2] == 0
        assert 0 <= int(starts[3]) <= 30
    seen = {int(C.random_starts(lengths, 10)[3]) for _ in range(300)}
    assert len(seen) > 20  # uniform over the 31 possible starts, not a fixed one


def test_mean_by_row():
    values = torch.tensor([[1.0], [3.0], [10.0]])
    assert C.mean_by_row(values, torch.tensor([0, 0, 1]), 2).tolist() == [[2.0], [10.0]]
