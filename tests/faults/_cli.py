"""Run ``serkit`` in-process through :func:`serkit.cli.main` (its error mapping included, which
``CliRunner`` skips), as ``tests/faults/test_cli_input.py`` does, or as a child process that a
kill test can signal (:func:`serkit_process`)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path


def serkit(args: list, capsys, monkeypatch) -> tuple[int, str, str]:
    """``serkit ARGS``: ``(exit status, stdout, stderr)``."""
    from serkit.cli import main

    monkeypatch.setattr(sys, "argv", ["serkit", *map(str, args)])
    capsys.readouterr()
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def serkit_process(cwd: Path, *args: str) -> subprocess.Popen:
    """``python -m serkit ARGS`` started in ``cwd`` (one torch thread), output piped as text."""
    return subprocess.Popen(
        [sys.executable, "-m", "serkit", *args],
        cwd=cwd,
        env=dict(os.environ, OMP_NUM_THREADS="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_progress(folder: Path) -> dict | None:
    """A checkpoint folder's ``progress.json`` (``None``: not written yet, or mid-write)."""
    try:
        return json.loads((folder / "progress.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def checkpoint_epoch(folder: Path) -> int | None:
    """The last finished epoch a checkpoint folder records (``None``: none yet)."""
    progress = read_progress(folder)
    return None if progress is None else progress["epoch"]


def sigkill_when(process: subprocess.Popen, ready: Callable[[], bool]) -> None:
    """SIGKILL ``process`` as soon as ``ready()`` holds (checked: it was still running then)."""
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and process.poll() is None:
            if ready():
                break
            time.sleep(0.005)
        assert process.poll() is None, "it ended before it was killed: " + process.stderr.read()
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()


def sigkill_after_epoch(process: subprocess.Popen, folder: Path, epoch: int) -> int | None:
    """SIGKILL ``process`` once its checkpoints in ``folder`` reach ``epoch``; returns the
    epoch the checkpoint holds after the kill."""
    sigkill_when(process, lambda: (checkpoint_epoch(folder) or 0) >= epoch)
    return checkpoint_epoch(folder)


def one_error(code: int, out: str, err: str) -> str:
    """The single ``error:`` paragraph of a refused command (checked: non-zero exit, no
    traceback, exactly one error, one paragraph)."""
    assert code != 0, out + err
    assert "Traceback" not in out + err, err
    return error_paragraph(err)


def error_paragraph(err: str) -> str:
    """The ``error:`` message in stderr, checked to be there once and to be one paragraph."""
    lines = err.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("error: ")]
    assert len(starts) == 1, err
    message = "\n".join(lines[starts[0] :]).strip()
    assert "\n\n" not in message, message
    return message
