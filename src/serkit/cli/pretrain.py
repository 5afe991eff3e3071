"""Verb: ``pretrain`` (train an encoder family into an encoder package)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the ``pretrain`` verb to the app."""

    @app.command("pretrain")
    def pretrain_cmd(
        config: Path = typer.Argument(..., help="Pretrain YAML (see configs/pretrain/)."),
        overrides: list[str] = typer.Argument(
            None, help="Overrides KEY=VALUE, e.g. training.epochs=5 encoder.params.beta=4."
        ),
        output: Path = typer.Option(
            None, "-o", "--output", file_okay=False, help="Parent folder of the run."
        ),
        overwrite: bool = typer.Option(
            False, "--overwrite", help="Discard an existing run folder of the same name."
        ),
        dry_run: bool = typer.Option(
            False,
            "--dry-run",
            help="Validate the config, check the run folder, load and split the rows; "
            "extract and train nothing.",
        ),
    ) -> None:
        """Pretrain an encoder on manifest rows: runs/<name>/encoder/ (+ report).

        Use the package as features with `features: {name: encoder, params: {path:
        runs/<name>}}`. With `folds:` one encoder is trained per fold. A killed pretrain
        resumes after its last finished epoch when started again.
        """
        from serkit.encoders.config import load_pretrain_config
        from serkit.encoders.pretrain import plan, pretrain

        cfg = load_pretrain_config(config, tuple(overrides or ()))
        if dry_run:
            info = plan(cfg, output, overwrite=overwrite)
            typer.echo(f"config ok: {cfg['name']} (fingerprint {info['fingerprint']})")
            typer.echo(f"rows: {info['rows']}, speakers: {info['speakers']}")
            for fold in info["folds"]:
                typer.echo(
                    f"encoder {fold['fold']}: {fold['train']} rows, {fold['speakers']} speakers"
                )
            return
        run_dir = pretrain(
            cfg,
            output,
            overwrite=overwrite,
            log=typer.echo,
            command=" ".join(["serkit", *sys.argv[1:]]),
            progress=True,
        )
        typer.echo(f"run folder: {run_dir}")
        typer.echo(f"report: {run_dir / 'report.html'}")
