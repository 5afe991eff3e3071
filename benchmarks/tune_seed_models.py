"""Validation-only tuning of an experiment config: variants scored on held-out training speakers.

The test speakers of the chosen outer fold (``--dev-fold``) are dropped before anything is
fitted; each variant (a list of config overrides) is fitted on the remaining rows, where the
model makes its own speaker-disjoint validation split (``val_fraction`` of the speakers), and is
scored on that split only: the best validation UAR of its epoch history, the best stage-1 UAR
and the decision-head scores where the model keeps them (``fit_summary_``). No test row of any
fold is predicted. Choose a variant here, then run the config over all folds with
``serkit train``.

Caveat, printed with the results: the validation speakers of a dev fold are test speakers of
*other* outer folds, so scores chosen here are not nested for those folds. A fully nested
choice is made inside every fold by the model itself (early stopping, ``decision: auto``).

Usage (from the folder the config's paths resolve against)::

    OMP_NUM_THREADS=1 nice python benchmarks/tune_seed_models.py configs/ravdess_acrnn.yaml \\
        --variant e8:model.params.epochs=8 --variant e30:model.params.epochs=30 \\
        --out tuning/acrnn.md

A variant is ``NAME:KEY=VALUE[,KEY=VALUE...]`` (``NAME:`` alone: the config as it is). The
table goes to ``--out`` (Markdown; default ``tune_<config name>.md``) and every variant's
record to ``--out`` with ``.json`` as soon as it is fitted; a variant already recorded there
with the same config, overrides, dev fold and seed is kept, not refitted.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from serkit.experiment.config import load_config  # noqa: E402
from serkit.experiment.data import load_rows  # noqa: E402
from serkit.experiment.runner import experiment_data, make_folds  # noqa: E402
from serkit.experiment.search import fit_model, make_model  # noqa: E402


def parse_variant(text: str) -> tuple[str, list[str]]:
    """``"name:a=1,b=2"`` -> ``("name", ["a=1", "b=2"])``."""
    name, _, rest = text.partition(":")
    if not name:
        raise SystemExit(f"--variant {text!r}: expected NAME:KEY=VALUE[,KEY=VALUE...]")
    items, depth, current = [], 0, ""
    for char in rest:  # commas inside [...] or {...} belong to the value
        depth += (char in "[{") - (char in "]}")
        if char == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += char
    return name, [item for item in [*items, current] if item]


def best_val(history: list[dict[str, Any]] | None) -> tuple[float | None, int | None]:
    """Best validation UAR of an epoch history and its epoch (``None`` without history)."""
    scored = [h for h in history or [] if h.get("val_uar") is not None]
    if not scored:
        return None, None
    best = max(scored, key=lambda h: h["val_uar"])
    return float(best["val_uar"]), int(best["epoch"])


def score_variant(config: str, overrides: list[str], dev_fold: int, seed: int) -> dict[str, Any]:
    """Fit one variant on the dev fold's training speakers; validation scores only."""
    cfg = load_config(config, [*overrides, f"seeds=[{seed}]"])
    rows = load_rows(cfg["data"])
    df, _, _, dataset, level = experiment_data(cfg, rows, print)
    folds, _ = make_folds(cfg, df, seed)
    fold = folds[dev_fold]
    train = fold.train if fold.val is None else np.concatenate([fold.train, fold.val])
    held_out = sorted(set(dataset.groups[fold.test]))
    started = time.time()
    model = fit_model(make_model(cfg, seed), dataset, train, level)
    summary = getattr(model, "fit_summary_", None) or {}
    val, epoch = best_val(getattr(model, "history_", None))
    stage1, stage1_epoch = best_val(summary.get("stage1_history"))
    return {
        "overrides": overrides,
        "dev_fold": fold.name,
        "dropped_test_speakers": [str(s) for s in held_out],
        "n_train_rows": int(len(train)),
        "val_split": getattr(model, "val_split_", None),
        "val_uar": val,
        "best_epoch": epoch,
        "epochs_run": len(getattr(model, "history_", None) or []),
        "stage1_val_uar": stage1,
        "stage1_best_epoch": stage1_epoch,
        "decision": summary.get("decision"),
        "decision_scores": summary.get("decision_scores") or {},
        "seconds": round(time.time() - started, 1),
    }


