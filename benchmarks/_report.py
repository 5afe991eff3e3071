"""Where a benchmark's tables go: a Markdown file (ready for README.md) and the figures as JSON.

Every script in ``benchmarks/`` prints its tables and writes them with :func:`write_table`:
``--out FILE`` gets the Markdown text, ``FILE`` with ``.json`` the raw figures. The scripts run
as ``python benchmarks/<script>.py``, so Python puts this folder on ``sys.path`` and this module
imports as ``_report``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any


def add_out_option(
    parser: argparse.ArgumentParser, default: str | None, *, shown: str | None = None
) -> None:
    """Add ``--out FILE`` (Markdown table; the figures go beside it as ``FILE.json``).

    Args:
        parser: the script's parser.
        default: the default file; ``None`` when the script derives it (then say how in
            ``shown``).
        shown: the default as the help text shows it.
    """
    parser.add_argument(
        "--out",
        type=Path,
        default=None if default is None else Path(default),
        help="Markdown file of the table(s), the figures beside it as .json "
        f"(default: {shown or default})",
    )


def out_paths(out: str | Path) -> tuple[Path, Path]:
    """``(markdown, json)`` paths of ``--out``: ``x.md`` -> ``x.md, x.json``.

    An ``--out`` that already ends in ``.json`` names the figures; the table goes to ``.md``.

    >>> [p.name for p in out_paths("tables/speed.md")]
    ['speed.md', 'speed.json']
    >>> [p.name for p in out_paths("tuning/acrnn.json")]
    ['acrnn.md', 'acrnn.json']
    """
    out = Path(out)
    figures = out.with_suffix(".json")
    return (out.with_suffix(".md") if out.suffix == ".json" else out), figures


def read_figures(out: str | Path) -> Any:
    """The figures an earlier run wrote beside ``--out`` (``None`` when there are none)."""
    path = out_paths(out)[1]
    return json.loads(path.read_text()) if path.exists() else None


def md_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A Markdown table (cells are written with ``str``).

    >>> print(md_table(["a", "b"], [[1, "x"]]))
    | a | b |
    |---|---|
    | 1 | x |
    """
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _plain(value: Any) -> Any:
    """JSON fallback for numpy scalars / arrays and paths."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable: {value!r}")


def write_figures(out: str | Path, figures: Any) -> Path:
    """Write only the figures (``FILE.json``), e.g. after each finished step of a long run."""
    from serkit.atomic import atomic_write_text

    path = out_paths(out)[1]
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(figures, indent=1, default=_plain) + "\n")
    return path


def write_table(out: str | Path, text: str, figures: Any) -> tuple[Path, Path]:
    """Write ``text`` (Markdown) to ``out`` and ``figures`` to ``out`` with ``.json``.

    Args:
        out: the ``--out`` path (see :func:`out_paths`).
        text: the table(s) as printed, Markdown.
        figures: JSON-able raw figures (numpy scalars and arrays are converted).

    Returns:
        ``(markdown path, json path)``; both are also printed.
    """
    from serkit.atomic import atomic_write_text

    markdown, _ = out_paths(out)
    markdown.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(markdown, text.rstrip("\n") + "\n")
    figures_path = write_figures(out, figures)
    print(f"\ntable written to {markdown} (figures in {figures_path})", flush=True)
    return markdown, figures_path
