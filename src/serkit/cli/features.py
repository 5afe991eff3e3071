"""Verb: ``features`` (extract into the feature store, or merge shard outputs)."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import typer

from serkit.cli._common import SKIP_BAD_HELP, report_problems


def register(app: typer.Typer) -> None:
    """Add the ``features`` verb to the app."""

    @app.command("features")
    def features_cmd(
        manifest_path: Path = typer.Argument(..., help="A manifest (.parquet or .csv)."),
        extractor: str = typer.Option(
            ..., "-e", "--extractor", help="Extractor name (see `serkit list extractors`)."
        ),
        option: list[str] = typer.Option(
            [], "--set", help="Extractor parameter KEY=VALUE (e.g. n_mels=40); repeatable."
        ),
        preset: str = typer.Option(None, "--preset", help="Named preset (e.g. acrnn, dcnn)."),
        store: Path = typer.Option(
            Path("features"), "--store", file_okay=False, help="Feature store folder."
        ),
        workers: int = typer.Option(1, "-j", "--workers", min=1, help="Worker processes."),
        shard: str = typer.Option(
            None, "--shard", help="Compute only shard I/N (0-based, e.g. 0/4); join with --merge."
        ),
        merge: bool = typer.Option(
            False, "--merge", help="Join the outputs of finished --shard jobs instead."
        ),
        skip_bad: bool = typer.Option(False, "--skip-bad", help=SKIP_BAD_HELP),
        chunk_size: int = typer.Option(64, "--chunk-size", min=1, help="Rows per committed chunk."),
        progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar."),
        vad: str = typer.Option(
            None,
            "--vad",
            help="Trim silence before extracting: silero or energy (features go to their own "
            "store folder; pass the same --vad to load or --merge them).",
        ),
        vad_option: list[str] = typer.Option(
            [],
            "--vad-set",
            help="VAD parameter KEY=VALUE (threshold, energy_threshold_db, min_speech_ms, "
            "min_silence_ms, pad_ms); repeatable; needs --vad.",
        ),
    ) -> None:
        """Extract features of every manifest row into the store (cached rows are skipped)."""
        from serkit import config, features
        from serkit import manifest as mf
        from serkit.features.extract import parse_shard
        from serkit.features.vad import VadTrim
        from serkit.features.workers import ExtractionInterrupted

        if vad_option and not vad:
            raise typer.BadParameter("--vad-set needs --vad silero|energy", param_hint="--vad-set")
        if merge and shard:
            raise typer.BadParameter(
                f"--merge joins the shards of finished --shard jobs; drop --shard {shard}",
                param_hint="--merge",
            )
        parse_shard(shard)  # a malformed I/N stops here, before any work
        trim = VadTrim.from_dict({**config.parse_pairs(vad_option), "method": vad}) if vad else None

        started = time.perf_counter()
        df = mf.read(manifest_path)
        params = config.parse_pairs(option)
        if preset:
            params["preset"] = preset
        ex = features.get_extractor(extractor, **params)
        if merge:
            summary = features.merge(df, ex, store, vad=trim)
        else:
            try:
                summary = features.extract(
                    df,
                    ex,
                    store,
                    workers=workers,
                    shard=shard,
                    skip_bad=skip_bad,
                    progress=progress,
                    chunk_size=chunk_size,
                    vad=trim,
                )
            except ExtractionInterrupted as exc:  # SIGTERM: say so, exit as killed by it
                typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
                raise typer.Exit(128 + signal.SIGTERM) from None
        summary.seconds = time.perf_counter() - started
        _report_repairs(summary.repaired)
        typer.echo(summary.format())
        report_problems(summary.skipped)


def _report_repairs(notes: list[str], *, limit: int = 20) -> None:
    """Print what the store repair found damaged (and did about it) to stderr."""
    if not notes:
        return
    typer.secho(
        f"the store folder was damaged; {len(notes)} problem(s) repaired:",
        err=True,
        fg=typer.colors.YELLOW,
    )
    for note in notes[:limit]:
        typer.echo(f"  {note}", err=True)
    if len(notes) > limit:
        typer.echo(f"  ... and {len(notes) - limit} more", err=True)
