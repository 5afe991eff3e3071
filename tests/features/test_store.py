"""The feature store and extract/load/merge: caching, invalidation, bad rows, shards, workers."""

from __future__ import annotations

import numpy as np
import pytest

from serkit import features
from serkit.features import FeatureError, FeatureStore

from ._extractors import TinyFrames, TinyStats
from ._synth import make_corpus, voiced


@pytest.fixture
def corpus(tmp_path):
    return make_corpus(tmp_path / "corpus", n=6, seconds=0.3)


def _count(cls, fn):
    before = cls.calls
    result = fn()
    return result, cls.calls - before


@pytest.mark.parametrize("cls", [TinyStats, TinyFrames])
def test_second_run_is_a_cache_hit(corpus, tmp_path, cls):
    ex = cls()
    first, calls = _count(cls, lambda: features.extract(corpus, ex, tmp_path / "s", progress=False))
    assert (first.computed, first.cached, calls) == (6, 0, 6)
    second, calls = _count(
        cls, lambda: features.extract(corpus, ex, tmp_path / "s", progress=False)
    )
    assert (second.computed, second.cached, calls) == (0, 6, 0)
    fs = features.load(corpus, ex, tmp_path / "s")
    assert fs.ids == list(corpus["id"]) and fs.level == cls.level
    from serkit import audio
    from serkit import manifest as mf

    for i, path in enumerate(mf.audio_paths(corpus)):
        expected = ex(*audio.read(path))
        got = fs.X[i] if fs.level == "utterance" else fs.frames[i]
        np.testing.assert_array_equal(got, expected)
    if fs.level == "frame":
        batch, lengths = fs.padded()
        assert batch.shape == (6, lengths.max(), 2) and batch.dtype == np.float32
        assert np.all(batch[np.argmin(lengths), lengths.min() :] == 0)
        cropped, short = fs.padded(max_frames=5)
        assert cropped.shape == (6, 5, 2) and short.max() == 5


def test_load_is_aligned_to_the_manifest_order(corpus, tmp_path):
    features.extract(corpus, TinyStats(), tmp_path / "s", progress=False, chunk_size=2)
    shuffled = corpus.iloc[::-1].reset_index(drop=True)
    shuffled.attrs = corpus.attrs
    a = features.load(corpus, TinyStats(), tmp_path / "s")
    b = features.load(shuffled, TinyStats(), tmp_path / "s")
    assert b.ids == a.ids[::-1]
    np.testing.assert_array_equal(a.X[::-1], b.X)
    assert a.X.dtype == np.float32 and a.X.shape == (6, 3)


def test_changed_config_or_audio_recomputes(corpus, tmp_path):
    store = tmp_path / "s"
    features.extract(corpus, TinyStats(), store, progress=False)
    other, calls = _count(
        TinyStats, lambda: features.extract(corpus, TinyStats(scale=2.0), store, progress=False)
    )
    assert (
        other.computed == 6
        and calls == 6
        and other.folder != FeatureStore(store).folder_path(TinyStats())
    )
    # rewrite one file with different audio: only that row is recomputed
    import soundfile as sf

    from serkit import manifest as mf

    path = mf.audio_paths(corpus)[2]
    sf.write(str(path), voiced(0.4, seed=99), 16000)
    again, calls = _count(
        TinyStats, lambda: features.extract(corpus, TinyStats(), store, progress=False)
    )
    assert (again.computed, again.cached, calls) == (1, 5, 1)
    assert features.load(corpus, TinyStats(), store).X[2, 2] == pytest.approx(0.4 * 16000)


def test_stale_or_missing_rows_are_not_loaded_silently(corpus, tmp_path):
    store = tmp_path / "s"
    with pytest.raises(FeatureError, match="no features"):
        features.load(corpus, TinyStats(), store)
    features.extract(corpus.iloc[:4], TinyStats(), store, progress=False)
    with pytest.raises(FeatureError, match="2 of 6"):
        features.load(corpus, TinyStats(), store)
    partial = features.load(corpus, TinyStats(), store, allow_missing=True)
    assert len(partial) == 4 and partial.missing == list(corpus["id"][4:])


def test_nan_raises_naming_the_file_and_keeps_earlier_rows(corpus, tmp_path):
    store = tmp_path / "s"
    # utt000 and utt003 are 0.3 s, the others 0.35 or 0.4 s: NaN hits rows 0 and 3
    bad = TinyStats(bad_below=int(0.32 * 16000))
    with pytest.raises(FeatureError, match=r"utt003\.wav.*NaN") as info:
        features.extract(corpus.iloc[1:], bad, store, progress=False, chunk_size=1)
    assert "skip_bad=True" in str(info.value) and "--" not in str(info.value)
    kept = features.load(corpus, bad, store, allow_missing=True)
    assert "synth/utt001" in kept.ids and not np.isnan(kept.X).any()
    summary = features.extract(corpus, bad, store, progress=False, skip_bad=True)
    assert len(summary.skipped) == 2 and "utt000" in summary.skipped[0]
    loaded = features.load(corpus, bad, store, allow_missing=True)
    assert set(loaded.missing) == {"synth/utt000", "synth/utt003"}
    assert np.isfinite(loaded.X).all()


