"""Seed classifiers beside the classic baselines on the same six RAVDESS speaker folds.

Runs ten experiments on RAVDESS speech (8 classes) with ``speaker-kfold`` k = 6, seed 0
(identical folds of four actors for every row): eGeMAPS + RBF SVM, ComParE 2016 + linear SVM,
the 3-D ACRNN and DCNN-BLSTMwA, each on plain and on per-speaker z-scored features
(``features.normalize: speaker``), and the speaker-normalised eGeMAPS and ComParE SVMs with
their C chosen on 4 inner speaker folds of every training part (the nested ``search``). Prints
UAR and WA pooled over folds with 95 % intervals (``serkit.metrics.summarize``: by default a
bootstrap over test speakers), the training time (sum of the six fold fits) and the exact
command of every row, and writes the table to ``--out`` (Markdown) and the figures beside it
(``.json``).

Usage (from the repository root; the neural rows take about half an hour each on 2 cores)::

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/seed_folds.py --out seed_folds.md
    python benchmarks/seed_folds.py --rows egemaps compare     # a subset
    python benchmarks/seed_folds.py --summarise-only           # tables from finished runs
    python benchmarks/seed_folds.py --rows acrnn --seeds 0 1 2 --work /tmp/sf3  # 3 seeds

The fused rows (``FUSED``) are built with ``serkit fuse`` from the finished runs of their
members (equal weights, seeds averaged first) whenever those are all among the rows; their
training time is what all their members' seeds took (the other rows: per seed).

``--seeds`` replaces the configs' ``seeds`` for the neural rows (the folds stay those of
protocol seed 0; a seed changes the network's initialisation, its validation speakers and its
batches); their UAR is then the mean over seeds, with the std over seeds beside it.

Runs resume where they stopped (``serkit train`` does); a row whose run folder already holds
``predictions.parquet`` for the same seeds is only summarised (other seeds: the folds of the
seeds already there are read back from ``partial/``, only the new seeds are trained). Work
files (manifest, feature store, run folders) go to ``--work`` (default
``/tmp/serkit_seed_folds``), never into the repository.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import shlex  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
SIX_FOLDS = ["protocol.name=speaker-kfold", "protocol.params.k=6", "protocol.params.seed=0"]
#: row key -> (table label, config file, overrides)
ROWS: dict[str, tuple[str, str, list[str]]] = {
    "egemaps": ("eGeMAPS + RBF SVM", "ravdess_egemaps_svm.yaml", SIX_FOLDS),
    "compare": ("ComParE 2016 + linear SVM", "ravdess_compare_svm.yaml", SIX_FOLDS),
    "acrnn": ("3-D ACRNN", "ravdess_acrnn.yaml", []),
    "dcnn": ("DCNN-BLSTMwA", "ravdess_dcnn_blstmwa.yaml", []),
    "egemaps_spk": (
        "speaker-normalised: eGeMAPS + RBF SVM",
        "ravdess_egemaps_svm_spknorm.yaml",
        SIX_FOLDS,
    ),
    "compare_spk": (
        "speaker-normalised: ComParE 2016 + linear SVM",
        "ravdess_compare_svm_spknorm.yaml",
        SIX_FOLDS,
    ),
    "acrnn_spk": ("speaker-normalised: 3-D ACRNN", "ravdess_acrnn_spknorm.yaml", []),
    "dcnn_spk": ("speaker-normalised: DCNN-BLSTMwA", "ravdess_dcnn_blstmwa_spknorm.yaml", []),
    "dcnn_spk_cola": (
        "speaker-normalised: DCNN-BLSTMwA, AlexNet from COLA pretraining on TurEV-DB + URDU",
        "ravdess_dcnn_blstmwa_spknorm_cola.yaml",
        [],
    ),
    "egemaps_spk_search": (
        "speaker-normalised: eGeMAPS + RBF SVM, C chosen on 4 inner speaker folds",
        "ravdess_egemaps_svm_spknorm.yaml",
        [
            *SIX_FOLDS,
            "search={param_grid: {C: [0.1, 0.3, 1.0, 3.0, 10.0]}, "
            "inner: {name: speaker-kfold, params: {k: 4}}, metric: uar}",
        ],
    ),
    "compare_spk_search": (
        "speaker-normalised: ComParE 2016 + linear SVM, C chosen on 4 inner speaker folds",
        "ravdess_compare_svm_spknorm_search.yaml",
        SIX_FOLDS,
    ),
    "compare_spk_speed": (
        "speaker-normalised: ComParE 2016 + linear SVM, speed copies x0.9 / x1.1",
        "ravdess_compare_svm_spknorm_speed.yaml",
        SIX_FOLDS,
    ),
    "compare_spk_speed_tta": (
        "speaker-normalised: ComParE 2016 + linear SVM, speed copies x0.9 / x1.1 in training "
        "and test-time averaging",
        "ravdess_compare_svm_spknorm_speed_tta.yaml",
        SIX_FOLDS,
    ),
    "acrnn_spk_tta": (
        "speaker-normalised: 3-D ACRNN, test-time averaging over speed copies x0.9 / x1.1",
        "ravdess_acrnn_spknorm.yaml",
        ["perturb={speed: [0.9, 1.1], test: true, train: false}"],
    ),
}
#: rows whose result depends on the run seed (the SVM rows are deterministic)
NEURAL = {"acrnn", "dcnn", "acrnn_spk", "acrnn_spk_tta", "dcnn_spk", "dcnn_spk_cola"}
#: row key -> (pretrain config in configs/pretrain/, the corpora it reads): pretrained first,
#: once (``serkit pretrain`` resumes and keeps a finished run), into ``runs/<its name>``
PRETRAIN: dict[str, tuple[str, dict[str, str]]] = {
    "dcnn_spk_cola": ("cola_alexnet_cpu.yaml", {"turev-db": "turev_db", "urdu": "urdu"}),
}
#: fused row key -> (table label, member rows): ``serkit fuse`` of the finished member runs,
#: equal weights (declared before any was measured); ``compare_spk_speed_tta+acrnn_spk_tta`` is
#: ``configs/ravdess_recipe.yaml`` (before the ACRNN's test-time averaging:
#: ``compare_spk_speed_tta+acrnn_spk``, before the SVM's: ``compare_spk_speed+acrnn_spk``,
#: before the speed copies: ``compare_spk+acrnn_spk``)
FUSED: dict[str, tuple[str, list[str]]] = {
    "acrnn_ens": ("3-D ACRNN, seed ensemble", ["acrnn"]),
    "compare+acrnn": ("ComParE + linear SVM x 3-D ACRNN (late fusion)", ["compare", "acrnn"]),
    "acrnn_spk_ens": ("speaker-normalised: 3-D ACRNN, seed ensemble", ["acrnn_spk"]),
    "compare_spk+acrnn_spk": (
        "speaker-normalised: ComParE + linear SVM x 3-D ACRNN",
        ["compare_spk", "acrnn_spk"],
    ),
    "dcnn_ens": ("DCNN-BLSTMwA, seed ensemble", ["dcnn"]),
    "dcnn_spk_ens": ("speaker-normalised: DCNN-BLSTMwA, seed ensemble", ["dcnn_spk"]),
    "dcnn_spk_cola_ens": (
        "speaker-normalised: DCNN-BLSTMwA from COLA, seed ensemble",
        ["dcnn_spk_cola"],
    ),
    # declared before the search row was measured: the recipe with the C of its SVM chosen on
    # inner speaker folds instead of the fixed classic 0.001
    "compare_spk_search+acrnn_spk": (
        "speaker-normalised: ComParE + linear SVM (C chosen on inner folds) x 3-D ACRNN",
        ["compare_spk_search", "acrnn_spk"],
    ),
    # declared before the speed row was measured on the six folds (chosen on inner folds):
    # the recipe with speed-perturbed training copies for its SVM
    "compare_spk_speed+acrnn_spk": (
        "speaker-normalised: ComParE + linear SVM (speed copies) x 3-D ACRNN",
        ["compare_spk_speed", "acrnn_spk"],
    ),
    # declared before the test-time row was measured on the six folds (chosen on inner
    # folds): the recipe with test-time averaging over the SVM's speed copies
    "compare_spk_speed_tta+acrnn_spk": (
        "speaker-normalised: ComParE + linear SVM (speed copies, test-time averaging) x 3-D ACRNN",
        ["compare_spk_speed_tta", "acrnn_spk"],
    ),
    "acrnn_spk_tta_ens": (
        "speaker-normalised: 3-D ACRNN with test-time averaging, seed ensemble",
        ["acrnn_spk_tta"],
    ),
    # declared before the ACRNN's test-time row was measured on the six folds (chosen on
    # fold 0's dev-test speakers): both members average over their speed copies
    "compare_spk_speed_tta+acrnn_spk_tta": (
        "speaker-normalised: ComParE + linear SVM (speed copies, test-time averaging) x 3-D "
        "ACRNN (test-time averaging) (`configs/ravdess_recipe.yaml`)",
        ["compare_spk_speed_tta", "acrnn_spk_tta"],
    ),
    # exploratory, not a recipe: the DCNN's one-seed test-fold figures were known when it was
    # declared, so a gain here chooses nothing (docs/quality_gap.md)
    "compare_spk+acrnn_spk+dcnn_spk": (
        "speaker-normalised: ComParE + SVM x ACRNN x DCNN-BLSTMwA (exploratory)",
        ["compare_spk", "acrnn_spk", "dcnn_spk"],
    ),
}


def _run_name(key: str) -> str:
    return f"seed_folds_{key}"


def _seed_overrides(key: str, seeds: list[int] | None) -> list[str]:
    return [f"seeds=[{','.join(map(str, seeds))}]"] if seeds and key in NEURAL else []


def finished_seeds(run_dir: Path) -> set[int]:
    """The seeds of a run folder's finished ``predictions.parquet`` (none: empty)."""
    import pandas as pd

    path = run_dir / "predictions.parquet"
    if not path.exists():
        return set()
    return {int(s) for s in pd.read_parquet(path, columns=["seed"])["seed"].unique()}


