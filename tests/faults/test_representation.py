"""Fault cases of the representation outputs: ``serkit hdf5 | latents | listen`` and their
library functions (non-RAVDESS manifests, duplicate leaves, unreadable audio, atomic writes,
packages that cannot be listened to, bad traversals)."""

from __future__ import annotations

import re

import h5py
import numpy as np
import pandas as pd
import pytest

from encoders import _tiny
from encoders._save import save_family
from faults._cli import one_error, serkit
from serkit import manifest as mf
from serkit.encoders.hdf5 import read_hdf5, write_hdf5
from serkit.errors import AudioError, ConfigError, ManifestError

JUNK = b"RIFF\x00\x00\x00\x00WAVEjunk" + bytes(200)
SMALL = {"speakers": 2, "sentences": 1, "repetitions": 1, "emotions": ("neutral", "angry")}


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """A demo manifest, the same with one corrupt file, and two packages (an autoencoder and a
    classifier)."""
    from serkit.corpora import prepare
    from serkit.demo import make_corpus

    _tiny.register()
    root = tmp_path_factory.mktemp("representation_faults")
    make_corpus(root / "good", **SMALL)
    prepare("ravdess", root / "good", output=root / "good_m")
    make_corpus(root / "bad", **SMALL, seed=2)
    prepare("ravdess", root / "bad", output=root / "bad_m")
    bad_df = mf.read(root / "bad_m" / "ravdess.parquet")
    corrupt = mf.audio_paths(bad_df)[1]
    corrupt.write_bytes(JUNK)
    good = root / "good_m" / "ravdess.parquet"
    return {
        "root": root,
        "good": good,
        "df": mf.read(good),
        "bad": root / "bad_m" / "ravdess.parquet",
        "bad_df": bad_df,
        "corrupt": corrupt,
        "ae": save_family("tiny-ae", root / "ae"),
        "clf": save_family("tiny-clf", root / "clf"),
    }


def leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# -- hdf5 ------------------------------------------------------------------------------------


def test_a_manifest_of_another_corpus_is_refused(ws, tmp_path, capsys, monkeypatch):
    df = ws["df"].copy()
    df.loc[df.index[:2], "corpus"] = "emodb"
    df.attrs = {"roots": {"ravdess": df.attrs["root"], "emodb": df.attrs["root"]}}
    path = mf.write(df, tmp_path / "mixed.parquet")
    message = one_error(*serkit(["hdf5", path, "-o", tmp_path / "x.h5"], capsys, monkeypatch))
    assert "2 row(s) are of corpus emodb" in message
    assert "manifest[manifest['corpus'] == 'ravdess']" in message
    assert not (tmp_path / "x.h5").exists()


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda df: df.drop(columns=["path"]), "lacks the column\\(s\\) path"),
        (lambda df: df.assign(path="Actor_01/take1.wav"), "'Actor_01/take1.wav' is not a RAVDESS"),
        (lambda df: df.assign(start=0.0, end=0.5), "segment rows"),
        (lambda df: df.iloc[:0], "no rows"),
    ],
    ids=["no path column", "not a RAVDESS name", "segments", "empty"],
)
def test_manifests_that_do_not_fit_the_layout(ws, tmp_path, edit, match):
    df = edit(ws["df"].copy())
    df.attrs = ws["df"].attrs
    with pytest.raises(ManifestError, match=match):
        write_hdf5(df, tmp_path / "x.h5")
    assert not (tmp_path / "x.h5").exists()


def test_duplicate_leaves_name_both_rows_and_the_channel_flag(ws, tmp_path, capsys, monkeypatch):
    df = ws["df"]
    song = df.iloc[:1].assign(id="ravdess/song-copy", mode="song")
    both = pd.concat([df, song], ignore_index=True)
    both.attrs = df.attrs
    path = mf.write(both, tmp_path / "both.parquet")
    message = one_error(*serkit(["hdf5", path, "-o", tmp_path / "x.h5"], capsys, monkeypatch))
    assert f"rows {df['id'].iloc[0]} and ravdess/song-copy both map to the leaf" in message
    assert message.endswith("pass --channel speech (or song)")
    assert "channel='speech'" not in message  # the CLI names its flag, not the keyword
    code, out, err = serkit(
        ["hdf5", path, "-o", tmp_path / "x.h5", "--channel", "speech"], capsys, monkeypatch
    )
    assert code == 0 and f"wrote {len(df)} utterance(s)" in out, err


