"""Verbs: ``prepare`` and ``info``."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from serkit.cli._common import SKIP_BAD_HELP, report_problems


def register(app: typer.Typer) -> None:
    """Add the corpus verbs to the app."""

    @app.command("prepare")
    def prepare_cmd(
        corpus: str = typer.Argument(..., help="Recipe name (see `serkit list corpora`)."),
        root: Path = typer.Argument(..., help="The corpus root folder."),
        output: Path = typer.Option(
            Path("manifests"), "-o", "--output", file_okay=False, help="Output folder."
        ),
        skip_bad: bool = typer.Option(False, "--skip-bad", help=SKIP_BAD_HELP),
        option: list[str] = typer.Option(
            [], "--set", help="Recipe option KEY=VALUE (e.g. channels=[speech])."
        ),
    ) -> None:
        """Prepare a corpus folder into OUTPUT/<corpus>.parquet (+ .csv) and print a summary."""
        from serkit import config, manifest
        from serkit.corpora import prepare

        started = time.perf_counter()
        df = prepare(corpus, root, output=output, skip_bad=skip_bad, **config.parse_pairs(option))
        elapsed = time.perf_counter() - started
        typer.echo(manifest.summary(df).format())
        report_problems(df.attrs.get("skipped", []), df.attrs.get("stray", []))
        name = df.attrs.get("corpus", corpus)
        typer.echo(f"wrote {output / (name + '.parquet')} ({len(df)} rows) in {elapsed:.1f} s")

    @app.command("info")
    def info_cmd(
        path: Path | None = typer.Argument(None, help="A manifest (.parquet or .csv)."),
        model: bool = typer.Option(
            False, "--model", help="Print the default model's card instead (data, licences, UAR)."
        ),
    ) -> None:
        """Print a manifest's summary: rows, hours, speakers, per-emotion and per-speaker counts
        (or, with --model, the card of the default model)."""
        from serkit import manifest

        if model:
            from serkit.pretrained import default_model_path, model_card

            typer.echo(model_card(), nl=False)
            typer.echo(f"\npackage: {default_model_path()}")
            return
        if path is None:
            raise typer.BadParameter("give a manifest PATH, or --model for the default model")

        df = manifest.read(path)
        typer.echo(f"manifest: {path}")
        root = manifest.root_of(df)
        if root is not None:
            typer.echo(f"root:     {root}")
        typer.echo(manifest.summary(df).format())
