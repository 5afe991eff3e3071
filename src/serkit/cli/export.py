"""Verb: ``export`` (a trained neural model -> ONNX file, verified against torch)."""

from __future__ import annotations

from pathlib import Path

import typer

from serkit.cli._common import TRUST_PICKLE_HELP


def register(app: typer.Typer) -> None:
    """Add the ``export`` verb to the app."""

    @app.command("export")
    def export_cmd(
        model: Path = typer.Argument(..., help="A run folder (with model/) or a model package."),
        output: Path = typer.Argument(..., dir_okay=False, help="Destination .onnx file."),
        check: bool = typer.Option(
            True, "--check/--no-check", help="Compare ONNX Runtime with torch on random inputs."
        ),
        trust_pickle: bool = typer.Option(False, "--trust-pickle", help=TRUST_PICKLE_HELP),
    ) -> None:
        """Export a trained neural model to ONNX (dynamic batch and time axes)."""
        from serkit.export import export

        result = export(model, output, check=check, trust_pickle=trust_pickle)
        line = f"wrote {result.path} (model {result.model})"
        if check:
            line += f"; max |torch - onnxruntime| = {result.max_abs_diff:.2e}"
        typer.echo(line)