def table(results: dict[str, dict[str, Any]]) -> str:
    """Markdown table of the variants' validation scores."""

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.1f}"

    lines = [
        "| variant | val UAR % (epoch) | stage-1 val UAR % (epoch) | heads (val UAR %) | s |",
        "|---|---|---|---|---|",
    ]
    for name, r in results.items():
        heads = ", ".join(f"{k} {pct(v)}" for k, v in r["decision_scores"].items())
        lines.append(
            f"| {name} | {pct(r['val_uar'])} ({r['best_epoch']}/{r['epochs_run']}) | "
            f"{pct(r['stage1_val_uar'])} ({r['stage1_best_epoch']}) | {heads or '-'} | "
            f"{r['seconds']} |"
        )
    return "\n".join(lines)


def _request(config: str, overrides: list[str], dev_fold: int, seed: int) -> dict[str, Any]:
    """What a stored result must match to be kept instead of refitted."""
    return {"config": config, "overrides": overrides, "dev_fold_index": dev_fold, "seed": seed}


def kept(stored: dict[str, Any] | None, request: dict[str, Any]) -> bool:
    """Whether a stored record answers ``request`` (and is kept instead of refitted).

    Records written by older versions of this script lack the config, dev fold and seed; they
    match on their overrides alone.
    """
    if not stored or stored.get("overrides") != request["overrides"]:
        return False
    return all(stored.get(key, value) == value for key, value in request.items())


def report(results: dict[str, dict[str, Any]], config: str) -> str:
    """The table, its caveat and the overrides of every variant (Markdown)."""
    first = next(iter(results.values()))
    variants = "\n".join(
        f"- {name}: `{','.join(r['overrides']) or '(the config as it is)'}`"
        for name, r in results.items()
    )
    return (
        f"Validation-only tuning of `{config}`\n\n{table(results)}\n\n"
        f"Tuning data: outer fold {first['dev_fold']} without its test speakers "
        f"({', '.join(first['dropped_test_speakers'])}); validation split: "
        f"{first['val_split']}. These validation speakers are test speakers of other outer "
        "folds: a choice made here is validation-only for this fold, not nested for the others."
        f"\n\nVariants (`--variant NAME:OVERRIDES`):\n\n{variants}"
    )


def _parser() -> argparse.ArgumentParser:
    from _report import add_out_option

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config", help="experiment YAML")
    parser.add_argument("--variant", action="append", required=True, help="NAME:KEY=VALUE,...")
    parser.add_argument(
        "--dev-fold",
        type=int,
        default=0,
        help="outer fold whose test part is dropped (its training speakers are the tuning data)",
    )
    parser.add_argument("--seed", type=int, default=0)
    add_out_option(parser, None, shown="tune_<config file name>.md")
    return parser


def out_path(args: argparse.Namespace) -> Path:
    """``--out``, by default ``tune_<config file name>.md`` in the working folder."""
    return args.out or Path(f"tune_{Path(args.config).stem}.md")


def main(argv: list[str] | None = None) -> int:
    """Fit the variants not yet in ``--out``'s figures, print and write the table."""
    args = _parser().parse_args(argv)
    from _report import read_figures, write_figures, write_table

    out = out_path(args)
    results: dict[str, dict[str, Any]] = read_figures(out) or {}
    for text in args.variant:
        name, overrides = parse_variant(text)
        request = _request(args.config, overrides, args.dev_fold, args.seed)
        if kept(results.get(name), request):
            print(f"{name}: kept from {out}")
            continue
        print(f"{name}: fitting with {overrides or 'the config as it is'}", flush=True)
        results[name] = score_variant(args.config, overrides, args.dev_fold, args.seed) | request
        print(json.dumps(results[name]), flush=True)
        write_figures(out, results)  # after every variant: an interrupted run keeps its fits
    text = report(results, args.config)
    print("\n" + text)
    write_table(out, text, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