def test_unreadable_audio_stops_and_keeps_the_old_file(ws, tmp_path, capsys, monkeypatch):
    out = tmp_path / "ravdess.h5"
    write_hdf5(ws["df"], out)  # a good store of the same name is already there
    before = out.read_bytes()
    message = one_error(*serkit(["hdf5", ws["bad"], "-o", out], capsys, monkeypatch))
    row = ws["bad_df"].iloc[1]
    assert f"{row['id']} ({row['path']})" in message and "not a readable audio file" in message
    assert message.endswith("pass --skip-bad to skip such files (they are listed at the end)")
    assert out.read_bytes() == before and leftovers(tmp_path) == []


def test_skip_bad_writes_the_rest_and_lists_the_file(ws, tmp_path, capsys, monkeypatch):
    out = tmp_path / "ravdess.h5"
    code, stdout, err = serkit(["hdf5", ws["bad"], "-o", out, "--skip-bad"], capsys, monkeypatch)
    assert code == 0, err
    n = len(ws["bad_df"])
    assert f"wrote {n - 1} utterance(s)" in stdout and "1 skipped" in stdout
    assert "1 skipped bad file(s)" in err and ws["bad_df"]["id"].iloc[1] in err
    ids = read_hdf5(out).table["id"].tolist()
    assert ids == [i for i in ws["bad_df"]["id"] if i != ws["bad_df"]["id"].iloc[1]]


def test_library_error_names_the_keyword(ws, tmp_path):
    with pytest.raises(AudioError, match="pass skip_bad=True"):
        write_hdf5(ws["bad_df"], tmp_path / "x.h5")


def test_a_failing_writer_leaves_no_temp(ws, tmp_path, monkeypatch):
    """An exception in the middle of writing (here: the feature extractor) removes the temp."""
    from serkit.features import get_extractor

    extractor = get_extractor("logmel")
    calls = []

    def boom(self, signal, sr):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk gone")
        return np.zeros((2, 64), np.float32)

    monkeypatch.setattr("serkit.features.frontend.Frontend.compute", boom)
    with pytest.raises(RuntimeError, match="disk gone"):
        write_hdf5(ws["df"], tmp_path / "x.h5", features=extractor)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("content", [b"not hdf5 at all", None], ids=["text", "other h5"])
def test_reading_something_else_is_refused(tmp_path, content):
    path = tmp_path / "x.h5"
    if content is None:
        with h5py.File(path, "w") as h5:
            h5["data"] = np.zeros(3)
    else:
        path.write_bytes(content)
    with pytest.raises(ManifestError, match="not a (readable HDF5 file|serkit RAVDESS HDF5)"):
        read_hdf5(path)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--no-waveform"], "--no-waveform leaves nothing to store; add --features NAME"),
        (["--set", "n_mels=40"], "--set/--preset need --features NAME"),
        (["--features", "nonesuch"], "nonesuch"),
    ],
)
def test_hdf5_flag_mistakes(ws, tmp_path, capsys, monkeypatch, args, match):
    message = one_error(
        *serkit(["hdf5", ws["good"], "-o", tmp_path / "x.h5", *args], capsys, monkeypatch)
    )
    assert match in message
    assert not (tmp_path / "x.h5").exists()


# -- latents ---------------------------------------------------------------------------------


def test_latents_of_too_few_rows(ws, tmp_path, capsys, monkeypatch):
    df = ws["df"].iloc[:3].copy()
    df.attrs = ws["df"].attrs
    path = mf.write(df, tmp_path / "three.parquet")
    message = one_error(
        *serkit(["latents", ws["ae"], path, "-o", tmp_path / "out"], capsys, monkeypatch)
    )
    assert "need at least 4 rows to project, got 3" in message


