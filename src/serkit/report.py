"""Run reports: ``report.md`` and a self-contained ``report.html`` (inline CSS, base64 PNGs).

Both are built from the files of a run folder only (``config.yaml``, ``metrics.json``,
``dataset.json``, ``history.json``): dataset summary, protocol and its certification, the
per-fold table, pooled and mean +- std figures with 95 % intervals, the row-normalised
confusion matrix, per-class recall bars and, for neural models, learning curves.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:980px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;border-bottom:2px solid #ddd;padding-bottom:.2em}
h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #eee}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
.ok{color:#176b2c;font-weight:600}.warn{color:#a33;font-weight:600}
img{max-width:100%;height:auto}code{background:#f4f4f4;padding:0 .25em}
"""


def _pct(value: float | None) -> str:
    return (
        "-"
        if value is None or (isinstance(value, float) and np.isnan(value))
        else (f"{100 * value:.1f}")
    )


def _ci(pooled: dict[str, Any], name: str) -> str:
    ci = (pooled.get("ci95") or {}).get(name)
    return f"[{_pct(ci[0])}, {_pct(ci[1])}]" if ci else "-"


def describe_bootstrap(info: dict[str, Any] | None) -> str:
    """How a run's intervals were computed, from ``metrics.json``'s ``bootstrap`` entry.

    >>> describe_bootstrap({"method": "speaker", "clusters": 24})
    'bootstrap over 24 test speakers'
    >>> describe_bootstrap({"unit": "test rows"})  # metrics.json written before the choice
    'bootstrap over test rows'
    """
    info = info or {}
    method = info.get("method", "row")
    unit = "test speakers" if method == "speaker" else "test rows"
    count = info.get("clusters")
    return f"bootstrap over {count} {unit}" if count is not None else f"bootstrap over {unit}"


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text()) if path.exists() else None


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def row_normalised(cm: list[list[float]] | np.ndarray) -> np.ndarray:
    """Each row of a confusion matrix divided by its sum (a row of zeros stays zeros).

    Args:
        cm: ``(k, k)`` counts, rows = true class.

    Returns:
        ``(k, k)`` float64; every row with any count sums to 1.

    >>> row_normalised([[2, 0], [1, 3], [0, 0]]).tolist()
    [[1.0, 0.0], [0.25, 0.75], [0.0, 0.0]]
    """
    counts = np.asarray(cm, dtype=np.float64)
    return counts / np.maximum(counts.sum(axis=1, keepdims=True), 1e-12)


def confusion_plot(cm: list[list[float]], classes: list[str]) -> Any:
    """The row-normalised confusion matrix (rows = true) as a matplotlib figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    norm = row_normalised(cm)
    k = len(classes)
    fig, ax = plt.subplots(figsize=(1.0 + 0.62 * k, 0.8 + 0.55 * k))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(k), classes, rotation=45, ha="right")
    ax.set_yticks(range(k), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(k):
        for j in range(k):
            ax.text(
                j,
                i,
                f"{norm[i, j]:.2f}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if norm[i, j] > 0.5 else "black",
            )
    ax.set_title("confusion (normalised by row)")
    return fig


def confusion_figure(cm: list[list[float]], classes: list[str]) -> str:
    """Row-normalised confusion matrix (rows = true) as a base64 PNG."""
    return _png(confusion_plot(cm, classes))


def recall_figure(recall: dict[str, float | None]) -> str:
    """Per-class recall bars as a base64 PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(recall)
    values = [np.nan if recall[n] is None else recall[n] for n in names]
    fig, ax = plt.subplots(figsize=(1.2 + 0.6 * len(names), 3))
    ax.bar(range(len(names)), values, color="#4a7ab5")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel("recall")
    ax.set_title("per-class recall (pooled)")
    return _png(fig)