def _keep_attrs(df, source):
    df.attrs = dict(source.attrs)
    return df


def test_unreadable_audio_is_skipped_or_named(corpus, tmp_path):
    from serkit import manifest as mf

    mf.audio_paths(corpus)[1].write_bytes(b"not audio at all")
    with pytest.raises(FeatureError, match=r"utt001\.wav"):
        features.extract(corpus, TinyStats(), tmp_path / "s", progress=False)
    summary = features.extract(corpus, TinyStats(), tmp_path / "s", progress=False, skip_bad=True)
    assert summary.computed + summary.cached == 5 and len(summary.skipped) == 1


def test_shards_plus_merge_equal_a_single_run(corpus, tmp_path):
    single = features.extract(corpus, TinyStats(), tmp_path / "one", progress=False)
    parts = [
        features.extract(corpus, TinyStats(), tmp_path / "two", shard=s, progress=False)
        for s in ("0/2", (1, 2))
    ]
    assert sum(p.computed for p in parts) == single.computed == 6
    assert all(0 < p.rows < 6 for p in parts)
    folder = FeatureStore(tmp_path / "two").folder_path(TinyStats())
    assert len(list(folder.glob("index.shard-*.parquet"))) == 2
    merged = features.merge(corpus, TinyStats(), tmp_path / "two")
    assert merged.cached == 6 and merged.missing == 0
    assert [p.name for p in folder.glob("index*.parquet")] == ["index.parquet"]
    assert len(list(folder.glob("vectors-*.npy"))) == 1 and not list(folder.glob("chunks/*"))
    a = features.load(corpus, TinyStats(), tmp_path / "one")
    b = features.load(corpus, TinyStats(), tmp_path / "two")
    np.testing.assert_array_equal(a.X, b.X)
    with pytest.raises(features.base.ConfigError):
        features.extract(corpus, TinyStats(), tmp_path / "x", shard="2/2")


def test_consolidation_keeps_one_vector_file(corpus, tmp_path):
    store = tmp_path / "s"
    features.extract(
        corpus.iloc[:3].pipe(_keep_attrs, corpus), TinyStats(), store, progress=False, chunk_size=1
    )
    features.extract(corpus, TinyStats(), store, progress=False, chunk_size=2)
    folder = FeatureStore(store).folder_path(TinyStats())
    assert len(list(folder.glob("vectors-*.npy"))) == 1 and not list(folder.glob("chunks/*"))
    assert features.load(corpus, TinyStats(), store).X.shape == (6, 3)


def test_segments_and_vad(tmp_path):
    corpus = make_corpus(tmp_path / "c", n=2, seconds=1.0)
    corpus["start"] = [0.0, 0.25]
    corpus["end"] = [0.5, np.nan]
    ex = TinyFrames()
    fs_sum = features.extract(corpus, ex, tmp_path / "s", progress=False)
    fs = features.load(corpus, ex, tmp_path / "s")
    assert list(fs.lengths) == [50, 80] and fs_sum.frames == 130  # file 1 is 1.05 s
    trimmed = features.extract(corpus, ex, tmp_path / "s", progress=False, vad=_half)
    assert trimmed.computed == 2  # a VAD selects its own folder: nothing is cached there yet
    assert trimmed.folder != fs_sum.folder and trimmed.vad["name"].endswith("_half")
    assert FeatureStore(tmp_path / "s").folder_path(ex, _half) == trimmed.folder
    half = features.load(corpus, ex, tmp_path / "s", vad=_half)
    assert list(half.lengths) == [25, 40] and half.vad == trimmed.vad
    assert trimmed.frames == 25 + 40
    # plain and trimmed features coexist: neither run overwrote the other
    assert list(features.load(corpus, ex, tmp_path / "s").lengths) == [50, 80]
    for vad in (None, _half):
        again = features.extract(corpus, ex, tmp_path / "s", progress=False, vad=vad)
        assert (again.computed, again.cached) == (0, 2)
    with pytest.raises(FeatureError, match=r"_third.*no VAD.*_half"):
        features.load(corpus, ex, tmp_path / "s", vad=_third)  # names what the store holds


def _half(signal, rate):
    return signal[: len(signal) // 2]


def _third(signal, rate):
    return signal[: len(signal) // 3]


def test_two_workers_give_the_same_features(corpus, tmp_path):
    one = features.extract(corpus, TinyFrames(), tmp_path / "a", progress=False)
    two = features.extract(corpus, TinyFrames(), tmp_path / "b", progress=False, workers=2)
    assert one.computed == two.computed == 6
    a = features.load(corpus, TinyFrames(), tmp_path / "a")
    b = features.load(corpus, TinyFrames(), tmp_path / "b")
    for x, y in zip(a.frames, b.frames, strict=True):
        np.testing.assert_array_equal(x, y)
