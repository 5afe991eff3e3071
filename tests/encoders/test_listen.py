"""Rendering features back to audio (Griffin-Lim inversion of the front end) and listening to a
reconstructing encoder (stand-in package: an exact autoencoder with a linear decoder)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch

from serkit.encoders import listen as L
from serkit.encoders.base import EncoderNet, Reconstructs
from serkit.errors import ConfigError
from serkit.features import get_extractor
from serkit.features.frontend import Frontend

SR = 16000


def sine(freq: float, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(SR * seconds)) / SR
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def peak_hz(wave: np.ndarray, sr: int = SR) -> float:
    core = wave[len(wave) // 8 : -len(wave) // 8]
    spectrum = np.abs(np.fft.rfft(core * np.hanning(len(core))))
    return float(np.fft.rfftfreq(len(core), 1 / sr)[spectrum.argmax()])


FRONTENDS = {
    "logmel default (dB power, 64 Slaney bands)": ("logmel", {}),
    "seed transform (ln magnitude, 80 bands, 1024/256)": (
        "logmel",
        {
            "n_mels": 80,
            "n_fft": 1024,
            "win_length": 1024,
            "hop_length": 256,
            "power": 1.0,
            "fmax": 8000.0,
            "log": "ln",
            "log_eps": 1e-5,
        },
    ),
    "htk, pre-emphasis, boxcar, not centred": ("logmel", {"preset": "acrnn"}),
    "speechsplit normalisation": ("logmel", {"preset": "speechsplit"}),
    "log10, no mel norm, deltas": (
        "logmel",
        {"log": "log10", "log_eps": 1e-8, "mel_norm": "none", "deltas": 1},
    ),
    "linear spectrogram dB": ("spectrogram", {"log": "db"}),
    "rhemo spectrogram (normalised, 128 bins)": ("spectrogram", {"preset": "rhemo"}),
}


def frontend(name: str = "logmel", **params: Any) -> Frontend:
    return Frontend(get_extractor(name, **params))


@pytest.mark.parametrize("case", list(FRONTENDS))
@pytest.mark.parametrize("freq", [440.0, 1000.0, 2500.0])
def test_sine_comes_back_at_its_frequency(case, freq):
    fe = frontend(FRONTENDS[case][0], **FRONTENDS[case][1])
    wave = L.features_to_audio(fe.compute(sine(freq), SR), fe, n_iter=16)
    assert wave.dtype == np.float32 and np.all(np.isfinite(wave))
    assert abs(len(wave) - SR) < 2 * fe.extractor.config.n_fft
    # within about one mel band of the tone (the band spacing near 2.5 kHz is ~ 100 Hz)
    assert abs(peak_hz(wave) - freq) < 0.04 * freq + 20, (case, peak_hz(wave))


def test_chirp_follows_its_sweep():
    from scipy.signal import chirp

    t = np.arange(SR) / SR
    signal = (0.5 * chirp(t, 300, 1.0, 3000)).astype(np.float32)
    fe = frontend()
    wave = L.features_to_audio(fe.compute(signal, SR), fe, n_iter=32)
    for start in range(1600, SR - 2048, 1600):
        mid = (start + 512) / SR
        got = peak_hz(wave[start : start + 1024] * 1.0)
        assert abs(got - (300 + 2700 * mid)) < 80, (mid, got)


@pytest.mark.parametrize(
    "params", [{}, {"power": 1.0, "log": "ln", "log_eps": 1e-5}], ids=["dB power", "ln magnitude"]
)
def test_round_trip_keeps_the_loud_cells(params):
    """The front end on the rendered audio gives back the features (where there is energy:
    Griffin-Lim only has to find a phase), at the same level."""
    from scipy.signal import chirp

    t = np.arange(SR) / SR
    signal = 0.3 * chirp(t, 200, 1.0, 4000) + 0.2 * np.sin(2 * np.pi * 700 * t)
    fe = frontend(**params)
    features = fe.compute(signal.astype(np.float32), SR)
    again = fe.compute(L.features_to_audio(features, fe, n_iter=32), SR)
    n = min(len(features), len(again))
    features, again = features[:n], again[:n]
    loud = features > np.percentile(features, 85)
    to_db = 1.0 if not params else 20.0 / np.log(10)  # ln of magnitude -> dB
    assert np.mean(np.abs(again - features)[loud]) * to_db < 3.5
    assert abs(np.percentile(again, 99) - np.percentile(features, 99)) * to_db < 1.0


def test_same_seed_same_audio():
    fe = frontend()
    features = fe.compute(sine(600), SR)
    a = L.features_to_audio(features, fe, n_iter=4, seed=1)
    assert np.array_equal(a, L.features_to_audio(features, fe, n_iter=4, seed=1))
    assert not np.array_equal(a, L.features_to_audio(features, fe, n_iter=4, seed=2))


@pytest.mark.parametrize(
    ("fe", "match"),
    [
        (frontend("mfcc"), "only logmel, spectrogram"),
        (frontend("logmel", preset="dcnn"), "normalises them .minmax."),
        (Frontend(get_extractor("logmel"), normalize="speaker"), "normalises them .speaker."),
    ],
)
def test_refuses_what_cannot_be_inverted(fe, match):
    with pytest.raises(ConfigError, match=match):
        L.features_to_audio(np.zeros((10, 40), np.float32), fe)


def test_refuses_features_of_the_wrong_width():
    with pytest.raises(ConfigError, match=r"\(frames, 64\)"):
        L.features_to_audio(np.zeros((10, 40), np.float32), frontend())


# -- a stand-in encoder package ---------------------------------------------------------------


class ExactAE(Reconstructs, EncoderNet):
    """Reconstructs its input exactly; the latent is the mean frame times ``A``; the decoder is
    linear (``z @ W + b`` on every frame). Crops of 8 frames."""

    segment_frames = 8

    def __init__(self, input_dim: int, num_classes: int = 0, cond_dim: int = 0, latent: int = 3):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.A = torch.randn(input_dim, latent, generator=g)
        self.W = torch.randn(latent, input_dim, generator=g)
        self.b = torch.randn(input_dim, generator=g)

    def embed(self, x, lengths, cond=None, layer=None):
        mask = (torch.arange(x.shape[1])[None] < lengths[:, None]).to(x.dtype)[..., None]
        return ((x * mask).sum(1) / lengths[:, None].to(x.dtype)) @ self.A

    def reconstruct(self, x, lengths, cond=None):
        return x.clone()

    def decode(self, z, cond=None, frames=None):
        return (z @ self.W + self.b)[:, None, :].expand(-1, frames or self.segment_frames, -1)


class Embedder(EncoderNet):
    def embed(self, x, lengths, cond=None, layer=None):
        return x.mean(1)


@dataclass
class StubPackage:
    """What listen uses of :class:`serkit.encoders.package.EncoderPackage`."""

    net: Any
    frontend: Frontend
    mean: np.ndarray
    std: np.ndarray
    family: str = "exact-ae"

    def normalise(self, frames):
        return ((frames - self.mean) / self.std).astype(np.float32)

    def denormalise(self, frames):
        return (frames * self.std + self.mean).astype(np.float32)

    def condition_vector(self, signal, sample_rate):
        return None

    def embed_frames(self, frames, cond=None, layer=None):
        x = torch.from_numpy(np.asarray(frames, np.float32)[None])
        return self.net.embed(x, torch.tensor([x.shape[1]]))[0].numpy()


@pytest.fixture
def package():
    fe = frontend(n_mels=24, n_fft=256, win_length=256, hop_length=128)
    rng = np.random.default_rng(0)
    mean = rng.normal(-40, 5, 24).astype(np.float32)
    std = rng.uniform(5, 15, 24).astype(np.float32)
    return StubPackage(ExactAE(24), fe, mean, std)


def test_reconstruction_is_in_front_end_units(package):
    features, recon = L.reconstruct(package, sine(800, 0.5), SR)
    assert recon.shape == features.shape
    np.testing.assert_allclose(recon, features, rtol=1e-5, atol=1e-3)


def test_traversal_moves_the_decoder_output_along_the_dimension(package):
    signal = sine(800, 0.5)
    steps = L.traverse(package, signal, SR, dim=1, steps=5, span=2.0)
    assert [t for t, _ in steps] == [-2.0, -1.0, 0.0, 1.0, 2.0]
    frames = len(package.frontend.compute(signal, SR))
    base = dict(steps)[0.0]
    assert base.shape == (frames, 24)
    w = package.net.W[1].numpy() * package.std  # one latent unit, in front-end units
    for t, out in steps:
        np.testing.assert_allclose(out - base, np.broadcast_to(t * w, out.shape), atol=1e-3)
    # each 8-frame crop decodes from its own code: the pieces differ
    assert not np.allclose(base[0], base[-1])


def test_traversal_along_a_direction(package):
    signal = sine(800, 0.5)
    direction = np.array([1.0, -2.0, 0.5], np.float32)
    (t0, low), (_, mid), (t1, high) = L.traverse(
        package, signal, SR, direction=direction, steps=3, span=1.0
    )
    move = (direction @ package.net.W.numpy()) * package.std
    np.testing.assert_allclose(high - mid, np.broadcast_to(move, mid.shape), atol=1e-3)
    assert (t0, t1) == (-1.0, 1.0)


def test_emotion_direction_is_the_difference_of_mean_latents(package):
    a = [(sine(300, 0.5), SR), (sine(400, 0.5), SR)]
    b = [(sine(2000, 0.5), SR)]
    got = L.emotion_direction(package, {"neutral": a, "angry": b}, "neutral", "angry")
    mean_a = np.mean([L.latent(package, s, sr) for s, sr in a], axis=0)
    np.testing.assert_allclose(got, L.latent(package, *b[0]) - mean_a, rtol=1e-5)
    with pytest.raises(ConfigError, match="no utterance of 'sad'"):
        L.emotion_direction(package, {"neutral": a}, "neutral", "sad")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "exactly one of dim"),
        ({"dim": 0, "direction": np.zeros(3)}, "exactly one of dim"),
        ({"dim": 3}, r"outside the latent's 0..2"),
        ({"direction": np.zeros(4)}, "direction has 4 values, the latent 3"),
        ({"dim": 0, "steps": 0}, "steps must be >= 1"),
    ],
)
def test_traversal_refuses_bad_arguments(package, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        L.traverse(package, sine(800, 0.5), SR, **kwargs)


def test_a_family_that_does_not_reconstruct_is_refused(package):
    package.net = Embedder()
    with pytest.raises(ConfigError, match="does not reconstruct its input"):
        L.reconstruct(package, sine(800, 0.5), SR)


def test_listen_writes_wavs_spectrograms_and_an_index(package, tmp_path):
    import soundfile as sf

    from conftest import write_tone

    files = [
        write_tone(tmp_path / "in" / "a.wav", 0.5, freq=500.0),
        write_tone(tmp_path / "in" / "b.flac", 0.4, sr=22050, freq=900.0),
    ]
    result = L.listen(package, files, tmp_path / "out", dim=2, steps=3, span=1.0, n_iter=8)
    index = json.loads((tmp_path / "out" / "listen.json").read_text())
    kinds = [r["kind"] for r in index["files"][0]["renders"]]
    assert kinds == [
        "original",
        "reconstruction",
        "traverse_dim2_-1.00",
        "traverse_dim2_+0.00",
        "traverse_dim2_+1.00",
    ]
    assert len(result.files) == 2 * 2 * 5
    for path in result.files:
        assert path.is_file() and path.stat().st_size > 0
    wav, sr = sf.read(tmp_path / "out" / "b" / "original.wav")
    assert sr == SR and abs(peak_hz(wav) - 900) < 60
    # an exact autoencoder sounds like the input's own features (same Griffin-Lim seed)
    recon, _ = sf.read(tmp_path / "out" / "a" / "reconstruction.wav")
    original, _ = sf.read(tmp_path / "out" / "a" / "original.wav")
    np.testing.assert_allclose(recon, original, atol=2e-3)
    assert (tmp_path / "out" / "a" / "traverse_dim2_+1.00.png").is_file()
