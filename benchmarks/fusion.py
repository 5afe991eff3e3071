"""Late fusion of eGeMAPS and ComParE 2016 on the six RAVDESS speaker folds (issue 16).

Runs ``configs/ravdess_fusion.yaml`` (the ``concat`` extractor + the ``fusion`` model: eGeMAPS
+ RBF SVM and ComParE 2016 + linear SVM, log-posteriors averaged with a weight chosen per fold
on that fold's validation speakers) and its ablations on RAVDESS speech, 8 classes,
``speaker-kfold`` k = 6 seed 0 (the folds of ``benchmarks/seed_folds.py``), and prints UAR and
WA pooled over folds with 95 % intervals (a bootstrap over the 24 test speakers), the mean ±
std over folds, the weights each fold chose, the fitting time and the command of every row.

The functionals need not be extracted again: ``--parts-store`` (a store that already holds
``egemaps`` and ``compare`` for the manifest's rows) fills the ``concat`` folder of the work
store (:func:`serkit.features.concat.fill_from_parts`). With ``--match id`` (for a store whose
audio was copied again since extraction) the script first recomputes ``--check`` rows of both
parts from the audio and stops unless they equal the stored rows.

Usage (from the repository root)::

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/fusion.py --out fusion.md \\
        --manifest /tmp/serkit_baselines/manifests/ravdess.parquet \\
        --parts-store /tmp/serkit_baselines/features --match id
    python benchmarks/fusion.py --summarise-only          # tables from finished runs

Work files go to ``--work`` (default ``/tmp/serkit_fusion``), never into the repository.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
CONFIG = "ravdess_fusion.yaml"
#: row key -> (table label, overrides of configs/ravdess_fusion.yaml)
ROWS: dict[str, tuple[str, list[str]]] = {
    "fusion": ("eGeMAPS x ComParE late fusion, per-speaker z-score (the config)", []),
    "fusion_even": (
        "  the same, even weights (no weight choice)",
        ["model.params.weights=[0.5,0.5]"],
    ),
    "fusion_kfold": (
        "  the same, weights chosen on 4 inner speaker folds",
        ["model.params.val_folds=4"],
    ),
    "fusion_plain": ("  the same, without per-speaker z-score", ["features.normalize=none"]),
}
#: the classic rows on the same folds, quoted from README.md (benchmarks/seed_folds.py)
QUOTED = [
    (
        "ComParE 2016 + linear SVM (benchmarks/seed_folds.py)",
        "59.0 [53.6, 63.5]",
        "59.5 [54.2, 64.2]",
    ),
    (
        "ComParE 2016 + linear SVM, per-speaker z-score (benchmarks/seed_folds.py)",
        "65.0 [58.5, 70.6]",
        "65.5 [58.7, 71.1]",
    ),
]


def _parser() -> argparse.ArgumentParser:
    from _report import add_out_option

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="folder with the corpora")
    parser.add_argument("--work", type=Path, default=Path("/tmp/serkit_fusion"))
    parser.add_argument("--manifest", type=Path, default=None, help="RAVDESS manifest to use")
    parser.add_argument("--parts-store", type=Path, default=None, help="store with the parts")
    parser.add_argument("--match", choices=("fingerprint", "id"), default="fingerprint")
    parser.add_argument("--check", type=int, default=4, help="rows recomputed with --match id")
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    parser.add_argument("--summarise-only", action="store_true", help="train nothing")
    add_out_option(parser, "fusion.md")
    return parser


def check_parts(manifest, extractor, source: Path, rows: int) -> float:
    """Largest relative difference between stored and recomputed part rows (``rows`` rows)."""
    from serkit import manifest as mf
    from serkit.audio import read
    from serkit.features.concat import _stored_rows

    if rows <= 0:
        return 0.0
    picks = manifest.iloc[np.linspace(0, len(manifest) - 1, rows).astype(int)]
    worst = 0.0
    for part in extractor.parts:
        stored = _stored_rows(picks, part, source, by_id=True)
        for path, want in zip(mf.audio_paths(picks), stored, strict=True):
            signal, rate = read(path)
            got = part(signal, rate)
            scale = np.maximum(np.abs(want), 1e-3)
            worst = max(worst, float(np.max(np.abs(got - want) / scale)))
    return worst


def prepare_work(args: argparse.Namespace) -> None:
    """Manifest and ``concat`` store in the work folder (the current directory)."""
    from serkit import experiment
    from serkit import manifest as mf
    from serkit.corpora import prepare
    from serkit.features import get_extractor
    from serkit.features.concat import fill_from_parts

    target = Path("manifests/ravdess.parquet")
    if not target.exists():
        if args.manifest is not None:
            target.parent.mkdir(exist_ok=True)
            for suffix in (".parquet", ".csv", ".csv.meta.json"):
                src = args.manifest.with_name(args.manifest.stem + suffix)
                if src.exists():
                    shutil.copy(src, target.with_name(target.stem + suffix))
        else:
            prepare("ravdess", (args.data / "ravdess").resolve(), output=Path("manifests"))
            print(f"$ serkit prepare ravdess {args.data / 'ravdess'} -o manifests")
    if args.parts_store is None:
        return
    cfg = experiment.load_config(REPO / "configs" / CONFIG)
    extractor = get_extractor(cfg["features"]["name"], **cfg["features"]["params"])
    df = mf.read(target)
    if args.match == "id":
        worst = check_parts(df, extractor, args.parts_store, args.check)
        print(f"stored vs recomputed parts on {args.check} rows: max relative diff {worst:.2e}")
        if worst > 1e-3:
            raise SystemExit("the stored parts differ from the audio: use --match fingerprint")
    n = fill_from_parts(df, extractor, args.parts_store, "features", match=args.match)
    print(f"concat store: {n} rows written from {args.parts_store} (match={args.match})")


def run_row(key: str) -> Path:
    """Train (or keep) one row's run in the work folder; returns its folder."""
    from serkit import experiment

    name = f"fusion_{key}"
    overrides = [*ROWS[key][1], f"name={name}", "final_model=false"]
    command = f"serkit train configs/{CONFIG} {' '.join(overrides)}"
    print(f"\n$ {command}", flush=True)
    run_dir = Path("runs") / name
    if (run_dir / "predictions.parquet").exists():
        print("  (finished earlier: summarised only)")
        return run_dir
    cfg = experiment.load_config(REPO / "configs" / CONFIG, overrides)
    started = time.perf_counter()
    experiment.run(cfg, log=lambda line: print("  " + line, flush=True), command=command)
    print(f"  wall time {time.perf_counter() - started:.0f} s", flush=True)
    return run_dir


