"""``serkit hdf5 | latents | listen`` end to end on the demo corpus with real encoder packages
(``save_encoder`` / ``load_encoder``), and listening to every reconstructing family."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from faults._cli import serkit
from serkit import audio
from serkit import manifest as mf
from serkit.encoders import get_encoder_class, list_encoders
from serkit.encoders.base import Reconstructs
from serkit.encoders.package import load_encoder

from . import _tiny
from ._save import save_family

SMALL = {"speakers": 2, "sentences": 2, "repetitions": 1, "emotions": ("neutral", "angry")}


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    from serkit.corpora import prepare
    from serkit.demo import make_corpus

    _tiny.register()
    root = tmp_path_factory.mktemp("representation")
    make_corpus(root / "corpus", **SMALL)
    prepare("ravdess", root / "corpus", output=root / "manifests")
    manifest = root / "manifests" / "ravdess.parquet"
    df = mf.read(manifest)
    return {
        "root": root,
        "manifest": manifest,
        "df": df,
        "ae": save_family("tiny-ae", root / "tiny-ae", df),
        "clf": save_family("tiny-clf", root / "tiny-clf", df),
        "wav": mf.audio_paths(df)[3],
    }


def test_hdf5_verb_writes_the_seed_layout(ws, capsys, monkeypatch):
    out = ws["root"] / "h5" / "ravdess.h5"
    code, stdout, err = serkit(
        ["hdf5", ws["manifest"], "-o", out, "--features", "logmel", "--set", "n_mels=40"],
        capsys, monkeypatch,
    )
    assert code == 0, err
    assert f"wrote {len(ws['df'])} utterance(s) (waveform + logmel)" in stdout
    with h5py.File(out, "r") as h5:
        leaf = h5["statement_01/Actor_02/emotion_05/intensity_02/repete_01"]
        assert leaf["logmel"].shape[1] == 40
        assert leaf.attrs["emotion"] == "angry" and leaf.attrs["gender"] == "female"
        signal, _ = audio.read(ws["root"] / "corpus/Actor_02/03-01-05-02-01-01-02.wav")
        np.testing.assert_array_equal(leaf["wav"][()], signal)


def test_latents_verb_plots_the_encoder_embeddings(ws, capsys, monkeypatch):
    out = ws["root"] / "latents"
    code, stdout, err = serkit(
        ["latents", ws["ae"], ws["manifest"], "-o", out, "--method", "tsne"], capsys, monkeypatch
    )
    assert code == 0, err
    assert f"{len(ws['df'])} embeddings (2-d): wrote 4 plot(s)" in stdout
    assert sorted(p.name for p in out.glob("*.png")) == [
        f"latents_tsne_{c}.png" for c in ("emotion", "gender", "intensity", "speaker")
    ]
    coords = pd.read_csv(out / "latents_2d.csv")
    assert coords["id"].tolist() == ws["df"]["id"].tolist()
    # the embeddings are the package's own, kept in the store
    package = load_encoder(ws["ae"])
    first = package.embed(*audio.read(mf.audio_paths(ws["df"])[0], sample_rate=16000))
    from serkit.encoders.plots import manifest_latents

    X, meta, skipped = manifest_latents(ws["ae"], ws["df"], out / "store")
    np.testing.assert_allclose(X[0], first, rtol=1e-5, atol=1e-6)
    assert meta["id"].tolist() == ws["df"]["id"].tolist() and skipped == []


def test_listen_verb_renders_reconstruction_and_traversal(ws, capsys, monkeypatch):
    out = ws["root"] / "listen"
    code, stdout, err = serkit(
        ["listen", ws["ae"], ws["wav"], "-o", out, "--traverse", "1", "--steps", "3",
         "--n-iter", "4"],
        capsys, monkeypatch,
    )
    assert code == 0, err
    assert "wrote 5 WAV file(s) with spectrograms for 1 input(s)" in stdout
    index = json.loads((out / "listen.json").read_text())
    assert index["family"] == "tiny-ae"
    stem = ws["wav"].stem
    for kind in ("original", "reconstruction", "traverse_dim1_-2.00", "traverse_dim1_+2.00"):
        wave, sr = sf.read(out / stem / f"{kind}.wav")
        assert sr == 16000 and np.all(np.isfinite(wave)) and np.abs(wave).max() > 0
        assert (out / stem / f"{kind}.png").is_file()


def test_listen_verb_along_an_emotion_direction(ws, capsys, monkeypatch):
    out = ws["root"] / "listen_direction"
    code, stdout, err = serkit(
        ["listen", ws["ae"], ws["wav"], "-o", out, "--direction", "neutral:angry", "--manifest",
         ws["manifest"], "--steps", "2", "--span", "1", "--n-iter", "2"],
        capsys, monkeypatch,
    )
    assert code == 0, err
    names = sorted(p.name for p in (out / ws["wav"].stem).glob("*.wav"))
    assert names == ["original.wav", "reconstruction.wav", "traverse_neutral-angry_+1.00.wav",
                     "traverse_neutral-angry_-1.00.wav"]


RECONSTRUCTING = [
    name for name in list_encoders() if issubclass(get_encoder_class(name), Reconstructs)
]


@pytest.mark.parametrize("family", RECONSTRUCTING)
def test_every_reconstructing_family_can_be_listened_to(family, ws, tmp_path):
    """Through the real package: reconstruction and traversal have the input's shape, in
    front-end units, and render to audio."""
    from serkit.encoders import listen as L

    package = load_encoder(save_family(family, tmp_path / family))
    signal, sr = audio.read(ws["wav"], sample_rate=package.frontend.sample_rate)
    features, recon = L.reconstruct(package, signal, sr)
    assert recon.shape == features.shape and np.all(np.isfinite(recon))
    steps = L.traverse(package, signal, sr, dim=0, steps=2, span=1.0)
    assert [out.shape for _, out in steps] == [features.shape] * 2
    assert not np.allclose(steps[0][1], steps[1][1])
    result = L.listen(package, [ws["wav"]], tmp_path / "out", n_iter=2)
    assert len(result.files) == 4
