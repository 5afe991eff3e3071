"""Contract suite over every registered corpus recipe."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from serkit.corpora import get_recipe, list_corpora
from serkit.corpora.labels import CANONICAL

TESTS = Path(__file__).resolve().parent
RECIPES = list_corpora()


def test_some_recipes_are_registered():
    assert {"ravdess", "urdu", "turev-db", "folder", "csv"} <= set(RECIPES)


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_contract(name):
    module = get_recipe(name)
    doc = (module.__doc__ or "").lower()
    assert "licence" in doc or "license" in doc, f"{name}: docstring must state the licence"
    assert "layout" in doc, f"{name}: docstring must describe the layout"
    assert module.NAME == name
    if "-" in name:
        assert name.replace("-", "_") in getattr(module, "ALIASES", ()), name
    for alias in getattr(module, "ALIASES", ()):
        assert get_recipe(alias) is module
    assert isinstance(module.LABELS, dict) and module.LABELS
    bad = {raw: value for raw, value in module.LABELS.items() if value not in (*CANONICAL, None)}
    assert not bad, f"{name}: LABELS values must be canonical or None, found {bad}"
    params = inspect.signature(module.prepare).parameters
    assert "skip_bad" in params and params["skip_bad"].kind is inspect.Parameter.KEYWORD_ONLY
    assert params["skip_bad"].default is False
    assert list(params)[0] == "root"


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_has_a_test_file(name):
    module_name = get_recipe(name).__name__.rsplit(".", 1)[-1]
    assert (TESTS / f"test_{module_name}.py").is_file(), (
        f"{name}: add tests/corpora/test_{module_name}.py"
    )
