"""Verbs: ``analyze fisher`` (Fisher-ratio analysis of the synthetic sets saved by runs)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the ``analyze`` sub-app (fisher) to the app."""
    analyze_app = typer.Typer(
        name="analyze",
        help="Analyses of finished runs (e.g. synthetic vs real feature distributions).",
        no_args_is_help=True,
        context_settings={"help_option_names": ["-h", "--help"], "show_default": True},
    )

    @analyze_app.command("fisher")
    def fisher_cmd(
        runs: list[Path] = typer.Argument(
            ...,
            metavar="RUN_DIR",
            help="Run folder(s) trained with augment.save: true; several = a sweep "
            "(e.g. over lambda_cls), one column per run.",
        ),
        output: Path = typer.Option(
            None,
            "-o",
            "--output",
            help="Folder for the files (default: analysis/fisher inside the first RUN_DIR).",
        ),
    ) -> None:
        """Fisher discriminant ratios between source, real and synthetic sets, per emotion and
        between emotions: heat-maps, a mean +- std plot and a Markdown/CSV table."""
        from serkit.augment.analysis import analyze_fisher

        written = analyze_fisher(list(runs), output)
        table = next(p for p in written if p.suffix == ".md")
        typer.echo(table.read_text())
        typer.echo(f"wrote {len(written)} files to {written[0].parent}")

    app.add_typer(analyze_app, name="analyze")
