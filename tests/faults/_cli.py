"""Run ``serkit`` in-process through :func:`serkit.cli.main` (its error mapping included, which
``CliRunner`` skips), as ``tests/faults/test_cli_input.py`` does."""

from __future__ import annotations

import sys


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
