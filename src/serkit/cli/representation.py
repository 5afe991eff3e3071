"""Verbs of the representation seed's outputs: ``hdf5`` (the seed's HDF5 store of a RAVDESS
manifest), ``latents`` (UMAP / t-SNE plots of an encoder's embeddings) and ``listen``
(reconstructions and latent traversals of an encoder rendered back to audio)."""

from __future__ import annotations

import warnings
from pathlib import Path

import typer

from serkit.cli._common import SKIP_BAD_HELP, report_problems

_ENCODER_HELP = "An encoder package folder or a `serkit pretrain` run folder (runs/<name>/)."
_FOLD_HELP = "Which encoder of a per-fold pretrain run (encoder/<fold>/)."


def register(app: typer.Typer) -> None:
    """Add the ``hdf5``, ``latents`` and ``listen`` verbs to the app."""

    @app.command("hdf5")
    def hdf5_cmd(
        manifest_path: Path = typer.Argument(..., help="A RAVDESS manifest (serkit prepare)."),
        output: Path = typer.Option(..., "-o", "--output", dir_okay=False, help="The .h5 file."),
        features: str = typer.Option(
            None, "--features", help="Also store these features per utterance (e.g. logmel)."
        ),
        option: list[str] = typer.Option(
            [], "--set", help="Feature parameter KEY=VALUE (e.g. n_mels=80); repeatable."
        ),
        preset: str = typer.Option(None, "--preset", help="Named feature preset."),
        waveform: bool = typer.Option(
            True, "--waveform/--no-waveform", help="Store the waveform (dataset wav)."
        ),
        sample_rate: int = typer.Option(
            16000, "--sample-rate", min=0, help="Rate of the stored waveform (0: the file's)."
        ),
        channel: str = typer.Option(
            None, "--channel", help="Keep one vocal channel: speech or song (column mode)."
        ),
        skip_bad: bool = typer.Option(False, "--skip-bad", help=SKIP_BAD_HELP),
    ) -> None:
        """Write the seed's HDF5 store: statement_SS/Actor_AA/emotion_EE/intensity_II/repete_RR."""
        from serkit import config
        from serkit import manifest as mf
        from serkit.encoders.hdf5 import write_hdf5
        from serkit.errors import SerkitError
        from serkit.features import get_extractor

        if (option or preset) and not features:
            raise typer.BadParameter("--set/--preset need --features NAME", param_hint="--set")
        if not waveform and not features:
            raise typer.BadParameter(
                "--no-waveform leaves nothing to store; add --features NAME",
                param_hint="--no-waveform",
            )
        df = mf.read(manifest_path)
        extractor = None
        if features:
            params = config.parse_pairs(option)
            if preset:
                params["preset"] = preset
            extractor = get_extractor(features, **params)
        try:
            summary = write_hdf5(
                df,
                output,
                features=extractor,
                waveform=waveform,
                sample_rate=sample_rate or None,
                channel=channel,
                skip_bad=skip_bad,
            )
        except SerkitError as exc:
            if exc.hint is not None and exc.hint.option == "channel":
                exc.args = (f"{exc.message}; pass --channel speech (or song)",)
                exc.hint = None
            raise
        typer.echo(summary.format())
        report_problems(summary.skipped)

    @app.command("latents")
    def latents_cmd(
        encoder: Path = typer.Argument(..., help=_ENCODER_HELP),
        manifest_path: Path = typer.Argument(..., help="The rows to embed and plot."),
        output: Path = typer.Option(..., "-o", "--output", file_okay=False, help="PNG folder."),
        layer: str = typer.Option(None, "--layer", help="The family's layer (default: first)."),
        method: str = typer.Option("both", "--method", help="umap, tsne or both."),
        store: Path = typer.Option(
            None, "--store", file_okay=False, help="Feature store (default: OUTPUT/store)."
        ),
        fold: str = typer.Option(None, "--fold", help=_FOLD_HELP),
        seed: int = typer.Option(0, "--seed", help="Seed of both projections."),
        skip_bad: bool = typer.Option(False, "--skip-bad", help=SKIP_BAD_HELP),
    ) -> None:
        """Plot an encoder's embeddings of manifest rows (UMAP / t-SNE, PNG per colouring)."""
        from serkit import manifest as mf
        from serkit.encoders.plots import latent_plots, manifest_latents

        methods = {"both": ("umap", "tsne"), "umap": ("umap",), "tsne": ("tsne",)}
        if method not in methods:
            raise typer.BadParameter(
                f"{method!r}; expected umap, tsne or both", param_hint="--method"
            )
        df = mf.read(manifest_path)
        X, meta, skipped = manifest_latents(
            encoder,
            df,
            store or output / "store",
            layer=layer,
            fold=fold,
            skip_bad=skip_bad,
            progress=True,
        )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            paths = latent_plots(X, meta, output, methods=methods[method], seed=seed)
        for warning in caught:
            typer.secho(f"warning: {warning.message}", err=True, fg=typer.colors.YELLOW)
        typer.echo(f"{len(X)} embeddings ({X.shape[1]}-d): wrote {len(paths)} plot(s) to {output}")
        for path in paths:
            typer.echo(f"  {path}")
        report_problems(skipped)

    @app.command("listen")
    def listen_cmd(
        encoder: Path = typer.Argument(..., help=_ENCODER_HELP),
        audio_files: list[Path] = typer.Argument(..., help="Audio files to render."),
        output: Path = typer.Option(..., "-o", "--output", file_okay=False, help="WAV folder."),
        traverse: int = typer.Option(
            None, "--traverse", min=0, help="Move this latent dimension (0-based)."
        ),
        direction: str = typer.Option(
            None,
            "--direction",
            help="Move along mean(TO) - mean(FROM) latents of two emotions, FROM:TO (e.g. "
            "neutral:angry); needs --manifest.",
        ),
        manifest_path: Path = typer.Option(
            None, "--manifest", help="Rows whose latents define --direction."
        ),
        steps: int = typer.Option(5, "--steps", min=1, help="Traversal steps."),
        span: float = typer.Option(2.0, "--span", min=0.0, help="Steps go from -SPAN to +SPAN."),
        n_iter: int = typer.Option(64, "--n-iter", min=1, help="Griffin-Lim iterations."),
        fold: str = typer.Option(None, "--fold", help=_FOLD_HELP),
    ) -> None:
        """Render reconstructions (and latent traversals) of an autoencoder to WAV + PNG."""
        from serkit.encoders.listen import listen, manifest_direction
        from serkit.encoders.package import load_encoder

        if traverse is not None and direction:
            raise typer.BadParameter(
                "give --traverse or --direction, not both", param_hint="--direction"
            )
        if bool(direction) != bool(manifest_path):
            raise typer.BadParameter(
                "--direction FROM:TO and --manifest go together", param_hint="--direction"
            )
        package = load_encoder(encoder, fold=fold)
        vector, name = None, "direction"
        if direction:
            source, sep, target = direction.partition(":")
            if not sep or not source or not target:
                raise typer.BadParameter(
                    f"{direction!r}; expected FROM:TO, e.g. neutral:angry",
                    param_hint="--direction",
                )
            from serkit import manifest as mf

            vector = manifest_direction(package, mf.read(manifest_path), source, target)
            name = f"{source}-{target}"
        result = listen(
            package,
            list(audio_files),
            output,
            dim=traverse,
            direction=vector,
            direction_name=name,
            steps=steps,
            span=span,
            n_iter=n_iter,
        )
        wavs = [p for p in result.files if p.suffix == ".wav"]
        typer.echo(
            f"wrote {len(wavs)} WAV file(s) with spectrograms for {len(audio_files)} input(s) "
            f"to {output} (index {result.index})"
        )
