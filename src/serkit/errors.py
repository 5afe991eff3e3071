"""Exceptions with messages meant for people: what, where, expected vs found, what to do."""

from __future__ import annotations


class SerkitError(Exception):
    """Base class of every error serkit raises on purpose."""


class ManifestError(SerkitError, ValueError):
    """A manifest breaks the schema (names the column, the row and the value)."""


class AudioError(SerkitError, OSError):
    """An audio file cannot be read or is unusable (names the file)."""


class CorpusError(SerkitError, ValueError):
    """A corpus folder does not look like the recipe expects."""


class ConfigError(SerkitError, ValueError):
    """A configuration value is missing, unknown or of the wrong type."""


class ProtocolError(SerkitError, ValueError):
    """An evaluation protocol is violated: a speaker or sentence on both sides of a fold, or a
    test row predicted more than once (names the fold and the offending ids)."""


class RegistryError(SerkitError, KeyError):
    """An unknown or duplicate registry name."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""
