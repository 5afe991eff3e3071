"""Verbs: ``train`` (run an experiment), ``evaluate`` (recompute metrics), ``compare`` (runs),
``fuse`` (late fusion of finished runs)."""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path

import typer

from serkit.report import headline


class Bootstrap(StrEnum):
    """``--bootstrap``: the resampling unit of the 95 % intervals."""

    speaker = "speaker"
    row = "row"


BOOTSTRAP_OPTION = typer.Option(
    None,
    "--bootstrap",
    help="Interval method: resample test speakers (with all their rows) or rows; "
    "default: the run's config (bootstrap.method).",
)


def _echo_run(run_dir: Path) -> None:
    """The headline of a finished run folder, its path and its report's."""
    import json

    typer.echo(headline(json.loads((run_dir / "metrics.json").read_text())))
    typer.echo(f"run folder: {run_dir}")
    typer.echo(f"report: {run_dir / 'report.html'}")


def _train_recipe(
    spec: dict,
    output: Path | None,
    overwrite: bool,
    dry_run: bool,
    print_config: bool,
) -> None:
    """``serkit train RECIPE``: train the members of a fusion recipe, then fuse them."""
    import yaml

    from serkit import experiment
    from serkit.experiment import recipe

    if print_config:
        typer.echo(yaml.safe_dump(spec, sort_keys=False).rstrip())
        return
    if dry_run:
        for cfg in recipe.member_configs(spec):
            info = experiment.plan(cfg, output, overwrite=overwrite)
            typer.echo(f"member ok: {cfg['name']} (fingerprint {info['fingerprint']})")
            typer.echo("  " + info["certification"]["statement"])
        typer.echo(f"weights: {spec['weights']}")
        return
    run_dir = recipe.run_recipe(
        spec,
        output,
        overwrite=overwrite,
        log=typer.echo,
        command=" ".join(["serkit", *sys.argv[1:]]),
        progress=True,
    )
    _echo_run(run_dir)


