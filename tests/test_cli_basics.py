"""The ``serkit`` command: version, listing, help with defaults, prepare/info, bad files."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from serkit import __version__
from serkit.cli import app
from serkit.corpora import list_corpora
from serkit.demo import make_corpus

runner = CliRunner()
WIDE = {"COLUMNS": "400", "TERMINAL_WIDTH": "400", "NO_COLOR": "1"}


def _commands(group, prefix: tuple[str, ...] = ()):
    """Every leaf command of a (typer-vendored) click group, keyed by its verb path."""
    for name, command in sorted(group.commands.items()):
        if hasattr(command, "commands"):
            yield from _commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


ROOT = typer.main.get_command(app)
COMMANDS = dict(_commands(ROOT))


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"serkit {__version__}"


def test_list_corpora_and_unknown_list():
    result = runner.invoke(app, ["list", "corpora"])
    assert result.exit_code == 0
    assert result.output.split() == list_corpora()
    assert "ravdess" in result.output.split()
    bad = runner.invoke(app, ["list", "nonsense"], env=WIDE)
    assert bad.exit_code != 0 and "expected one of" in bad.output


def test_every_registry_is_listed():
    from serkit.augment import list_augmenters
    from serkit.encoders import list_encoders

    for what, names in (("augmenters", list_augmenters()), ("encoders", list_encoders())):
        result = runner.invoke(app, ["list", what])
        assert result.exit_code == 0 and result.output.split() == names and names


def test_core_verbs_are_registered():
    for verb in (("prepare",), ("info",), ("list",), ("demo-corpus",), ("audio", "resample")):
        assert verb in COMMANDS, f"missing verb {' '.join(verb)}"


def _shown(value: object) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    return str(value)


@pytest.mark.parametrize("verb", sorted(COMMANDS), ids=" ".join)
def test_help_shows_every_default(verb):
    result = runner.invoke(app, [*verb, "--help"], env=WIDE)
    assert result.exit_code == 0, result.output
    text = re.sub(r"[\s│]+", " ", result.output)
    checked = 0
    for param in COMMANDS[verb].params:
        if param.param_type_name != "option" or param.name == "help":
            continue
        default = param.default
        if default is None or default is False or default in ((), []) or param.is_flag:
            continue
        checked += 1
        shown = _shown(default() if callable(default) else default)
        assert f"[default: {shown}]" in text, f"{' '.join(verb)} {param.opts[0]}: no default"
    CHECKED[verb] = checked


CHECKED: dict[tuple[str, ...], int] = {}


def test_help_default_check_saw_the_options():
    """Guards the test above against silently checking nothing."""
    for verb in (("demo-corpus",), ("audio", "resample"), ("prepare",)):
        if verb not in CHECKED:
            test_help_shows_every_default(verb)
        assert CHECKED[verb] >= 1
    assert CHECKED[("demo-corpus",)] == 6


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    make_corpus(root, speakers=2, sentences=1, repetitions=1, emotions=("neutral", "angry"))
    return root


def test_prepare_and_info_on_the_demo_corpus(demo, tmp_path):
    out = tmp_path / "manifests"
    result = runner.invoke(app, ["prepare", "ravdess", str(demo), "-o", str(out)])
    assert result.exit_code == 0, result.output
    # per speaker: neutral 1 + angry 2 intensities
    assert "rows:     6" in result.output and "angry 4, neutral 2" in result.output
    assert (out / "ravdess.parquet").exists() and (out / "ravdess.csv").exists()
    info = runner.invoke(app, ["info", str(out / "ravdess.parquet")])
    assert info.exit_code == 0, info.output
    assert f"root:     {demo.resolve()}" in info.output
    assert "speakers: 2" in info.output and "ravdess/Actor_02 3" in info.output


def test_demo_corpus_verb(tmp_path):
    result = runner.invoke(
        app,
        ["demo-corpus", str(tmp_path / "c"), "--speakers", "1", "--sentences", "1"]
        + ["--repetitions", "1", "--emotions", "sad,angry"],
    )
    assert result.exit_code == 0, result.output
    assert "wrote 4 files" in result.output
    assert len(list((tmp_path / "c" / "Actor_01").glob("*.wav"))) == 4
    bad = runner.invoke(app, ["demo-corpus", str(tmp_path / "d"), "--emotions", "bored"])
    assert bad.exit_code == 2 and "bored" in bad.output


def test_prepare_with_a_corrupt_file_fails_then_skips(demo, tmp_path):
    """The real console script: exit code != 0 naming the file, then --skip-bad lists it."""
    corrupt = demo / "Actor_01" / "03-01-05-02-01-02-01.wav"
    corrupt.write_bytes(b"RIFF....WAVEjunk" * 8)
    try:
        command = [sys.executable, "-c", "from serkit.cli import main; main()", "prepare"]
        failed = subprocess.run(
            [*command, "ravdess", str(demo), "-o", str(tmp_path / "m")],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert failed.returncode != 0
        assert corrupt.name in failed.stderr and "--skip-bad" in failed.stderr
        assert "Traceback" not in failed.stderr
        assert not (tmp_path / "m" / "ravdess.parquet").exists()
        skipped = subprocess.run(
            [*command, "ravdess", str(demo), "-o", str(tmp_path / "m"), "--skip-bad"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert skipped.returncode == 0, skipped.stderr
        assert "1 skipped bad file(s)" in skipped.stderr and corrupt.name in skipped.stderr
        assert "rows:     6" in skipped.stdout  # 6 good files, the extra one skipped
    finally:
        corrupt.unlink()
