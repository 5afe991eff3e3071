"""Verb: ``explain`` (which SpeechFlow component carries each predicted emotion)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the ``explain`` verb to the app."""

    @app.command("explain")
    def explain_cmd(
        source: Path = typer.Argument(
            ...,
            help="A run (or model package) trained on speechflow features, or a speechflow "
            "encoder package (then the mel change is measured).",
        ),
        audio_files: list[Path] = typer.Argument(
            None, help="Audio files or folders (or give --manifest)."
        ),
        manifest_path: Path = typer.Option(
            None,
            "--manifest",
            help="Explain these rows (their true emotions: a per-emotion summary).",
        ),
        condition: list[str] = typer.Option(
            None,
            "--condition",
            "-c",
            help="Removal condition(s) (default NR NF NC NU); repeatable or comma-separated.",
        ),
        limit: int = typer.Option(
            0,
            "--limit",
            min=0,
            help="With --manifest: at most this many rows, spread over emotions.",
        ),
        output: Path = typer.Option(
            None, "-o", "--output", file_okay=False, help="Write explain.csv and summary.csv here."
        ),
    ) -> None:
        """Per utterance, how the posterior of the predicted emotion changes under each removal.

        Negative: removing the component lowers the model's confidence in its emotion (the
        component carries it). The run's front end is applied with only its condition changed.
        """
        from serkit.atomic import atomic_write_text
        from serkit.explain import explain, explain_rows, pick_rows
        from serkit.inference import collect_audio

        conditions = [c.strip() for item in condition or [] for c in item.split(",") if c.strip()]
        if bool(audio_files) == bool(manifest_path):
            raise typer.BadParameter(
                "give audio files or --manifest (one of them)", param_hint="--manifest"
            )
        if manifest_path:
            from serkit import manifest as mf

            rows = pick_rows(mf.read(manifest_path), limit)
            result = explain_rows(source, rows, conditions=conditions or None)
        else:
            result = explain(source, collect_audio(audio_files), conditions=conditions or None)
        what = "posterior of the predicted class" if result.measure == "posterior" else "mel"
        typer.echo(
            f"{len(result.table)} utterance(s); change of the {what} under each removal "
            f"(against {result.reference}, x100):"
        )
        summary = result.summary()
        shown = summary.copy()
        for c in result.conditions:
            shown[c] = (100 * shown[c]).map(lambda v: f"{v:+.1f}")
        typer.echo(shown.to_string())
        if output is not None:
            atomic_write_text(output / "explain.csv", result.table.to_csv(index=False))
            atomic_write_text(output / "summary.csv", summary.to_csv())
            typer.echo(f"wrote {output / 'explain.csv'} and {output / 'summary.csv'}")
