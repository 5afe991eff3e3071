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

The best validation UAR of a history is biased upwards (the epoch is chosen on the same
speakers), and it cannot compare a variant that keeps the best epoch with one that trains on
every speaker for a fixed schedule (``model.params.val_fraction=0``). ``--dev-test N`` makes
that comparison fair: N of the dev fold's training speakers (drawn with ``--dev-test-seed``,
the same for every variant and seed) are held out before the variant is fitted on the others,
and the fitted model predicts them; their UAR / WA are reported beside the validation scores.
A variant with ``perturb.speed=[...]`` fits on the kept training rows and their speed copies
(as a fold of ``serkit train`` does); no held-out or test row is copied into the fit. With
``perturb.test=true`` the dev-test rows are scored by the mean over their own copies' posteriors
too, and ``dev_test_uar_one_view`` keeps the same fit's score without that averaging (with
``perturb.train=false`` the fit sees the real rows only).

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
from serkit.experiment.perturbation import perturbed_copies  # noqa: E402
from serkit.experiment.runner import experiment_data, make_folds  # noqa: E402
from serkit.experiment.search import make_model  # noqa: E402


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
    scored = [
        h for h in history or [] if h.get("val_uar") is not None and np.isfinite(h["val_uar"])
    ]
    if not scored:
        return None, None
    best = max(scored, key=lambda h: h["val_uar"])
    return float(best["val_uar"]), int(best["epoch"])


def hold_out_speakers(
    rows: np.ndarray, groups: np.ndarray, count: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Split row positions into ``(kept, held_out)``: ``count`` whole speakers held out.

    The speakers are drawn with ``seed`` from the sorted speakers of ``rows``, so the split
    does not depend on the row order. At least two speakers must stay.

    >>> groups = np.array(["a", "a", "b", "c", "c", "d"])
    >>> kept, out = hold_out_speakers(np.arange(6), groups, 1, seed=0)
    >>> sorted(set(groups[out])), len(kept) + len(out)
    (['b'], 6)
    """
    speakers = sorted(set(groups[rows].tolist()))
    if not 1 <= count <= len(speakers) - 2:
        raise SystemExit(
            f"--dev-test {count}: the dev fold has {len(speakers)} training speakers; hold out "
            f"between 1 and {len(speakers) - 2}"
        )
    drawn = np.random.default_rng(seed).choice(len(speakers), size=count, replace=False)
    out = np.isin(groups[rows], [speakers[i] for i in drawn])
    return rows[~out], rows[out]


def score_variant(request: dict[str, Any]) -> dict[str, Any]:
    """Fit one variant (a :func:`_request`) on the dev fold's training speakers; validation
    scores only.

    With ``dev_test`` > 0 in the request, that many of those speakers are held out first and
    predicted by the fitted variant (``dev_test_uar`` / ``dev_test_wa``); no outer test row is
    ever used.
    """
    from serkit import metrics

    config, overrides, seed = request["config"], request["overrides"], request["seed"]
    dev_fold, dev_test = request["dev_fold_index"], request.get("dev_test", 0)
    cfg = load_config(config, [*overrides, f"seeds=[{seed}]"])
    rows = load_rows(cfg["data"])
    df, frontend, _, dataset, level = experiment_data(cfg, rows, print)
    copies = perturbed_copies(cfg, df, frontend, print)  # None without `perturb`
    folds, _ = make_folds(cfg, df, seed)
    fold = folds[dev_fold]
    train = fold.train if fold.val is None else np.concatenate([fold.train, fold.val])
    held_out = sorted(set(dataset.groups[fold.test]))
    dev_rows = train[:0]
    if dev_test:
        train, dev_rows = hold_out_speakers(
            train, dataset.groups, dev_test, request["dev_test_seed"]
        )
    started = time.time()
    if copies is None:
        X, y, groups = dataset.inputs(train, level), dataset.y[train], dataset.groups[train]
    else:  # the kept training rows and their copies, as a fold of `serkit train` sees them
        X, y, groups = copies.training(dataset, train, level)
    model = make_model(cfg, seed).fit(X, y, groups=groups)
    dev_scores: dict[str, Any] = {}
    if len(dev_rows):
        pred = model.predict(dataset.inputs(dev_rows, level))
        truth = dataset.y[dev_rows]
        dev_scores = {
            "dev_test_speakers": sorted(str(s) for s in set(dataset.groups[dev_rows])),
            "dev_test_uar": float(metrics.uar(truth, pred, dataset.classes)),
            "dev_test_wa": float(metrics.wa(truth, pred, dataset.classes)),
        }
        if copies is not None and copies.test:  # scored as `serkit train` would, and without
            proba = copies.posteriors(model, dataset, dev_rows, level)
            averaged = np.asarray(model.classes_)[np.argmax(proba, axis=1)]
            dev_scores |= {
                "dev_test_uar_one_view": dev_scores["dev_test_uar"],
                "dev_test_uar": float(metrics.uar(truth, averaged, dataset.classes)),
                "dev_test_wa": float(metrics.wa(truth, averaged, dataset.classes)),
            }
    summary = getattr(model, "fit_summary_", None) or {}
    val, epoch = best_val(getattr(model, "history_", None))
    stage1, stage1_epoch = best_val(summary.get("stage1_history"))
    return {
        "overrides": overrides,
        "dev_fold": fold.name,
        "dropped_test_speakers": [str(s) for s in held_out],
        "n_train_rows": int(len(train)),
        **({"n_copies": int(len(y) - len(train))} if copies is not None else {}),
        "val_split": getattr(model, "val_split_", None),
        "val_uar": val,
        "best_epoch": epoch,
        "epochs_run": len(getattr(model, "history_", None) or []),
        "stage1_val_uar": stage1,
        "stage1_best_epoch": stage1_epoch,
        "decision": summary.get("decision"),
        "decision_scores": summary.get("decision_scores") or {},
        "seconds": round(time.time() - started, 1),
    } | dev_scores


def table(results: dict[str, dict[str, Any]]) -> str:
    """Markdown table of the variants' validation scores."""

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.1f}"

    dev = any("dev_test_uar" in r for r in results.values())
    lines = [
        "| variant | val UAR % (epoch) | stage-1 val UAR % (epoch) | heads (val UAR %) | "
        + ("dev-test UAR / WA % | " if dev else "")
        + "s |",
        "|---|---|---|---|" + ("---|" if dev else "") + "---|",
    ]
    for name, r in results.items():
        heads = ", ".join(f"{k} {pct(v)}" for k, v in r["decision_scores"].items())
        scores = f"{pct(r.get('dev_test_uar'))} / {pct(r.get('dev_test_wa'))} | " if dev else ""
        lines.append(
            f"| {name} | {pct(r['val_uar'])} ({r['best_epoch']}/{r['epochs_run']}) | "
            f"{pct(r['stage1_val_uar'])} ({r['stage1_best_epoch']}) | {heads or '-'} | "
            f"{scores}{r['seconds']} |"
        )
    return "\n".join(lines)


