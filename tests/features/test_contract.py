"""The extractor contract, checked for EVERY registered extractor (new ones are picked up).

For each extractor: output shape per level, float32, finite, deterministic; ``to_dict`` ->
``get_extractor`` round trip keeps the key; extracting a tiny corpus into a store twice is a
cache hit (no compute call); changing one config value gives a new key and recomputes.
Extractors needing an optional package are skipped when it is missing; extractors needing a
resource (a local model) provide ``example_params(workdir)``.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from serkit import features
from serkit.errors import ConfigError
from serkit.features import EXTRACTORS, FeatureError

from ._synth import make_corpus, voiced

SECONDS = 0.5


def _tiny_ssl_model(workdir: Path) -> dict[str, Any]:
    """A 2-layer random wav2vec2 saved locally (only when the extractor has no example)."""
    transformers = pytest.importorskip("transformers")
    path = workdir / "tiny-wav2vec2"
    if not (path / "config.json").exists():
        import torch

        torch.manual_seed(0)
        config = transformers.Wav2Vec2Config(
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
            conv_dim=(32, 32, 32),
            conv_kernel=(10, 3, 3),
            conv_stride=(5, 4, 4),
            num_conv_pos_embeddings=8,
            num_conv_pos_embedding_groups=2,
        )
        transformers.Wav2Vec2Model(config).save_pretrained(path)
    return {"model_path": str(path)}


_FALLBACK_EXAMPLES = {"ssl": _tiny_ssl_model, "ssl-frames": _tiny_ssl_model}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("contract")


@pytest.fixture(scope="module")
def corpus(workdir):
    return make_corpus(workdir / "corpus", n=3, seconds=SECONDS)


_BUILT: dict[str, Any] = {}


def build(name: str, workdir: Path, **overrides: Any):
    """The extractor with its example params (skips on a missing optional package)."""
    cls = EXTRACTORS.get(name)
    params = dict(cls.example_params(workdir))
    if not params and name in _FALLBACK_EXAMPLES:
        params = _FALLBACK_EXAMPLES[name](workdir)
    params.update(overrides)
    try:
        return features.get_extractor(name, **params)
    except ImportError as exc:
        pytest.skip(f"{name}: optional package missing ({exc})")
    except ConfigError as exc:
        if overrides:
            raise
        pytest.skip(f"{name}: cannot build with defaults ({exc}); define example_params()")


def compute(ex, signal, rate=16000):
    try:
        return ex(signal, rate)
    except ImportError as exc:
        pytest.skip(f"{ex.name}: optional package missing ({exc})")


@pytest.mark.parametrize("name", features.list_extractors())
def test_output_contract(name, workdir):
    ex = build(name, workdir)
    signal = voiced(SECONDS, seed=1)
    out = compute(ex, signal)
    assert out.dtype == np.float32
    assert np.all(np.isfinite(out))
    if ex.level == "utterance":
        assert out.ndim == 1 and out.shape[0] >= 1
    else:
        assert ex.level == "frame" and out.ndim == 2 and out.shape[0] >= 1
        assert out.shape[1] % ex.channels == 0
    names = ex.feature_names()
    if names is not None:
        assert len(names) == out.shape[-1]
    np.testing.assert_allclose(compute(ex, signal), out, rtol=1e-5, atol=1e-6)  # deterministic
    other_rate = compute(ex, voiced(SECONDS, sr=22050, seed=1), 22050)  # resampled first
    assert other_rate.shape[-1] == out.shape[-1]


@pytest.mark.parametrize("name", features.list_extractors())
def test_config_round_trip(name, workdir):
    ex = build(name, workdir)
    data = json.loads(json.dumps(ex.to_dict()))
    assert data["name"] == name
    again = features.extractor_from_dict(data)
    assert again.key() == ex.key() and type(again) is type(ex)
    assert features.get_extractor(name, **data["params"]).key() == ex.key()
    assert re.fullmatch(r"[0-9a-f]{16}", ex.key()), ex.key()
    shown = repr(ex)  # names the class and every config value
    assert shown.startswith(f"{type(ex).__name__}(")
    for key, value in dataclasses.asdict(ex.config).items():
        assert f"{key}={value!r}" in shown, (key, shown)


@pytest.mark.parametrize("name", features.list_extractors())
def test_store_twice_is_a_cache_hit(name, workdir, corpus, monkeypatch):
    ex = build(name, workdir)
    calls = []
    original = type(ex).compute

    def counting(self, signal):
        calls.append(1)
        return original(self, signal)

    monkeypatch.setattr(type(ex), "compute", counting)
    store = workdir / f"store-{name}"
    try:
        first = features.extract(corpus, ex, store, progress=False)
    except FeatureError as exc:
        if isinstance(exc.__cause__, ImportError) or "ImportError" in str(exc):
            pytest.skip(f"{name}: optional package missing ({exc})")
        raise
    assert (first.computed, first.cached) == (3, 0) and len(calls) >= 3
    seen = len(calls)
    second = features.extract(corpus, ex, store, progress=False)
    assert (second.computed, second.cached, len(calls)) == (0, 3, seen)
    fs = features.load(corpus, ex, store)
    assert fs.ids == list(corpus["id"]) and fs.level == ex.level and fs.dim == first.dim
    if ex.level == "utterance":
        assert fs.X.shape == (3, fs.dim) and fs.X.dtype == np.float32
    else:
        assert [f.shape[1] for f in fs.frames] == [fs.dim] * 3
        assert all(f.dtype == np.float32 for f in fs.frames)
        assert fs.padded()[0].shape == (3, int(fs.lengths.max()), fs.dim)
    config = json.loads((first.folder / "config.json").read_text())
    assert config["key"] == ex.key() and config["dim"] == fs.dim


def _changed_values(ex) -> list[tuple[str, Any]]:
    """Candidate single-parameter changes, most specific first, sample_rate last."""
    out = []
    for field in dataclasses.fields(ex.config):
        value = getattr(ex.config, field.name)
        if field.name == "sample_rate":
            continue
        if isinstance(value, bool):
            out.append((field.name, not value))
        elif isinstance(value, int):
            out.append((field.name, value + 1 if value > 0 else 1))
        elif isinstance(value, float):
            out.append((field.name, round(value * 1.25 + 0.25, 4)))
    out.append(("sample_rate", 8000 if ex.sample_rate != 8000 else 16000))
    return out


@pytest.mark.parametrize("name", features.list_extractors())
def test_config_change_is_a_cache_miss(name, workdir, corpus):
    ex = build(name, workdir)
    store = workdir / f"miss-{name}"
    features.extract(corpus, ex, store, progress=False)
    tried = []
    for key, value in _changed_values(ex):
        try:
            changed = build(name, workdir, **{key: value})
            summary = features.extract(corpus, changed, store, progress=False)
        except (ConfigError, FeatureError) as exc:  # that value is not valid for this extractor
            tried.append(f"{key}={value!r}: {exc}")
            continue
        assert changed.key() != ex.key()
        assert (summary.computed, summary.cached) == (3, 0)
        assert summary.folder != features.FeatureStore(store).folder_path(ex)
        return
    pytest.fail(f"{name}: no single parameter change was accepted: {tried}")
