"""The ``concat`` extractor and filling its store folder from stored parts."""

from __future__ import annotations

import os

import numpy as np
import pytest

from serkit import features
from serkit.errors import ConfigError
from serkit.features import FeatureError, get_extractor
from serkit.features.concat import fill_from_parts, part_dims

from ._synth import make_corpus, voiced

PARTS = ["prosody-stats", "logmel-stats"]


@pytest.fixture
def corpus(tmp_path):
    return make_corpus(tmp_path / "corpus", n=4, seconds=0.4)


def test_concat_is_the_parts_side_by_side():
    signal = voiced(0.6)
    ex = get_extractor("concat", parts=PARTS)
    want = [get_extractor(name)(signal, 16000) for name in PARTS]
    got = ex(signal, 16000)
    np.testing.assert_array_equal(got, np.concatenate(want))
    assert part_dims(ex, signal, 16000) == [len(w) for w in want]
    names = ex.feature_names()
    assert names is None or (len(names) == len(got) and names[0].startswith("prosody-stats:"))


def test_concat_key_depends_on_parts_and_their_order():
    keys = {
        get_extractor("concat", parts=p).key() for p in (PARTS, PARTS[::-1], ["egemaps", "compare"])
    }
    assert len(keys) == 3


@pytest.mark.parametrize(
    ("parts", "says"),
    [
        (["logmel"], "frame-level"),
        (["concat"], "not a registered extractor"),
        (["no-such"], "not a registered extractor"),
        ([], "non-empty list"),
    ],
)
def test_concat_refuses_bad_parts(parts, says):
    with pytest.raises(ConfigError, match=says):
        get_extractor("concat", parts=parts)


def test_fill_from_parts_makes_extract_a_cache_hit(corpus, tmp_path):
    source, store = tmp_path / "parts", tmp_path / "fused"
    for name in PARTS:
        features.extract(corpus, get_extractor(name), source, progress=False)
    ex = get_extractor("concat", parts=PARTS)
    assert fill_from_parts(corpus, ex, source, store) == len(corpus)
    assert fill_from_parts(corpus, ex, source, store) == 0  # already there
    summary = features.extract(corpus, ex, store, progress=False)
    assert summary.computed == 0
    fused = features.load(corpus, ex, store).X
    parts = [features.load(corpus, get_extractor(n), source).X for n in PARTS]
    np.testing.assert_array_equal(fused, np.concatenate(parts, axis=1))


def test_fill_from_parts_takes_stale_rows_only_by_id(corpus, tmp_path):
    source, store = tmp_path / "parts", tmp_path / "fused"
    for name in PARTS:
        features.extract(corpus, get_extractor(name), source, progress=False)
    from serkit import manifest as mf

    path = mf.audio_paths(corpus)[0]
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # "copied again"
    ex = get_extractor("concat", parts=PARTS)
    with pytest.raises(FeatureError, match="audio changed"):
        fill_from_parts(corpus, ex, source, store)
    assert fill_from_parts(corpus, ex, source, store, match="id") == len(corpus)
    assert features.extract(corpus, ex, store, progress=False).computed == 0
    with pytest.raises(ConfigError, match="match must be"):
        fill_from_parts(corpus, ex, source, store, match="name")
