"""Verb: ``quickstart`` (the main job end to end on the synthetic demo corpus)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the ``quickstart`` verb to the app."""

    @app.command("quickstart")
    def quickstart_cmd(
        folder: Path = typer.Argument(
            Path("demo"), file_okay=False, help="Where everything is written."
        ),
        features: str = typer.Option("egemaps", "--features", help="Extractor name."),
        model: str = typer.Option("svm", "--model", help="Model name."),
        workers: int = typer.Option(1, "--workers", min=1, help="Feature-extraction processes."),
    ) -> None:
        """Demo corpus -> prepare -> features -> train (leave one speaker out) -> report ->
        predict, printing where each output is."""
        from serkit.quickstart import quickstart

        quickstart(
            folder,
            features={"name": features, "params": {}},
            model={"name": model, "params": {}},
            workers=workers,
            log=typer.echo,
        )
