"""Per-group z-scoring (speakers, corpora): per-group mean 0 / std 1, constant dims, frame
level, one math for both methods, config."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from serkit.errors import ConfigError
from serkit.features import get_extractor
from serkit.features.frontend import Frontend
from serkit.features.normalize import group_zscore


def _check(Z: np.ndarray, groups: np.ndarray, X: np.ndarray) -> None:
    for group in np.unique(groups):
        rows = Z[groups == group]
        raw = X[groups == group]
        varies = raw.std(axis=0) > 1e-6 * np.maximum(1.0, np.abs(raw.mean(axis=0)))
        np.testing.assert_allclose(rows.mean(axis=0), 0.0, atol=1e-6)
        np.testing.assert_allclose(rows.std(axis=0)[varies], 1.0, rtol=1e-5)
        np.testing.assert_array_equal(rows[:, ~varies], 0.0)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_speakers=st.integers(1, 4),
    per_speaker=st.integers(2, 6),
    dim=st.integers(1, 5),
)
def test_utterance_level_mean0_std1_per_speaker(seed, n_speakers, per_speaker, dim):
    rng = np.random.default_rng(seed)
    speakers = np.repeat([f"s{i}" for i in range(n_speakers)], per_speaker)
    rng.shuffle(speakers)
    offsets = {s: rng.normal(0, 50, dim) for s in np.unique(speakers)}
    X = np.stack([offsets[s] + rng.normal(0, 3, dim) for s in speakers])
    X[:, 0] = 7.5  # a constant dimension
    Z = group_zscore(X, speakers)
    assert Z.shape == X.shape and Z.dtype == X.dtype and np.all(np.isfinite(Z))
    _check(Z, speakers, X)


def test_frame_level_pools_every_frame_of_a_speaker():
    rng = np.random.default_rng(0)
    speakers = np.array(["a", "b", "a", "b", "a"])
    frames = [
        (rng.normal(5 if s == "a" else -3, 2, (rng.integers(3, 9), 4))).astype(np.float32)
        for s in speakers
    ]
    frames[1][:, 2] = 1000.0  # constant within one file of speaker b; b's other file varies
    frames[3][:, 2] = 1000.0 + rng.normal(0, 5, len(frames[3])).astype(np.float32)
    frames[1][:, 3] = 7.0  # constant over every frame of speaker b
    frames[3][:, 3] = 7.0
    out = group_zscore(frames, speakers)
    assert isinstance(out, list) and len(out) == len(frames)
    for before, after in zip(frames, out, strict=True):
        assert after.shape == before.shape and after.dtype == np.float32
        assert np.all(np.isfinite(after))
    for s in ("a", "b"):
        pooled = np.concatenate([o for o, sp in zip(out, speakers, strict=True) if sp == s])
        raw = np.concatenate([f for f, sp in zip(frames, speakers, strict=True) if sp == s])
        _check(pooled.astype(np.float64), np.full(len(pooled), s), raw.astype(np.float64))
    # the varying case: b's dim 2 varies over b's frames, so it is scaled (std 1 pooled), and
    # the file where it is constant keeps a common nonzero value (its own statistics give 0)
    raw_b = np.concatenate([frames[1][:, 2], frames[3][:, 2]]).astype(np.float64)
    expected = (1000.0 - raw_b.mean()) / raw_b.std()
    np.testing.assert_allclose(out[1][:, 2], expected, rtol=1e-4)
    assert abs(expected) > 0.1
    np.testing.assert_array_equal(out[1][:, 3], 0.0)  # constant over all of b: 0, no NaN
    np.testing.assert_array_equal(out[3][:, 3], 0.0)
    # a single utterance is not normalised by itself: its own mean is not 0
    assert abs(out[0].mean()) > 1e-3 or abs(out[2].mean()) > 1e-3


def test_labels_play_no_part_and_order_is_kept():
    X = np.array([[1.0], [3.0], [10.0], [14.0]])
    Z = group_zscore(X, ["a", "a", "b", "b"])
    np.testing.assert_allclose(Z[:, 0], [-1.0, 1.0, -1.0, 1.0])
    # permuting rows permutes the output the same way (no dependence on position)
    perm = np.array([2, 0, 3, 1])
    np.testing.assert_allclose(
        group_zscore(X[perm], np.array(["a", "a", "b", "b"])[perm]), Z[perm]
    )


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError, match="3 feature rows but 2 group ids"):
        group_zscore(np.zeros((3, 2)), ["a", "b"])


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n_corpora=st.integers(1, 3), dim=st.integers(1, 4))
def test_group_zscore_per_corpus_and_the_same_math_as_per_speaker(seed, n_corpora, dim):
    rng = np.random.default_rng(seed)
    corpora = np.repeat([f"c{i}" for i in range(n_corpora)], rng.integers(2, 9, n_corpora))
    rng.shuffle(corpora)
    offsets = {c: rng.normal(0, 100, dim) for c in np.unique(corpora)}
    X = np.stack([offsets[c] + rng.normal(0, 2, dim) for c in corpora]).astype(np.float32)
    X[:, -1] = -3.0  # constant in every corpus
    Z = group_zscore(X, corpora)
    assert Z.shape == X.shape and Z.dtype == np.float32 and np.all(np.isfinite(Z))
    _check(Z.astype(np.float64), corpora, X.astype(np.float64))
    np.testing.assert_array_equal(Z[:, -1], 0.0)
    # one function behind both methods: the same groups give the same z-scores
    ex = get_extractor("mfcc")
    by_corpus = Frontend(ex, normalize="corpus").normalise(X, corpora)
    by_speaker = Frontend(ex, normalize="speaker").normalise(X, corpora)
    np.testing.assert_array_equal(by_corpus, by_speaker)
    np.testing.assert_array_equal(by_corpus, Z)


def test_frame_level_pools_every_frame_of_a_corpus():
    rng = np.random.default_rng(1)
    corpora = np.array(["x", "y", "x", "y"])
    frames = [rng.normal(40 if c == "x" else -4, 1, (rng.integers(2, 7), 3)) for c in corpora]
    out = group_zscore(frames, corpora)
    for c in ("x", "y"):
        pooled = np.concatenate([o for o, g in zip(out, corpora, strict=True) if g == c])
        raw = np.concatenate([f for f, g in zip(frames, corpora, strict=True) if g == c])
        _check(pooled, np.full(len(pooled), c), raw)
    with pytest.raises(ValueError, match="group y: no feature frames"):
        group_zscore([frames[0], np.zeros((0, 3))], ["x", "y"])


def test_config_accepts_speaker_and_rejects_unknown_values():
    from serkit.experiment.config import fingerprint, validate_config

    base = {
        "name": "x",
        "data": {"manifests": ["m.parquet"]},
        "features": {"name": "egemaps"},
        "model": {"name": "svm"},
    }
    plain = validate_config(base)
    assert "normalize" not in plain["features"]
    none = validate_config({**base, "features": {"name": "egemaps", "normalize": "none"}})
    assert fingerprint(none) == fingerprint(plain)  # old runs keep their fingerprint
    spk = validate_config({**base, "features": {"name": "egemaps", "normalize": "speaker"}})
    assert spk["features"]["normalize"] == "speaker"
    assert fingerprint(spk) != fingerprint(plain)
    corpus = validate_config({**base, "features": {"name": "egemaps", "normalize": "corpus"}})
    assert corpus["features"]["normalize"] == "corpus"
    assert len({fingerprint(plain), fingerprint(spk), fingerprint(corpus)}) == 3
    with pytest.raises(
        ConfigError, match="features.normalize must be one of none, speaker, corpus .*'global'"
    ):
        validate_config({**base, "features": {"name": "egemaps", "normalize": "global"}})