def test_latents_with_unreadable_audio(ws, tmp_path, capsys, monkeypatch):
    args = ["latents", ws["ae"], ws["bad"], "-o", tmp_path / "out", "--method", "tsne"]
    message = one_error(*serkit(args, capsys, monkeypatch))
    assert ws["bad_df"]["id"].iloc[1] in message and "pass --skip-bad" in message
    code, out, err = serkit([*args, "--skip-bad"], capsys, monkeypatch)
    assert code == 0, err
    assert f"{len(ws['bad_df']) - 1} embeddings" in out and "1 skipped bad file(s)" in err


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--method", "pca"], "'pca'; expected umap, tsne or both"),
        (["--layer", "nonesuch"], "no layer 'nonesuch'"),
    ],
)
def test_latents_flag_mistakes(ws, tmp_path, capsys, monkeypatch, args, match):
    message = one_error(
        *serkit(["latents", ws["ae"], ws["good"], "-o", tmp_path / "o", *args], capsys, monkeypatch)
    )
    assert match in message


def test_latents_of_a_missing_encoder(ws, tmp_path, capsys, monkeypatch):
    message = one_error(
        *serkit(["latents", tmp_path / "nope", ws["good"], "-o", tmp_path / "o"], capsys,
                monkeypatch)
    )
    assert str(tmp_path / "nope") in message


# -- listen ----------------------------------------------------------------------------------


def test_listening_to_a_classifier_is_refused(ws, tmp_path, capsys, monkeypatch):
    wav = mf.audio_paths(ws["df"])[0]
    message = one_error(
        *serkit(["listen", ws["clf"], wav, "-o", tmp_path / "o"], capsys, monkeypatch)
    )
    assert "'tiny-clf' does not reconstruct its input" in message
    assert not (tmp_path / "o").exists()


def test_a_front_end_that_cannot_be_inverted(ws, tmp_path, monkeypatch):
    import torch

    from serkit.encoders.listen import listen
    from serkit.encoders.package import load_encoder, save_encoder
    from serkit.features import get_extractor
    from serkit.features.frontend import Frontend

    torch.manual_seed(0)
    folder = save_encoder(
        _tiny.TinyAE(13, hidden=4, latent=2), tmp_path / "mfcc-ae",
        frontend=Frontend(get_extractor("mfcc")), input_dim=13, ids=["x/1"], speakers=["x/s"],
    )
    with pytest.raises(ConfigError, match="cannot render mfcc features back to audio"):
        listen(load_encoder(folder), [mf.audio_paths(ws["df"])[0]], tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_an_unreadable_input_stops_before_anything_is_written(ws, tmp_path, capsys, monkeypatch):
    good = mf.audio_paths(ws["df"])[0]
    message = one_error(
        *serkit(["listen", ws["ae"], good, ws["corrupt"], "-o", tmp_path / "o"], capsys,
                monkeypatch)
    )
    assert str(ws["corrupt"]) in message and "not a readable audio file" in message
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--traverse", "7"], r"dim 7 is outside the latent's 0\.\.1"),
        (["--traverse", "0", "--direction", "neutral:angry"], "not both"),
        (["--direction", "neutral:angry"], "--direction FROM:TO and --manifest go together"),
        (["--direction", "angry", "--manifest", "{good}"], "'angry'; expected FROM:TO"),
        (["--direction", "neutral:sad", "--manifest", "{good}"],
         "no row of emotion 'sad'; it has angry, neutral"),
        (["--steps", "0", "--traverse", "0"], "--steps.*greater than or equal to 1"),
    ],
)
def test_listen_flag_mistakes(ws, tmp_path, capsys, monkeypatch, args, match):
    wav = mf.audio_paths(ws["df"])[0]
    args = [a.format(good=ws["good"]) for a in args]
    message = one_error(
        *serkit(["listen", ws["ae"], wav, "-o", tmp_path / "o", *args], capsys, monkeypatch)
    )
    assert re.search(match, message), message
