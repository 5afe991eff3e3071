"""Fixed-length segmenting, segment pooling and SpecAugment masks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from serkit.errors import ConfigError
from serkit.models.augment import (
    SpecAugment,
    mix_batch,
    spec_augment,
    spec_augment_batch,
    tempo_stretch,
)
from serkit.models.segments import pool_segments, segment, segment_many, segment_starts


@settings(max_examples=60, deadline=None)
@given(
    frames=st.integers(1, 400),
    length=st.integers(1, 120),
    hop=st.integers(1, 120),
    tail=st.booleans(),
)
def test_segments_cover_the_utterance(frames, length, hop, tail):
    x = np.arange(frames, dtype=np.float32)[:, None] + 1.0  # (frames, 1), no zeros
    segs = segment(x, length, hop, tail=tail)
    starts = segment_starts(frames, length, hop, tail=tail)
    assert segs.shape == (len(starts), length, 1)
    if frames <= length:
        assert len(segs) == 1
        np.testing.assert_array_equal(segs[0, :frames, 0], x[:, 0])
        assert (segs[0, frames:] == 0).all()  # zero-padded at the end
        return
    for s, a in zip(segs, starts, strict=True):
        np.testing.assert_array_equal(s[:, 0], x[a : a + length, 0])
    assert np.all(np.diff(starts) > 0) and starts[-1] + length <= frames
    if tail:  # nothing is lost at the end
        assert starts[-1] + length == frames
    else:
        assert np.all(np.diff(starts) == hop)


def test_segment_many_owner_and_lengths():
    xs = [np.ones((50, 3)), np.ones((10, 3)), np.ones((31, 3))]
    segs, owner, lengths = segment_many(xs, 20, 10)
    assert segs.shape[1:] == (20, 3)
    assert owner.tolist() == [0, 0, 0, 0, 1, 2, 2, 2]  # 31 frames: starts 0, 10, tail 11
    assert lengths.tolist() == [20, 20, 20, 20, 10, 20, 20, 20]
    with pytest.raises(ConfigError):
        segment(np.ones(5), 3, 1)
    with pytest.raises(ConfigError):
        segment_starts(10, 0, 1)


def test_pool_segments_max_and_mean():
    logits = np.array([[2.0, 0.0], [0.0, 1.0], [0.0, 3.0]])
    owner = np.array([0, 0, 1])
    p_max = pool_segments(logits, owner, 2, pooling="max")
    expected = np.exp([2.0, 1.0]) / np.exp([2.0, 1.0]).sum()
    np.testing.assert_allclose(p_max[0], expected)
    p_mean = pool_segments(logits, owner, 2, pooling="mean")
    np.testing.assert_allclose(p_mean[0], np.exp([1.0, 0.5]) / np.exp([1.0, 0.5]).sum())
    post = pool_segments(logits, owner, 2, pooling="mean", on="posteriors")
    soft = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(post[0], soft[:2].mean(axis=0))
    for p in (p_max, p_mean, post):
        np.testing.assert_allclose(p.sum(axis=1), 1.0)
    with pytest.raises(ConfigError, match="without segments"):
        pool_segments(logits, np.array([0, 0, 0]), 2)
    with pytest.raises(ConfigError):
        pool_segments(logits, owner, 2, pooling="median")


def test_spec_augment_numpy_masks_whole_bins_in_every_channel():
    cfg = SpecAugment(time_masks=1, time_width=5, freq_masks=1, freq_width=3, channels=3)
    x = np.random.default_rng(0).normal(size=(40, 3 * 8)).astype(np.float32) + 10
    a = spec_augment(x, cfg, np.random.default_rng(1))
    b = spec_augment(x, cfg, np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)  # seeded
    assert not np.shares_memory(a, x) and (x > 0).all()  # input untouched
    masked = (a == 0).reshape(40, 3, 8)
    # a masked bin is masked in all channels at the same frames
    assert (masked[:, 0] == masked[:, 1]).all() and (masked[:, 1] == masked[:, 2]).all()
    rows = np.flatnonzero(masked.all(axis=(1, 2)))
    assert len(rows) <= 5
    cfg_mean = SpecAugment(time_masks=2, time_width=10, freq_masks=0, channels=3, fill="mean")
    c = spec_augment(x, cfg_mean, np.random.default_rng(3))
    changed = np.flatnonzero((c != x).any(axis=1))
    if len(changed):
        row = c[changed[0]].reshape(3, 8)
        np.testing.assert_allclose(row[:, 0], x.reshape(40, 3, 8).mean(axis=(0, 2)), rtol=1e-5)
    with pytest.raises(ConfigError):
        spec_augment(np.ones((10, 7)), cfg, np.random.default_rng(0))
    with pytest.raises(ConfigError):
        SpecAugment(fill="median")


def test_spec_augment_torch_batch_respects_lengths_and_seed():
    cfg = SpecAugment(time_masks=2, time_width=6, freq_masks=2, freq_width=1, channels=3)
    x = torch.randn(4, 30, 12) + 5
    lengths = torch.tensor([30, 20, 12, 5])
    a = spec_augment_batch(x, cfg, torch.Generator().manual_seed(0), lengths)
    b = spec_augment_batch(x, cfg, torch.Generator().manual_seed(0), lengths)
    assert torch.equal(a, b)
    zero_rows = (a == 0).all(dim=2)  # fully masked frames
    for i, n in enumerate(lengths.tolist()):
        assert not zero_rows[i, n:].any()  # time masks stay inside the real frames
        assert zero_rows[i].sum() <= 12
    assert not SpecAugment(time_masks=0, freq_masks=0).active


@settings(max_examples=40, deadline=None)
@given(frames=st.integers(2, 200), rate=st.floats(0.5, 2.0))
def test_tempo_stretch_length_endpoints_and_delta_scale(frames, rate):
    rng = np.random.default_rng(frames)
    x = rng.normal(size=(frames, 3 * 4)).astype(np.float32)
    out = tempo_stretch(x, rate, channels=3)
    assert out.shape == (max(1, round(frames / rate)), 12) and out.dtype == np.float32
    if len(out) > 1:  # the first and last frames are kept, channel k scaled by rate ** k
        scale = np.repeat(np.float32(rate) ** np.arange(3), 4)
        np.testing.assert_allclose(out[0], x[0] * scale, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(out[-1], x[-1] * scale, rtol=1e-5, atol=1e-5)
    static = out[:, :4]  # interpolation never leaves the range of the static frames
    assert static.min() >= x[:, :4].min() - 1e-5 and static.max() <= x[:, :4].max() + 1e-5


def test_tempo_stretch_identity_and_errors():
    x = np.arange(24, dtype=np.float32).reshape(4, 6)
    np.testing.assert_array_equal(tempo_stretch(x, 1.0), x)
    ramp = np.arange(10, dtype=np.float32)[:, None]  # a linear ramp stays linear
    np.testing.assert_allclose(tempo_stretch(ramp, 0.5, channels=1)[:, 0], np.linspace(0, 9, 20))
    with pytest.raises(ConfigError, match="rate must be > 0"):
        tempo_stretch(x, 0.0)
    with pytest.raises(ConfigError, match="not a multiple of channels=4"):
        tempo_stretch(x, 1.1, channels=4)


def test_mix_batch_blends_pairs_and_keeps_the_longer_length():
    x = np.stack([np.full((5, 2), v, np.float32) for v in (0.0, 1.0, 2.0, 3.0)])
    lengths = np.array([5, 2, 3, 4])
    mixed, mixed_lengths, partner, lam = mix_batch(x, lengths, 0.4, np.random.default_rng(1))
    assert 0.5 <= lam <= 1.0 and sorted(partner.tolist()) == [0, 1, 2, 3]
    np.testing.assert_allclose(mixed[:, 0, 0], lam * x[:, 0, 0] + (1 - lam) * x[partner, 0, 0])
    assert mixed_lengths.tolist() == np.maximum(lengths, lengths[partner]).tolist()
    again = mix_batch(x, lengths, 0.4, np.random.default_rng(1))
    assert again[3] == lam and again[2].tolist() == partner.tolist()  # seeded
    with pytest.raises(ConfigError, match="alpha must be > 0"):
        mix_batch(x, lengths, 0.0, np.random.default_rng(0))
