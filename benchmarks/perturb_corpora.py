"""Do the speed copies chosen on RAVDESS help inside other corpora? (issue 16, a check).

The speed copies x0.9 / x1.1 were chosen on RAVDESS's inner speaker folds
(``benchmarks/perturb_choice.py``). This script runs the same model, the speaker-normalised
ComParE 2016 + linear SVM (C = 0.001, nothing tuned), inside URDU and TurEV-DB, leave one
speaker out, with and without the copies. URDU is not speaker-normalised: 26 of its 29
speakers have clips of one emotion only, so a speaker's own statistics would remove the emotion
itself (it is the plain SVM there). Printed: the pooled UAR / WA of both with 95 %
intervals (bootstrap over the test speakers). Nothing is chosen here: it checks whether a
within-corpus gain found on one corpus carries to others. ``--variants ... speed_tta`` adds
test-time averaging over the copies (``perturb.test``), its change given against ``speed``.

    OMP_NUM_THREADS=1 python benchmarks/perturb_corpora.py --work /tmp/perturb_corpora \\
        --out perturb_corpora.md
    python benchmarks/perturb_corpora.py --variants plain speed speed_tta --out tta.md
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
from pathlib import Path  # noqa: E402

from _report import add_out_option, md_table, write_table  # noqa: E402
from perturb_choice import perturb_overrides  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
CONFIG = REPO / "configs" / "turev_compare_svm.yaml"
#: corpus name -> (table title, folder under --data, label set, features.normalize)
CORPORA = {
    "urdu": ("URDU (4 classes, 29 speakers)", "urdu", "four_class", "none"),
    "turev-db": ("TurEV-DB (4 classes, 6 speakers)", "turev_db", "turev4", "speaker"),
}
SPEEDS = (0.9, 1.1)
#: variant -> (table label, speed copies?, test-time averaging?, the variant its change is
#: against); ``speed_tta`` checks ``perturb.test``, chosen on RAVDESS's inner folds too
VARIANTS = {
    "plain": ("without copies", False, False, None),
    "speed": ("speed copies x0.9 / x1.1", True, False, "plain"),
    "speed_tta": ("speed copies x0.9 / x1.1 + test-time averaging", True, True, "speed"),
}


def overrides(corpus: str, variant: str, store: str) -> list[str]:
    """The ``serkit train`` overrides of one run (of :data:`CONFIG`).

    >>> overrides("urdu", "speed", "/s")[-1]
    'perturb.speed=[0.9, 1.1]'
    >>> overrides("urdu", "speed_tta", "/s")[-1]
    'perturb.test=true'
    """
    _, speed, test, _ = VARIANTS[variant]
    out = [
        f"name=perturb_{corpus}_{CORPORA[corpus][3]}_{variant}",
        f"data.manifests=[manifests/{corpus}.parquet]",
        f"data.label_set={CORPORA[corpus][2]}",
        f"features.normalize={CORPORA[corpus][3]}",
        f"features.store={store}",
        "final_model=false",
    ]
    return out + (perturb_overrides(SPEEDS, test) if speed else [])


def run_one(corpus: str, variant: str, store: str, workers: int) -> dict:
    """Train (or resume) one run; its pooled figures and fitting time."""
    from serkit import experiment

    extra = [*overrides(corpus, variant, store), f"workers={workers}"]
    cfg = experiment.load_config(CONFIG, extra)
    run_dir = experiment.run(cfg, log=lambda line: print("  " + line, flush=True))
    metrics = json.loads((run_dir / "metrics.json").read_text())
    folds = json.loads((run_dir / "dataset.json").read_text())["folds"]
    pooled = metrics["pooled"]
    return {
        "uar": pooled["uar"],
        "wa": pooled["wa"],
        "uar_ci": pooled["ci95"]["uar"],
        "wa_ci": pooled["ci95"]["wa"],
        "seconds": sum(f["seconds"] for f in folds),
    }


def table(results: dict[str, dict[str, dict]]) -> str:
    """Markdown: per corpus, a row per variant run, and its change in UAR against its
    reference variant (:data:`VARIANTS`)."""

    def cell(r: dict, key: str) -> str:
        low, high = r[f"{key}_ci"]
        return f"{100 * r[key]:.1f} [{100 * low:.1f}, {100 * high:.1f}]"

    body = []
    for corpus, pair in results.items():
        for variant, r in pair.items():
            label, _, _, reference = VARIANTS[variant]
            change = ""
            if reference in pair:
                change = f"{100 * (r['uar'] - pair[reference]['uar']):+.1f}"
            body.append(
                [
                    CORPORA[corpus][0],
                    CORPORA[corpus][3],
                    label,
                    cell(r, "uar"),
                    cell(r, "wa"),
                    change,
                    f"{r['seconds']:.0f} s",
                ]
            )
    header = [
        "corpus (leave one speaker out)",
        "features.normalize",
        "ComParE 2016 + linear SVM",
        "UAR %",
        "WA %",
        "UAR change",
        "fitting, all folds",
    ]
    return md_table(header, body)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="folder with the corpora")
    parser.add_argument("--work", type=Path, default=Path("/tmp/serkit_perturb_corpora"))
    parser.add_argument("--store", default="features", help="feature store")
    parser.add_argument("--corpora", nargs="+", default=list(CORPORA), choices=list(CORPORA))
    parser.add_argument("--workers", type=int, default=1, help="feature extraction processes")
    parser.add_argument(
        "--variants", nargs="+", default=["plain", "speed"], choices=list(VARIANTS)
    )
    add_out_option(parser, "perturb_corpora.md")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Prepare the corpora if needed, run the variants per corpus, print the table."""
    from serkit.corpora import prepare

    args = _parser().parse_args(argv)
    out = Path(args.out).resolve()
    store = str(Path(args.store).resolve())
    args.work.mkdir(parents=True, exist_ok=True)
    os.chdir(args.work)  # the config's relative paths resolve here
    results: dict[str, dict[str, dict]] = {}
    for corpus in args.corpora:
        if not Path(f"manifests/{corpus}.parquet").exists():
            root = (args.data / CORPORA[corpus][1]).resolve()
            if not root.is_dir():
                print(f"no {corpus} at {root}: skipped")
                continue
            prepare(corpus, root, output=Path("manifests"))
        results[corpus] = {
            variant: run_one(corpus, variant, store, args.workers) for variant in args.variants
        }
    if not results:
        print("no corpus found: nothing to run")
        return 1
    text = table(results)
    print(text)
    write_table(out, text, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
