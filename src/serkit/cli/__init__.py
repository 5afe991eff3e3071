"""The ``serkit`` command: thin verbs over the public Python API.

Each sub-module owns a few verbs and exposes ``register(app)``; the command bodies only parse
arguments, call one library function and print its result.
"""

from __future__ import annotations

import importlib

import typer

from serkit import __version__

app = typer.Typer(
    name="serkit",
    help="Speech emotion recognition toolkit: prepare corpora, extract features, train and "
    "evaluate speaker-independently, predict and export.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"], "show_default": True},
    pretty_exceptions_enable=False,
    add_completion=False,
)

_VERB_MODULES = (
    "corpus",
    "listing",
    "audio",
    "demo",
    "features",
    "experiment",
    "predict",
    "export",
    "quickstart",
    "pretrain",
    "representation",
    "decompose",
    "study",
    "explain",
    "analyze",
    "serve",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"serkit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Speech emotion recognition toolkit."""


for _name in _VERB_MODULES:
    try:
        _module = importlib.import_module(f"serkit.cli.{_name}")
    except ModuleNotFoundError as _exc:  # a verb module not written yet
        if _exc.name != f"serkit.cli.{_name}":
            raise
        continue
    _module.register(app)


def main() -> None:
    """Entry point of the ``serkit`` console script.

    Bad input ends in one ``error: ...`` paragraph and a non-zero exit; a bug shows its
    traceback (see :mod:`serkit.cli._errors`).
    """
    from serkit.cli._errors import run

    code = run(app)
    if code:
        raise SystemExit(code)
