"""Verb: ``list`` (corpora, label sets, extractors, models, nets, protocols, encoders,
augmenters)."""

from __future__ import annotations

import importlib

import typer

# what -> (module, function returning names)
_LISTS = {
    "corpora": ("serkit.corpora", "list_corpora"),
    "label-sets": ("serkit.corpora.labels", "list_label_sets"),
    "extractors": ("serkit.features", "list_extractors"),
    "models": ("serkit.models", "list_models"),
    "nets": ("serkit.models.nets", "list_nets"),
    "protocols": ("serkit.protocols", "list_protocols"),
    "encoders": ("serkit.encoders", "list_encoders"),
    "augmenters": ("serkit.augment", "list_augmenters"),
}


def register(app: typer.Typer) -> None:
    """Add the ``list`` verb to the app."""

    @app.command("list")
    def list_cmd(
        what: str = typer.Argument(..., help=f"One of: {', '.join(_LISTS)}."),
    ) -> None:
        """List registered names."""
        if what not in _LISTS:
            raise typer.BadParameter(f"expected one of {', '.join(_LISTS)}, got {what!r}")
        module_name, function = _LISTS[what]
        module = importlib.import_module(module_name)
        for name in getattr(module, function)():
            typer.echo(name)
