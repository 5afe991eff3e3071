"""How the ``serkit`` command reports a failure: one paragraph for bad input, a traceback for bugs.

Bad input reaches the user as ``error: <what, where, expected vs found, what to do>`` and a
non-zero exit: a :class:`~serkit.errors.SerkitError` (its hint spelled as the flag or config key
of the verb that ran), a usage error of the argument parser (with the offending value), or, as
a last resort, an ``OSError`` naming its path. Anything else is a bug: its traceback is shown,
with a request to report it.
"""

from __future__ import annotations

import errno
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

import typer

from serkit.errors import Hint, SerkitError

# the exceptions of the click that typer uses (typer >= 0.2x vendors its own copy)
_click = sys.modules[typer.BadParameter.__module__]
_ABORT = (typer.Abort, getattr(_click, "Abort", typer.Abort))

#: how a verb without the option as a flag spells a library option, per verb path
CONFIG_SPELLINGS: dict[tuple[str, ...], dict[str, str]] = {
    ("train",): {"skip_bad": "set features.skip_bad=true (in the config or as an override)"},
}

BUG = (
    "serkit stopped on an internal error (a bug, not a problem with your input as far as it can "
    "tell); please report it with the command line and the traceback above"
)


def run(app: typer.Typer, args: Sequence[str] | None = None) -> int:
    """Run the command line ``args`` (default ``sys.argv[1:]``); returns the exit status."""
    args = list(sys.argv[1:] if args is None else args)
    try:
        result = app(args=args, prog_name="serkit", standalone_mode=False)
    except SerkitError as exc:
        return fail(exc.render(spelling(app, args)))
    except _click.ClickException as exc:
        return _usage(exc)
    except _ABORT:
        typer.echo("Aborted!", err=True)
        return 1
    except OSError as exc:
        if exc.errno == errno.EPIPE:  # the reader of our output went away (| head)
            return 1
        return fail(os_message(exc))
    except Exception:
        traceback.print_exc()
        typer.secho(BUG, err=True, fg=typer.colors.RED)
        return 1
    return result if isinstance(result, int) else 0


def fail(message: str, code: int = 2) -> int:
    """Print ``error: message`` to stderr; returns ``code``."""
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return code


def verb(app: typer.Typer, args: Sequence[str]) -> tuple[tuple[str, ...], Any]:
    """The verb path (e.g. ``("audio", "resample")``) and click command that ``args`` invoke."""
    command: Any = typer.main.get_command(app)
    path: list[str] = []
    for arg in args:
        if arg.startswith("-"):  # the root has flags only, so no option value sits in between
            continue
        sub = getattr(command, "commands", {}).get(arg)
        if sub is None:
            break
        path.append(arg)
        command = sub
    return tuple(path), command


def spelling(app: typer.Typer, args: Sequence[str]) -> Callable[[Hint], str | None]:
    """How the verb of ``args`` spells the option of a hint: its flag (``pass --skip-bad``),
    its config key, or ``""`` (leave the hint out: the verb cannot pass that option)."""
    path, command = verb(app, args)

    def spell(hint: Hint) -> str | None:
        for param in getattr(command, "params", ()):
            if param.name == hint.option and getattr(param, "is_flag", False):
                flags = [o for o in param.opts if o.startswith("--")] or list(param.opts)
                if hint.value is True and flags:
                    return f"pass {flags[0]}"
        return CONFIG_SPELLINGS.get(path, {}).get(hint.option, "")

    return spell


def os_message(exc: OSError) -> str:
    """One line naming the path of an ``OSError`` nothing upstream turned into a serkit error."""
    where = " -> ".join(str(p) for p in (exc.filename, exc.filename2) if p is not None)
    reason = exc.strerror or str(exc) or type(exc).__name__
    advice = {
        errno.EACCES: "check its permissions",
        errno.EPERM: "check its permissions",
        errno.EISDIR: "it is a folder; pass a file",
        errno.ENOTDIR: "a part of the path is a file; pass a folder",
        errno.EEXIST: "a file of that name is in the way; pass another path or move it",
        errno.ENOENT: "check the path",
        errno.ENOSPC: "free some disk space",
    }.get(exc.errno, "check the path")
    return f"{where or 'I/O error'}: {reason} ({type(exc).__name__}); {advice}"


def _usage(exc: Any) -> int:
    """Report a parser error in one line, naming the offending value when the parser did not."""
    if type(exc).__name__ == "NoArgsIsHelpError":  # a bare group: show its help, as click does
        exc.show()
        return exc.exit_code
    text = exc.format_message().strip().rstrip(".")
    given = _given(exc)
    if given is not None and repr(given) not in text and str(given) not in text.split():
        plain = isinstance(given, str) and given and not any(c.isspace() for c in given)
        text += f", got {given if plain else repr(given)}"
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        text += f" (see '{ctx.command_path} -h')"
    return fail(text, exc.exit_code)


def _given(exc: BaseException) -> Any:
    """The value a typed option rejected, when the parser's validator kept it (pydantic)."""
    errors = getattr(exc.__cause__, "errors", None)
    if not callable(errors):
        return None
    try:
        first = errors()[0]
    except (IndexError, TypeError):
        return None
    return first.get("input") if isinstance(first, dict) else None
