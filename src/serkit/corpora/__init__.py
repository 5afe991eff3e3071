"""Corpus recipes: one module per corpus, discovered and registered by name.

A recipe module has a docstring with the corpus facts (origin, licence, layout, naming,
speakers, labels), a ``NAME``, a ``LABELS`` table (raw label -> canonical emotion or ``None``)
and ``prepare(root, *, skip_bad=False, **options) -> DataFrame`` returning a validated manifest.
Modules whose name starts with ``_``, ``labels`` and ``vad_targets`` are not recipes.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from types import ModuleType

import pandas as pd

from serkit.corpora.labels import LABEL_SETS, apply_label_set, get_label_set
from serkit.errors import ConfigError
from serkit.registry import Registry, import_submodules

RECIPES: Registry[ModuleType] = Registry("corpus")
_NOT_RECIPES = {"labels", "vad_targets"}


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
    /,
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

    Raises:
        ConfigError: an option the recipe does not take, or an ``output`` that is a file.
    """
    from serkit import manifest

    recipe = get_recipe(name)
    _check_options(recipe, options)
    if output is not None and Path(output).exists() and not Path(output).is_dir():
        raise ConfigError(f"output {output}: is a file; expected a folder for the manifest")
    df = recipe.prepare(Path(root), skip_bad=skip_bad, **options)
    if output is not None:
        out = Path(output)
        stem = str(df.attrs.get("corpus") or recipe.NAME)  # `folder` takes its own name
        manifest.write(df, out / f"{stem}.parquet")
        manifest.write(df, out / f"{stem}.csv")
    return df


def _check_options(recipe: ModuleType, options: dict) -> None:
    """Raise naming the options ``recipe.prepare`` does not take (and those it does)."""
    import inspect

    params = inspect.signature(recipe.prepare).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return
    known = sorted(n for n, p in params.items() if p.kind is p.KEYWORD_ONLY and n != "skip_bad")
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ConfigError(
            f"corpus {recipe.NAME!r} has no option(s) {', '.join(unknown)}; "
            f"known: {', '.join(known) or 'none'}"
        )


__all__ = [
    "LABEL_SETS",
    "RECIPES",
    "apply_label_set",
    "get_label_set",
    "get_recipe",
    "list_corpora",
    "prepare",
]
