"""Classic SER baselines, speaker-independent: eGeMAPS + SVM and ComParE + SVM, LOSO.

Runs the example configs ``configs/{ravdess,turev}_{egemaps,compare}_svm.yaml`` on the real
corpora (RAVDESS speech, 8 classes, 24 actors; TurEV-DB, 4 classes, 6 speakers) and, where a
``_spknorm`` twin exists (RAVDESS), the same with ``features.normalize: speaker``. Prints UAR
and WA pooled over folds with 95 % bootstrap intervals (recomputed from each run's
``predictions.parquet`` with ``serkit.metrics``; the table says what the bootstrap resampled),
the mean +- std over folds, the fold fitting time and the exact commands of every row, and
writes the table to ``--out`` (Markdown) and ``--out`` with ``.json`` (the figures).

Usage (from the repository root; takes a few minutes, mostly ComParE extraction)::

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/baselines.py --workers 2 --out baselines.md
    python benchmarks/baselines.py --normalize none --corpora turev   # a subset
    python benchmarks/baselines.py --summarise-only                  # table from finished runs

Work files (manifests, feature store, run folders) go to ``--work`` (default
``/tmp/serkit_baselines``), never into the repository. Relative paths in the configs resolve
against the working directory, so the script changes into ``--work``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
#: corpus key -> (recipe name, data folder, manifest file name, table label)
CORPORA = {
    "ravdess": ("ravdess", "ravdess", "ravdess.parquet", "RAVDESS"),
    "turev": ("turev-db", "turev_db", "turev-db.parquet", "TurEV-DB"),
}
FEATURES = {"egemaps": "eGeMAPS", "compare": "ComParE 2016"}
#: normalisation -> config file suffix
NORMALIZE = {"none": "", "speaker": "_spknorm"}


def config_path(corpus: str, feature: str, normalize: str, configs: Path = REPO / "configs"):
    """The config of one row, or ``None`` when the repository has none for it."""
    path = configs / f"{corpus}_{feature}_svm{NORMALIZE[normalize]}.yaml"
    return path if path.exists() else None


def planned_rows(
    corpora: list[str], features: list[str], normalize: list[str], configs: Path = REPO / "configs"
) -> list[tuple[str, str, str, Path]]:
    """``(corpus, feature, normalize, config)`` of every row that has a config, in table order."""
    rows = []
    for norm in normalize:
        for corpus in corpora:
            for feature in features:
                path = config_path(corpus, feature, norm, configs)
                if path is not None:
                    rows.append((corpus, feature, norm, path))
    return rows


def _model_label(model: dict[str, Any]) -> str:
    params = model.get("params") or {}
    if model.get("name") == "svm":
        kernel = params.get("kernel", "rbf")
        return f"{'RBF' if kernel == 'rbf' else kernel} SVM (C={params.get('C', 1.0)})"
    return str(model.get("name", "?"))


def summarise(
    run_dir: Path, corpus: str, feature: str, normalize: str, command: str, method: str | None
) -> dict[str, Any]:
    """The table row of a finished run, recomputed from its ``predictions.parquet``.

    Args:
        run_dir: the run folder.
        corpus, feature, normalize: the row's keys.
        command: the ``serkit train`` command of the row.
        method: bootstrap method (``"speaker"`` / ``"row"``); ``None``: the run config's.
    """
    from serkit.experiment import evaluate
    from serkit.experiment.runs import read_config
    from serkit.report import describe_bootstrap

    m = evaluate(run_dir, write=False, method=method)
    cfg = read_config(run_dir)
    dataset_path = run_dir / "dataset.json"
    dataset = json.loads(dataset_path.read_text()) if dataset_path.exists() else {}
    seconds = [f["seconds"] for f in dataset.get("folds", []) if f.get("seconds") is not None]
    pooled = m["pooled"]
    ci = pooled.get("ci95") or {}
    return {
        "corpus": corpus,
        "features": feature,
        "normalize": normalize,
        "label": f"{FEATURES[feature]} + {_model_label(cfg.get('model') or {})}",
        "run": str(run_dir),
        "command": command,
        "folds": m["n_folds"],
        "classes": len(m["classes"]),
        "n": pooled["n"],
        "uar": pooled["uar"],
        "uar_ci": ci.get("uar"),
        "wa": pooled["wa"],
        "wa_ci": ci.get("wa"),
        "uar_over_folds": m["mean_over_folds"]["uar"],
        "fit_seconds": sum(seconds) if seconds else None,
        "bootstrap": m.get("bootstrap"),
        "interval": describe_bootstrap(m.get("bootstrap")),
    }


def _pct(value: float, ci: list[float] | None) -> str:
    text = f"{100 * value:.1f}"
    return text + (f" [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]" if ci else " (no interval)")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def table(rows: list[dict[str, Any]]) -> str:
    """The Markdown table of the README (one row per run)."""
    from _report import md_table

    body = []
    for r in rows:
        folds = r["uar_over_folds"]
        body.append(
            [
                f"{CORPORA[r['corpus']][3]}, {r['classes']} classes, {r['folds']} folds",
                "speaker" if r["normalize"] == "speaker" else "none",
                r["label"],
                _pct(r["uar"], r["uar_ci"]),
                _pct(r["wa"], r["wa_ci"]),
                f"{100 * folds['mean']:.1f} ± {100 * folds['std']:.1f}",
                r["interval"],
                _duration(r["fit_seconds"]),
            ]
        )
    header = [
        "corpus",
        "`features.normalize`",
        "features + model",
        "UAR % [95 % CI]",
        "WA % [95 % CI]",
        "UAR % per fold, mean ± std",
        "95 % CI",
        "fitting, all folds",
    ]
    return md_table(header, body)


def report(rows: list[dict[str, Any]], prepare_commands: list[str]) -> str:
    """Heading, table and the commands that reproduce every row."""
    lines = [
        "Speaker-independent baselines (leave one speaker out; UAR and WA pooled over folds, "
        "percentile bootstrap 95 % intervals)",
        "",
        table(rows),
        "",
        "Commands (in one working folder, against which the configs' relative paths resolve):",
        "",
        *[f"- `{c}`" for c in prepare_commands],
        *[
            f"- {CORPORA[r['corpus']][3]}, {r['label']}"
            f"{', speaker-normalised' if r['normalize'] == 'speaker' else ''}: `{r['command']}`"
            for r in rows
        ],
    ]
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    from _report import add_out_option

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="folder with the corpora")
    parser.add_argument("--work", type=Path, default=Path("/tmp/serkit_baselines"))
    parser.add_argument("--corpora", nargs="+", default=list(CORPORA), choices=list(CORPORA))
    parser.add_argument("--features", nargs="+", default=list(FEATURES), choices=list(FEATURES))
    parser.add_argument(
        "--normalize",
        nargs="+",
        default=list(NORMALIZE),
        choices=list(NORMALIZE),
        help="none: the plain configs; speaker: their `_spknorm` twins, where one exists",
    )
    parser.add_argument("--workers", type=int, default=2, help="feature-extraction processes")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument(
        "--method",
        choices=["speaker", "row"],
        default=None,
        help="bootstrap resampling unit of the intervals (default: each run config's, "
        "which defaults to test speakers)",
    )
    parser.add_argument(
        "--summarise-only",
        action="store_true",
        help="train nothing: the table from the run folders in --work",
    )
    add_out_option(parser, "baselines.md")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the baselines and print the table; returns the exit status."""
    args = _parser().parse_args(argv)

    from _report import write_table
    from serkit import experiment
    from serkit.corpora import prepare
    from serkit.errors import ConfigError

    out = args.out.resolve()
    data = args.data.resolve()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    os.chdir(work)
    overrides = [f"workers={args.workers}", f"seeds={args.seeds}"]
    rows, prepare_commands, missing = [], {}, []
    for corpus, feature, normalize, path in planned_rows(
        args.corpora, args.features, args.normalize
    ):
        recipe, folder, manifest_name, _ = CORPORA[corpus]
        root = data / folder
        prepare_commands[corpus] = f"serkit prepare {recipe} {root} -o manifests"
        cfg = experiment.load_config(path, overrides)
        command = f"serkit train configs/{path.name} {' '.join(overrides)}"
        run_dir = Path(cfg["output"]).resolve() / cfg["name"]
        if not args.summarise_only:
            manifest = Path("manifests") / manifest_name
            if not manifest.exists():
                if not root.is_dir():
                    print(f"skip {path.name}: no corpus at {root}")
                    continue
                started = time.perf_counter()
                prepare(recipe, root, output=Path("manifests"))
                print(f"$ {prepare_commands[corpus]}   ({time.perf_counter() - started:.1f} s)")
            print(f"\n$ {command}", flush=True)
            started = time.perf_counter()
            run_dir = experiment.run(
                cfg, log=lambda line: print("  " + line, flush=True), command=command
            ).resolve()
            print(f"  wall time {time.perf_counter() - started:.0f} s", flush=True)
        if not (run_dir / "predictions.parquet").exists():
            print(f"skip {path.name}: {run_dir} has no predictions.parquet")
            missing.append(str(run_dir))
            continue
        try:
            rows.append(summarise(run_dir, corpus, feature, normalize, command, args.method))
        except ConfigError as exc:  # e.g. predictions without a speaker column
            print(f"skip {path.name}: {exc} (the bootstrap: --method row)")
            missing.append(str(run_dir))
    if not rows:
        print(f"no finished runs in {work}: nothing to tabulate")
        return 1
    used = {r["corpus"] for r in rows}
    text = report(rows, [c for k, c in prepare_commands.items() if k in used])
    print("\n" + text)
    write_table(out, text, {"rows": rows, "skipped": missing})
    print(f"compare: serkit compare {' '.join(r['run'] for r in rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
