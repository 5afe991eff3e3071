"""``serkit predict --segment`` on bad input: empty, silent, corrupt and NaN files, a window
longer than the file, bad windows and hops, options that do not go together. Each is refused
with one error that names the file or the flag, or (window > file) analysed as one segment;
silence never gets a label."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from ._cli import one_error, serkit

SR = 16000


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    from serkit.demo.corpus import make_corpus

    root = tmp_path_factory.mktemp("demo")
    make_corpus(root, speakers=1, sentences=1, repetitions=1, emotions=("neutral", "angry"))
    return sorted(root.rglob("*.wav"))[0]


def test_empty_file_is_named(tmp_path, capsys, monkeypatch):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    message = one_error(*serkit(["predict", path, "--segment", "vad"], capsys, monkeypatch))
    assert str(path) in message and "empty file (0 bytes)" in message


def test_corrupt_file_is_named(tmp_path, capsys, monkeypatch):
    path = tmp_path / "corrupt.wav"
    path.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" + bytes(range(256)) * 8)
    message = one_error(*serkit(["predict", path, "--segment", "window"], capsys, monkeypatch))
    assert str(path) in message and "not a readable audio file" in message


def test_nan_samples_are_named(tmp_path, capsys, monkeypatch):
    path = tmp_path / "nan.wav"
    signal = np.full(SR, 0.1, np.float32)
    signal[SR // 2] = np.nan
    sf.write(str(path), signal, SR, subtype="FLOAT")
    message = one_error(*serkit(["predict", path, "--segment", "vad"], capsys, monkeypatch))
    assert str(path) in message and "NaN or inf" in message


@pytest.mark.parametrize("method", ["vad", "window"])
def test_silent_file_gets_no_label(tmp_path, capsys, monkeypatch, method):
    path = tmp_path / "silent.wav"
    sf.write(str(path), np.zeros(3 * SR, np.float32), SR)
    out = tmp_path / "out.json"
    code, stdout, err = serkit(
        ["predict", path, "--segment", method, "--format", "json", "-o", out], capsys, monkeypatch
    )
    message = one_error(code, stdout, err)
    assert str(path) in message and "could be analysed" in message
    data = json.loads(out.read_text())  # written before the refusal: it says why, no label
    assert data["decision"]["label"] is None
    assert all(s["label"] is None for s in data["segments"])
    assert all(s["status"].startswith("unanalysable: no speech") for s in data["segments"])


def test_window_longer_than_the_file_is_one_segment(clip, capsys, monkeypatch):
    info = sf.info(str(clip))
    code, out, err = serkit(
        [
            "predict",
            clip,
            "--segment",
            "window",
            "--window",
            "30",
            "--hop",
            "10",
            "--format",
            "json",
        ],
        capsys,
        monkeypatch,
    )
    assert code == 0, err
    (segment,) = json.loads(out)["segments"]
    assert segment["start"] == 0 and segment["end"] == pytest.approx(info.duration)
    assert segment["status"] == "ok"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--window", "2", "--hop", "3"], "--hop=3.0 is longer than --window=2.0"),
        (["--hop", "0"], "--hop must be a number > 0"),
        (["--window", "-1"], "--window must be a number > 0"),
        (["--segment", "speech"], "--segment: expected one of vad, window, none"),
        (["--format", "table", "--manifest", "m.parquet"], "drop --manifest"),
    ],
)
def test_bad_options_name_the_flag(clip, capsys, monkeypatch, args, expected):
    base = ["predict", clip] + ([] if "--segment" in args else ["--segment", "window"])
    message = one_error(*serkit(base + args, capsys, monkeypatch))
    assert expected in message


def test_srt_of_several_files_is_refused(clip, capsys, monkeypatch):
    message = one_error(
        *serkit(["predict", clip, clip, "--segment", "vad", "--format", "srt"], capsys, monkeypatch)
    )
    assert "one file's subtitles" in message


def test_file_truncated_midway_is_named(tmp_path, capsys, monkeypatch):
    """The header promises 20 s but the data stops half-way: the block reader fails there
    and names the file (no partial result is printed as if it were the whole file)."""
    whole = tmp_path / "whole.flac"
    t = np.arange(20 * SR) / SR
    sf.write(str(whole), (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), SR)
    path = tmp_path / "truncated.flac"
    data = whole.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    code, out, err = serkit(["predict", path, "--segment", "window"], capsys, monkeypatch)
    message = one_error(code, out, err)
    assert str(path) in message and "failed to decode audio" in message
    assert "file" not in out  # no whole-file decision row
