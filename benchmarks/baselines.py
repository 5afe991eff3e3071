"""Classic SER baselines, speaker-independent: eGeMAPS + SVM and ComParE + SVM, LOSO.

Runs the example configs ``configs/{ravdess,turev}_{egemaps,compare}_svm.yaml`` on the real
corpora (RAVDESS speech, 8 classes, 24 actors; TurEV-DB, 4 classes, 6 speakers) and prints UAR
and WA (pooled over folds) with 95 % bootstrap intervals, the mean +- std over folds, and the
exact commands that reproduce each figure.

Usage (from the repository root; takes a few minutes, mostly ComParE extraction)::

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/baselines.py --workers 2

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

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
#: corpus key -> (recipe name, data folder, manifest file name)
CORPORA = {
    "ravdess": ("ravdess", "ravdess", "ravdess.parquet"),
    "turev": ("turev-db", "turev_db", "turev-db.parquet"),
}
FEATURES = ("egemaps", "compare")


def main(argv: list[str] | None = None) -> int:
    """Run the baselines and print the table; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="folder with the corpora")
    parser.add_argument("--work", type=Path, default=Path("/tmp/serkit_baselines"))
    parser.add_argument("--corpora", nargs="+", default=list(CORPORA), choices=list(CORPORA))
    parser.add_argument("--features", nargs="+", default=list(FEATURES), choices=FEATURES)
    parser.add_argument("--workers", type=int, default=2, help="feature-extraction processes")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args(argv)

    from serkit import experiment
    from serkit.corpora import prepare

    data = args.data.resolve()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    os.chdir(work)
    results = []
    for key in args.corpora:
        recipe, folder, manifest_name = CORPORA[key]
        root = data / folder
        if not root.is_dir():
            print(f"skip {key}: no corpus at {root}")
            continue
        manifest = Path("manifests") / manifest_name
        prepare_cmd = f"serkit prepare {recipe} {root} -o manifests"
        if not manifest.exists():
            started = time.perf_counter()
            prepare(recipe, root, output=Path("manifests"))
            print(f"$ {prepare_cmd}   ({time.perf_counter() - started:.1f} s)")
        for feature in args.features:
            config_path = REPO / "configs" / f"{key}_{feature}_svm.yaml"
            overrides = [f"workers={args.workers}", f"seeds={args.seeds}"]
            cfg = experiment.load_config(config_path, overrides)
            command = f"serkit train {config_path} {' '.join(overrides)}"
            print(f"\n$ cd {work} && {prepare_cmd} && {command}", flush=True)
            started = time.perf_counter()
            run_dir = experiment.run(
                cfg, log=lambda line: print("  " + line, flush=True), command=command
            )
            seconds = time.perf_counter() - started
            metrics = json.loads((run_dir / "metrics.json").read_text())
            results.append((key, feature, cfg, metrics, seconds, run_dir))

    print(
        "\nSpeaker-independent baselines (LOSO; pooled over folds, 95 % bootstrap CI over "
        "test rows; mean ± std over folds)"
    )
    header = (
        f"{'corpus':<8} {'features':<9} {'model':<34} {'folds':>5} {'classes':>7} "
        f"{'UAR % [95% CI]':<20} {'WA % [95% CI]':<20} {'UAR folds':<12} {'time':>7}"
    )
    print(header)
    print("-" * len(header))
    for key, feature, cfg, m, seconds, _ in results:
        pooled = m["pooled"]
        uar_ci, wa_ci = pooled["ci95"]["uar"], pooled["ci95"]["wa"]
        mean = m["mean_over_folds"]["uar"]
        params = ",".join(f"{k}={v}" for k, v in cfg["model"]["params"].items())
        model = f"{cfg['model']['name']} {params}"
        print(
            f"{key:<8} {feature:<9} {model[:34]:<34} {m['n_folds']:>5} {len(m['classes']):>7} "
            f"{100 * pooled['uar']:5.1f} [{100 * uar_ci[0]:.1f}, {100 * uar_ci[1]:.1f}]   "
            f"{100 * pooled['wa']:5.1f} [{100 * wa_ci[0]:.1f}, {100 * wa_ci[1]:.1f}]   "
            f"{100 * mean['mean']:.1f}±{100 * mean['std']:.1f}  {seconds:6.0f}s"
        )
    print("\nrun folders: " + ", ".join(str(r[-1]) for r in results))
    print(f"compare: serkit compare {' '.join(str(r[-1]) for r in results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
