"""The SpeechFlow decomposition study (seed 000): every condition x scope as ordinary runs.

:func:`cells` turns a study config (:mod:`serkit.study.config`) into one experiment config per
scope (inside one corpus with speaker folds; across corpora, train on one and test on another
on their common classes) and condition (REC, the fair reference, first; the removals; RAW, the
undecomposed SpeechFlow mel, when ``raw``). Each is run by :func:`serkit.experiment.run` into
``<output>/<study>/runs/<cell>/``, so a cell resumes where it stopped, is a cache hit when
finished, and carries its own certificate: the runner's leakage check covers the
``speechflow`` extractor (:mod:`serkit.encoders.leakage`), so a cell whose test speakers'
audio SpeechFlow was pretrained on says TRANSDUCTIVE (it never sees labels: a labelled package
sharing test speakers would be refused).

:func:`run_study` runs the cells, collects one table (pooled UAR with its 95 % interval, the
change against REC with a paired speaker-bootstrap interval, the certificate status), explains
the REC runs' decisions (:mod:`serkit.explain`) and writes the report
(:mod:`serkit.study.report`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from serkit.errors import ConfigError

Log = Callable[[str], None]
RUNS = "runs"


@dataclass(frozen=True)
class Cell:
    """One cell of the study: ``scope`` (a corpus, or ``train_to_test``), ``kind`` (inside or
    across), ``condition`` and its experiment ``config``."""

    scope: str
    kind: str
    condition: str
    config: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.config["name"])


def common_classes(manifests: list[list[str]], filters: dict[str, Any]) -> list[str]:
    """The emotions every corpus has (canonical labels, in the first corpus's order).

    Raises:
        ConfigError: fewer than two in common (names each corpus's classes).
    """
    from serkit import manifest

    found = []
    for paths in manifests:
        df = pd.concat([manifest.read(Path(p)) for p in paths], ignore_index=True)
        for column, wanted in filters.items():
            if column in df.columns:
                values = wanted if isinstance(wanted, list) else [wanted]
                df = df[df[column].astype("string").isin([str(v) for v in values]).fillna(False)]
        found.append(list(dict.fromkeys(df["emotion"].dropna().astype(str))))
    common = [c for c in found[0] if all(c in other for other in found[1:])]
    if len(common) < 2:
        raise ConfigError(
            f"across corpora: the corpora share {common or 'no'} emotion(s) ({found}); set "
            "classes: [...] on the across: entry (at least two)"
        )
    return common


def _base(study: dict[str, Any], condition: str, reference: str) -> dict[str, Any]:
    features = study["features"]
    params = {**features["params"], "encoder": study["encoder"], "condition": condition}
    final = study["final_model"] == "all" or (
        study["final_model"] == "reference" and condition == reference
    )
    cfg = {
        "features": {
            "name": "speechflow",
            "params": params,
            "store": features["store"],
            "skip_bad": features["skip_bad"],
            **{k: features[k] for k in ("min_duration_s", "min_level_dbfs") if features[k]},
        },
        "model": study["model"],
        "seeds": study["seeds"],
        "bootstrap": study["bootstrap"],
        "final_model": final,
        "workers": study["workers"],
    }
    if study["validation"] is not None:
        cfg["validation"] = study["validation"]
    return cfg


def cell_conditions(study: dict[str, Any]) -> list[str]:
    """The study's conditions, reference first, RAW last when ``raw``."""
    from serkit.features.speechflow import RAW

    return list(study["conditions"]) + ([RAW] if study["raw"] else [])


def cells(study: dict[str, Any], output: str | os.PathLike | None = None) -> list[Cell]:
    """Every cell's experiment config (validated: a bad model, protocol or package fails here,
    before any cell runs).

    Args:
        study: a resolved study config (:func:`serkit.study.config.validate_study`).
        output: the study's parent folder (default: its ``output``).
    """
    from serkit.experiment.config import validate_config

    reference = study["conditions"][0]
    runs = str(Path(output if output is not None else study["output"]) / study["name"] / RUNS)
    scopes: list[tuple[str, str, dict[str, Any]]] = []
    for entry in study["inside"]:
        data = {
            "manifests": list(study["corpora"][entry["corpus"]]),
            "label_set": entry["label_set"],
            "filter": dict(entry["filter"]),
        }
        protocol = entry["protocol"]
        protocol = {"name": protocol} if isinstance(protocol, str) else dict(protocol)
        protocol.setdefault("disjoint", ["speaker"])
        scopes.append((str(entry["corpus"]), "inside", {"data": data, "protocol": protocol}))
    for entry in study["across"]:
        train, test = str(entry["train"]), str(entry["test"])
        manifests = [study["corpora"][train], study["corpora"][test]]
        classes = entry["classes"] or common_classes(manifests, entry["filter"])
        data = {
            "manifests": [*manifests[0], *manifests[1]],
            "label_set": None,
            "filter": {**entry["filter"], "emotion": list(classes)},
        }
        protocol = {
            "name": "cross-corpus",
            "params": {"train": [train], "test": [test]},
            "disjoint": ["speaker"],
        }
        scopes.append((f"{train}_to_{test}", "across", {"data": data, "protocol": protocol}))
    out = []
    for scope, kind, part in scopes:
        for condition in cell_conditions(study):
            raw = {
                "name": f"{study['name']}.{scope}.{condition}",
                "description": f"{study['name']}: {kind} {scope}, SpeechFlow condition {condition}",
                **_base(study, condition, reference),
                **part,
                "output": runs,
            }
            try:
                cfg = validate_config(raw)
            except ConfigError as exc:
                raise ConfigError(f"study cell {raw['name']}: {exc.message}") from None
            out.append(Cell(scope, kind, condition, cfg))
    return out


def paired_delta(
    run: Path, reference: Path, reps: int = 1000, seed: int = 0
) -> tuple[float, list[float] | None]:
    """Pooled UAR of ``run`` minus ``reference`` on the rows both predicted, with a paired
    speaker-bootstrap 95 % interval (the same speakers drawn for both; ``None`` with fewer than
    two test speakers).

    Args:
        run, reference: run folders (``predictions.parquet``).
    """
    from serkit import metrics

    a = pd.read_parquet(run / "predictions.parquet")
    b = pd.read_parquet(reference / "predictions.parquet")
    keys = ["seed", "id"]
    both = a.merge(b, on=keys, suffixes=("", "_ref"))
    classes = list(json.loads((reference / "metrics.json").read_text())["classes"])
    k = len(classes)
    index = {c: i for i, c in enumerate(classes)}

    def codes(true: pd.Series, pred: pd.Series) -> np.ndarray:
        pairs = zip(true.astype(str), pred.astype(str), strict=True)
        return np.asarray([index[t] * k + index[p] for t, p in pairs], dtype=np.int64)

    ca, cb = codes(both["true"], both["pred"]), codes(both["true_ref"], both["pred_ref"])
    point = metrics.uar(both["true"], both["pred"], classes) - metrics.uar(
        both["true_ref"], both["pred_ref"], classes
    )
    if both["speaker"].nunique() < 2:
        return float(point), None
    args = {"clusters": both["speaker"].astype(str).to_numpy(), "runs": both["seed"].to_numpy()}
    da = metrics.bootstrap_distribution(ca, k, reps=reps, seed=seed, **args)["uar"]
    db = metrics.bootstrap_distribution(cb, k, reps=reps, seed=seed, **args)["uar"]
    diff = da - db
    return float(point), [float(np.quantile(diff, 0.025)), float(np.quantile(diff, 0.975))]


def collect(study: dict[str, Any], all_cells: list[Cell], runs: Path) -> pd.DataFrame:
    """One row per cell: ``scope, kind, condition, uar, uar_low, uar_high, delta_rec,
    delta_low, delta_high, n_test, classes, certificate, run``."""
    reference = study["conditions"][0]
    rows = []
    for cell in all_cells:
        folder = runs / cell.name
        m = json.loads((folder / "metrics.json").read_text())
        ds = json.loads((folder / "dataset.json").read_text())
        cert = ds.get("certification") or {}
        ci = (m["pooled"].get("ci95") or {}).get("uar") or [None, None]
        ref_folder = runs / f"{study['name']}.{cell.scope}.{reference}"
        if cell.condition == reference:
            delta, interval = 0.0, None
        else:
            boot = study["bootstrap"]
            delta, interval = paired_delta(folder, ref_folder, boot["reps"], boot["seed"])
        rows.append(
            {
                "scope": cell.scope,
                "kind": cell.kind,
                "condition": cell.condition,
                "uar": float(m["pooled"]["uar"]),
                "uar_low": ci[0],
                "uar_high": ci[1],
                "delta_rec": delta,
                "delta_low": None if interval is None else interval[0],
                "delta_high": None if interval is None else interval[1],
                "n_test": int(m["pooled"].get("n") or 0),
                "classes": ",".join(m["classes"]),
                "certificate": (cert.get("encoder") or {}).get("status", ""),
                "statement": cert.get("statement", ""),
                "run": str(folder),
            }
        )
    return pd.DataFrame(rows)


def run_study(
    study: dict[str, Any],
    output: str | os.PathLike | None = None,
    *,
    overwrite: bool = False,
    log: Log | None = None,
    progress: bool = False,
    only: list[str] | None = None,
) -> Path:
    """Run every cell (resuming finished ones) and write the study folder.

    Args:
        study: a resolved study config.
        output: parent folder (default: the study's ``output``).
        overwrite: discard the cells' existing run folders first.
        log: called with one line per step.
        progress: feature-extraction progress bars.
        only: run only the cells whose scope is listed (the report covers those).

    Returns:
        ``<output>/<name>/`` holding ``runs/``, ``table.csv``, ``study.json``, ``uar.png``,
        ``explain/`` and ``report.md`` / ``report.html``.
    """
    from serkit.atomic import atomic_write_json, atomic_write_text
    from serkit.experiment import run
    from serkit.study.report import write_study_report

    log = log or (lambda line: None)
    folder = Path(output if output is not None else study["output"]) / study["name"]
    todo = cells(study, output)
    if only:
        known = sorted({c.scope for c in todo})
        missing = sorted(set(only) - set(known))
        if missing:
            raise ConfigError(f"study: no scope {missing}; scopes: {', '.join(known)}")
        todo = [c for c in todo if c.scope in only]
    log(f"study {study['name']}: {len(todo)} cells ({len({c.scope for c in todo})} scopes)")
    runs = folder / RUNS
    for i, cell in enumerate(todo, 1):
        log(f"[cell {i}/{len(todo)}] {cell.name}")
        run(
            cell.config,
            runs.parent / RUNS,
            overwrite=overwrite,
            log=lambda line: log(f"  {line}"),
            progress=progress,
        )
    table = collect(study, todo, runs)
    atomic_write_text(folder / "table.csv", table.to_csv(index=False))
    explanations = explain_references(study, todo, runs, folder / "explain", log)
    atomic_write_json(
        folder / "study.json",
        {"config": study, "cells": [c.name for c in todo], "explain": explanations},
    )
    md, _ = write_study_report(folder)
    log(f"report: {md}")
    return folder


def explain_references(
    study: dict[str, Any], todo: list[Cell], runs: Path, out: Path, log: Log
) -> list[dict[str, Any]]:
    """Explain up to ``explain.limit`` test rows of each scope with its REC run's final model.

    Inside a corpus the final model was fitted on every row, so its explanations are of rows
    it trained on (said in the report); across corpora they are of the unseen test corpus.

    Returns:
        ``[{scope, kind, run, rows, table, summary, held_out}]`` (CSV paths relative to the
        study folder).
    """
    from serkit.atomic import atomic_write_text
    from serkit.experiment.data import load_rows
    from serkit.explain import explain_rows, pick_rows

    limit = int(study["explain"]["limit"])
    reference = study["conditions"][0]
    done = []
    for cell in todo:
        if not limit or cell.condition != reference or not cell.config["final_model"]:
            continue
        rows = load_rows(cell.config["data"])
        if cell.kind == "across":
            test = cell.config["protocol"]["params"]["test"]
            rows = rows[rows["corpus"].astype(str).isin(test)]
        rows = pick_rows(rows, limit, seed=int(study["seeds"][0]))
        log(f"explain {cell.scope}: {len(rows)} utterances, REC model of {cell.name}")
        result = explain_rows(runs / cell.name, rows, conditions=study["explain"]["conditions"])
        table_path = out / f"{cell.scope}.csv"
        summary_path = out / f"{cell.scope}_summary.csv"
        atomic_write_text(table_path, result.table.to_csv(index=False))
        atomic_write_text(summary_path, result.summary().to_csv())
        done.append(
            {
                "scope": cell.scope,
                "kind": cell.kind,
                "run": cell.name,
                "rows": len(rows),
                "table": str(table_path.relative_to(out.parent)),
                "summary": str(summary_path.relative_to(out.parent)),
                "held_out": cell.kind == "across",
                **result.to_dict(),
            }
        )
    return done