def pretrain_for(key: str, data: Path, log: bool) -> None:
    """Prepare the corpora and run the pretraining a row starts from (none: nothing)."""
    if key not in PRETRAIN:
        return
    from serkit.config import load
    from serkit.corpora import prepare
    from serkit.encoders.pretrain import pretrain

    config, corpora = PRETRAIN[key]
    for corpus, folder in corpora.items():
        if not Path(f"manifests/{corpus}.parquet").exists():
            prepare(corpus, (data / folder).resolve(), output=Path("manifests"))
            print(f"$ serkit prepare {corpus} {data / folder} -o manifests")
    print(f"\n$ serkit pretrain configs/pretrain/{config}", flush=True)
    started = time.perf_counter()
    printer = (lambda line: print("  " + line, flush=True)) if log else None
    run_dir = pretrain(load(REPO / "configs" / "pretrain" / config), log=printer)
    print(f"  {run_dir}: wall time {time.perf_counter() - started:.0f} s", flush=True)


def run_row(
    key: str,
    work: Path,
    workers: int,
    log: bool,
    store: str | None = None,
    seeds: list[int] | None = None,
) -> Path:
    """Train (or resume) one row's experiment in ``work``; returns its run folder."""
    from serkit import experiment

    _, config, extra = ROWS[key]
    extra = [*extra, *_seed_overrides(key, seeds)]
    overrides = [*extra, f"name={_run_name(key)}", "final_model=false", f"workers={workers}"]
    if store:
        overrides.append(f"features.store={store}")
    run_dir = work / "runs" / _run_name(key)
    command = f"serkit train configs/{config} {shlex.join(overrides)}"
    print(f"\n$ {command}", flush=True)
    cfg = experiment.load_config(REPO / "configs" / config, overrides)
    if finished_seeds(run_dir) == set(cfg["seeds"]):
        print("  (finished earlier: summarised only)")
        return run_dir
    started = time.perf_counter()
    printer = (lambda line: print("  " + line, flush=True)) if log else None
    experiment.run(cfg, log=printer, command=command)
    print(f"  wall time {time.perf_counter() - started:.0f} s", flush=True)
    return run_dir


