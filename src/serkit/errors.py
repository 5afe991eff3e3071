"""Exceptions with messages meant for people: what, where, expected vs found, what to do.

A remedy that is an option of the call (``skip_bad=True``) is not written into the message but
attached as a :class:`Hint`: the library spells it as the keyword argument, and each front end
spells it its own way (the CLI as the flag or config key of the verb that ran, e.g.
``--skip-bad`` or ``features.skip_bad=true``)::

    raise CorpusError(f"{corpus}: {exc.message}", hint=SKIP_BAD)
    str(error)  # "ravdess: x.wav: empty file (0 bytes); pass skip_bad=True to skip such files"

Low-level errors (``serkit.audio``) carry no hint: the batch function that offers the option
adds it (``hint=`` when wrapping, or ``exc.hint = SKIP_BAD`` before re-raising), and embeds
other errors by :attr:`SerkitError.message` (or :func:`message_of`) so no hint is repeated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Hint:
    """A remedy that names one keyword option of the library call that failed.

    Attributes:
        option: the keyword, e.g. ``"skip_bad"``.
        value: the value to pass, e.g. ``True``.
        purpose: what passing it does, e.g. ``"to skip such files"``.
    """

    option: str
    value: Any = True
    purpose: str = ""

    def render(self, spelled: str | None = None) -> str:
        """The remedy as text: ``spelled`` (e.g. ``"pass --skip-bad"``) or the library's
        ``"pass skip_bad=True"``, followed by the purpose."""
        said = f"pass {self.option}={self.value!r}" if spelled is None else spelled
        return f"{said} {self.purpose}".strip()


#: the remedy of every batch function that can go on past a bad file
SKIP_BAD = Hint("skip_bad", True, "to skip such files (they are listed at the end)")


class SerkitError(Exception):
    """Base class of every error serkit raises on purpose.

    Args:
        message: what went wrong, where, expected vs found (one paragraph).
        hint: an optional remedy naming an option of the call (see the module docstring).
    """

    def __init__(self, message: str = "", *, hint: Hint | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    @property
    def message(self) -> str:
        """The message without the hint (to embed in another error's message)."""
        return str(self.args[0]) if self.args else ""

    def render(self, spell: Callable[[Hint], str | None] | None = None) -> str:
        """The message plus the hint, its option spelled by ``spell`` (``None``: the library
        spelling; ``""``: leave the hint out, the caller cannot pass that option)."""
        if self.hint is None:
            return self.message
        spelled = spell(self.hint) if spell is not None else None
        if spelled == "":
            return self.message
        return f"{self.message}; {self.hint.render(spelled)}"

    def __str__(self) -> str:
        return self.render()


def message_of(exc: BaseException) -> str:
    """The message of ``exc`` without a serkit hint (to embed it in another message)."""
    return exc.message if isinstance(exc, SerkitError) else str(exc)


class ManifestError(SerkitError, ValueError):
    """A manifest breaks the schema (names the column, the row and the value)."""


class AudioError(SerkitError, OSError):
    """An audio file cannot be read or is unusable (names the file)."""


class CorpusError(SerkitError, ValueError):
    """A corpus folder does not look like the recipe expects."""


class ConfigError(SerkitError, ValueError):
    """A configuration value is missing, unknown or of the wrong type."""


class PackageError(ConfigError):
    """A model package is damaged, edited, mixed or not trusted (names the file, the expected
    and the found checksum or value)."""


class ProtocolError(SerkitError, ValueError):
    """An evaluation protocol is violated: a speaker or sentence on both sides of a fold, or a
    test row predicted more than once (names the fold and the offending ids)."""


class RegistryError(SerkitError, KeyError):
    """An unknown or duplicate registry name (its message is not quoted, unlike KeyError's)."""
