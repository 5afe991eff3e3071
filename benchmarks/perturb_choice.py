"""Choose speed-perturbed training copies on validation speakers only: inner speaker folds of
each outer training part.

For each of the six outer folds of the RAVDESS table (``speaker-kfold``, k = 6, seed 0) the
outer test speakers are dropped; the remaining 20 training speakers are split into
``--inner-k`` speaker folds (``speaker-kfold``, seed 0), and a config is run on them in two
``--variants``: as it is (``plain``), with ``perturb.speed`` (``speed``, factors ``--speeds``),
or with those copies and test-time augmentation as well (``speed_tta``: ``perturb.test``,
each validation row's posteriors averaged with its copies'). The pooled inner UAR of both, per
outer part, and their mean over the parts is the evidence for the choice; no outer test
speaker is ever scored. Every run is an ordinary ``serkit train`` (resumable;
``final_model=false``).

    python benchmarks/perturb_choice.py --work /tmp/perturb_choice --out perturb_choice.md
    python benchmarks/perturb_choice.py --variants speed speed_tta --out perturb_tta.md
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
OUTER = {"name": "speaker-kfold", "k": 6, "seed": 0}
#: variant -> (speed copies?, test-time augmentation?)
VARIANTS = {"plain": (False, False), "speed": (True, False), "speed_tta": (True, True)}


def outer_training_speakers(config: Path) -> list[list[str]]:
    """Per outer fold, the sorted speakers of its training part (the config's rows)."""
    from serkit import experiment
    from serkit.experiment.data import load_rows
    from serkit.protocols import get_protocol

    cfg = experiment.load_config(config)
    rows = load_rows(cfg["data"])
    folds = get_protocol(OUTER["name"], k=OUTER["k"], seed=OUTER["seed"]).split(rows)
    speakers = rows["speaker"].astype(str).to_numpy()
    return [sorted(set(speakers[f.train])) for f in folds]


def variant_overrides(
    speakers: list[str], inner_k: int, speeds: list[float] | None, test: bool = False
) -> list[str]:
    """The overrides of one inner run: the outer training speakers only, inner speaker folds,
    and (``speeds``) the perturbed copies, with ``test`` of the validation rows too.

    >>> variant_overrides(["a/1", "a/2"], 5, [0.9, 1.1])[-1]
    'perturb.speed=[0.9, 1.1]'
    >>> variant_overrides(["a/1"], 5, [0.9, 1.1], test=True)[-1]
    'perturb.test=true'
    """
    out = [
        f"data.filter.speaker=[{', '.join(speakers)}]",
        "protocol.name=speaker-kfold",
        f"protocol.params={{k: {inner_k}, seed: 0}}",
        "final_model=false",
    ]
    return out + (perturb_overrides(speeds, test) if speeds else [])


def perturb_overrides(speeds: list[float] | tuple[float, ...], test: bool = False) -> list[str]:
    """The ``perturb`` overrides of speed copies (and ``test``: test-time averaging over them).

    >>> perturb_overrides([0.9, 1.1], test=True)
    ['perturb.speed=[0.9, 1.1]', 'perturb.test=true']
    """
    factors = f"perturb.speed=[{', '.join(f'{s:g}' for s in speeds)}]"
    return [factors, "perturb.test=true"] if test else [factors]


def run_variant(config: Path, overrides: list[str], name: str, store: str | None) -> dict:
    """Train (or resume) one inner run; its pooled UAR and fitting time."""
    from serkit import experiment

    overrides = [*overrides, f"name={name}"] + ([f"features.store={store}"] if store else [])
    cfg = experiment.load_config(config, overrides)
    started = time.perf_counter()
    run_dir = experiment.run(cfg)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    folds = json.loads((run_dir / "dataset.json").read_text())["folds"]
    return {
        "uar": metrics["pooled"]["uar"],
        "seconds": sum(f["seconds"] for f in folds),
        "wall": time.perf_counter() - started,
    }


def variant_label(variant: str, speeds: list[float]) -> str:
    """How a variant is named in the table.

    >>> variant_label("speed_tta", [0.9, 1.1])
    'speed copies x0.9 / x1.1 + test-time averaging'
    """
    copies, test = VARIANTS[variant]
    if not copies:
        return "as configured"
    label = "speed copies x" + " / x".join(f"{s:g}" for s in speeds)
    return label + (" + test-time averaging" if test else "")


def table(
    results: dict[int, dict[str, dict]],
    speeds: list[float],
    variants: tuple[str, str] = ("plain", "speed"),
) -> str:
    """The Markdown table: inner UAR per outer part of the reference and candidate variant."""
    from _report import md_table

    ref, new = variants
    rows, gains = [], []
    for part, pair in sorted(results.items()):
        gain = pair[new]["uar"] - pair[ref]["uar"]
        gains.append(gain)
        rows.append(
            [
                f"outer fold {part}",
                f"{100 * pair[ref]['uar']:.1f}",
                f"{100 * pair[new]['uar']:.1f}",
                f"{100 * gain:+.1f}",
                f"{pair[ref]['seconds']:.0f} / {pair[new]['seconds']:.0f} s",
            ]
        )
    if len(results) > 1:
        first = sum(p[ref]["uar"] for p in results.values()) / len(results)
        second = sum(p[new]["uar"] for p in results.values()) / len(results)
        change = f"{100 * (second - first):+.1f}"
        rows.append(["mean", f"{100 * first:.1f}", f"{100 * second:.1f}", change, ""])
    header = [
        "training part (validation speakers only)",
        f"inner UAR %, {variant_label(ref, speeds)}",
        f"inner UAR %, {variant_label(new, speeds)}",
        "change",
        f"fitting, {ref} / {new}",
    ]
    better = sum(g > 0 for g in gains)
    summary = f"{new} scores higher than {ref} in {better} of {len(gains)} parts."
    return md_table(header, rows) + "\n\n" + summary


def _parser() -> argparse.ArgumentParser:
    from _report import add_out_option

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="folder with the corpora")
    parser.add_argument("--work", type=Path, default=Path("/tmp/serkit_perturb_choice"))
    parser.add_argument(
        "--config", type=Path, default=REPO / "configs" / "ravdess_compare_svm_spknorm.yaml"
    )
    parser.add_argument("--speeds", type=float, nargs="+", default=[0.9, 1.1])
    parser.add_argument(
        "--variants",
        nargs=2,
        choices=sorted(VARIANTS),
        default=["plain", "speed"],
        metavar=("REFERENCE", "CANDIDATE"),
        help=f"the two variants compared, of {', '.join(VARIANTS)}",
    )
    parser.add_argument("--outer", type=int, nargs="+", default=list(range(OUTER["k"])))
    parser.add_argument("--inner-k", type=int, default=5)
    parser.add_argument("--store", default=None, help="feature store (default: the config's)")
    add_out_option(parser, "perturb_choice.md")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run both variants on every asked outer part and print the table."""
    from _report import write_table
    from serkit.corpora import prepare

    args = _parser().parse_args(argv)
    out = Path(args.out).resolve()
    config = args.config.resolve()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    os.chdir(work)  # the config's relative paths resolve here
    if not Path("manifests/ravdess.parquet").exists():
        root = (args.data / "ravdess").resolve()
        if not root.is_dir():
            print(f"no RAVDESS at {root}: nothing to run")
            return 1
        prepare("ravdess", root, output=Path("manifests"))
    parts = outer_training_speakers(config)
    results: dict[int, dict[str, dict]] = {}
    for part in args.outer:
        speakers = parts[part]
        results[part] = {}
        for variant in args.variants:
            copies, test = VARIANTS[variant]
            speeds = args.speeds if copies else None
            overrides = variant_overrides(speakers, args.inner_k, speeds, test)
            name = f"choice_{config.stem}_outer{part}_{variant}"
            results[part][variant] = run_variant(config, overrides, name, args.store)
            uar = 100 * results[part][variant]["uar"]
            print(f"outer {part} {variant}: inner UAR {uar:.1f}", flush=True)
    text = table(results, args.speeds, tuple(args.variants))
    print(text)
    meta = {"results": results, "speeds": args.speeds, "variants": args.variants}
    write_table(out, text, {**meta, "config": str(config)})
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
