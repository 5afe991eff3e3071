"""Verb: ``demo-corpus`` (write the synthetic RAVDESS-named demo corpus)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the ``demo-corpus`` verb to the app."""

    @app.command("demo-corpus")
    def demo_corpus_cmd(
        directory: Path = typer.Argument(..., file_okay=False, help="Output folder of the corpus."),
        speakers: int = typer.Option(6, "--speakers", help="Actors, 1-99 (odd male, even female)."),
        sentences: int = typer.Option(2, "--sentences", help="Statements, 1 or 2."),
        repetitions: int = typer.Option(2, "--repetitions", help="Repetitions of each item."),
        emotions: str = typer.Option(
            "neutral,happy,sad,angry,fearful",
            "--emotions",
            help="Comma-separated, from neutral, calm, happy, sad, angry, fearful.",
        ),
        seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same bytes)."),
        sample_rate: int = typer.Option(16000, "--sample-rate", help="Sample rate in Hz."),
    ) -> None:
        """Write a small synthetic emotional speech corpus readable by `serkit prepare ravdess`."""
        from serkit.demo import make_corpus

        names = tuple(name.strip() for name in emotions.split(",") if name.strip())
        try:
            result = make_corpus(
                directory,
                speakers=speakers,
                sentences=sentences,
                repetitions=repetitions,
                emotions=names,
                seed=seed,
                sample_rate=sample_rate,
            )
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc
        typer.echo(result.format())
        typer.echo(f"next: serkit prepare ravdess {directory}")
