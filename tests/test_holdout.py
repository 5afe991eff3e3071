"""serkit.holdout.validation_split: the one validation hold-out rule (models and runner)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from serkit.errors import ProtocolError
from serkit.holdout import MIN_SPEAKERS, validation_split
from serkit.models.neural import validation_split as neural_split
from serkit.protocols import speaker_disjoint_validation


def _data(sizes: list[int], classes: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    groups = np.concatenate([[f"s{i}"] * size for i, size in enumerate(sizes)])
    return rng.integers(0, classes, len(groups)), rng.permutation(groups)


@given(
    sizes=st.lists(st.integers(1, 12), min_size=MIN_SPEAKERS, max_size=12),
    fraction=st.floats(0.01, 0.99),
    seed=st.integers(0, 2**16),
)
@settings(max_examples=150, deadline=None)
def test_speaker_split_properties(sizes, fraction, seed):
    y, groups = _data(sizes, seed=seed)
    train, val, note = validation_split(y, groups, fraction, seed)
    assert np.array_equal(np.sort(np.concatenate([train, val])), np.arange(len(y)))
    assert np.all(np.diff(train) > 0) and np.all(np.diff(val) > 0)
    held, kept = set(groups[val]), set(groups[train])
    assert not held & kept and len(kept) >= 2 and len(held) >= 1
    assert note == f"speaker-disjoint: {len(held)} of {len(sizes)} speakers"
    if len(held) < len(sizes) - 2:  # not capped: reached the fraction, one speaker past it
        assert len(val) >= fraction * len(y)
        largest_held = max(int(np.sum(groups == s)) for s in held)
        assert len(val) - largest_held < fraction * len(y)
    again = validation_split(y, groups, fraction, seed)
    assert np.array_equal(again[1], val) and again[2] == note


def test_seed_changes_which_speakers_are_held_out():
    y, groups = _data([4] * 10)
    held = {tuple(sorted(set(groups[validation_split(y, groups, 0.2, s)[1]]))) for s in range(8)}
    assert len(held) > 1


@pytest.mark.parametrize("speakers", [1, 2])
def test_fewer_than_three_speakers_fall_back_to_stratified(speakers):
    y = np.arange(40) % 4
    groups = np.array([f"s{i % speakers}" for i in range(40)])
    train, val, note = validation_split(y, groups, 0.25, seed=1)
    assert note == f"stratified random (only {speakers} speaker(s); not speaker-disjoint)"
    assert np.bincount(y[val]).tolist() == [2, 2, 2, 2]  # round(0.25 * 10) per class (2.5 -> 2)
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(40))
    with pytest.raises(ProtocolError, match=f"at least 3 training speakers.*found {speakers}"):
        validation_split(y, groups, 0.25, seed=1, fallback=False)


def test_stratified_never_takes_a_whole_class_and_reports_nothing_left():
    y = np.array([0, 0, 1, 1, 1, 2])
    _, val, note = validation_split(y, None, 0.9, seed=0)
    assert "no speaker groups" in note and np.bincount(y[val], minlength=3).tolist() == [1, 2, 0]
    train, val, note = validation_split(np.array([0, 1, 2]), None, 0.5, seed=0)
    assert len(val) == 0 and len(train) == 3 and note.startswith("none (no speaker groups")


def test_no_validation_when_fraction_is_zero():
    y, groups = _data([5, 5, 5])
    train, val, note = validation_split(y, groups, 0.0, seed=0)
    assert len(val) == 0 and len(train) == 15 and note == "none (val_fraction=0)"


def test_models_and_protocols_share_the_rule():
    y, groups = _data([3, 8, 5, 6, 2, 7], seed=4)
    train, val, _ = validation_split(y, groups, 0.3, seed=9)
    assert neural_split is validation_split
    for got in (speaker_disjoint_validation(groups, 0.3, seed=9), neural_split(y, groups, 0.3, 9)):
        assert np.array_equal(got[0], train) and np.array_equal(got[1], val)
    with pytest.raises(ProtocolError, match="found 2"):
        speaker_disjoint_validation(np.array(["a", "b", "a"]), 0.3, seed=0)