def learning_curve_figure(histories: list[dict[str, Any]]) -> str:
    """Training / validation loss and validation UAR per epoch (one line per fold), plus the
    stage-1 validation UAR where a model kept one (``fit_summary.stage1_history``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stage1 = [(h.get("fit_summary") or {}).get("stage1_history") or [] for h in histories]
    panels = 3 if any(stage1) else 2
    fig, axes = plt.subplots(1, panels, figsize=(4.5 * panels, 3.2))
    left, right = axes[0], axes[1]
    for entry in histories:
        epochs = [h.get("epoch", i) for i, h in enumerate(entry["history"])]
        for key, ax, style in (("train_loss", left, "-"), ("val_loss", left, "--")):
            values = [h.get(key) for h in entry["history"]]
            if any(v is not None for v in values):
                ax.plot(epochs, [np.nan if v is None else v for v in values], style, alpha=0.6)
        _plot_uar(right, entry["history"])
    left.set_title("loss (solid: train, dashed: validation)")
    left.set_xlabel("epoch")
    right.set_title("validation UAR")
    right.set_xlabel("epoch")
    if panels == 3:
        for history in stage1:
            _plot_uar(axes[2], history)
        axes[2].set_title("stage-1 validation UAR")
        axes[2].set_xlabel("epoch")
    return _png(fig)


def _plot_uar(ax: Any, history: list[dict[str, Any]]) -> None:
    epochs = [h.get("epoch", i) for i, h in enumerate(history)]
    values = [h.get("val_uar") for h in history]
    if any(v is not None for v in values):
        ax.plot(epochs, [np.nan if v is None else v for v in values], alpha=0.6)


def _sections(run_dir: Path) -> dict[str, Any]:
    import yaml

    cfg_path = run_dir / "config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text()) if cfg_path.exists() else {}
    return {
        "cfg": cfg or {},
        "metrics": _read_json(run_dir / "metrics.json") or {},
        "dataset": _read_json(run_dir / "dataset.json") or {},
        "history": _read_json(run_dir / "history.json") or [],
    }


def fit_note(summary: dict[str, Any]) -> str:
    """One line about a fold's fit: the decision head and its validation scores, if any."""
    parts = []
    if summary.get("decision"):
        parts.append(f"decision {summary['decision']}")
    scores = summary.get("decision_scores") or {}
    if scores:
        parts.append("val UAR " + ", ".join(f"{k} {_pct(v)}" for k, v in scores.items()))
    return "; ".join(parts)


def _tables(s: dict[str, Any]) -> dict[str, list[list[str]]]:
    m, ds = s["metrics"], s["dataset"]
    pooled, mean = m.get("pooled", {}), m.get("mean_over_folds", {})
    ci_title = f"95 % CI ({describe_bootstrap(m.get('bootstrap'))})"
    headline = [["metric", "pooled %", ci_title, "mean ± std over folds %"]]
    for name, title in (("uar", "UAR"), ("wa", "WA"), ("macro_f1", "macro-F1")):
        ms = mean.get(name, {})
        headline.append(
            [
                title,
                _pct(pooled.get(name)),
                _ci(pooled, name),
                f"{_pct(ms.get('mean'))} ± {_pct(ms.get('std'))}",
            ]
        )
    notes = {
        (str(h.get("seed")), str(h.get("fold"))): fit_note(h["fit_summary"])
        for h in s["history"]
        if h.get("fit_summary")
    }
    folds = [["seed", "fold", "n", "UAR %", "WA %", "macro-F1 %"] + (["fit"] if notes else [])]
    for f in m.get("per_fold", []):
        row = [
            str(f["seed"]),
            str(f["fold"]),
            str(f["n"]),
            _pct(f["uar"]),
            _pct(f["wa"]),
            _pct(f["macro_f1"]),
        ]
        folds.append(row + ([notes.get((row[0], row[1]), "")] if notes else []))
    data = [
        ["dataset", "value"],
        ["rows", str(ds.get("rows", "-"))],
        ["hours", f"{ds.get('hours', 0):.2f}"],
        ["speakers", str(ds.get("speakers", "-"))],
        ["corpora", ", ".join(ds.get("corpora", []))],
        ["rows skipped (features.skip_bad)", str(len(ds["skipped"])) if "skipped" in ds else "-"],
    ]
    classes = [["class", "rows", "recall (pooled) %"]]
    recall = pooled.get("per_class_recall", {})
    for c, n in (ds.get("per_class") or {}).items():
        classes.append([c, str(n), _pct(recall.get(c))])
    seeds = m.get("seeds", {})
    seed_rows = [["seed", "UAR %", "WA %", "macro-F1 %"]]
    for p in seeds.get("per_seed", []):
        seed_rows.append([str(p["seed"]), _pct(p["uar"]), _pct(p["wa"]), _pct(p["macro_f1"])])
    if len(seed_rows) > 2:  # repeats: mean ± std (sample std) of the per-seed pooled figures
        spread = [seeds.get(n) or {} for n in ("uar", "wa", "macro_f1")]
        seed_rows.append(
            ["mean ± std"] + [f"{_pct(v.get('mean'))} ± {_pct(v.get('std'))}" for v in spread]
        )
    return {
        "headline": headline,
        "folds": folds,
        "data": data,
        "classes": classes,
        "seeds": seed_rows,
    }


