"""Files of the Fisher-ratio analysis: heat-maps, the mean +- std plot, Markdown and CSV tables.

Every cell of a heat-map shows the mean Fisher ratio over the features and, in parentheses,
the max (as the figures of the original README); colours are ``log10(1 + mean)``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np

from serkit.augment import fisher
from serkit.augment.analysis import FisherResult, representative_features, summary_rows


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    from serkit.atomic import atomic_path

    plt = _pyplot()
    with atomic_path(path, keep_suffix=True) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def heatmap(
    cells: list[list[np.ndarray | None]], rows: list[str], cols: list[str], title: str
) -> Any:
    """A heat-map figure of per-feature ratio arrays (``None``: an empty cell)."""
    plt = _pyplot()
    means = np.full((len(rows), len(cols)), np.nan)
    text = [["" for _ in cols] for _ in rows]
    for i, line in enumerate(cells):
        for j, ratios in enumerate(line):
            if ratios is not None:
                s = fisher.summarize(ratios)
                means[i, j] = s["mean"]
                text[i][j] = f"{s['mean']:.2f}\n({s['max']:.1f})"
    fig, ax = plt.subplots(figsize=(1.6 + 1.1 * len(cols), 1.0 + 0.6 * len(rows)))
    shown = np.log10(1 + np.nan_to_num(means, nan=0.0))
    ax.imshow(np.ma.masked_invalid(np.where(np.isnan(means), np.nan, shown)), cmap="viridis_r")
    ax.set_xticks(range(len(cols)), cols, rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    for i in range(len(rows)):
        for j in range(len(cols)):
            ax.text(
                j,
                i,
                text[i][j],
                ha="center",
                va="center",
                fontsize=7,
                color="black",
                bbox={"facecolor": "white", "alpha": 0.6, "lw": 0, "pad": 1},
            )
    ax.set_title(title, fontsize=9)
    return fig


def between_sets_figure(result: FisherResult) -> Any:
    """Rows: source and each synthetic set; columns: all emotions, then each emotion."""
    cols = ["all", *result.classes]
    rows = ["source", *result.sets]
    cells = [[result.between_sets.get(r, {}).get(c) for c in cols] for r in rows]
    return heatmap(
        cells,
        rows,
        [f"target {c}" for c in cols],
        "Fisher ratio vs real target rows: mean over features (max)",
    )


def between_emotions_figure(result: FisherResult) -> Any:
    """Rows: emotion pairs; columns: the real target rows and each synthetic set."""
    cols = ["target", *result.sets]
    pairs = list(result.between_emotions.get("target", {}))
    for col in result.sets:
        pairs += [p for p in result.between_emotions.get(col, {}) if p not in pairs]
    cells = [[result.between_emotions.get(c, {}).get(p) for c in cols] for p in pairs]
    return heatmap(
        cells,
        [f"{a}-{b}" for a, b in pairs],
        cols,
        "Fisher ratio between emotions: mean over features (max)",
    )


def distributions_figure(result: FisherResult) -> tuple[Any, str]:
    """Mean +- std of the 12 representative features per set; and how they were chosen."""
    plt = _pyplot()
    fallback = result.between_sets["source"].get("all")
    idx, labels, how = representative_features(result.feature_names, fallback)
    names = ["source", "target", *result.sets]
    ncols = 4
    nrows = max(1, int(np.ceil(len(idx) / ncols)))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.0 * ncols, 2.3 * nrows), squeeze=False)
    for ax in axes.flat[len(idx) :]:
        ax.axis("off")
    for ax, i, label in zip(axes.flat, idx, labels, strict=False):
        means = [result.distributions[n][0][i] for n in names]
        stds = [result.distributions[n][1][i] for n in names]
        ax.errorbar(range(len(names)), means, yerr=stds, fmt="o", capsize=3)
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=7)
        ax.set_title(label, fontsize=8)
        ax.tick_params(axis="y", labelsize=7)
    fig.suptitle(f"mean +- std per set ({how})", fontsize=9)
    fig.tight_layout()
    return fig, how


def markdown(result: FisherResult, runs: list[str], how: str) -> str:
    """The summary tables as Markdown: mean (max) per comparison."""

    def cell(ratios: np.ndarray | None) -> str:
        if ratios is None:
            return ""
        s = fisher.summarize(ratios)
        return f"{s['mean']:.2f} ({s['max']:.1f})"

    lines = [
        "# Fisher discriminant ratio analysis",
        "",
        f"Runs: {', '.join(runs)}; {result.folds} fold(s) averaged, "
        f"{len(next(iter(result.distributions.values()))[0])} features. "
        "Each cell: mean over the features (max).",
        "",
        "## Between sets (vs the real training rows of each fold)",
        "",
        "| set | " + " | ".join(["all", *result.classes]) + " |",
        "|---|" + "---|" * (1 + len(result.classes)),
    ]
    for name in ["source", *result.sets]:
        per = result.between_sets.get(name, {})
        lines.append(
            f"| {name} | " + " | ".join(cell(per.get(c)) for c in ["all", *result.classes]) + " |"
        )
    cols = ["target", *result.sets]
    lines += [
        "",
        "## Between emotions",
        "",
        "| pair | " + " | ".join(cols) + " |",
        "|---|" + "---|" * len(cols),
    ]
    for pair in result.between_emotions.get("target", {}):
        lines.append(
            f"| {pair[0]}-{pair[1]} | "
            + " | ".join(cell(result.between_emotions.get(c, {}).get(pair)) for c in cols)
            + " |"
        )
    lines += ["", f"Representative features of the mean +- std plot: {how}.", ""]
    return "\n".join(lines)


def csv_text(result: FisherResult) -> str:
    """:func:`~serkit.augment.analysis.summary_rows` as CSV."""
    buffer = io.StringIO()
    rows = summary_rows(result)
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _npz(result: FisherResult) -> bytes:
    arrays: dict[str, np.ndarray] = {}
    for name, per in result.between_sets.items():
        for against, ratios in per.items():
            arrays[f"sets/{name}/{against}"] = ratios
    for name, per in result.between_emotions.items():
        for (a, b), ratios in per.items():
            arrays[f"emotions/{name}/{a}-{b}"] = ratios
    if result.feature_names is not None:
        arrays["feature_names"] = np.asarray(result.feature_names, dtype=str)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def write_all(result: FisherResult, out: Path, runs: list[str]) -> list[Path]:
    """Write every file of the analysis into ``out``; returns their paths."""
    from serkit.atomic import atomic_write_bytes, atomic_write_text

    out.mkdir(parents=True, exist_ok=True)
    fig, how = distributions_figure(result)
    return [
        atomic_write_text(out / "fisher_summary.md", markdown(result, runs, how)),
        atomic_write_text(out / "fisher_summary.csv", csv_text(result)),
        atomic_write_bytes(out / "fisher_ratios.npz", _npz(result)),
        _save(between_sets_figure(result), out / "overlap_between_sets.png"),
        _save(between_emotions_figure(result), out / "overlap_between_emotions.png"),
        _save(fig, out / "feature_distributions.png"),
    ]
