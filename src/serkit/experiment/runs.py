"""Reading finished runs: recompute metrics from predictions, compare runs side by side."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from serkit.errors import ConfigError


def _require(run_dir: Path, name: str) -> Path:
    path = run_dir / name
    if not path.exists():
        raise ConfigError(
            f"{run_dir}: no {name}; is it a finished run folder of `serkit train`? "
            "(an interrupted run resumes when `serkit train` is started again)"
        )
    return path


def _read(path: Path) -> Any:
    """A run file parsed by its suffix (Parquet, JSON or YAML); a damaged one raises naming it."""
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        text = path.read_text()
        return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text) or {}
    except (OSError, ValueError, yaml.YAMLError) as exc:  # pyarrow, json and yaml errors
        raise ConfigError(
            f"{path}: damaged run file ({type(exc).__name__}: {' '.join(str(exc).split())}); "
            "restore it, or train the run again"
        ) from exc


def read_config(run_dir: Path) -> dict[str, Any]:
    """The resolved config stored in a run folder (empty when absent)."""
    path = run_dir / "config.yaml"
    if not path.exists():
        return {}
    return _read(path)


def _summarize(run_dir: Path, method: str | None) -> dict[str, Any]:
    """Metrics of a run from its predictions, with its config's bootstrap settings."""
    from serkit import metrics

    predictions = _read(_require(run_dir, "predictions.parquet"))
    boot = read_config(run_dir).get("bootstrap") or {}
    return metrics.summarize(
        predictions,
        metrics.classes_of(predictions),
        reps=int(boot.get("reps", 1000)),
        seed=int(boot.get("seed", 0)),
        method=method or str(boot.get("method", "speaker")),
    )


def evaluate(
    run_dir: str | os.PathLike, *, write: bool = True, method: str | None = None
) -> dict[str, Any]:
    """Recompute ``metrics.json`` of a run from its ``predictions.parquet`` alone.

    The bootstrap settings come from the run's config (defaults when absent: 1000 reps over
    test speakers), so the result equals the stored file for an untouched run.

    Args:
        run_dir: the run folder.
        write: overwrite ``metrics.json`` (and ``report.md`` / ``report.html``, which show
            its intervals) with the recomputed figures.
        method: bootstrap method ``"speaker"`` or ``"row"`` instead of the config's.

    Returns:
        The metrics dict (see :func:`serkit.metrics.summarize`).
    """
    from serkit.atomic import atomic_write_text
    from serkit.report import write_report

    run_dir = Path(run_dir)
    result = _summarize(run_dir, method)
    if write:
        atomic_write_text(run_dir / "metrics.json", json.dumps(result, indent=1))
        write_report(run_dir)
    return result


def _pm(pooled: dict[str, Any], name: str) -> str:
    value = pooled.get(name)
    ci = (pooled.get("ci95") or {}).get(name)
    if value is None:
        return "-"
    text = f"{100 * value:.1f}"
    if ci:
        text += f" [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"
    return text


def compare(
    run_dirs: list[str | os.PathLike], *, method: str | None = None
) -> list[dict[str, Any]]:
    """One summary row per run: name, features, model, protocol, folds, UAR, WA, macro-F1.

    Args:
        run_dirs: run folders.
        method: ``None`` shows each run's stored ``metrics.json``; ``"speaker"`` or ``"row"``
            recomputes every run's intervals from its predictions with that bootstrap method
            (nothing is written), so that all rows use the same one.

    Returns:
        Dicts with the figures in percent as text (value and 95 % interval), how the interval
        was computed (``ci``, e.g. ``bootstrap over 24 test speakers``) and the raw pooled
        values under ``uar_value`` / ``wa_value`` / ``macro_f1_value``.
    """
    from serkit.report import describe_bootstrap

    rows = []
    for item in run_dirs:
        run_dir = Path(item)
        if method is None:
            m = _read(_require(run_dir, "metrics.json"))
        else:
            m = _summarize(run_dir, method)
        cfg = read_config(run_dir)
        pooled = m["pooled"]
        rows.append(
            {
                "run": cfg.get("name", run_dir.name),
                "features": (cfg.get("features") or {}).get("name", "?"),
                "model": (cfg.get("model") or {}).get("name", "?"),
                "protocol": (cfg.get("protocol") or {}).get("name", "?"),
                "folds": m["n_folds"],
                "seeds": len(m["seeds"]["per_seed"]),
                "n": pooled["n"],
                "uar": _pm(pooled, "uar"),
                "wa": _pm(pooled, "wa"),
                "macro_f1": _pm(pooled, "macro_f1"),
                "ci": describe_bootstrap(m.get("bootstrap")),
                "uar_value": pooled["uar"],
                "wa_value": pooled["wa"],
                "macro_f1_value": pooled["macro_f1"],
            }
        )
    return rows


COLUMNS = (
    ("run", "run"),
    ("features", "features"),
    ("model", "model"),
    ("protocol", "protocol"),
    ("folds", "folds"),
    ("uar", "UAR % [95% CI]"),
    ("wa", "WA % [95% CI]"),
    ("macro_f1", "macro-F1 % [95% CI]"),
    ("ci", "95% CI"),
)


def format_compare(rows: list[dict[str, Any]], *, markdown: bool = False) -> str:
    """The compare rows as an aligned text table (or a Markdown table)."""
    header = [title for _, title in COLUMNS]
    body = [[str(row[key]) for key, _ in COLUMNS] for row in rows]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(r) + " |" for r in body]
        return "\n".join(lines)
    widths = [max(len(x) for x in col) for col in zip(header, *body, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(fmt.format(*r).rstrip() for r in [header, *body])
