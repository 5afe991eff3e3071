"""The feature front end: one key, one serialisation, one per-file computation."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from serkit.errors import ConfigError
from serkit.features import FEATURE_VERSION, get_extractor
from serkit.features.frontend import Frontend
from serkit.features.store import FeatureStore, store_key
from serkit.features.vad import VadTrim

from ._synth import voiced


def _legacy_key(payload: dict) -> str:
    """The folder key formula of stores written before front ends existed."""
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def test_key_keeps_existing_store_folders():
    ex = get_extractor("mfcc", n_mfcc=13)
    vad = VadTrim(method="energy")
    plain = {"extractor": ex.to_dict(), "feature_version": FEATURE_VERSION}
    assert Frontend(ex).key() == ex.key() == _legacy_key(plain)
    assert Frontend(ex, vad).key() == _legacy_key({**plain, "vad": vad.to_dict()})
    assert store_key(ex, vad) == Frontend(ex, vad).key()


def test_key_separates_every_part():
    ex = get_extractor("mfcc")
    keys = {
        Frontend(ex).key(),
        Frontend(get_extractor("mfcc", n_mfcc=20)).key(),
        Frontend(ex, VadTrim(method="energy")).key(),
        Frontend(ex, VadTrim(method="energy", pad_ms=10)).key(),
        Frontend(ex, normalize="speaker").key(),
        Frontend(ex, normalize="corpus").key(),
    }
    assert len(keys) == 6
    assert Frontend(ex, normalize="speaker").cached() == Frontend(ex)
    assert Frontend(ex, normalize="corpus").cached() == Frontend(ex)


def test_store_folder_is_the_cached_front_end(tmp_path):
    ex, vad = get_extractor("mfcc"), VadTrim(method="energy")
    folder = FeatureStore(tmp_path).folder_path(ex, vad)
    assert folder.name == f"mfcc-{Frontend(ex, vad, 'speaker').cached().key()}"


@pytest.mark.parametrize("normalize", ["none", "speaker", "corpus"])
@pytest.mark.parametrize("vad", [None, VadTrim(method="energy", pad_ms=12)])
def test_dict_round_trip_through_json(vad, normalize):
    fe = Frontend(get_extractor("logmel", preset="acrnn"), vad, normalize)
    data = json.loads(json.dumps(fe.to_dict()))
    again = Frontend.from_dict(data)
    assert again == fe and again.key() == fe.key() and again.to_dict() == fe.to_dict()
    assert again.vad == vad and again.normalize == normalize


def test_from_config_and_bare_extractor_specs():
    cfg = {
        "name": "mfcc",
        "params": {"n_mfcc": 20},
        "vad": {"method": "energy"},
        "normalize": "speaker",
    }
    fe = Frontend.from_config(cfg)
    assert fe.extractor.config.n_mfcc == 20 and fe.vad == VadTrim(method="energy")
    assert fe.needs_speakers
    assert Frontend.from_dict(get_extractor("mfcc").to_dict()) == Frontend(get_extractor("mfcc"))
    with pytest.raises(ConfigError, match="normalize 'utterance'"):
        Frontend(get_extractor("mfcc"), normalize="utterance")
    with pytest.raises(ConfigError, match="cannot be rebuilt"):
        Frontend.from_dict({"extractor": get_extractor("mfcc").to_dict(), "vad": {"name": "x.f"}})


def test_compute_trims_then_extracts():
    ex = get_extractor("mfcc-stats")
    signal = voiced(1.0)
    padded = np.concatenate([np.zeros(16000, dtype=np.float32), signal])
    trim = VadTrim(method="energy")
    fe = Frontend(ex, trim)
    np.testing.assert_array_equal(fe.compute(padded, 16000), ex(trim(padded, 16000), 16000))
    assert not np.allclose(ex(padded, 16000), fe.compute(padded, 16000))


def test_normalise_is_a_batch_step():
    X = np.array([[1.0, 2.0], [3.0, 6.0], [10.0, 0.0], [20.0, 4.0]])
    assert Frontend(get_extractor("mfcc")).normalise(X, None) is X
    fe = Frontend(get_extractor("mfcc"), normalize="speaker")
    np.testing.assert_allclose(fe.normalise(X, ["a", "a", "b", "b"]), [[-1, -1], [1, 1]] * 2)
    with pytest.raises(ConfigError, match="speaker id of every input"):
        fe.normalise(X, None)
    corpus = Frontend(get_extractor("mfcc"), normalize="corpus")
    np.testing.assert_allclose(corpus.normalise(X, ["c"] * 4), fe.normalise(X, ["c"] * 4))
    with pytest.raises(ConfigError, match="per corpus .normalize='corpus'.: give the corpus"):
        corpus.normalise(X, None)


@pytest.mark.parametrize(
    ("normalize", "column", "speakers"),
    [("none", None, False), ("speaker", "speaker", True), ("corpus", "corpus", False)],
)
def test_group_column_names_the_manifest_column(normalize, column, speakers):
    fe = Frontend(get_extractor("mfcc"), normalize=normalize)
    assert fe.group_column == column and fe.needs_speakers is speakers
    assert f"normalize {normalize}" in fe.describe() or normalize == "none"
