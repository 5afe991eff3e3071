"""What is analysable: the pure rule, the front end's thresholds and key, the store folder."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from serkit import features
from serkit.errors import ConfigError
from serkit.features import FeatureError, get_extractor
from serkit.features.analysable import (
    MIN_DURATION_S,
    MIN_LEVEL_DBFS,
    UnanalysableError,
    peak_dbfs,
    unanalysable_reason,
)
from serkit.features.frontend import Frontend
from serkit.features.store import FeatureStore
from serkit.features.vad import VadTrim, trim_silence

from ._synth import make_corpus, voiced

SR = 16000


def test_duration_threshold_is_inclusive():
    n = int(MIN_DURATION_S * SR)
    assert unanalysable_reason(voiced(1.0)[:n], SR) is None
    assert unanalysable_reason(voiced(1.0)[: n - 1], SR) == (
        f"0.100 s ({n - 1} samples) < 0.100 s minimum duration"
    )
    assert "1 sample)" in unanalysable_reason(np.ones(1, np.float32), SR)
    assert unanalysable_reason(np.zeros(0, np.float32), SR, min_duration_s=0.0) == (
        "digital silence (all samples are zero) < -60.0 dBFS minimum peak level"
    )


@pytest.mark.parametrize("db", [-59.9, -60.0, -60.1, -90.0])
def test_level_threshold_is_the_peak(db):
    x = np.zeros(SR, np.float32)
    x[SR // 2] = 10 ** (db / 20)  # one sample at that level, the rest digital silence
    assert peak_dbfs(x) == pytest.approx(db, abs=1e-4)
    reason = unanalysable_reason(x, SR)
    assert (reason is None) == (db >= MIN_LEVEL_DBFS - 1e-4)
    if reason:
        assert reason == f"peak level {db:.1f} dBFS < -60.0 dBFS minimum peak level"


def test_non_finite_samples_and_thresholds():
    x = voiced(0.5)
    x[3] = np.inf
    assert unanalysable_reason(x, SR) == "1 NaN/inf sample(s)"
    assert peak_dbfs(np.zeros(4)) == -math.inf
    assert unanalysable_reason(voiced(0.05), SR, min_duration_s=0.01, min_level_dbfs=-90) is None
    for bad in ({"min_duration_s": -1.0}, {"min_level_dbfs": 1.0}, {"min_duration_s": "x"}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            Frontend(get_extractor("mfcc"), **bad)


def test_frontend_refuses_before_the_extractor(monkeypatch):
    ex = get_extractor("mfcc-stats")
    calls = []
    monkeypatch.setattr(type(ex), "compute", lambda self, s: calls.append(1) or np.ones(3))
    with pytest.raises(UnanalysableError) as info:
        Frontend(ex).compute(voiced(0.05), SR)
    assert info.value.reason == "unanalysable: 0.050 s (800 samples) < 0.100 s minimum duration"
    assert "min_duration_s=0.1" in str(info.value) and calls == []
    assert isinstance(info.value, FeatureError)
    Frontend(ex, min_duration_s=0.04).compute(voiced(0.05), SR)
    assert calls == [1]


def test_vad_that_finds_no_speech_leaves_nothing_to_analyse():
    hush = (1e-4 * np.random.default_rng(0).standard_normal(SR)).astype(np.float32)
    trim = VadTrim(method="energy")
    assert len(trim(hush, SR)) == 0
    np.testing.assert_array_equal(trim_silence(hush, SR, method="energy"), hush)  # unchanged
    fe = Frontend(get_extractor("mfcc-stats"), trim, min_level_dbfs=-100.0)
    with pytest.raises(UnanalysableError, match=r"the VAD found no speech in 1\.000 s"):
        fe.compute(hush, SR)
    short_speech = np.concatenate([np.zeros(SR, np.float32), voiced(0.06)])
    with pytest.raises(UnanalysableError, match=r"after VAD trimming \(1\.060 s before\)"):
        Frontend(get_extractor("mfcc-stats"), VadTrim("energy", min_speech_ms=0, pad_ms=0)).compute(
            short_speech, SR
        )


def test_thresholds_are_in_dict_and_key_only_when_changed():
    ex = get_extractor("mfcc")
    plain, strict = Frontend(ex), Frontend(ex, min_duration_s=0.5)
    assert plain.key() == ex.key()  # stores of the default front end keep their folders
    assert len({plain.key(), strict.key(), Frontend(ex, min_level_dbfs=-50).key()}) == 3
    assert Frontend(ex, min_duration_s=0.1).key() == plain.key()
    assert Frontend(ex, min_level_dbfs=-50).key() == Frontend(ex, min_level_dbfs=-50.0).key()
    data = json.loads(json.dumps(strict.to_dict()))
    assert (data["min_duration_s"], data["min_level_dbfs"]) == (0.5, MIN_LEVEL_DBFS)
    assert Frontend.from_dict(data) == strict and Frontend.from_dict(data).key() == strict.key()
    old = {k: v for k, v in plain.to_dict().items() if not k.startswith("min_")}
    assert Frontend.from_dict(old) == plain  # packages written before thresholds existed
    assert strict.cached().min_duration_s == 0.5
    assert "analysable >= 0.5 s" in strict.describe()


def test_store_folder_follows_the_thresholds(tmp_path):
    """A lenient front end stores a 0.08-s row the default front end never sees."""
    df = make_corpus(tmp_path / "c", n=2, seconds=0.5)
    import soundfile as sf

    sf.write(str(tmp_path / "c" / "spk0" / "utt000.wav"), voiced(0.08), SR)
    ex = get_extractor("mfcc-stats")
    lenient = Frontend(ex, min_duration_s=0.05)
    store = FeatureStore(tmp_path / "s")
    assert store.folder_path(lenient) != store.folder_path(ex)
    assert features.extract(df, lenient, store, progress=False).computed == 2
    with pytest.raises(FeatureError, match=r"synth/utt000 .*0\.080 s .* < 0\.100 s"):
        features.extract(df, ex, store, progress=False)
    assert len(features.load(df, lenient, store)) == 2
    with pytest.raises(ConfigError, match="not both"):
        features.extract(df, lenient, store, vad=VadTrim(method="energy"), progress=False)
