"""SSL extractors on tiny randomly initialised wav2vec2 / HuBERT / WavLM checkpoints."""

from __future__ import annotations

import socket

import numpy as np
import pytest

from serkit.errors import ConfigError

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

from serkit.features import get_extractor  # noqa: E402
from serkit.features.ssl import (  # noqa: E402
    chunk_bounds,
    receptive_field,
    select_layers,
    tiny_checkpoint,
)

SR = 16000
KERNEL, STRIDE = (
    (10, 8, 4),
    (5, 4, 2),
)  # tiny_checkpoint: total stride 40 samples, receptive field 105
ARCHS = ("wav2vec2", "hubert", "wavlm")


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """One tiny random model per architecture, saved with a feature-extractor config."""
    return {arch: str(tiny_checkpoint(tmp_path_factory.mktemp(arch), arch)) for arch in ARCHS}


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def signal(seconds: float = 0.5, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    return (0.2 * np.sin(2 * np.pi * 150 * t) + 0.05 * rng.standard_normal(t.size)).astype(
        np.float32
    )


def expected_frames(samples: int) -> int:
    for kernel, stride in zip(KERNEL, STRIDE, strict=True):
        samples = (samples - kernel) // stride + 1
    return samples


@pytest.mark.parametrize("arch", ARCHS)
def test_frames_and_pooling_shapes(checkpoints, arch, no_network):
    x = signal()
    frames = get_extractor("ssl-frames", model_path=checkpoints[arch])(x, SR)
    assert frames.shape == (expected_frames(len(x)), 32) and frames.dtype == np.float32
    mean = get_extractor("ssl", model_path=checkpoints[arch])(x, SR)
    np.testing.assert_allclose(mean, frames.mean(axis=0), rtol=1e-5, atol=1e-6)
    both = get_extractor("ssl", model_path=checkpoints[arch], pooling="mean+std")
    out = both(x, SR)
    assert out.shape == (64,)
    np.testing.assert_allclose(out[32:], frames.std(axis=0), rtol=1e-4, atol=1e-6)
    assert len(both.feature_names()) == 64


def test_layers_match_the_model(checkpoints):
    path = checkpoints["wav2vec2"]
    x = signal()
    model = transformers.Wav2Vec2Model.from_pretrained(path, local_files_only=True).eval()
    norm = (x - x.mean()) / np.sqrt(x.var() + 1e-7)
    with torch.no_grad():
        states = model(torch.from_numpy(norm)[None], output_hidden_states=True).hidden_states
    states = [s[0].numpy() for s in states]
    assert len(states) == 3
    for layer in (0, 1, -1):
        got = get_extractor("ssl-frames", model_path=path, layer=layer)(x, SR)
        np.testing.assert_allclose(got, states[layer], rtol=1e-4, atol=1e-5)
    avg = get_extractor("ssl-frames", model_path=path, layer="all")(x, SR)
    np.testing.assert_allclose(avg, np.mean(states, axis=0), rtol=1e-4, atol=1e-5)
    cat = get_extractor("ssl-frames", model_path=path, layer=[0, 2], layer_reduce="concat")
    out = cat(x, SR)
    np.testing.assert_allclose(out, np.concatenate([states[0], states[2]], 1), atol=1e-5)
    assert out.shape[1] == 64 and cat.feature_names()[32] == "ssl_l2_0"


def test_normalisation_makes_scale_irrelevant(checkpoints):
    path = checkpoints["hubert"]
    ex = get_extractor("ssl", model_path=path)  # do_normalize=True from the checkpoint
    x = signal()
    np.testing.assert_allclose(ex(x, SR), ex(3 * x, SR), rtol=1e-4, atol=1e-5)
    raw = get_extractor("ssl", model_path=path, normalize_waveform=False)
    assert not np.allclose(raw(x, SR), raw(3 * x, SR), atol=1e-4)


def test_chunking_concatenates_frames(checkpoints):
    path = checkpoints["wavlm"]
    x = signal(2.5)
    whole = get_extractor("ssl-frames", model_path=path)(x, SR)
    chunked = get_extractor("ssl-frames", model_path=path, max_chunk_s=1.0)(x, SR)
    # chunks of 1 s and 1.5 s (the 0.5-s tail joins the previous chunk)
    assert chunked.shape == (expected_frames(SR) + expected_frames(SR * 3 // 2), 32)
    assert abs(chunked.shape[0] - whole.shape[0]) <= 2


def test_short_signal_is_padded(checkpoints):
    out = get_extractor("ssl-frames", model_path=checkpoints["wav2vec2"])(
        np.zeros(20, dtype=np.float32), SR
    )
    assert out.shape == (1, 32) and np.all(np.isfinite(out))


def test_errors_are_clear(tmp_path, checkpoints):
    with pytest.raises(ConfigError, match="model_path"):
        get_extractor("ssl")(signal(), SR)
    with pytest.raises(ConfigError, match="not found"):
        get_extractor("ssl", model_path=str(tmp_path / "missing"))(signal(), SR)
    with pytest.raises(ConfigError, match="config.json"):
        get_extractor("ssl", model_path=str(tmp_path))(signal(), SR)
    with pytest.raises(ConfigError, match="does not exist"):
        get_extractor("ssl", model_path=checkpoints["wav2vec2"], layer=7)(signal(), SR)
    with pytest.raises(ConfigError, match="ssl-frames"):
        get_extractor("ssl", pooling="none")
    with pytest.raises(ConfigError):
        get_extractor("ssl", layer="middle")
    with pytest.raises(ConfigError, match="architecture"):
        tiny_checkpoint(tmp_path / "x", "conformer")
    with pytest.raises(ConfigError, match="16000 Hz"):
        get_extractor("ssl", model_path=checkpoints["wav2vec2"], sample_rate=8000)(signal(), SR)


def test_pure_helpers():
    assert receptive_field((10, 3, 3, 3, 3, 2, 2), (5, 2, 2, 2, 2, 2, 2)) == 400  # wav2vec2
    assert receptive_field(KERNEL, STRIDE) == 105
    assert expected_frames(105) == 1 and expected_frames(104) == 0
    assert chunk_bounds(100, 0, 10) == [(0, 100)]
    assert chunk_bounds(100, 40, 30) == [(0, 40), (40, 100)]
    assert chunk_bounds(100, 40, 10) == [(0, 40), (40, 80), (80, 100)]
    assert select_layers(3, "all") == [0, 1, 2]
    assert select_layers(3, -1) == [2]
    assert select_layers(3, (0, -1)) == [0, 2]
