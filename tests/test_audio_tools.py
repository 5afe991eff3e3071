"""Batch resample / normalise over folder trees (library and CLI)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from serkit import audio_tools
from serkit.audio_tools import normalize_tree, plan, resample_tree
from serkit.cli import app
from serkit.errors import AudioError


def _write(path, seconds=0.25, sr=22050, channels=1, amp=0.3):
    t = np.arange(int(seconds * sr)) / sr
    tone = amp * np.sin(2 * np.pi * 220 * t)
    data = np.stack([tone * (c + 1) / channels for c in range(channels)], axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), data.astype(np.float32), sr)
    return path


@pytest.fixture
def tree(tmp_path):
    src = tmp_path / "src"
    _write(src / "a.wav")
    _write(src / "spk1" / "b.flac", sr=48000, channels=2)
    _write(src / "spk1" / "deep" / "c.wav", sr=8000, amp=0.05)
    (src / "notes.txt").write_text("not audio")
    (src / ".hidden.wav").write_text("hidden files are skipped")
    return src


def _add_bad(src):
    (src / "spk1" / "empty.wav").write_bytes(b"")
    (src / "spk1" / "garbage.wav").write_bytes(b"this is not audio at all" * 10)


def test_resample_tree_keeps_layout_names_and_channels(tree, tmp_path):
    result = resample_tree(tree, tmp_path / "out", 16000)
    out = tmp_path / "out"
    assert sorted(p.relative_to(out).as_posix() for p in result.written) == [
        "a.wav",
        "spk1/b.flac",
        "spk1/deep/c.wav",
    ]
    assert result.ignored == ["notes.txt"]
    assert result.skipped == [] and not (out / ".hidden.wav").exists()
    for path, seconds, channels in (
        (out / "a.wav", 0.25, 1),
        (out / "spk1" / "b.flac", 0.25, 2),
        (out / "spk1" / "deep" / "c.wav", 0.25, 1),
    ):
        header = sf.info(str(path))
        assert header.samplerate == 16000 and header.channels == channels
        assert header.frames == pytest.approx(seconds * 16000, abs=2)
    assert "wrote 3 file(s)" in result.format()


def test_resample_tree_format_and_mono(tree, tmp_path):
    result = resample_tree(tree, tmp_path / "out", 8000, fmt="flac", mono=True, workers=2)
    assert all(p.suffix == ".flac" for p in result.written)
    assert sf.info(str(tmp_path / "out" / "spk1" / "b.flac")).channels == 1
    assert (tmp_path / "out" / "a.flac").exists() and not (tmp_path / "out" / "a.wav").exists()


def test_first_bad_file_raises_naming_it_and_keeps_written_files(tree, tmp_path):
    _add_bad(tree)
    with pytest.raises(AudioError, match=r"empty\.wav.*skip_bad=True") as info:
        resample_tree(tree, tmp_path / "out", 16000)
    assert "--" not in str(info.value)  # the library names its option, not a CLI flag
    # a.wav came before the bad file and is complete; no temp files are left behind
    assert sf.info(str(tmp_path / "out" / "a.wav")).samplerate == 16000
    leftovers = [p.name for p in (tmp_path / "out").rglob("*") if p.name.startswith("tmp")]
    assert leftovers == []


def test_skip_bad_goes_on_and_lists_bad_files(tree, tmp_path):
    _add_bad(tree)
    result = resample_tree(tree, tmp_path / "out", 16000, skip_bad=True)
    assert len(result.written) == 3
    assert len(result.skipped) == 2
    assert "empty.wav" in result.skipped[0] and "garbage.wav" in result.skipped[1]
    assert not (tmp_path / "out" / "spk1" / "empty.wav").exists()


def test_skip_existing_resumes(tree, tmp_path):
    first = resample_tree(tree, tmp_path / "out", 16000)
    again = resample_tree(tree, tmp_path / "out", 16000, skip_existing=True)
    assert again.written == [] and sorted(again.kept) == sorted(first.written)


def test_single_file_to_file_and_to_folder(tree, tmp_path):
    result = resample_tree(tree / "a.wav", tmp_path / "one.flac", 16000)
    assert result.written == [tmp_path / "one.flac"]
    assert sf.info(str(tmp_path / "one.flac")).samplerate == 16000
    result = resample_tree(tree / "a.wav", tmp_path / "folder", 16000, fmt="flac")
    assert result.written == [tmp_path / "folder" / "a.flac"]


def test_plan_refuses_output_inside_source_and_missing_source(tree, tmp_path):
    with pytest.raises(AudioError, match="inside"):
        plan(tree, tree / "out")
    with pytest.raises(AudioError, match="no such"):
        plan(tmp_path / "missing", tmp_path / "out")
    with pytest.raises(ValueError, match="format"):
        audio_tools.output_suffix(tree / "a.wav", "mp4")


@pytest.mark.parametrize(("method", "level"), [("peak", 0.5), ("peak", None), ("rms", 0.05)])
def test_normalize_tree_reaches_the_level(tree, tmp_path, method, level):
    result = normalize_tree(tree, tmp_path / "out", method=method, level=level)
    assert len(result.written) == 3
    for path in result.written:
        data, _ = sf.read(str(path))
        if method == "peak":
            assert np.abs(data).max() == pytest.approx(level or 1.0, abs=2e-4)
        else:
            assert np.sqrt(np.mean(data**2)) == pytest.approx(level, rel=1e-3)


def test_normalize_keeps_channel_balance_and_resamples(tree, tmp_path):
    normalize_tree(tree / "spk1" / "b.flac", tmp_path / "b.wav", sample_rate=16000)
    data, sr = sf.read(str(tmp_path / "b.wav"))
    assert sr == 16000 and data.shape[1] == 2
    ratio = np.abs(data[:, 1]).max() / np.abs(data[:, 0]).max()
    assert ratio == pytest.approx(2.0, rel=1e-3)


def test_normalize_rejects_silent_files(tmp_path):
    silent = tmp_path / "src" / "silent.wav"
    silent.parent.mkdir()
    sf.write(str(silent), np.zeros(1600, dtype=np.float32), 16000)
    with pytest.raises(AudioError, match="silent"):
        normalize_tree(tmp_path / "src", tmp_path / "out")
    assert normalize_tree(tmp_path / "src", tmp_path / "out", skip_bad=True).skipped
    with pytest.raises(ValueError, match="method"):
        normalize_tree(tmp_path / "src", tmp_path / "out", method="loudness")


def test_cli_resample_and_normalize(tree, tmp_path):
    _add_bad(tree)
    runner = CliRunner()
    fail = runner.invoke(app, ["audio", "resample", str(tree), str(tmp_path / "o"), "--sr", "8000"])
    assert fail.exit_code != 0
    assert "empty.wav" in str(fail.exception)
    ok = runner.invoke(
        app, ["audio", "resample", str(tree), str(tmp_path / "o"), "--sr", "8000", "--skip-bad"]
    )
    assert ok.exit_code == 0, ok.output
    assert "garbage.wav" in ok.output and "wrote 3 file(s)" in ok.output
    norm = runner.invoke(
        app,
        ["audio", "normalize", str(tmp_path / "o"), str(tmp_path / "n"), "--method", "rms"],
    )
    assert norm.exit_code == 0, norm.output
    assert len(list((tmp_path / "n").rglob("*.*"))) == 3
    bad = runner.invoke(
        app, ["audio", "normalize", str(tree), str(tmp_path / "m"), "--format", "x"]
    )
    assert bad.exit_code == 2 and "--format" in bad.output
