"""Verb: ``serve`` (a trained model over HTTP: REST API, WebSocket stream and a web page).

The token comes from ``--token`` or the environment variable ``SERKIT_TOKEN`` (read here, at
the edge); binding anything but a loopback address without one is refused.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

from serkit.cli._common import TRUST_PICKLE_HELP

#: the environment variable holding the token when ``--token`` is not given
TOKEN_ENV = "SERKIT_TOKEN"


def register(app: typer.Typer) -> None:
    """Add the ``serve`` verb to the app."""

    @app.command("serve")
    def serve_cmd(
        model: Path | None = typer.Argument(
            None,
            help="A run folder (with model/), a model package or an exported .onnx file "
            "(default: the pretrained model shipped with serkit).",
        ),
        host: str = typer.Option(
            "127.0.0.1",
            "--host",
            help="Address to bind. Anything but loopback needs --token (or SERKIT_TOKEN).",
        ),
        port: int = typer.Option(8000, "--port", min=0, max=65535, help="TCP port."),
        token: str | None = typer.Option(
            None,
            "--token",
            help=f"Secret every request must carry as 'Authorization: Bearer <token>' "
            f"(default: the environment variable {TOKEN_ENV}).",
            show_default=False,
        ),
        workers: int = typer.Option(
            1, "--workers", min=1, help="Inference threads (requests predicted at once)."
        ),
        max_mb: float = typer.Option(
            50.0, "--max-mb", min=0.001, help="Largest upload, in megabytes."
        ),
        max_duration: float = typer.Option(
            600.0, "--max-duration", min=0.1, help="Longest audio per request, in seconds."
        ),
        queue: int = typer.Option(
            64, "--queue", min=0, help="Requests that may wait for a worker (more get 503)."
        ),
        trust_pickle: bool = typer.Option(False, "--trust-pickle", help=TRUST_PICKLE_HELP),
    ) -> None:
        """Serve a trained model: REST API, WebSocket stream and a web page at /."""
        from serkit.serve.security import is_loopback

        token = token if token is not None else os.environ.get(TOKEN_ENV) or None
        if token is not None and not token.strip():
            raise typer.BadParameter(
                "--token is empty; give a non-empty secret", param_hint="--token"
            )
        if token is None and not is_loopback(host):
            raise typer.BadParameter(
                f"{host!r} is reachable from other machines: a server there needs a token "
                f"that every request carries; pass --token SECRET (or set {TOKEN_ENV}), or "
                "bind 127.0.0.1",
                param_hint="--host",
            )
        predictor = load(model, trust_pickle=trust_pickle)
        from serkit.serve.limits import Limits
        from serkit.serve.server import serve

        limits = Limits(
            max_bytes=int(max_mb * 1024 * 1024), max_duration_s=max_duration, max_queue=queue
        )
        shown = f"[{host}]" if ":" in host else host
        typer.echo(
            f"serving {model or 'the default model'} ({', '.join(predictor.classes)}) on "
            f"http://{shown}:{port}/  ({workers} worker(s)"
            f"{', token required' if token else ''}; Ctrl-C stops)",
            err=True,
        )
        serve(predictor, host=host, port=port, token=token, limits=limits, workers=workers)


def load(model: Path | None, *, trust_pickle: bool = False):  # noqa: ANN201 -- a Predictor
    """The predictor of ``model``, or of the default pretrained model when none is given.

    Raises:
        ConfigError: no model given and this serkit ships no default model.
    """
    from serkit.inference import Predictor

    if model is not None:
        return Predictor.from_path(model, trust_pickle=trust_pickle)
    from serkit.errors import ConfigError

    try:
        from serkit.pretrained import default_model_path
    except ModuleNotFoundError as exc:
        if exc.name is None or not exc.name.startswith("serkit.pretrained"):
            raise
        raise ConfigError(
            "no default model is available in this serkit; give a run folder or model "
            "package to serve (e.g. train one with `serkit quickstart`, then serve "
            "demo/runs/demo_egemaps_svm)"
        ) from None
    return Predictor.from_path(default_model_path())
