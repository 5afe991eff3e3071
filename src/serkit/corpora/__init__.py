"""Corpus recipes: one module per corpus, discovered and registered by name.

A recipe module has a docstring with the corpus facts (origin, licence, layout, naming,
speakers, labels), a ``NAME``, a ``LABELS`` table (raw label -> canonical emotion or ``None``)
and ``prepare(root, *, skip_bad=False, **options) -> DataFrame`` returning a validated manifest.
Modules whose name starts with ``_`` and ``labels`` are not recipes.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from types import ModuleType

import pandas as pd

from serkit.corpora.labels import LABEL_SETS, apply_label_set, get_label_set
from serkit.registry import Registry, import_submodules

RECIPES: Registry[ModuleType] = Registry("corpus")
_NOT_RECIPES = {"labels"}


def _discover() -> None:
    for name in import_submodules(__name__, __path__, skip=_NOT_RECIPES):
        module = importlib.import_module(f"{__name__}.{name}")
        RECIPES.add(module.NAME, module)
        for alias in getattr(module, "ALIASES", ()):
            RECIPES.add(alias, module)


_discover()


def list_corpora() -> list[str]:
    """Registered recipe names (aliases excluded)."""
    return sorted({module.NAME for module in (RECIPES.get(n) for n in RECIPES.names())})


def get_recipe(name: str) -> ModuleType:
    """The recipe module registered under ``name``."""
    return RECIPES.get(name)


def prepare(
    name: str,
    root: str | os.PathLike,
    *,
    output: str | os.PathLike | None = None,
    skip_bad: bool = False,
    **options,
) -> pd.DataFrame:
    """Prepare a corpus folder into a manifest, optionally writing ``<output>/<name>.parquet``.

    Args:
        name: recipe name (``serkit list corpora``).
        root: the corpus root folder.
        output: a folder for the manifest (Parquet and a CSV copy); ``None`` writes nothing.
        skip_bad: skip unreadable audio files (listed in ``df.attrs["skipped"]``).
        **options: recipe-specific options (see the recipe's ``prepare``).
    """
    from serkit import manifest

    recipe = get_recipe(name)
    df = recipe.prepare(Path(root), skip_bad=skip_bad, **options)
    if output is not None:
        out = Path(output)
        manifest.write(df, out / f"{recipe.NAME}.parquet")
        manifest.write(df, out / f"{recipe.NAME}.csv")
    return df


__all__ = [
    "LABEL_SETS",
    "RECIPES",
    "apply_label_set",
    "get_label_set",
    "get_recipe",
    "list_corpora",
    "prepare",
]