def fold_weights(run_dir: Path) -> list[list[float]]:
    """The fusion weights every fold used (from the run's ``history.json``)."""
    path = run_dir / "history.json"
    if not path.exists():
        return []
    data = json.loads(path.read_text())
    entries = data.values() if isinstance(data, dict) else data
    out = []
    for entry in entries:
        summary = entry.get("fit_summary") if isinstance(entry, dict) else None
        if summary and "weights" in summary:
            out.append([round(float(w), 2) for w in summary["weights"]])
    return out


def summarise(key: str, run_dir: Path) -> dict:
    """A row's figures, recomputed from its predictions (``serkit evaluate``)."""
    from serkit import experiment

    result = experiment.evaluate(run_dir, write=False)
    dataset = json.loads((run_dir / "dataset.json").read_text())
    pooled = result["pooled"]
    spread = result["mean_over_folds"]["uar"]
    return {
        "row": key,
        "label": ROWS[key][0],
        "command": f"serkit train configs/{CONFIG} {' '.join(ROWS[key][1])}".strip(),
        "uar": pooled["uar"],
        "uar_ci": pooled["ci95"]["uar"],
        "wa": pooled["wa"],
        "wa_ci": pooled["ci95"]["wa"],
        "fold_uar_mean": float(spread["mean"]),
        "fold_uar_std": float(spread["std"]),
        "weights": fold_weights(run_dir),
        "train_seconds": sum(f["seconds"] for f in dataset["folds"]),
        "bootstrap": result.get("bootstrap"),
    }


def table(rows: list[dict]) -> str:
    """The Markdown table: measured rows, then the quoted classic rows."""
    from _report import md_table
    from serkit.report import describe_bootstrap

    def cell(value: float, ci: list[float]) -> str:
        return f"{100 * value:.1f} [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"

    def spread(r: dict) -> str:
        if r["fold_uar_mean"] is None:
            return "-"
        return f"{100 * r['fold_uar_mean']:.1f} ± {100 * r['fold_uar_std']:.1f}"

    body = [
        [
            r["label"],
            cell(r["uar"], r["uar_ci"]),
            cell(r["wa"], r["wa_ci"]),
            spread(r),
            " ".join("/".join(f"{w:g}" for w in ws) for ws in r["weights"]) or "-",
            f"{r['train_seconds']:.0f} s",
        ]
        for r in rows
    ]
    body += [[label, uar, wa, "-", "-", "-"] for label, uar, wa in QUOTED]
    methods = sorted({describe_bootstrap(r["bootstrap"]) for r in rows})
    text = md_table(
        [
            "features + model",
            "UAR %",
            "WA %",
            "UAR % per fold",
            "weights eGeMAPS/ComParE per fold",
            "fitting, 6 folds",
        ],
        body,
    )
    return f"95 % intervals: {'; '.join(methods)}\n\n{text}"


def main(argv: list[str] | None = None) -> int:
    """Run the rows and print the table; returns the exit status."""
    from _report import write_table

    args = _parser().parse_args(argv)
    out = Path(args.out).resolve()
    if args.manifest is not None:
        args.manifest = args.manifest.resolve()
    if args.parts_store is not None:
        args.parts_store = args.parts_store.resolve()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    os.chdir(work)  # the config's relative paths resolve here
    if not args.summarise_only:
        prepare_work(args)
    rows = []
    for key in args.rows:
        run_dir = Path("runs") / f"fusion_{key}"
        if not args.summarise_only:
            run_row(key)
        if (run_dir / "predictions.parquet").exists():
            rows.append(summarise(key, run_dir))
        else:
            print(f"skip {key}: {run_dir} has no predictions yet")
    if not rows:
        print("no finished runs to summarise")
        return 1
    text = table(rows)
    commands = "\n".join(f"- {r['label'].strip()}: `{r['command']}`" for r in rows)
    print("\nRAVDESS speech, 8 classes, speaker-kfold k=6 seed 0, pooled over folds\n")
    print(text + "\n\n" + commands)
    write_table(out, text + "\n\nCommands:\n\n" + commands, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