def _request(
    config: str,
    overrides: list[str],
    dev_fold: int,
    seed: int,
    dev_test: int = 0,
    dev_test_seed: int = 0,
) -> dict[str, Any]:
    """What a stored result must match to be kept instead of refitted."""
    request = {"config": config, "overrides": overrides, "dev_fold_index": dev_fold, "seed": seed}
    if dev_test:  # absent (not 0) otherwise, so records written before the option still match
        request |= {"dev_test": dev_test, "dev_test_seed": dev_test_seed}
    return request


def kept(stored: dict[str, Any] | None, request: dict[str, Any]) -> bool:
    """Whether a stored record answers ``request`` (and is kept instead of refitted).

    Records written by older versions of this script lack the config, dev fold and seed; they
    match on their overrides alone.
    """
    if not stored or stored.get("overrides") != request["overrides"]:
        return False
    if any(stored.get(key, 0) != request.get(key, 0) for key in ("dev_test", "dev_test_seed")):
        return False  # a record scored on other (or no) dev-test speakers
    return all(stored.get(key, value) == value for key, value in request.items())


def report(results: dict[str, dict[str, Any]], config: str) -> str:
    """The table, its caveat and the overrides of every variant (Markdown)."""
    first = next(iter(results.values()))
    dev = ""
    if "dev_test_speakers" in first:
        dev = (
            f" Dev-test speakers, held out of that training part before every fit and "
            f"predicted by it: {', '.join(first['dev_test_speakers'])}."
        )
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
        f"{dev}"
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
    parser.add_argument(
        "--dev-test",
        type=int,
        default=0,
        metavar="N",
        help="hold out N of the dev fold's training speakers and score every variant on them",
    )
    parser.add_argument(
        "--dev-test-seed", type=int, default=0, help="draws the --dev-test speakers"
    )
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
        request = _request(
            args.config, overrides, args.dev_fold, args.seed, args.dev_test, args.dev_test_seed
        )
        if kept(results.get(name), request):
            print(f"{name}: kept from {out}")
            continue
        print(f"{name}: fitting with {overrides or 'the config as it is'}", flush=True)
        results[name] = score_variant(request) | request
        print(json.dumps(results[name]), flush=True)
        write_figures(out, results)  # after every variant: an interrupted run keeps its fits
    text = report(results, args.config)
    print("\n" + text)
    write_table(out, text, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