#: skipped rows shown in the report (all of them are in dataset.json)
REPORT_SKIPPED = 10


def skipped_table(ds: dict[str, Any]) -> tuple[list[list[str]], str] | None:
    """The first :data:`REPORT_SKIPPED` rows skipped as bad (``dataset.json``'s ``skipped``)
    as a table, and a sentence with their count; ``None`` when none was skipped."""
    skipped = ds.get("skipped") or []
    if not skipped:
        return None
    rows = [["id", "path", "reason"]]
    rows += [[str(r["id"]), str(r["path"]), str(r["reason"])] for r in skipped[:REPORT_SKIPPED]]
    note = (
        f"{len(skipped)} row(s) were skipped as bad or unanalysable (features.skip_bad) and "
        "are in no fold"
    )
    if len(skipped) > REPORT_SKIPPED:
        note += f"; the first {REPORT_SKIPPED} are shown, all are in dataset.json"
    return rows, note + "."


def augmentation_table(ds: dict[str, Any]) -> tuple[list[list[str]], str] | None:
    """Synthetic rows per class (per fold: mean, and the range where folds differ) beside the
    real rows, and one sentence on the augmenter, its source and its cost, from
    ``dataset.json`` (``augment`` and the folds' ``synthetic``); ``None`` without ``augment``."""
    aug = ds.get("augment")
    if not aug:
        return None
    made = [f["synthetic"] for f in ds.get("folds", []) if f.get("synthetic")]
    rows = [["class", "real rows", "synthetic rows per fold (mean, range)"]]
    for c, n in (ds.get("per_class") or {}).items():
        counts = [m["per_class"].get(c, 0) for m in made] or [0]
        spread = f" ({min(counts)}-{max(counts)})" if min(counts) != max(counts) else ""
        rows.append([c, str(n), f"{np.mean(counts):.0f}{spread}"])
    seconds = [m["seconds"] for m in made]
    note = (
        f"Augmenter {aug.get('name')}"
        + (f" {aug['params']}" if aug.get("params") else "")
        + ", trained per fold on the fold's "
        f"training rows only; the model trains on {aug.get('train_on')}. Source corpus "
        f"{', '.join(aug.get('source_corpora', []))} ({aug.get('source_rows')} rows, "
        f"{aug.get('source_speakers')} speaker(s); {', '.join(aug.get('source', []))})"
        + (f"; augmenter fit + generation {np.mean(seconds):.1f} s per fold" if seconds else "")
        + "."
    )
    return rows, note


