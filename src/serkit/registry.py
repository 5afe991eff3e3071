"""A tiny explicit name -> object registry used for corpora, extractors, models and protocols."""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

from serkit.errors import RegistryError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps lower-case names to objects; duplicate names are errors.

    Args:
        kind: what the registry holds, used in error messages ("corpus", "extractor", ...).
        name_attribute: when set, each registered object gets its name in this attribute.
        discover: called once, before the first lookup, to import the modules whose
            decorators fill the registry (lazy discovery keeps imports cheap).

    Example:
        >>> models = Registry("model")
        >>> @models.register("svm")
        ... class SVM: ...
        >>> models.get("svm").__name__
        'SVM'
    """

    def __init__(
        self,
        kind: str,
        *,
        name_attribute: str | None = None,
        discover: Callable[[], object] | None = None,
    ) -> None:
        self.kind = kind
        self.name_attribute = name_attribute
        self._discover = discover
        self._entries: dict[str, T] = {}

    def _ensure_discovered(self) -> None:
        if self._discover is not None:
            discover, self._discover = self._discover, None
            discover()

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator that registers an object under ``name``."""

        def decorator(obj: T) -> T:
            self.add(name, obj)
            return obj

        return decorator

    def add(self, name: str, obj: T) -> None:
        """Register ``obj`` under ``name`` (raises on a duplicate name)."""
        key = name.lower()
        if key in self._entries and self._entries[key] is not obj:
            raise RegistryError(f"{self.kind} {name!r} is registered twice")
        self._entries[key] = obj
        if self.name_attribute is not None:
            setattr(obj, self.name_attribute, name)

    def get(self, name: str) -> T:
        """Return the object registered under ``name`` (case-insensitive)."""
        self._ensure_discovered()
        key = str(name).lower().replace("_", "-")
        for candidate in (key, str(name).lower()):
            if candidate in self._entries:
                return self._entries[candidate]
        close = difflib.get_close_matches(key, self._entries, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise RegistryError(
            f"unknown {self.kind} {name!r}.{hint} Known: {', '.join(sorted(self._entries))}"
        )

    def names(self) -> list[str]:
        """All registered names, sorted."""
        self._ensure_discovered()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        self._ensure_discovered()
        return isinstance(name, str) and name.lower() in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        self._ensure_discovered()
        return len(self._entries)


def import_submodules(
    package: str,
    path: Iterable[str],
    *,
    skip: Iterable[str] = (),
    missing: dict[str, str] | None = None,
) -> list[str]:
    """Import every public module of a package so that its registry decorators run.

    Args:
        package: the package's ``__name__``.
        path: the package's ``__path__``.
        skip: module names that are infrastructure, not registry entries.
        missing: when given, a module that needs an absent third-party package is recorded
            here (module -> reason) instead of failing the import; serkit's own import errors
            always propagate.

    Returns:
        The imported module names.
    """
    skipped = set(skip)
    imported = []
    for info in pkgutil.iter_modules(list(path)):
        if info.name.startswith("_") or info.name in skipped:
            continue
        try:
            importlib.import_module(f"{package}.{info.name}")
        except ModuleNotFoundError as exc:
            if missing is None or exc.name is None or exc.name.split(".")[0] == "serkit":
                raise
            missing[info.name] = f"needs the package {exc.name!r}"
            continue
        imported.append(info.name)
    return imported
