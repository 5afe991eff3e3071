"""Leave one corpus out over RAVDESS, URDU and TurEV-DB, 4 common classes (issue 16).

Runs ``configs/loco4_compare_svm.yaml`` (train on two corpora, test on the third; label set
``four_class``) with two classic front ends and the three ``features.normalize`` methods:
``none``, ``speaker`` (every speaker z-scored with its own statistics) and ``corpus`` (every
corpus z-scored with its own statistics; the held-out corpus with its own unlabelled rows, so
transductive like the speaker case). Model settings are the classic baselines' (ComParE 2016 +
linear SVM C = 0.001, eGeMAPS + RBF SVM C = 1); nothing is chosen on a held-out corpus. The
``compare_search`` and ``egemaps_search`` rows choose the SVM's C inside every fold by leaving
one of its two training corpora out (the nested ``search`` with the inner protocol
``leave-one-corpus-out``; the grids were fixed before any run). The ``compare_speed`` row
trains with the speed copies chosen on RAVDESS's inner speaker folds
(``benchmarks/perturb_choice.py``; ``perturb.speed=[0.9, 1.1]``), as a check that the choice
carries across corpora, and ``compare_speed_tta`` adds the test-time averaging over the
held-out rows' copies chosen the same way (``perturb.test``); nothing about either was chosen
here. Printed per row: the UAR of each held-out corpus, their mean (the issue's figure) and
the UAR pooled over the three test sets with its 95 % interval (bootstrap over the test
speakers).

Usage (manifests from ``serkit prepare``; features are extracted into ``--store`` when missing)::

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/loco.py --manifests /tmp/serve_model/manifests \\
        --store /tmp/serve_model/features --out loco.md
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from _report import add_out_option, md_table, write_table

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "configs" / "loco4_compare_svm.yaml"
CORPORA = ("ravdess", "urdu", "turev-db")
TITLES = {"ravdess": "RAVDESS", "urdu": "URDU", "turev-db": "TurEV-DB"}
#: row key -> (table label, extractor, model overrides)
FRONT_ENDS = {
    "compare": (
        "ComParE 2016 + linear SVM",
        "compare",
        ["model.params.C=0.001", "model.params.kernel=linear"],
    ),
    "egemaps": (
        "eGeMAPS + RBF SVM",
        "egemaps",
        ["model.params.C=1.0", "model.params.kernel=rbf"],
    ),
    "compare_search": (
        "ComParE 2016 + linear SVM, C chosen leaving one training corpus out",
        "compare",
        [
            "model.params.kernel=linear",
            "search={param_grid: {C: [0.0001, 0.0003, 0.001, 0.003, 0.01]}, "
            "inner: {name: leave-one-corpus-out}, metric: uar}",
        ],
    ),
    "compare_speed": (
        "ComParE 2016 + linear SVM, speed copies x0.9 / x1.1 of the training rows",
        "compare",
        ["model.params.C=0.001", "model.params.kernel=linear", "perturb.speed=[0.9, 1.1]"],
    ),
    "compare_speed_tta": (
        "ComParE 2016 + linear SVM, speed copies x0.9 / x1.1, test-time averaging",
        "compare",
        [
            "model.params.C=0.001",
            "model.params.kernel=linear",
            "perturb={speed: [0.9, 1.1], test: true}",
        ],
    ),
    "egemaps_search": (
        "eGeMAPS + RBF SVM, C chosen leaving one training corpus out",
        "egemaps",
        [
            "model.params.kernel=rbf",
            "search={param_grid: {C: [0.1, 0.3, 1.0, 3.0, 10.0]}, "
            "inner: {name: leave-one-corpus-out}, metric: uar}",
        ],
    ),
}
NORMALIZE = ("none", "speaker", "corpus")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifests", type=Path, default=Path("/tmp/serve_model/manifests"))
    parser.add_argument("--store", type=Path, default=Path("/tmp/serve_model/features"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/serkit_loco"))
    parser.add_argument("--features", nargs="+", default=["compare", "egemaps"], choices=FRONT_ENDS)
    parser.add_argument("--normalize", nargs="+", default=list(NORMALIZE), choices=NORMALIZE)
    parser.add_argument("--workers", type=int, default=1, help="feature extraction processes")
    add_out_option(parser, "loco.md")
    return parser


def overrides(args: argparse.Namespace, features: str, normalize: str) -> list[str]:
    """The command-line overrides of one row (what ``serkit train CONFIG ...`` would get)."""
    manifests = ",".join(str(args.manifests / f"{c}.parquet") for c in CORPORA)
    return [
        f"name=loco4_{features}_{normalize}",
        f"data.manifests=[{manifests}]",
        f"features.name={FRONT_ENDS[features][1]}",
        f"features.store={args.store}",
        f"features.normalize={normalize}",
        *FRONT_ENDS[features][2],
        f"output={args.work / 'runs'}",
        f"workers={args.workers}",
        "final_model=false",
    ]


def run_row(args: argparse.Namespace, features: str, normalize: str) -> dict:
    """Train (or keep) one row's run; its figures."""
    from serkit import experiment

    extra = overrides(args, features, normalize)
    run_dir = args.work / "runs" / f"loco4_{features}_{normalize}"
    command = f"serkit train configs/{CONFIG.name} {' '.join(extra)}"
    began = time.perf_counter()
    if not (run_dir / "predictions.parquet").exists():
        print(f"\n$ {command}", flush=True)
        cfg = experiment.load_config(CONFIG, extra)
        experiment.run(cfg, log=lambda line: print("  " + line, flush=True), command=command)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    dataset = json.loads((run_dir / "dataset.json").read_text())
    per_fold = {f["fold"]: f["uar"] for f in metrics["per_fold"]}
    return {
        "features": features,
        "normalize": normalize,
        "per_corpus": per_fold,
        "mean": sum(per_fold.values()) / len(per_fold),
        "pooled": metrics["pooled"]["uar"],
        "pooled_ci": metrics["pooled"]["ci95"]["uar"],
        "train_seconds": sum(f["seconds"] for f in dataset["folds"]),
        "wall_seconds": round(time.perf_counter() - began, 1),
    }


def table(rows: list[dict]) -> str:
    header = [
        "front end + model",
        "features.normalize",
        *(f"-> {TITLES[c]} UAR %" for c in CORPORA),
        "mean UAR %",
        "pooled UAR % [95 % CI]",
        "fitting, 3 folds",
    ]
    body = [
        [
            FRONT_ENDS[r["features"]][0],
            r["normalize"],
            *(f"{100 * r['per_corpus'][c]:.1f}" for c in CORPORA),
            f"{100 * r['mean']:.1f}",
            f"{100 * r['pooled']:.1f} [{100 * r['pooled_ci'][0]:.1f}, "
            f"{100 * r['pooled_ci'][1]:.1f}]",
            f"{r['train_seconds']:.0f} s",
        ]
        for r in rows
    ]
    note = (
        "Leave one corpus out, label set four_class (TurEV-DB has no neutral: tested on 3 "
        "classes); each held-out corpus's UAR, their mean, and the UAR pooled over the three "
        "test sets (bootstrap over the 59 test speakers). Classic model settings or a C chosen "
        "on the training corpora only, nothing chosen on a held-out corpus; fitting time on the "
        "shared 2-core machine."
    )
    return md_table(header, body) + "\n\n" + note + "\n"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    rows = [run_row(args, f, n) for f in args.features for n in args.normalize]
    text = table(rows)
    print(text)
    write_table(args.out, text, rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