def _fit_seconds(run_dir: Path) -> float:
    """What all the fold fits of a run took (every seed), from its ``dataset.json``."""
    return sum(f["seconds"] for f in json.loads((run_dir / "dataset.json").read_text())["folds"])


def summarise(key: str, run_dir: Path) -> dict:
    """The table row of a finished run, recomputed from its ``predictions.parquet`` with the
    current metrics code (``serkit evaluate``; the run config's bootstrap settings)."""
    from serkit import experiment

    result = experiment.evaluate(run_dir, write=False)
    pooled = result["pooled"]
    seeds = result["seeds"]
    if key in FUSED:
        label, members = FUSED[key]
        runs = " ".join(f"runs/{_run_name(m)}" for m in members)
        command = f"serkit fuse {runs} -o runs/{_run_name(key)}"
        # an ensemble needs every seed of every member
        seconds = sum(_fit_seconds(run_dir.parent / _run_name(m)) for m in members)
    else:
        label, config, extra = ROWS[key]
        if len(seeds["per_seed"]) > 1:
            extra = [*extra, *_seed_overrides(key, [s["seed"] for s in seeds["per_seed"]])]
        command = f"serkit train configs/{config} {shlex.join(extra)}".strip()
        seconds = _fit_seconds(run_dir) / len(seeds["per_seed"])
    return {
        "row": key,
        "label": label,
        "command": command,
        "seeds": len(seeds["per_seed"]),
        "uar_seed_std": seeds["uar"]["std"],
        "folds": result["n_folds"],
        "uar": pooled["uar"],
        "uar_ci": pooled["ci95"]["uar"],
        "wa": pooled["wa"],
        "wa_ci": pooled["ci95"]["wa"],
        "train_seconds": seconds,
        "bootstrap": result.get("bootstrap"),
    }


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def table(rows: list[dict]) -> str:
    """The Markdown table of the README, with the interval method above it."""
    from _report import md_table
    from serkit.report import describe_bootstrap

    def cell(value: float, ci: list[float]) -> str:
        return f"{100 * value:.1f} [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"

    methods = sorted({describe_bootstrap(r["bootstrap"]) for r in rows})

    def spread(r: dict) -> str:
        n = r.get("seeds", 1)
        if r["row"] in FUSED:
            return "ensemble"
        return f"{n}: ± {100 * r['uar_seed_std']:.1f}" if n > 1 else "1"

    body = md_table(
        ["features + model", "UAR %", "WA %", "seeds: UAR std", "training, 6 folds (per seed)"],
        [
            [
                r["label"],
                cell(r["uar"], r["uar_ci"]),
                cell(r["wa"], r["wa_ci"]),
                spread(r),
                _minutes(r["train_seconds"]),
            ]
            for r in rows
        ],
    )
    return f"95 % intervals: {'; '.join(methods)}\n\n{body}"


