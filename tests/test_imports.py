"""Every module of serkit imports (its doctests run with the tests, see pyproject.toml).

The doctest collector skips a module that cannot be imported (``--doctest-ignore-import-errors``,
so that a missing optional package does not stop the suite); this test keeps that from hiding a
real import error: only a missing optional package (an extra of serkit) is skipped here.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import pkgutil
import re

import pytest

import serkit

#: distribution name -> import name where they differ
_IMPORT_NAMES = {"python-multipart": "multipart", "pyyaml": "yaml", "scikit-learn": "sklearn"}


def optional_packages() -> set[str]:
    """Import names of the packages that only serkit's extras require."""
    names = set()
    for requirement in importlib.metadata.requires("serkit") or []:
        if "extra ==" not in requirement:
            continue
        dist = re.split(r"[\s;<>=!~\[]", requirement, maxsplit=1)[0].lower()
        if dist != "serkit":
            names.add(_IMPORT_NAMES.get(dist, dist.replace("-", "_")))
    return names


MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(serkit.__path__, "serkit.")
    if not info.name.endswith("__main__")
)


def test_optional_packages_are_the_extras():
    assert {"transformers", "resemblyzer", "hypothesis"} <= optional_packages()
    assert "torch" not in optional_packages() and "numpy" not in optional_packages()


@pytest.mark.parametrize("name", MODULES)
def test_module_imports(name):
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing in optional_packages():
            pytest.skip(f"{name} needs the optional package {missing}")
        raise
