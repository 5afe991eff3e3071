"""Verb: ``decompose`` (SpeechFlow re-synthesis of files with components removed, to listen)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the ``decompose`` verb to the app."""

    @app.command("decompose")
    def decompose_cmd(
        encoder: Path = typer.Argument(
            ..., help="A speechflow encoder package or its `serkit pretrain` run folder."
        ),
        audio_files: list[Path] = typer.Argument(..., help="Audio files to decompose."),
        output: Path = typer.Option(..., "-o", "--output", file_okay=False, help="Output folder."),
        condition: list[str] = typer.Option(
            ["REC"],
            "--condition",
            "-c",
            help="Removal condition (REC NR NF NC NU NRF NRC NFC NRFC); repeatable, or "
            "comma-separated (NR,NF).",
        ),
        swap: str = typer.Option(
            None,
            "--swap",
            help="Feed these component(s) from --swap-with (rhythm, pitch, content, timbre; "
            "several joined with +).",
        ),
        swap_with: Path = typer.Option(
            None, "--swap-with", dir_okay=False, help="The audio file --swap takes them from."
        ),
        n_iter: int = typer.Option(64, "--n-iter", min=1, help="Griffin-Lim iterations."),
        fold: str = typer.Option(None, "--fold", help="Which package of a per-fold pretrain run."),
    ) -> None:
        """Write decomposed mels (npy + PNG) and Griffin-Lim audio (WAV) per file and condition.

        Per input: DIR/<stem>/input.* (its own SpeechFlow mel) and DIR/<stem>/<CONDITION>.*;
        DIR/decompose.json lists them.
        """
        from serkit.study.decompose import decompose_files

        if bool(swap) != bool(swap_with):
            raise typer.BadParameter(
                "--swap COMPONENT and --swap-with FILE go together", param_hint="--swap"
            )
        conditions = [c.strip() for item in condition for c in item.split(",") if c.strip()]
        result = decompose_files(
            encoder,
            list(audio_files),
            output,
            conditions=conditions,
            swap=swap or "",
            swap_with=swap_with,
            fold=fold or "",
            n_iter=n_iter,
        )
        wavs = [p for p in result.files if p.suffix == ".wav"]
        typer.echo(
            f"wrote {len(wavs)} WAV file(s) with mels (npy) and spectrograms (PNG) for "
            f"{len(audio_files)} input(s), conditions {', '.join(conditions)}, to {output} "
            f"(index {result.index})"
        )
