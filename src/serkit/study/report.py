"""The decomposition study report: ``report.md`` and a self-contained ``report.html``.

Built from the study folder only (``study.json``, ``table.csv``, ``explain/*.csv``): the
condition table per scope (pooled UAR with its 95 % interval, the change against REC with its
paired interval, the certificate status of the encoder), the plot of UAR per condition with
intervals (``uar.png``, embedded in the HTML), the leakage statements, and the explanations of
the REC models (mean change of the predicted class's posterior per component and emotion).
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from serkit.report import CSS, _html_table, _md_table


def _pct(value: Any, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    return f"{100 * float(value):+.1f}" if signed else f"{100 * float(value):.1f}"


def _interval(low: Any, high: Any, signed: bool = False) -> str:
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return "-"
    return f"[{_pct(low, signed)}, {_pct(high, signed)}]"


def condition_rows(table: pd.DataFrame, scope: str) -> list[list[str]]:
    """The rows of one scope's condition table (header first)."""
    rows = [["condition", "UAR %", "95 % CI", "Δ vs REC (pp)", "paired 95 % CI", "n", "encoder"]]
    for r in table[table["scope"] == scope].itertuples():
        rows.append(
            [
                str(r.condition),
                _pct(r.uar),
                _interval(r.uar_low, r.uar_high),
                "ref." if r.condition == "REC" else _pct(r.delta_rec, True),
                _interval(r.delta_low, r.delta_high, True),
                str(r.n_test),
                str(r.certificate or "-"),
            ]
        )
    return rows


def uar_figure(table: pd.DataFrame, path: Path) -> Path:
    """Plot pooled UAR per condition with 95 % intervals, one series per scope (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from serkit.atomic import atomic_path

    conditions = list(dict.fromkeys(table["condition"]))
    scopes = list(dict.fromkeys(table["scope"]))
    fig, ax = plt.subplots(figsize=(max(5.0, 0.8 * len(conditions) + 2), 3.4), dpi=100)
    try:
        width = 0.8 / max(1, len(scopes))
        for j, scope in enumerate(scopes):
            part = table[table["scope"] == scope].set_index("condition").reindex(conditions)
            x = np.arange(len(conditions)) + (j - (len(scopes) - 1) / 2) * width
            y = 100 * part["uar"].to_numpy(dtype=float)
            low = 100 * part["uar_low"].to_numpy(dtype=float)
            high = 100 * part["uar_high"].to_numpy(dtype=float)
            err = np.vstack([np.nan_to_num(y - low), np.nan_to_num(high - y)])
            ax.errorbar(x, y, yerr=err, fmt="o", capsize=3, label=scope)
        chance = table["classes"].map(lambda c: 100.0 / max(1, len(str(c).split(","))))
        for value in sorted(set(chance.round(2))):
            ax.axhline(value, color="#999", lw=0.8, ls="--")
        ax.set_xticks(np.arange(len(conditions)), conditions)
        ax.set_ylabel("UAR % (pooled, 95 % CI)")
        ax.set_title("UAR per SpeechFlow condition (dashed: chance)", fontsize=9)
        ax.legend(fontsize=8)
        fig.tight_layout()
        with atomic_path(path, keep_suffix=True) as tmp:
            fig.savefig(tmp, format="png")
    finally:
        plt.close(fig)
    return path


def _summary_rows(summary: pd.DataFrame, components: dict[str, str]) -> list[list[str]]:
    conditions = [c for c in summary.columns if c != "n"]
    head = ["emotion", *[f"{c} ({components.get(c) or 'several'})" for c in conditions], "n"]
    rows = [head]
    for emotion, r in summary.iterrows():
        rows.append([str(emotion), *[f"{100 * r[c]:+.1f}" for c in conditions], str(int(r["n"]))])
    return rows


def _explain_parts(folder: Path, study: dict[str, Any]) -> list[tuple[str, str, list[list[str]]]]:
    """``(title, note, rows)`` per explained scope."""
    out = []
    for e in study.get("explain") or []:
        summary = pd.read_csv(folder / e["summary"], index_col=0)
        where = (
            "test corpus rows the model never saw"
            if e["held_out"]
            else "rows of the corpus the final model was fitted on (all of them): read it as "
            "what the model relies on, not as held-out evidence"
        )
        unit = (
            "change of the posterior of the class predicted under REC, in percentage points"
            if e["measure"] == "posterior"
            else "mean absolute change of the mel against REC (x100)"
        )
        note = (
            f"{e['rows']} utterances ({where}); REC model of run {e['run']}; {unit}. Negative: "
            "removing that component lowers the model's confidence in its emotion, i.e. the "
            "component carries it."
        )
        out.append((f"{e['scope']} ({e['kind']})", note, _summary_rows(summary, e["components"])))
    return out


def _intro(study: dict[str, Any]) -> list[str]:
    cfg = study["config"]
    return [
        f"SpeechFlow package: {cfg['encoder']}",
        f"model: {cfg['model']['name']}, seeds {cfg['seeds']}",
        "REC (plain re-synthesis) is the fair reference: re-synthesis itself changes the mel; "
        "RAW is the undecomposed SpeechFlow input mel. Intervals: percentile bootstrap over "
        "test speakers; the change against REC is paired (the same speakers drawn for both).",
    ]


def render(folder: Path) -> tuple[str, str]:
    """``(markdown, html)`` of a study folder."""
    study = json.loads((folder / "study.json").read_text())
    table = pd.read_csv(folder / "table.csv", keep_default_na=True)
    name = str(study["config"]["name"])
    png = uar_figure(table, folder / "uar.png")
    statements = table.drop_duplicates("scope")[["scope", "statement"]]
    md = [f"# Decomposition study: {name}", ""] + [f"- {line}" for line in _intro(study)]
    md += ["", "![UAR per condition](uar.png)", ""]
    page = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(name)}</title>"
        f"<style>{CSS}</style></head><body><h1>Decomposition study: {html.escape(name)}</h1><ul>"
    ]
    page += [f"<li>{html.escape(line)}</li>" for line in _intro(study)] + ["</ul>"]
    image = base64.b64encode(png.read_bytes()).decode("ascii")
    page.append(f"<img alt='UAR per condition' src='data:image/png;base64,{image}'>")
    for scope, statement in statements.itertuples(index=False):
        kind = table[table["scope"] == scope]["kind"].iloc[0]
        rows = condition_rows(table, scope)
        md += [f"## {scope} ({kind})", "", _md_table(rows), "", f"Protocol: {statement}", ""]
        page += [
            f"<h2>{html.escape(str(scope))} ({html.escape(str(kind))})</h2>",
            _html_table(rows),
            f"<p>Protocol: {html.escape(str(statement))}</p>",
        ]
    parts = _explain_parts(folder, study)
    if parts:
        md += ["## Which component carries the emotion (serkit explain)", ""]
        page.append("<h2>Which component carries the emotion (serkit explain)</h2>")
        for title, note, rows in parts:
            md += [f"### {title}", "", note, "", _md_table(rows), ""]
            page += [f"<h3>{html.escape(title)}</h3><p>{html.escape(note)}</p>", _html_table(rows)]
    page.append("</body></html>")
    return "\n".join(md), "\n".join(page)


def write_study_report(folder: str | Path) -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.html`` (and ``uar.png``) into a study folder."""
    from serkit.atomic import atomic_write_text

    folder = Path(folder)
    md, page = render(folder)
    return (
        atomic_write_text(folder / "report.md", md + "\n"),
        atomic_write_text(folder / "report.html", page + "\n"),
    )