def _md_table(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(lines)


def _html_table(rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows[1:]
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _normalised(method: str | None) -> str:
    """The features fact's note on ``features.normalize`` (speaker, corpus; else nothing)."""
    from serkit.features.frontend import NORMALIZE_GROUPS

    group = NORMALIZE_GROUPS.get(str(method))
    return f"; z-scored per {group} (label-free, transductive per {group})" if group else ""


def _facts(s: dict[str, Any]) -> list[tuple[str, str]]:
    cfg, ds = s["cfg"], s["dataset"]
    features = cfg.get("features", {})
    feat = ds.get("features") or {}
    protocol = cfg.get("protocol", {})
    prov = cfg.get("provenance") or {}
    return [
        ("experiment", str(cfg.get("name", "?"))),
        (
            "data",
            ", ".join(cfg.get("data", {}).get("manifests", []))
            + f" (label set {cfg.get('data', {}).get('label_set')})",
        ),
        (
            "features",
            f"{features.get('name')} {features.get('params') or ''} "
            f"({feat.get('level', '?')} level, dim {feat.get('dim', '?')})"
            + _normalised(features.get("normalize")),
        ),
        ("model", f"{cfg.get('model', {}).get('name')} {cfg.get('model', {}).get('params') or ''}"),
        ("protocol", f"{protocol.get('name')} {protocol.get('params') or ''}"),
        ("seeds", ", ".join(map(str, cfg.get("seeds", [])))),
        ("world size", f"{prov.get('world_size', 1)} process(es)"),
        ("git revision", str(prov.get("git_revision"))),
        ("command", str(prov.get("command"))),
    ]


def _point(params: dict[str, Any]) -> str:
    """A grid point as ``C=0.1, kernel=rbf``."""
    return ", ".join(f"{k}={v}" for k, v in params.items())


def search_table(s: dict[str, Any]) -> list[list[str]] | None:
    """Rows of the nested search per seed and fold: the chosen point and every grid point's
    inner-fold mean score (``None`` without a search)."""
    search = s["dataset"].get("search") or []
    if not search:
        return None
    metric = (s["cfg"].get("search") or {}).get("metric", "score")
    rows = [
        [
            "seed",
            "fold",
            "best parameters (inner CV on the training fold)",
            f"inner-fold mean {metric} % per grid point",
        ]
    ]
    for e in search:
        scores = " · ".join(
            f"{_point(r['params'])}: {100 * r['mean']:.1f}" for r in e.get("inner", [])
        )
        rows.append([str(e["seed"]), str(e["fold"]), json.dumps(e["best_params"]), scores or "-"])
    return rows


def render_markdown(run_dir: str | os.PathLike) -> str:
    """The Markdown report of a run folder (no images; see the HTML report for plots)."""
    s = _sections(Path(run_dir))
    t = _tables(s)
    cert = s["dataset"].get("certification") or {}
    parts = [f"# Run report: {s['cfg'].get('name', Path(run_dir).name)}", ""]
    parts += [f"- **{k}**: {v}" for k, v in _facts(s)]
    parts += ["", "## Dataset", "", _md_table(t["data"]), "", _md_table(t["classes"])]
    skipped = skipped_table(s["dataset"])
    if skipped:
        parts += ["", "### Skipped rows", "", skipped[1], "", _md_table(skipped[0])]
    parts += ["", "## Protocol", "", cert.get("statement", "(not certified)")]
    if cert and not cert.get("speaker_independent"):
        parts += ["", "**Warning: this protocol is NOT speaker-independent.**"]
    augmented = augmentation_table(s["dataset"])
    if augmented:
        parts += ["", "## Augmentation", "", augmented[1], "", _md_table(augmented[0])]
    parts += [
        "",
        "## Results",
        "",
        _md_table(t["headline"]),
        "",
        f"Pooled: every fold's test predictions pooled, then the metric. 95 % CI: "
        f"{interval_note(s['metrics'])}. Mean ± std: over folds (sample std).",
    ]
    if len(t["seeds"]) > 2:
        parts += ["", "### Repeated runs (seeds)", "", _md_table(t["seeds"])]
    parts += ["", "## Per fold", "", _md_table(t["folds"]), ""]
    searched = search_table(s)
    if searched:
        parts += ["## Nested hyper-parameter search", "", _md_table(searched), ""]
    classes = s["metrics"].get("classes", [])
    cm = s["metrics"].get("pooled", {}).get("confusion")
    if cm:
        n_seeds = len((s["metrics"].get("seeds") or {}).get("per_seed") or [None])
        counts = f"mean counts over {n_seeds} seeds" if n_seeds > 1 else "counts"
        parts += [
            f"## Confusion matrix (rows = true, {counts})",
            "",
            _md_table(
                [["true \\ pred", *classes]]
                + [[c, *[f"{v:g}" for v in row]] for c, row in zip(classes, cm, strict=True)]
            ),
            "",
        ]
    return "\n".join(parts)


def render_html(run_dir: str | os.PathLike) -> str:
    """The self-contained HTML report (inline CSS, plots embedded as base64 PNG)."""
    s = _sections(Path(run_dir))
    t = _tables(s)
    m = s["metrics"]
    cert = s["dataset"].get("certification") or {}
    name = html.escape(str(s["cfg"].get("name", Path(run_dir).name)))
    out = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{name}</title>"
        f"<style>{CSS}</style></head><body><h1>Run report: {name}</h1><ul>"
    ]
    out += [f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>" for k, v in _facts(s)]
    out += ["</ul><h2>Dataset</h2>", _html_table(t["data"]), _html_table(t["classes"])]
    skipped = skipped_table(s["dataset"])
    if skipped:
        out += [
            "<h3>Skipped rows</h3>",
            f"<p class='warn'>{html.escape(skipped[1])}</p>",
            _html_table(skipped[0]),
        ]
    ok = cert.get("speaker_independent")
    out += [
        "<h2>Protocol</h2>",
        f"<p class='{'ok' if ok else 'warn'}'>"
        f"{html.escape(cert.get('statement', '(not certified)'))}</p>",
    ]
    augmented = augmentation_table(s["dataset"])
    if augmented:
        out += [
            "<h2>Augmentation</h2>",
            f"<p>{html.escape(augmented[1])}</p>",
            _html_table(augmented[0]),
        ]
    out += [
        "<h2>Results</h2>",
        _html_table(t["headline"]),
        "<p>Pooled: all folds' test predictions pooled, then the metric. 95 % CI: "
        f"{html.escape(interval_note(m))}. Mean ± std: over folds.</p>",
    ]
    if len(t["seeds"]) > 2:
        out += ["<h3>Repeated runs (seeds)</h3>", _html_table(t["seeds"])]
    searched = search_table(s)
    if searched:
        out += ["<h2>Nested hyper-parameter search</h2>", _html_table(searched)]
    pooled = m.get("pooled", {})
    if pooled.get("confusion"):
        out.append(
            f"<img alt='confusion matrix' src='data:image/png;base64,"
            f"{confusion_figure(pooled['confusion'], m['classes'])}'>"
        )
    if pooled.get("per_class_recall"):
        out.append(
            f"<img alt='per-class recall' src='data:image/png;base64,"
            f"{recall_figure(pooled['per_class_recall'])}'>"
        )
    if s["history"]:
        out += [
            "<h2>Learning curves</h2>",
            f"<img alt='learning curves' src='data:image/png;base64,"
            f"{learning_curve_figure(s['history'])}'>",
        ]
    out += ["<h2>Per fold</h2>", _html_table(t["folds"]), "</body></html>"]
    return "\n".join(out)


def write_report(run_dir: str | os.PathLike) -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.html`` into a run folder; returns both paths."""
    from serkit.atomic import atomic_write_text

    run_dir = Path(run_dir)
    md = atomic_write_text(run_dir / "report.md", render_markdown(run_dir) + "\n")
    page = atomic_write_text(run_dir / "report.html", render_html(run_dir) + "\n")
    return md, page


def interval_note(metrics: dict[str, Any]) -> str:
    """One sentence on how the 95 % intervals of ``metrics.json`` were computed."""
    info = metrics.get("bootstrap") or {}
    note = f"percentile {describe_bootstrap(info)}"
    if info.get("method", "row") == "speaker":
        note += " (a drawn speaker keeps all of its rows, in every seed)"
    else:
        note += " (assumes independent rows: too narrow when speakers differ)"
    if not (metrics.get("pooled") or {}).get("ci95"):
        note += "; none computed: fewer than 2 clusters"
    return note


def headline(metrics: dict) -> str:
    """One line: pooled UAR / WA / macro-F1 with 95 % CIs and the UAR mean +- std over folds."""
    pooled = metrics["pooled"]
    parts = []
    for name, title in (("uar", "UAR"), ("wa", "WA"), ("macro_f1", "macro-F1")):
        ci = (pooled.get("ci95") or {}).get(name)
        interval = f" [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]" if ci else ""
        parts.append(f"{title} {100 * pooled[name]:.1f} %{interval}")
    mean = metrics["mean_over_folds"]["uar"]
    return (
        "pooled over folds: "
        + ", ".join(parts)
        + (
            f" (95 % CI, {describe_bootstrap(metrics.get('bootstrap'))})"
            if pooled.get("ci95")
            else f" (no 95 % CI: {describe_bootstrap(metrics.get('bootstrap'))} needs 2 or more)"
        )
        + "; UAR mean over "
        f"{metrics['n_folds']} folds {100 * mean['mean']:.1f} ± {100 * mean['std']:.1f} %"
    )
