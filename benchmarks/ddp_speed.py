"""Training time of one neural config with 1 vs 2 processes (torchrun, PyTorch DDP, gloo on CPU).

It prepares the corpus (RAVDESS from ``../shared/data/ravdess`` when that folder is there,
else the synthetic demo corpus; ``--corpus`` chooses), extracts the features once (not
timed), then runs the same experiment, the tiny 3-D ACRNN of ``configs/demo_acrnn.yaml`` on
speaker 3-fold, as

    python -m torch.distributed.run --standalone --nproc_per_node=N -m serkit train CONFIG

for every ``N`` of ``--nproc`` (each process ``--threads`` torch threads, so N processes use
N x threads cores). It prints, per N: the wall time of the whole command (process start,
feature loading, training, report), the training time (the sum of the folds' fit + predict
seconds that the run records in ``dataset.json``), the pooled UAR (the results must agree
within seed-to-seed noise, not bit for bit) and the speed-up against the first N, and writes
the table to ``--out`` (the figures beside it as ``.json``). The load average before and after
is printed too: on a shared machine other work takes cores, and the ratio shows that.

Usage (from the repository root; ~1 min on the demo corpus, a few minutes on RAVDESS)::

    python benchmarks/ddp_speed.py --out ddp_speed.md
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from _report import add_out_option, md_table, write_table

ROOT = Path(__file__).resolve().parents[1]
RAVDESS = ROOT.parent / "shared" / "data" / "ravdess"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--corpus",
        choices=("auto", "demo", "ravdess"),
        default="auto",
        help="auto: RAVDESS when ../shared/data/ravdess exists, else the demo corpus",
    )
    parser.add_argument("--nproc", type=int, nargs="+", default=[1, 2], help="process counts")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process")
    parser.add_argument("--epochs", type=int, default=4, help="epochs per fold")
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "demo_acrnn.yaml")
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temp folder")
    add_out_option(parser, "ddp_speed.md")
    return parser


def prepare(corpus: str, work: Path) -> Path:
    """The manifest of the chosen corpus under ``work``."""
    from serkit.corpora import prepare as prepare_corpus
    from serkit.demo import make_corpus

    if corpus == "ravdess":
        prepare_corpus("ravdess", RAVDESS, output=work / "manifests")
    else:
        make_corpus(work / "demo", seed=0)
        prepare_corpus("ravdess", work / "demo", output=work / "manifests")
    return work / "manifests" / "ravdess.parquet"


def config(base: Path, manifest: Path, work: Path, epochs: int, threads: int) -> dict:
    """The benchmark's experiment: the base config on ``manifest``, no final model."""
    from serkit import experiment

    cfg = experiment.load_config(base)
    cfg["name"] = "ddp_speed"
    cfg["data"]["manifests"] = [str(manifest)]
    cfg["features"]["store"] = str(work / "features")
    cfg["output"] = str(work / "runs")
    cfg["final_model"] = False
    cfg["model"]["params"].update(epochs=epochs, num_threads=threads, device="cpu")
    return cfg


def timed_run(cfg_path: Path, nproc: int, threads: int, work: Path) -> dict:
    """One ``torchrun ... -m serkit train`` with ``nproc`` processes; its figures."""
    name = f"ddp_{nproc}"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    cmd += [f"--nproc_per_node={nproc}", "-m", "serkit", "train", str(cfg_path)]
    cmd += [f"name={name}", "--overwrite"]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    run = work / "runs" / name
    folds = json.loads((run / "dataset.json").read_text())["folds"]
    prov = yaml.safe_load((run / "config.yaml").read_text())["provenance"]
    return {
        "nproc": nproc,
        "world_size": prov["world_size"],
        "wall_s": wall,
        "train_s": sum(f["seconds"] for f in folds),
        "folds": len(folds),
        "uar": json.loads((run / "metrics.json").read_text())["pooled"]["uar"],
    }


def table(results: list[dict]) -> str:
    """The Markdown table; speed-ups against the first row."""
    first = results[0]
    rows = [
        [
            r["nproc"],
            f"{r['wall_s']:.1f}",
            f"{r['train_s']:.1f}",
            f"{first['train_s'] / r['train_s']:.2f}x",
            f"{first['wall_s'] / r['wall_s']:.2f}x",
            f"{100 * r['uar']:.1f}",
        ]
        for r in results
    ]
    header = ["processes", "wall s", "training s (folds)", "training speed-up", "wall speed-up"]
    return md_table([*header, "pooled UAR %"], rows)


def main(argv: list[str] | None = None) -> None:
    """Prepare, extract once, time every process count, print and write the table."""
    from serkit.experiment.data import load_features, load_rows

    args = _parser().parse_args(argv)
    corpus = args.corpus
    if corpus == "auto":
        corpus = "ravdess" if RAVDESS.is_dir() else "demo"
    work = args.workdir or Path(tempfile.mkdtemp(prefix="ddp_speed_"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        manifest = prepare(corpus, work)
        cfg = config(args.config, manifest, work, args.epochs, args.threads)
        cfg_path = work / "ddp_speed.yaml"
        cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
        from serkit import experiment

        resolved = experiment.validate_config(cfg)
        load_features(load_rows(resolved["data"]), resolved["features"])  # not timed
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        before = os.getloadavg()
        results = []
        for nproc in args.nproc:
            results.append(timed_run(cfg_path, nproc, args.threads, work))
            print(f"{nproc} process(es): {results[-1]}", flush=True)
        after = os.getloadavg()
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    model = f"{cfg['model']['name']} {args.config.name}, {args.epochs} epochs, speaker 3-fold"
    note = (
        f"{corpus} corpus, {model}; {args.threads} torch thread(s) per process; "
        f"{cores} cores visible; load average {before[0]:.1f} before, {after[0]:.1f} after"
    )
    text = f"{table(results)}\n\n{note}"
    print(f"\n{text}")
    write_table(args.out, text, {"corpus": corpus, "note": note, "results": results})


if __name__ == "__main__":
    main()
