"""Verb group: ``study`` (studies made of ordinary runs; ``study decomposition CONFIG``)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the ``study`` verb group to the app."""
    study = typer.Typer(
        help="Studies made of ordinary, certified runs (seed 000: SpeechFlow decomposition).",
        no_args_is_help=True,
    )
    app.add_typer(study, name="study")

    @study.command("decomposition")
    def decomposition_cmd(
        config: Path = typer.Argument(..., help="Study YAML (see configs/studies/)."),
        overrides: list[str] = typer.Argument(
            None, help="Overrides KEY=VALUE, e.g. conditions=[REC,NR] model.params.epochs=2."
        ),
        output: Path = typer.Option(
            None, "-o", "--output", file_okay=False, help="Parent folder (default: `output`)."
        ),
        scope: list[str] = typer.Option(
            None, "--scope", help="Run only this scope (a corpus, or TRAIN_to_TEST); repeatable."
        ),
        overwrite: bool = typer.Option(
            False, "--overwrite", help="Discard the cells' existing run folders first."
        ),
        dry_run: bool = typer.Option(
            False,
            "--dry-run",
            help="Validate the study and every cell's experiment config; run nothing.",
        ),
    ) -> None:
        """Train and test the model on every SpeechFlow condition, inside corpora and across.

        Every cell is an ordinary run under OUTPUT/<name>/runs/ (it resumes when started
        again); the table, the UAR plot and the explanations go into OUTPUT/<name>/report.*.
        """
        from serkit.study.config import load_study
        from serkit.study.decomposition import cells, run_study

        cfg = load_study(config, tuple(overrides or ()))
        if dry_run:
            todo = cells(cfg, output)
            typer.echo(f"config ok: {cfg['name']}, {len(todo)} cells")
            for cell in todo:
                typer.echo(f"  {cell.name} ({cell.kind})")
            return
        folder = run_study(
            cfg, output, overwrite=overwrite, log=typer.echo, progress=True, only=scope or None
        )
        typer.echo(f"study folder: {folder}")
        typer.echo(f"report: {folder / 'report.html'}")
