"""Helpers shared by the CLI verb modules."""

from __future__ import annotations

import typer

SKIP_BAD_HELP = "Skip unreadable or corrupt audio files (they are listed at the end)."
TRUST_PICKLE_HELP = (
    "Load an old model package whose model is a pickle (loading it runs its code: only for "
    "packages you trust)."
)


def report_problems(skipped: list[str], stray: list[str] | None = None, *, limit: int = 20) -> None:
    """Print skipped bad files and stray files to stderr."""
    for title, items in (("skipped bad file(s)", skipped), ("stray file(s) ignored", stray or [])):
        if not items:
            continue
        typer.secho(f"{len(items)} {title}:", err=True, fg=typer.colors.YELLOW)
        for item in items[:limit]:
            typer.echo(f"  {item}", err=True)
        if len(items) > limit:
            typer.echo(f"  ... and {len(items) - limit} more", err=True)