def _parser() -> argparse.ArgumentParser:
    from _report import add_out_option

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="folder with the corpora")
    parser.add_argument("--work", type=Path, default=Path("/tmp/serkit_seed_folds"))
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    parser.add_argument("--workers", type=int, default=2, help="feature-extraction processes")
    add_out_option(parser, "seed_folds.md")
    parser.add_argument("--summarise-only", action="store_true", help="train nothing")
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=None, help="run seeds of the neural rows"
    )
    parser.add_argument("--quiet", action="store_true", help="no per-fold log lines")
    parser.add_argument(
        "--store",
        default=None,
        help="feature store (default: the configs'); give each of two "
        "concurrent invocations its own",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the rows and print the table; returns the exit status."""
    args = _parser().parse_args(argv)
    from _report import write_table
    from serkit.corpora import prepare

    out = Path(args.out).resolve()
    root = (args.data / "ravdess").resolve()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    os.chdir(work)  # the configs' relative paths (manifests/, features/, runs/) resolve here
    if not Path("manifests/ravdess.parquet").exists():
        if not root.is_dir():
            print(f"no RAVDESS at {root}: nothing to run")
            return 1
        prepare("ravdess", root, output=Path("manifests"))
        print(f"$ serkit prepare ravdess {root} -o manifests")
    rows = []
    for key in args.rows:
        run_dir = work / "runs" / _run_name(key)
        if not args.summarise_only:
            pretrain_for(key, args.data, not args.quiet)
            run_row(key, work, args.workers, not args.quiet, args.store, args.seeds)
        if (run_dir / "predictions.parquet").exists():
            rows.append(summarise(key, run_dir))
        else:
            print(f"skip {key}: {run_dir} has no predictions yet")
    from serkit.experiment.fuse import fuse_runs

    seeds_of = {r["row"]: r["seeds"] for r in rows}  # the finished rows
    for key, (_, members) in FUSED.items():
        if not all(m in seeds_of for m in members) or (
            len(members) == 1 and seeds_of[members[0]] < 2  # one run of one seed: no ensemble
        ):
            continue
        dirs = [work / "runs" / _run_name(m) for m in members]
        fuse_runs(dirs, work / "runs" / _run_name(key), overwrite=True)
        rows.append(summarise(key, work / "runs" / _run_name(key)))
    text = table(rows)
    commands = "\n".join(f"- {r['label']}: `{r['command']}`" for r in rows)
    print("\nRAVDESS speech, 8 classes, speaker-kfold k=6 seed 0, pooled over folds\n")
    print(text)
    print("\n" + commands)
    write_table(
        out,
        text + "\n\nCommands (after `serkit prepare ravdess DIR -o manifests`):\n\n" + commands,
        rows,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
