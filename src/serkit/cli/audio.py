"""Verbs: ``audio resample`` and ``audio normalize`` (batch tools over a folder tree)."""

from __future__ import annotations

from pathlib import Path

import typer

from serkit.cli._common import SKIP_BAD_HELP, report_problems

_SRC_HELP = "Source audio file or folder (walked recursively)."
_DST_HELP = "Output folder (layout and names kept), or output file for a single source file."
_FORMAT_HELP = "Output format: wav, flac or same (keep each source's extension)."


def _choice(value: str, allowed: tuple[str, ...], option: str) -> str:
    if value not in allowed:
        raise typer.BadParameter(
            f"expected one of {', '.join(allowed)}, got {value!r}", param_hint=option
        )
    return value


def _level(value: float | None) -> float | None:
    """``--level``: a linear amplitude in (0, 1]."""
    if value is not None and not 0 < value <= 1:
        raise typer.BadParameter(f"expected a linear level in (0, 1], got {value}")
    return value


def _finish(result) -> None:
    report_problems(result.skipped)
    typer.echo(result.format())


def register(app: typer.Typer) -> None:
    """Add the ``audio`` sub-app (resample, normalize) to the app."""
    audio_app = typer.Typer(
        name="audio",
        help="Batch audio tools: resample or normalise a folder tree of audio files.",
        no_args_is_help=True,
        context_settings={"help_option_names": ["-h", "--help"], "show_default": True},
    )

    @audio_app.command("resample")
    def resample_cmd(
        src: Path = typer.Argument(..., help=_SRC_HELP),
        dst: Path = typer.Argument(..., help=_DST_HELP),
        sr: int = typer.Option(16000, "--sr", min=1, help="Target sample rate in Hz."),
        fmt: str = typer.Option("same", "--format", help=_FORMAT_HELP),
        mono: bool = typer.Option(False, "--mono", help="Mix channels down to one."),
        skip_bad: bool = typer.Option(False, "--skip-bad", help=SKIP_BAD_HELP),
        skip_existing: bool = typer.Option(
            False, "--skip-existing", help="Keep outputs newer than their source (resume)."
        ),
        workers: int = typer.Option(1, "--workers", min=1, help="Files processed in parallel."),
        quiet: bool = typer.Option(False, "-q", "--quiet", help="No progress bar."),
    ) -> None:
        """Resample every audio file under SRC to --sr Hz into DST."""
        from serkit.audio_tools import FORMATS, resample_tree

        _choice(fmt, FORMATS, "--format")
        result = resample_tree(
            src,
            dst,
            sr,
            fmt=fmt,
            mono=mono,
            skip_bad=skip_bad,
            skip_existing=skip_existing,
            workers=workers,
            progress=not quiet,
        )
        _finish(result)

    @audio_app.command("normalize")
    def normalize_cmd(
        src: Path = typer.Argument(..., help=_SRC_HELP),
        dst: Path = typer.Argument(..., help=_DST_HELP),
        method: str = typer.Option("peak", "--method", help="peak or rms."),
        level: float = typer.Option(
            None,
            "--level",
            callback=_level,
            help="Target level (linear, in (0, 1]); default 1.0 for peak, 0.1 for rms.",
        ),
        sr: int = typer.Option(None, "--sr", min=1, help="Also resample to this rate (Hz)."),
        fmt: str = typer.Option("same", "--format", help=_FORMAT_HELP),
        mono: bool = typer.Option(False, "--mono", help="Mix channels down to one."),
        skip_bad: bool = typer.Option(False, "--skip-bad", help=SKIP_BAD_HELP),
        skip_existing: bool = typer.Option(
            False, "--skip-existing", help="Keep outputs newer than their source (resume)."
        ),
        workers: int = typer.Option(1, "--workers", min=1, help="Files processed in parallel."),
        quiet: bool = typer.Option(False, "-q", "--quiet", help="No progress bar."),
    ) -> None:
        """Normalise the amplitude of every audio file under SRC into DST."""
        from serkit.audio_tools import FORMATS, normalize_tree

        _choice(fmt, FORMATS, "--format")
        _choice(method, ("peak", "rms"), "--method")
        result = normalize_tree(
            src,
            dst,
            method=method,
            level=level,
            sample_rate=sr,
            fmt=fmt,
            mono=mono,
            skip_bad=skip_bad,
            skip_existing=skip_existing,
            workers=workers,
            progress=not quiet,
        )
        _finish(result)

    app.add_typer(audio_app, name="audio")
