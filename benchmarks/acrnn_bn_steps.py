"""The ACRNN's batch-norm statistics over real steps only against over every step, on TurEV-DB.

TurEV-DB's clips last about 1 s, so a 3-s ACRNN segment is two thirds padding: the corpus where
``net_params.bn_steps`` matters most of the three at hand. ``configs/ravdess_acrnn.yaml`` as
shipped (60 epochs, cpu preset), on TurEV-DB's 4 classes (label set ``turev4``) with 3 speaker
folds (``speaker-kfold``, seed 0), for every seed and both values of ``bn_steps``. Prints the
pooled UAR per seed, its mean ± std over seeds and the paired gain of ``real`` over ``all``.

Usage (a ``serkit prepare turev-db`` manifest; runs resume and finished ones are only read)::

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/acrnn_bn_steps.py --work /tmp/turev_bn \\
        --seeds 0 1 2 --out acrnn_bn_steps.md
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from _report import add_out_option, md_table, write_table

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "configs" / "ravdess_acrnn.yaml"
VARIANTS = ("real", "all")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/turev_bn"))
    parser.add_argument(
        "--manifest", type=Path, default=Path("manifests/turev-db.parquet"), help="in --work"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    add_out_option(parser, "acrnn_bn_steps.md")
    return parser


def overrides(manifest: Path, bn_steps: str, seed: int) -> list[str]:
    """The ``serkit train configs/ravdess_acrnn.yaml`` overrides of one run."""
    return [
        f"data.manifests=[{manifest}]",
        "data.label_set=turev4",
        "data.filter={}",
        "protocol.params.k=3",
        f"model.params.net_params={{preset: cpu, bn_steps: {bn_steps}}}",
        f"seeds=[{seed}]",
        f"name=turev_acrnn_bn_{bn_steps}_s{seed}",
        "final_model=false",
        "features.store=features/",
    ]


def run_one(manifest: Path, bn_steps: str, seed: int) -> dict:
    """Train (or read back) one run; its pooled UAR and fitting time."""
    from serkit import experiment

    extra = overrides(manifest, bn_steps, seed)
    run_dir = Path("runs") / f"turev_acrnn_bn_{bn_steps}_s{seed}"
    if not (run_dir / "predictions.parquet").exists():
        print(f"\n$ serkit train configs/{CONFIG.name} {' '.join(extra)}", flush=True)
        cfg = experiment.load_config(CONFIG, extra)
        experiment.run(cfg, log=lambda line: print("  " + line, flush=True))
    metrics = json.loads((run_dir / "metrics.json").read_text())
    dataset = json.loads((run_dir / "dataset.json").read_text())
    return {
        "bn_steps": bn_steps,
        "seed": seed,
        "uar": metrics["pooled"]["uar"],
        "per_fold": [f["uar"] for f in metrics["per_fold"]],
        "seconds": sum(f["seconds"] for f in dataset["folds"]),
    }


def table(rows: list[dict]) -> str:
    """Per variant: pooled UAR per seed, mean ± std over seeds, paired gain over ``all``."""
    by = {v: {r["seed"]: r for r in rows if r["bn_steps"] == v} for v in VARIANTS}
    seeds = sorted(set(by["real"]) & set(by["all"]))
    body = []
    for v in VARIANTS:
        uars = [100 * by[v][s]["uar"] for s in seeds]
        gains = [100 * (by[v][s]["uar"] - by["all"][s]["uar"]) for s in seeds]
        spread = f" ± {statistics.stdev(uars):.1f}" if len(uars) > 1 else ""
        body.append(
            [
                f"`bn_steps: {v}`",
                " / ".join(f"{u:.1f}" for u in uars),
                f"{statistics.mean(uars):.1f}{spread}" if uars else "-",
                "-" if v == "all" else " / ".join(f"{g:+.1f}" for g in gains),
                f"{sum(by[v][s]['seconds'] for s in seeds) / max(len(seeds), 1) / 60:.0f} min",
            ]
        )
    header = [
        "ACRNN batch norm",
        f"pooled UAR % per seed ({', '.join(map(str, seeds))})",
        "mean ± std",
        "paired gain over `all`",
        "fitting, 3 folds (mean per seed)",
    ]
    return md_table(header, body)


def main(argv: list[str] | None = None) -> int:
    import os

    args = _parser().parse_args(argv)
    out = Path(args.out).resolve()
    work = args.work.resolve()
    os.chdir(work)  # the config's relative paths (manifests/, features/, runs/) resolve here
    if not args.manifest.exists():
        print(f"no manifest {work / args.manifest}: run serkit prepare turev-db first")
        return 1
    rows = [run_one(args.manifest, v, s) for s in args.seeds for v in VARIANTS]
    text = table(rows)
    print(text)
    write_table(out, text, rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
