"""The pretrain report: ``report.md`` + self-contained ``report.html`` of a pretrain run.

What it holds: the family, preset, parameters, conditioning and front end (and, when the
package records them, its extra targets with how many rows had corpus ratings and how many
were DERIVED from the emotion, and the package it was initialised from); per encoder (fold)
the training rows, speakers, whether labels were used, epochs and time (with validation
speakers: who they were, the best epoch and whether it stopped early); one loss-curve PNG per
loss part (``plots/loss_<part>.png``, one line per fold, its validation loss dashed); and, when
:mod:`serkit.encoders.plots` is importable, the latent-space plots of the training rows'
embeddings (the first encoder's) coloured by emotion, speaker, gender and intensity.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from serkit.atomic import atomic_path, atomic_write_text


def loss_figures(history: list[dict[str, Any]], out_dir: Path) -> list[Path]:
    """One PNG per loss part (``loss``, then the family's parts), a line per fold (with
    validation, the fold's ``val_<part>`` dashed beside it)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    parts: list[str] = []
    for fold in history:
        for row in fold["history"]:
            parts += [
                k
                for k in row
                if k not in ("epoch", "seconds") and not k.startswith("val_") and k not in parts
            ]
    paths = []
    out_dir.mkdir(parents=True, exist_ok=True)
    for part in parts:
        fig, ax = plt.subplots(figsize=(5, 3))
        for fold in history:
            epochs = [r["epoch"] for r in fold["history"] if part in r]
            values = [r[part] for r in fold["history"] if part in r]
            name = str(fold["fold"] or "all")
            line = ax.plot(epochs, values, label=name, linewidth=1)
            val = [(r["epoch"], r[f"val_{part}"]) for r in fold["history"] if f"val_{part}" in r]
            if val:
                ax.plot(
                    *zip(*val, strict=True),
                    linestyle="--",
                    color=line[0].get_color(),
                    label=f"{name} validation",
                    linewidth=1,
                )
        ax.set_xlabel("epoch")
        ax.set_ylabel(part)
        ax.set_title(f"pretraining {part}")
        if len(ax.get_lines()) > 1:
            ax.legend(fontsize=6, ncol=2)
        path = out_dir / f"loss_{part.replace('/', '_')}.png"
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
        plt.close(fig)
        paths.append(path)
    return paths


def _latent_figures(
    run_dir: Path,
    df: pd.DataFrame,
    frames: list[np.ndarray],
    cond: np.ndarray | None,
    log: Callable[[str], None],
    methods: tuple[str, ...],
) -> list[Path]:
    """Latent plots of the first encoder's training rows (none when plots is not there)."""
    if not methods:
        return []
    try:
        from serkit.encoders.plots import latent_plots
    except ImportError:
        return []
    from serkit.encoders.package import encoder_folders, load_encoder

    folders = encoder_folders(run_dir)
    first = next(iter(folders))
    pkg = load_encoder(run_dir, fold=first or None)
    position = {rid: i for i, rid in enumerate(df["id"].astype(str))}
    trained = pkg.ids - set(pkg.meta.get("validation_ids", []))
    rows = [position[i] for i in sorted(trained) if i in position]
    if len(rows) < 5:
        return []
    vectors = []
    for i in rows:
        out = pkg.embed_frames(pkg.normalise(frames[i]), None if cond is None else cond[i])
        vectors.append(out.mean(axis=0) if out.ndim == 2 else out)
    columns = [c for c in ("emotion", "speaker", "gender", "intensity") if c in df.columns]
    meta = df.iloc[rows][columns].reset_index(drop=True)
    try:
        return list(
            latent_plots(np.stack(vectors), meta, run_dir / "plots" / "latent", methods=methods)
        )
    except Exception as exc:  # a plot must not lose a finished pretraining
        log(f"latent plots skipped: {type(exc).__name__}: {exc}")
        return []


def _target_facts(extra: dict[str, Any]) -> list[tuple[str, str]]:
    """Report lines on a package's extra targets (V/A/D sources) and its ``encoder.init``."""
    out = []
    targets = extra.get("targets")
    if targets:
        text = ", ".join(targets.get("columns", []))
        sources = targets.get("sources")
        if sources:
            text += (
                f": rows with corpus ratings {sources['corpus']}, DERIVED from the emotion "
                f"{sources['derived']}, none {sources['none']} ({targets.get('method', '')})"
            )
        known = targets.get("known") or {}
        if known:
            text += "; known targets per column " + json.dumps(known)
        out.append(("extra targets", text))
    init = extra.get("init")
    if init:
        out.append(
            (
                "initialised from",
                f"{init['folder']} (key {init['key']}, {init['loaded']} tensors; not loaded: "
                f"{', '.join(init['skipped']) or 'none'})",
            )
        )
    return out


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode("ascii")


def write_pretrain_report(
    run_dir: Path,
    df: pd.DataFrame,
    frames: list[np.ndarray],
    cond: np.ndarray | None,
    log: Callable[[str], None],
    methods: tuple[str, ...] = ("umap", "tsne"),
) -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.html`` of a finished pretrain run; returns both.

    ``methods``: the latent-space projections (``()``: no latent plots)."""
    from serkit.encoders.package import encoder_folders, read_encoder_meta

    run_dir = Path(run_dir)
    history = json.loads((run_dir / "history.json").read_text())
    metas = {fold: read_encoder_meta(folder) for fold, folder in encoder_folders(run_dir).items()}
    first = next(iter(metas.values()))
    cfg = first["extra"].get("config", {})
    enc = cfg.get("encoder", {})
    losses = loss_figures(history, run_dir / "plots")
    latents = _latent_figures(run_dir, df, frames, cond, log, tuple(methods))
    facts = [
        ("family", f"{first['family']} (preset {enc.get('preset')}, params {first['params']})"),
        ("conditioning", str(first.get("condition") or "none")),
        ("labels", "used (supervised)" if first["uses_labels"] else "not used"),
        ("front end", json.dumps(first["frontend"]["extractor"])),
        ("training", json.dumps(cfg.get("training", {}))),
    ]
    facts += _target_facts(first["extra"])
    val = first["extra"].get("validation")
    if val:
        stop = f"patience {val['patience']}" if val.get("patience") else "no early stopping"
        facts.append(
            (
                "validation",
                f"whole speakers held out of each encoder's training rows "
                f"({json.dumps(val['rule'])}; {stop}, min_delta {val.get('min_delta', 0.0)}): "
                "each package keeps the weights "
                "of its lowest validation loss; their audio counts as heard by the package "
                "(leakage certificate)",
            )
        )
    table = [["encoder", "rows", "speakers", "classes", "epochs", "final loss", "seconds"]]
    validated = any(m["extra"].get("validation") for m in metas.values())
    if validated:
        table[0] += ["validation speakers", "best epoch", "best val_loss", "stopped early"]
    for fold, meta in metas.items():
        hist = meta["history"]
        val = meta["extra"].get("validation") or {}
        table.append(
            [
                fold or "all",
                str(len(meta["ids"]) - len(meta.get("validation_ids", []))),
                str(len(meta["speakers"]) - len(meta.get("validation_speakers", []))),
                ", ".join(meta["classes"]) or "-",
                str(len(hist)),
                f"{hist[-1]['loss']:.4g}" if hist else "-",
                f"{meta['extra'].get('seconds', 0):.1f}",
            ]
        )
        if validated:
            best = val.get("best_val_loss")
            table[-1] += [
                ", ".join(val.get("speakers", [])) or "-",
                str(val.get("best_epoch", "-")),
                "-" if best is None else f"{best:.4g}",
                ("yes" if val.get("stopped_early") else "no") if val else "-",
            ]
    name = run_dir.name
    md = [f"# Pretrain {name}", ""] + [f"- **{k}**: {v}" for k, v in facts]
    md += ["", "## Encoders", "", "| " + " | ".join(table[0]) + " |"]
    md += ["|" + "---|" * len(table[0])]
    md += ["| " + " | ".join(r) + " |" for r in table[1:]]
    md += ["", "## Loss curves", ""] + [f"![{p.stem}](plots/{p.name})" for p in losses]
    if latents:
        md += ["", "## Latent space (training rows)", ""]
        md += [f"![{p.stem}]({p.relative_to(run_dir).as_posix()})" for p in latents]
    page = [
        f"<html><head><meta charset='utf-8'><title>Pretrain {html.escape(name)}</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:auto}"
        "td,th{border:1px solid #ccc;padding:2px 6px}table{border-collapse:collapse}</style>",
        f"</head><body><h1>Pretrain {html.escape(name)}</h1><ul>",
        *[f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>" for k, v in facts],
        "</ul><h2>Encoders</h2><table>",
        "<tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in table[0]) + "</tr>",
        *["<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in table[1:]],
        "</table><h2>Loss curves</h2>",
        *[f"<img alt='{p.stem}' src='data:image/png;base64,{_b64(p)}'>" for p in losses],
    ]
    if latents:
        page.append("<h2>Latent space (training rows)</h2>")
        page += [f"<img alt='{p.stem}' src='data:image/png;base64,{_b64(p)}'>" for p in latents]
    page.append("</body></html>")
    md_path = atomic_write_text(run_dir / "report.md", "\n".join(md) + "\n")
    html_path = atomic_write_text(run_dir / "report.html", "\n".join(page) + "\n")
    return md_path, html_path
