"""openSMILE extractors and serkit's own emobase2010 configuration."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest

from serkit.errors import ConfigError
from serkit.features import FeatureError, get_extractor
from serkit.features.smile import EMOBASE2010_CONFIG, FEATURE_SETS, smile_for

SR = 16000
ROOT = Path(__file__).resolve().parents[2]


def voiced(seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    f0 = 150 + 30 * np.sin(2 * np.pi * 2 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    x = sum(np.sin(k * phase) / k for k in range(1, 8)) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    noise = 0.005 * np.random.default_rng(0).standard_normal(len(t))
    return (0.2 * x + noise).astype(np.float32)


def test_emobase2010_has_1582_named_features():
    ex = get_extractor("emobase2010")
    x = voiced(1.0)
    out = ex(x, SR)
    names = ex.feature_names()
    assert out.shape == (1582,) and len(names) == 1582 and len(set(names)) == 1582
    assert np.all(np.isfinite(out))
    named = dict(zip(names, out, strict=True))
    # emobase2010 naming (MFCCs keep their input name) and the two turn-level features
    assert "pcm_fftMag_mfcc_sma[4]_amean" in named
    assert "pcm_loudness_sma_de_percentile99.0" in named
    # duration of the 60-ms pitch frames (10-ms hop): the signal length minus ~one window
    assert named["F0final__Turn_duration"] == pytest.approx(1.0, abs=0.08)
    assert named["F0final__Turn_numOnsets"] >= 1
    assert 0 <= named["pcm_loudness_sma_maxPos"] <= 1  # segment-normalised positions
    # 21 functionals per all-frame LLD, 19 per voiced-only LLD
    assert sum(n.startswith("pcm_loudness_sma_") and "_de_" not in n for n in names) == 21
    assert sum(n.startswith("F0final_sma_") and "_de_" not in n for n in names) == 19


def test_emobase2010_spectral_functionals_match_is10():
    x = voiced(1.0)
    ours = _named("emobase2010", x)
    is10 = _named("IS10", x)
    for lld in ("pcm_loudness_sma", "pcm_fftMag_mfcc_sma[3]", "logMelFreqBand_sma[2]"):
        for functional in ("amean", "stddev", "linregc1", "quartile2", "percentile99.0"):
            theirs = is10[f"{lld.replace('pcm_fftMag_mfcc', 'mfcc')}_{functional}"]
            assert ours[f"{lld}_{functional}"] == pytest.approx(theirs, rel=1e-4, abs=1e-6)


def _named(feature_set: str, x: np.ndarray) -> dict[str, float]:
    from serkit.features.smile import smile_features

    names = smile_for(feature_set, "functionals").feature_names
    return dict(zip(names, smile_features(x, SR, feature_set, "functionals")[0], strict=True))


def test_emobase2010_config_is_ours_and_ships():
    text = EMOBASE2010_CONFIG.read_text()
    assert "Written for serkit" in text
    assert "All rights reserved" not in text and "(c) audEERING" not in text
    assert "include external source" in text and "include external sink" in text
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["serkit"]
    assert "features/data/*" in patterns


def test_emobase2010_lld_levels():
    x = voiced(0.5)
    lld = get_extractor("opensmile-lld", feature_set="emobase2010")(x, SR)
    de = get_extractor("opensmile-lld", feature_set="emobase2010", feature_level="lld_deltas")
    assert lld.shape[1] == 38 and abs(lld.shape[0] - 50) <= 5
    assert de(x, SR).shape[1] == 38


@pytest.mark.parametrize(
    ("name", "params", "dim"),
    [
        ("egemaps", {}, 88),
        ("opensmile", {}, 88),
        ("opensmile", {"feature_set": "IS09"}, 384),
        ("opensmile", {"feature_set": "IS10"}, 1582),
        ("opensmile", {"preset": "emobase"}, 988),
    ],
)
def test_functional_sets(name, params, dim):
    ex = get_extractor(name, **params)
    out = ex(voiced(0.5), SR)
    assert out.shape == (dim,) and out.dtype == np.float32 and np.all(np.isfinite(out))
    assert len(ex.feature_names()) == dim


def test_lld_frames_follow_10ms_hop():
    out = get_extractor("opensmile-lld")(voiced(1.0), SR)
    assert out.shape[1] == 25 and abs(out.shape[0] - 100) <= 5


@pytest.mark.parametrize("name", ["egemaps", "opensmile-lld"])
def test_too_short_signal_raises_instead_of_zeros(name):
    """openSMILE fills a too short signal's output with NaN: an error naming the length, never
    an all-zero vector (which a model would train on) and never a silenced warning."""
    with pytest.raises(FeatureError, match=r"cannot analyse a signal of 800 samples \(0.050 s\)"):
        get_extractor(name)(voiced(0.05), SR)
    assert np.all(np.isfinite(get_extractor(name)(voiced(0.1), SR)))  # 0.1 s is enough


def test_constant_signals_give_finite_features():
    for signal in (np.zeros(SR, np.float32), np.full(SR, 0.1, np.float32)):
        assert np.all(np.isfinite(get_extractor("egemaps")(signal, SR)))


def test_smile_objects_are_cached():
    assert smile_for("eGeMAPSv02", "functionals") is smile_for("eGeMAPSv02", "functionals")


def test_config_errors():
    with pytest.raises(ConfigError, match="opensmile-lld"):
        get_extractor("opensmile", feature_level="lld")
    with pytest.raises(ConfigError, match="known"):
        get_extractor("opensmile", feature_set="IS14")
    with pytest.raises(ConfigError, match="lld_deltas"):
        get_extractor("opensmile-lld", feature_set="eGeMAPSv02", feature_level="lld_deltas")
    with pytest.raises(ConfigError):
        get_extractor("opensmile-lld", feature_level="functionals")
    assert "emobase2010" in FEATURE_SETS