def register(app: typer.Typer) -> None:
    """Add the experiment verbs to the app."""

    @app.command("train")
    def train_cmd(
        config: Path = typer.Argument(..., help="Experiment YAML (see configs/)."),
        overrides: list[str] = typer.Argument(
            None, help="Overrides KEY=VALUE, e.g. model.params.C=10 seeds=[0,1,2]."
        ),
        output: Path = typer.Option(
            None,
            "-o",
            "--output",
            file_okay=False,
            help="Parent folder of the run (default: config `output`).",
        ),
        overwrite: bool = typer.Option(
            False, "--overwrite", help="Discard an existing run folder of the same name."
        ),
        dry_run: bool = typer.Option(
            False,
            "--dry-run",
            help="Validate (every model and protocol parameter too), check the output paths "
            "and run folder, split and certify the folds; extract and train nothing.",
        ),
        print_config: bool = typer.Option(
            False, "--print-config", help="Print the resolved config and exit."
        ),
    ) -> None:
        """Run an experiment: features, certified folds, predictions, metrics, report, model.

        A config with a `fuse` section is a fusion recipe: its member configs are trained on
        the recipe's protocol and their posteriors fused (see `serkit fuse`).

        Relative paths in the config resolve against the current directory. A run that was
        interrupted resumes at the first unfinished fold (neural models: after its last
        finished epoch) when started again. Neural models train on several processes with
        `torchrun --standalone --nproc_per_node=2 -m serkit train CONFIG` (DDP).
        """
        import json

        import yaml

        from serkit import experiment
        from serkit.config import load
        from serkit.experiment import recipe

        raw = load(config, tuple(overrides or ()))  # the YAML is read once, here
        if recipe.is_recipe(raw):
            spec = recipe.check_recipe(raw, config)
            _train_recipe(spec, output, overwrite, dry_run, print_config)
            return
        cfg = experiment.validate_config(raw)
        if print_config:
            typer.echo(yaml.safe_dump(cfg, sort_keys=False).rstrip())
            return
        if dry_run:
            info = experiment.plan(cfg, output, overwrite=overwrite)
            typer.echo(f"config ok: {cfg['name']} (fingerprint {info['fingerprint']})")
            typer.echo(f"rows: {info['rows']}, speakers: {info['speakers']}")
            typer.echo("classes: " + json.dumps(info["per_class"]))
            for seed, folds in info["folds"].items():
                sizes = ", ".join(f"{f['fold']} {f['train']}/{f['test']}" for f in folds[:8])
                more = f", ... ({len(folds)} folds)" if len(folds) > 8 else ""
                typer.echo(f"seed {seed}: train/test {sizes}{more}")
            typer.echo(info["certification"]["statement"])
            return
        run_dir = experiment.run(
            cfg,
            output,
            overwrite=overwrite,
            log=typer.echo,
            command=" ".join(["serkit", *sys.argv[1:]]),
            progress=True,
        )
        if os.environ.get("RANK", "0") != "0":  # torchrun: rank 0 reports for all
            return
        _echo_run(run_dir)

    @app.command("evaluate")
    def evaluate_cmd(
        run: Path = typer.Argument(..., help="A run folder (runs/<name>)."),
        no_write: bool = typer.Option(
            False, "--no-write", help="Do not rewrite metrics.json and the report."
        ),
        bootstrap: Bootstrap = BOOTSTRAP_OPTION,
    ) -> None:
        """Recompute metrics.json (and the report) of a run from its predictions.parquet."""
        from serkit import experiment

        metrics = experiment.evaluate(
            run, write=not no_write, method=bootstrap.value if bootstrap else None
        )
        typer.echo(f"{run}: {metrics['n_predictions']} predictions, {metrics['n_folds']} folds")
        typer.echo(headline(metrics))
        recall = metrics["pooled"]["per_class_recall"]
        typer.echo(
            "per-class recall %: "
            + ", ".join(f"{c} {'-' if r is None else f'{100 * r:.1f}'}" for c, r in recall.items())
        )
        if not no_write:
            typer.echo(f"wrote {run / 'metrics.json'}, report.md, report.html")

    @app.command("compare")
    def compare_cmd(
        runs: list[Path] = typer.Argument(..., help="Run folders to put side by side."),
        markdown: bool = typer.Option(False, "--markdown", help="Print a Markdown table."),
        bootstrap: Bootstrap = BOOTSTRAP_OPTION,
    ) -> None:
        """Side-by-side table of runs: features, model, protocol, folds, UAR/WA/macro-F1."""
        from serkit import experiment

        rows = experiment.compare(runs, method=bootstrap.value if bootstrap else None)
        typer.echo(experiment.format_compare(rows, markdown=markdown))

    @app.command("fuse")
    def fuse_cmd(
        runs: list[Path] = typer.Argument(..., help="Finished run folders with the same folds."),
        output: Path = typer.Option(
            ..., "-o", "--output", file_okay=False, help="The fused run folder to write."
        ),
        weight: list[float] = typer.Option(
            None,
            "--weight",
            help="One weight per run, in order (repeat the option); default: equal weights. "
            "Fix them in advance or on validation speakers, never on these runs' test folds.",
        ),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing OUTPUT."),
    ) -> None:
        """Late fusion: weighted mean of the runs' log-posteriors (each run's seeds averaged
        first), written as a run folder that evaluate / compare / report read.

        The runs must have predicted the same rows in the same test folds (same data, label
        set, protocol and protocol seed); this is checked row by row. One run of several seeds
        alone gives its seed ensemble.
        """
        from serkit.experiment.fuse import describe, fuse_runs

        run_dir = fuse_runs(
            runs,
            output,
            weights=weight or None,
            overwrite=overwrite,
            command=" ".join(["serkit", *sys.argv[1:]]),
        )
        typer.echo(describe(run_dir))
        _echo_run(run_dir)
