"""Verb: ``predict`` (audio files or folders -> labels and probabilities).

An input too short or too silent to analyse gets a row with no label and ``status``
``unanalysable: <why>``; the exit status stays 0 unless no input at all was analysable.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    import pandas as pd

from serkit.cli._common import SKIP_BAD_HELP, TRUST_PICKLE_HELP, report_problems

FORMATS = ("table", "json", "csv", "srt")


def register(app: typer.Typer) -> None:
    """Add the ``predict`` verb to the app."""

    @app.command("predict")
    def predict_cmd(
        model: Path | None = typer.Argument(
            None,
            help="A run folder (with model/), a model package or an exported .onnx file; "
            "leave it out (give only audio) to use serkit's default model (`serkit info --model`).",
        ),
        inputs: list[Path] = typer.Argument(
            None,
            help="Audio files and/or folders (searched recursively); a model trained with "
            "features.normalize: corpus z-scores them together, as one corpus.",
        ),
        manifest: Path | None = typer.Option(
            None,
            "--manifest",
            help="Predict the rows of this manifest instead (its speaker / corpus column "
            "groups per-speaker / per-corpus normalisation; start/end cut segments).",
        ),
        speaker: str | None = typer.Option(
            None,
            "--speaker",
            help="The speaker of every input file (models trained with features.normalize: "
            "speaker need it; their statistics come from these files).",
        ),
        fmt: str = typer.Option(
            "table", "--format", help=f"One of: {', '.join(FORMATS)} (srt needs --segment)."
        ),
        segment: str = typer.Option(
            "none",
            "--segment",
            help="Cut each file into segments and predict each, with start/end times and a "
            "whole-file decision: vad (speech segments), window (fixed windows, see --window, "
            "--hop) or none (one prediction per file, the default). Files are read in blocks.",
        ),
        window: float = typer.Option(3.0, "--window", help="Window in s (--segment window)."),
        hop: float = typer.Option(1.5, "--hop", help="Window step in s (--segment window)."),
        output: Path | None = typer.Option(
            None, "-o", "--output", dir_okay=False, help="Write here instead of standard output."
        ),
        skip_bad: bool = typer.Option(False, "--skip-bad", help=SKIP_BAD_HELP),
        batch_size: int = typer.Option(16, "--batch-size", min=1, help="Files per batch."),
        progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar."),
        trust_pickle: bool = typer.Option(False, "--trust-pickle", help=TRUST_PICKLE_HELP),
    ) -> None:
        """Predict the emotion of audio files with a trained model."""
        from serkit.cli._predict_long import model_and_inputs, predict_segments
        from serkit.inference import predict

        model, inputs = model_and_inputs(model, list(inputs or []), manifest is not None)
        if segment != "none":
            predict_segments(model, inputs, manifest, speaker, segment, window, hop, fmt, output)
            return
        if fmt == "srt":
            raise typer.BadParameter("--format srt needs --segment vad or --segment window")
        if fmt not in FORMATS:
            raise typer.BadParameter(f"expected one of {', '.join(FORMATS)}, got {fmt!r}")
        if bool(inputs) == (manifest is not None):
            raise typer.BadParameter("give audio INPUTS or --manifest FILE (exactly one)")
        if manifest is not None and speaker is not None:
            raise typer.BadParameter("--speaker applies to audio INPUTS; a manifest has its own")
        if inputs:
            from serkit.audio import AUDIO_EXTENSIONS
            from serkit.errors import AudioError
            from serkit.inference import collect_audio

            if not collect_audio(inputs):  # folders without audio: say so, not "Empty DataFrame"
                raise AudioError(
                    f"no audio file in {', '.join(map(str, inputs))} (folders are searched "
                    f"recursively for {', '.join(AUDIO_EXTENSIONS)}); give audio files or "
                    "folders that hold them"
                )
        rows = None
        if manifest is not None:
            from serkit import manifest as mf

            rows = mf.read(manifest)
        df = predict(
            model,
            inputs or (),
            manifest=rows,
            speaker=speaker,
            batch_size=batch_size,
            skip_bad=skip_bad,
            progress=progress and sys.stderr.isatty(),
            trust_pickle=trust_pickle,
        )
        if fmt == "json":  # unanalysable rows: label and probabilities null (JSON has no NaN)
            records = [
                {k: None if isinstance(v, float) and v != v else v for k, v in record.items()}
                for record in df.to_dict(orient="records")
            ]
            text = json.dumps(records, indent=2, allow_nan=False) + "\n"
        elif fmt == "csv":
            text = df.to_csv(index=False)
        else:
            text = df.to_string(index=False, float_format=lambda v: f"{v:.3f}") + "\n"
        if output is not None:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(text)
            typer.echo(f"wrote {len(df)} prediction(s) to {output}", err=True)
        else:
            typer.echo(text, nl=False)
        report_problems(df.attrs.get("skipped", []))
        report_unanalysable(df)


def report_unanalysable(df: pd.DataFrame) -> None:
    """Count the unanalysable rows on stderr; none analysable at all is an error (exit 2).

    Raises:
        FeatureError: every predicted row is unanalysable (there is no label to use).
    """
    from serkit.features.base import FeatureError

    bad = df[df["status"] != "ok"] if "status" in df.columns else df.iloc[:0]
    if bad.empty:
        return
    typer.secho(
        f"{len(bad)} of {len(df)} input(s) unanalysable (no label; see the status column)",
        err=True,
        fg=typer.colors.YELLOW,
    )
    if len(bad) == len(df):
        first = bad.iloc[0]
        raise FeatureError(
            f"none of the {len(df)} input(s) could be analysed, e.g. {first['path']}: "
            f"{first['status']}; give longer or louder audio"
        )
