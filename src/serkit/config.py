"""Configuration read once at the edge: YAML files plus ``a.b=c`` overrides.

Configs are plain data (names plus parameters); nothing in a config executes code.
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path
from typing import Any

import yaml

from serkit.atomic import atomic_write_text
from serkit.errors import ConfigError


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads ``1e-3`` as a float (YAML 1.1 wants ``1.0e-3``)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def _safe_load(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass: executes no code


def load(path: str | os.PathLike, overrides: list[str] | tuple[str, ...] = ()) -> dict:
    """Read a YAML config and apply ``a.b=c`` overrides.

    Raises:
        ConfigError: missing file, invalid YAML, a top level that is not a mapping,
            or a malformed override.
    """
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such config file")
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder; expected a YAML config file (see configs/)")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{path}: cannot read the config ({type(exc).__name__}: {exc}); "
            "pass a readable UTF-8 YAML file"
        ) from exc
    try:
        data = _safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML{_yaml_problem(exc)}; fix the syntax") from exc
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: expected a mapping at the top level, found {type(data).__name__}"
        )
    return apply_overrides(data, overrides)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """`` at line L, column C: <problem>`` of a YAML error, on one line."""
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    text = f"{context}, {problem}" if context else problem
    return f"{where}: {' '.join(str(text).split())}"


def parse_value(text: str) -> Any:
    """Parse an override value as YAML (``1e-3`` -> float, ``[a, b]`` -> list, ``x`` -> str)."""
    try:
        return _safe_load(text)
    except yaml.YAMLError:
        return text


def apply_overrides(data: dict, overrides: list[str] | tuple[str, ...]) -> dict:
    """Return a copy of ``data`` with each ``a.b.c=value`` override applied."""
    out = copy.deepcopy(data)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r}: expected KEY=VALUE, e.g. model.params.C=10")
        key, value = item.split("=", 1)
        parts = [p for p in key.strip().split(".") if p]
        if not parts:
            raise ConfigError(f"override {item!r}: empty key")
        node = out
        for part in parts[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise ConfigError(
                    f"override {item!r}: {part!r} holds {type(child).__name__}, not a mapping"
                )
            node = child
        node[parts[-1]] = parse_value(value)
    return out


def parse_pairs(pairs: list[str] | tuple[str, ...]) -> dict:
    """Parse ``key=value`` pairs (``--set`` options) into a flat-or-nested dict."""
    return apply_overrides({}, pairs)


def dump(data: dict, path: str | os.PathLike) -> Path:
    """Write a config as YAML (keys in insertion order), atomically."""
    return atomic_write_text(path, yaml.safe_dump(data, sort_keys=False))
