"""How much training the seed networks got, beside the papers' recipes (docs/quality_gap.md).

Reads the finished runs of ``benchmarks/seed_folds.py`` (3-D ACRNN and DCNN-BLSTMwA on the six
RAVDESS speaker folds, plain and speaker-normalised) and their manifest, and prints, per run:
the epochs each fold ran and the epoch whose weights were kept, the training utterances per fit
(the training part less its validation speakers), the training segments the net saw and the
optimiser steps it took, beside the ACRNN reference code's 5000 steps of 60 segments
(``/work/shared/reference/seed_methods.md`` §0.5); and the share of RAVDESS speech utterances
shorter than one 3-s ACRNN segment (zero-padded). Trains nothing.

Usage::

    python benchmarks/quality_gap.py --out quality_gap.md     # after benchmarks/seed_folds.py
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path

import numpy as np

#: paper/code recipe of the ACRNN (seed_methods.md §0.5): 5000 iterations of 60 segments
PAPER_STEPS, PAPER_BATCH = 5000, 60
RUNS = {
    "acrnn": "3-D ACRNN",
    "acrnn_spk": "3-D ACRNN, per-speaker z-score",
    "dcnn": "DCNN-BLSTMwA",
    "dcnn_spk": "DCNN-BLSTMwA, per-speaker z-score",
}


def _parser() -> argparse.ArgumentParser:
    from _report import add_out_option

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/serkit_seed_folds"))
    add_out_option(parser, "quality_gap.md")
    return parser


def fit_utterances(n_train: int, val_split: str) -> int:
    """Training utterances of a fit: ``n_train`` less the validation speakers' share, read
    from a history's ``val_split`` note (``"speaker-disjoint: 3 of 20 speakers"``)."""
    found = re.search(r"(\d+) of (\d+) speakers", val_split or "")
    if not found:
        return n_train
    held, total = int(found.group(1)), int(found.group(2))
    return round(n_train * (total - held) / total)


def run_figures(run_dir: Path) -> dict:
    """Per-fold training facts of one seed-folds run (from its history and config)."""
    import yaml

    cfg = yaml.safe_load((run_dir / "config.yaml").read_text())
    params = cfg["model"]["params"]
    folds = {f["fold"]: f for f in json.loads((run_dir / "dataset.json").read_text())["folds"]}
    rows = []
    for entry in json.loads((run_dir / "history.json").read_text()):
        hist = entry["history"]
        n_fit = fit_utterances(folds[entry["fold"]]["n_train"], hist[0].get("val_split", ""))
        best = max(hist, key=lambda e: (e["val_uar"], -e["val_loss"]))
        row = {
            "fold": entry["fold"],
            "fit_utterances": n_fit,
            "epochs_run": len(hist),
            "best_epoch": int(best["epoch"]),
            "epochs_max": int(params.get("epochs", 0)),
        }
        stage1 = (entry.get("fit_summary") or {}).get("stage1_history") or []
        if stage1:  # DCNN-BLSTMwA: stage 1 trains the AlexNet on random windows
            b1 = max(stage1, key=lambda e: (e["val_uar"], -e["val_loss"]))
            crops = int(params.get("stage1_crops") or 1)
            row.update(
                stage1_epochs_run=len(stage1),
                stage1_best_epoch=int(b1["epoch"]),
                stage1_epochs_max=int(params.get("stage1_epochs", 0)),
                segments_seen=len(stage1) * n_fit * crops,
                steps=len(stage1) * math.ceil(n_fit / int(params["stage1_batch_size"])),
            )
        else:  # ACRNN, train_segments: random -> one 3-s crop per utterance per epoch
            row.update(
                segments_seen=len(hist) * n_fit,
                steps=len(hist) * math.ceil(n_fit / int(params["batch_size"])),
            )
        rows.append(row)
    return {"params": params, "folds": rows}


def short_share(work: Path, seconds: float = 3.0) -> float:
    """Share of the manifest's speech utterances shorter than ``seconds``."""
    import pandas as pd

    df = pd.read_parquet(work / "manifests" / "ravdess.parquet")
    if "mode" in df.columns:
        df = df[df["mode"] == "speech"]
    return float(np.mean(df["duration"].to_numpy() < seconds))


def main(argv: list[str] | None = None) -> int:
    """Print the tables; returns the exit status."""
    from _report import md_table, write_table

    args = _parser().parse_args(argv)
    figures, lines = {}, []
    for key, label in RUNS.items():
        run_dir = args.work / "runs" / f"seed_folds_{key}"
        if not (run_dir / "history.json").exists():
            print(f"skip {key}: {run_dir} has no history.json")
            continue
        fig = figures[key] = run_figures(run_dir)
        folds = fig["folds"]
        stage = "stage1_" if "stage1_epochs_run" in folds[0] else ""
        lines.append(
            [
                label,
                " ".join(str(f[f"{stage}epochs_run"]) for f in folds)
                + f" (of {folds[0][f'{stage}epochs_max']})",
                " ".join(str(f[f"{stage}best_epoch"]) for f in folds),
                " ".join(str(f["fit_utterances"]) for f in folds),
                f"{np.mean([f['segments_seen'] for f in folds]):,.0f}",
                f"{np.mean([f['steps'] for f in folds]):,.0f}",
                f"{np.mean([f['segments_seen'] for f in folds]) / (PAPER_STEPS * PAPER_BATCH):.2f}",
            ]
        )
    if not lines:
        print("no seed-folds runs found; run benchmarks/seed_folds.py first")
        return 1
    text = md_table(
        [
            "run (DCNN-BLSTMwA: stage 1)",
            "epochs run per fold",
            "epoch kept per fold",
            "training utterances per fit",
            "segments seen per fit, mean",
            "optimiser steps per fit, mean",
            f"segments / ACRNN code's {PAPER_STEPS} x {PAPER_BATCH}",
        ],
        lines,
    )
    share = short_share(args.work)
    figures["short_share_3s"] = share
    text += (
        f"\n\nRAVDESS speech utterances shorter than one 3-s segment (zero-padded for the "
        f"ACRNN): {100 * share:.1f} %"
    )
    print(text)
    write_table(args.out, text, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
