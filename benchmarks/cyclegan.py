"""CycleGAN augmentation (seed 004): UAR of real / syn / real+syn beside the plain classifier.

Runs the shipped seed-004 configs (emobase2010 functionals, RBF SVM, CycleGAN rows made per fold
from a source corpus that is not the target) on the shared corpora, each as a plain run
(``augment=null``: the same classifier on the real training rows) and with
``augment.train_on=syn`` and ``real+syn``:

- ``inner4`` / ``inner8``: RAVDESS speech, 4 / 8 classes, speaker 6-fold (seed 0), source
  TurEV-DB + URDU (``configs/ravdess_cyclegan_{4,8}class.yaml``);
- ``turev``: train RAVDESS, test TurEV-DB (angry, calm, happy, sad), source URDU;
- ``urdu``: train RAVDESS, test URDU (neutral, happy, sad, angry), source TurEV-DB.

Prints per run the UAR and WA mean ± std over the seeds (each seed's folds pooled, then the
metric; ``metrics.json`` ``seeds``), the augmenter's time per fold (fit + generation), the
training time of all folds and its ratio to the plain run, and the Fisher-ratio summary of
the first augmented run (``serkit analyze fisher``) beside the values of the original README.
``train_on=real`` (``--variants real``) predicts exactly as the plain run (tested), so it is not
run by default. The ``syn`` / ``real+syn`` runs were made before the cpu preset's
``min_steps`` (about 30 joint CycleGAN iterations per fold on RAVDESS); ``syn_v2`` /
``real+syn_v2`` pin the current setting (``min_steps=150``) in their configs, and
``plain_mlp`` / ``syn_v2_mlp`` / ``real+syn_v2_mlp`` swap the SVM for the paper's §4.5 MLP
(``neural-mlp`` with ``regime_params`` of the regime, ``inner-*`` or ``cross-*``).
Writes the tables to ``--out`` (Markdown) and the figures beside it (.json).

Usage (from the repository root; corpora from ``../shared/data``)::

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/cyclegan.py --out /tmp/aug_bench/cyclegan.md
    python benchmarks/cyclegan.py --settings turev urdu --seeds 0 1 2   # a subset
    python benchmarks/cyclegan.py --summarise-only                       # tables from finished runs

Manifests are prepared into ``<work>/manifests`` when missing, features go to
``<work>/features``, runs to ``<work>/runs`` (never into the repository); runs resume.
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
CORPORA = {"ravdess": "ravdess", "turev-db": "turev_db", "urdu": "urdu"}
#: setting -> (table label, config)
SETTINGS: dict[str, tuple[str, str]] = {
    "inner4": ("RAVDESS 4 classes, speaker 6-fold", "ravdess_cyclegan_4class.yaml"),
    "inner8": ("RAVDESS 8 classes, speaker 6-fold", "ravdess_cyclegan_8class.yaml"),
    "turev": ("RAVDESS -> TurEV-DB, 4 classes", "ravdess_turev_cyclegan.yaml"),
    "urdu": ("RAVDESS -> URDU, 4 classes", "ravdess_urdu_cyclegan.yaml"),
}
#: the cpu preset's training amount since v2 (``serkit.augment.cyclegan``), pinned in the
#: ``_v2`` runs' configs; the runs without the suffix were made before it (``epoch_size=min``,
#: ``min_steps=0``: about 30 joint iterations on RAVDESS)
V2 = ["augment.params.epoch_size=min", "augment.params.min_steps=150"]
#: the earlier training amount, pinned for a fresh run of the unsuffixed variants; a run folder
#: made before the pin (the same config text, so the same resume fingerprint) is never
#: resumed by this script: its missing seeds would silently get the new preset's folds
V1 = ["augment.params.epoch_size=min", "augment.params.min_steps=0"]
PRE_V2 = ("real", "syn", "real+syn")


def _mlp(regime: str) -> list[str]:
    """Overrides: the paper's §4.5 MLP classifier of ``regime`` (``regime_params``)."""
    from serkit.models.neural_mlp import regime_params

    params = json.dumps(regime_params(regime), separators=(",", ":"))
    return ["model.name=neural-mlp", f"model.params={params}"]


#: variant -> overrides (callables: built when used)
VARIANTS: dict[str, Any] = {
    "plain": ["augment=null"],
    "real": ["augment.train_on=real", *V1],
    "syn": ["augment.train_on=syn", *V1],
    "real+syn": ["augment.train_on=real+syn", *V1],
    "syn_v2": ["augment.train_on=syn", *V2],
    "real+syn_v2": ["augment.train_on=real+syn", *V2],
    "plain_mlp": lambda setting: ["augment=null", *_mlp(_regime(setting, "real"))],
    "syn_v2_mlp": lambda setting: [
        "augment.train_on=syn",
        *V2,
        *_mlp(_regime(setting, "syn")),
    ],
    "real+syn_v2_mlp": lambda setting: [
        "augment.train_on=real+syn",
        *V2,
        *_mlp(_regime(setting, "real+syn")),
    ],
}
DEFAULT_VARIANTS = ["plain", "syn", "real+syn", "syn_v2", "real+syn_v2", "plain_mlp"]
#: a variant's label in the table
LABELS = {
    "plain": "real (no augment)",
    "syn_v2": "syn (v2 CycleGAN steps)",
    "real+syn_v2": "real+syn (v2 CycleGAN steps)",
    "plain_mlp": "real, MLP §4.5",
    "syn_v2_mlp": "syn (v2), MLP §4.5",
    "real+syn_v2_mlp": "real+syn (v2), MLP §4.5",
}


def _regime(setting: str, data: str) -> str:
    """The §4.5 regime of a setting: ``inner-*`` or ``cross-*``."""
    return f"{'inner' if setting.startswith('inner') else 'cross'}-{data}"


def variant_overrides(setting: str, variant: str) -> list[str]:
    """The overrides of ``variant`` in ``setting``."""
    value = VARIANTS[variant]
    return list(value(setting) if callable(value) else value)


#: the original README's Fisher ratios (seed_methods.md §4.6): mean over features, its max
#: where given; synthetic sets for lambda_cls = 2 ("syn_2"), emotions ang/hap/neu/sad
PAPER_FISHER = {
    ("source", "target all"): "2.56 (313.1)",
    ("syn", "target angry"): "0.78",
    ("syn", "target happy"): "0.54",
    ("syn", "target neutral"): "0.33",
    ("syn", "target sad"): "0.13",
    ("target", "angry-happy"): "0.05",
    ("target", "angry-neutral"): "0.18",
    ("target", "angry-sad"): "0.57",
    ("target", "happy-neutral"): "0.05",
    ("target", "happy-sad"): "0.32",
    ("target", "neutral-sad"): "0.12",
}


def run_name(setting: str, variant: str) -> str:
    """``cyclegan_<setting>_<variant>`` (``+`` as ``-``)."""
    return f"cyclegan_{setting}_{variant.replace('+', '-')}"


def overrides(setting: str, variant: str, seeds: list[int], workers: int) -> list[str]:
    """The ``serkit train`` overrides of one run."""
    return [
        f"name={run_name(setting, variant)}",
        *variant_overrides(setting, variant),
        f"seeds=[{','.join(map(str, seeds))}]",
        "final_model=false",
        f"workers={workers}",
    ]


def command(setting: str, extra: list[str]) -> str:
    return f"serkit train configs/{SETTINGS[setting][1]} {' '.join(extra)}"


def run_one(setting: str, variant: str, seeds: list[int], workers: int, log: bool) -> Path:
    """Train or resume one run in the working directory (finished folds are read back, so
    more seeds add only their folds); returns its run folder."""
    from serkit import experiment

    extra = overrides(setting, variant, seeds, workers)
    run_dir = Path("runs") / run_name(setting, variant)
    print(f"\n$ {command(setting, extra)}", flush=True)
    cfg = experiment.load_config(REPO / "configs" / SETTINGS[setting][1], extra)
    started = time.perf_counter()
    printer = (lambda line: print("  " + line, flush=True)) if log else None
    experiment.run(cfg, log=printer, command=command(setting, extra))
    print(f"  wall time {time.perf_counter() - started:.0f} s", flush=True)
    return run_dir


def summarise(setting: str, variant: str, run_dir: Path) -> dict[str, Any]:
    """One table row from a finished run's ``metrics.json`` and ``dataset.json``."""
    metrics = json.loads((run_dir / "metrics.json").read_text())
    dataset = json.loads((run_dir / "dataset.json").read_text())
    folds = dataset["folds"]
    made = [f["synthetic"] for f in folds if f.get("synthetic")]
    seeds = metrics["seeds"]
    return {
        "setting": setting,
        "variant": variant,
        "n_seeds": len(seeds["per_seed"]),
        "uar_mean": seeds["uar"]["mean"],
        "uar_std": seeds["uar"]["std"],
        "wa_mean": seeds["wa"]["mean"],
        "wa_std": seeds["wa"]["std"],
        "train_seconds": sum(f["seconds"] for f in folds),
        "n_fits": len(folds),
        "generator_seconds_per_fold": (
            sum(m["seconds"] for m in made) / len(made) if made else None
        ),
        "synthetic_per_fold": (sum(m["rows"] for m in made) / len(made) if made else 0),
    }


def results_table(rows: list[dict[str, Any]]) -> str:
    """UAR / WA mean ± std per setting and variant, the augmenter's time and the cost."""
    from _report import md_table

    plain = {r["setting"]: r for r in rows if r["variant"] == "plain"}

    def cost(r: dict[str, Any]) -> str:
        base = plain.get(r["setting"])
        if r["variant"] == "plain" or base is None or base["n_fits"] != r["n_fits"]:
            return "1" if r["variant"] == "plain" else "-"
        return f"{r['train_seconds'] / max(base['train_seconds'], 1e-9):.0f}x"

    body = [
        [
            SETTINGS[r["setting"]][0],
            LABELS.get(r["variant"], r["variant"]),
            str(r["n_seeds"]),
            f"{100 * r['uar_mean']:.1f} ± {100 * r['uar_std']:.1f}",
            f"{100 * r['wa_mean']:.1f} ± {100 * r['wa_std']:.1f}",
            f"{r['synthetic_per_fold']:.0f}",
            "-"
            if r["generator_seconds_per_fold"] is None
            else f"{r['generator_seconds_per_fold']:.1f} s",
            f"{r['train_seconds']:.0f} s",
            cost(r),
        ]
        for r in rows
    ]
    header = [
        "setting",
        "trained on",
        "seeds",
        "UAR % (mean ± std)",
        "WA % (mean ± std)",
        "synthetic rows / fold",
        "CycleGAN / fold",
        "all fits",
        "cost vs real",
    ]
    return md_table(header, body)


def fisher_rows(run_dir: Path) -> list[dict[str, Any]]:
    """The Fisher-ratio summary of a finished augmented run (``serkit analyze fisher``)."""
    from serkit.augment.analysis import fisher_analysis, load_runs, summary_rows

    folds, real, _ = load_runs([run_dir])
    result = fisher_analysis(folds, real.source_x, real.classes, real.feature_names)
    return summary_rows(result)


def fisher_table(rows: list[dict[str, Any]]) -> str:
    """Measured mean (max) over features beside the original README's values."""
    from _report import md_table

    body = []
    for r in rows:
        kind = "syn" if r["set"] not in ("source", "target") else r["set"]
        against = r["against"]
        if r["kind"] == "between_emotions":  # the README names pairs alphabetically
            against = "-".join(sorted(against.split("-")))
        paper = PAPER_FISHER.get((kind, against), "-")
        body.append(
            [
                "between sets" if r["kind"] == "between_sets" else "between emotions",
                r["set"],
                r["against"],
                f"{r['mean']:.2f} ({r['max']:.1f})",
                paper,
            ]
        )
    return md_table(["comparison", "set", "against", "mean (max), measured", "README"], body)


def _pinned(run_dir: Path) -> bool:
    """Whether a run's config pins ``augment.params.min_steps`` (made with the pin)."""
    import yaml

    cfg = (
        yaml.safe_load((run_dir / "config.yaml").read_text())
        if (run_dir / "config.yaml").exists()
        else {}
    )
    return "min_steps" in (((cfg or {}).get("augment") or {}).get("params") or {})


def recorded_command(run_dir: Path) -> str | None:
    """The command a finished run recorded (``config.yaml`` ``provenance.command``)."""
    import yaml

    cfg = yaml.safe_load((run_dir / "config.yaml").read_text()) or {}
    return (cfg.get("provenance") or {}).get("command")


def prepare_manifests(data: Path) -> None:
    """``serkit prepare`` of the three corpora into ``manifests/`` (the working directory)."""
    from serkit.corpora import prepare

    for corpus, folder in CORPORA.items():
        if not Path(f"manifests/{corpus}.parquet").exists():
            prepare(corpus, data / folder, output=Path("manifests"))
            print(f"$ serkit prepare {corpus} {data / folder} -o manifests")


def _parser() -> argparse.ArgumentParser:
    from _report import add_out_option

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="folder with the corpora")
    parser.add_argument("--work", type=Path, default=Path("/tmp/aug_bench"))
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--variants", nargs="+", default=DEFAULT_VARIANTS, choices=list(VARIANTS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--workers", type=int, default=1, help="feature-extraction processes")
    add_out_option(parser, "cyclegan.md")
    parser.add_argument("--summarise-only", action="store_true", help="train nothing")
    parser.add_argument("--no-fisher", action="store_true", help="skip the Fisher summary")
    parser.add_argument("--quiet", action="store_true", help="no per-fold log lines")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the settings x variants and print the tables; returns the exit status."""
    from _report import write_table

    args = _parser().parse_args(argv)

    out = Path(args.out).resolve()
    data = args.data.resolve()
    args.work.mkdir(parents=True, exist_ok=True)
    os.chdir(args.work)  # the configs' relative paths (manifests/, features/, runs/) resolve here
    prepare_manifests(data)
    rows, commands = [], []
    for setting in args.settings:
        for variant in args.variants:
            extra = overrides(setting, variant, args.seeds, args.workers)
            run_dir = Path("runs") / run_name(setting, variant)
            made_before = variant in PRE_V2 and (run_dir / "partial").exists()
            if made_before and not _pinned(run_dir):
                print(f"not resuming {run_dir.name}: made before min_steps (use the _v2 variants)")
            elif not args.summarise_only:
                run_one(setting, variant, args.seeds, args.workers, not args.quiet)
            if (run_dir / "predictions.parquet").exists():
                rows.append(summarise(setting, variant, run_dir))
                commands.append(recorded_command(run_dir) or command(setting, extra))
            else:
                print(f"skip {run_name(setting, variant)}: no predictions yet")
    text = results_table(rows)
    figures: dict[str, Any] = {"runs": rows}
    augmented = [r for r in rows if not r["variant"].startswith("plain")]
    inner4 = [r for r in augmented if r["setting"].startswith("inner4")] or augmented
    firsts = [r for r in inner4 if not r["variant"].endswith("v2")][:1]  # one run per version
    firsts += [r for r in inner4 if r["variant"].endswith("v2")][:1]
    for r in firsts if not args.no_fisher else []:
        first = Path("runs") / run_name(r["setting"], r["variant"])
        fisher = fisher_rows(first)
        figures.setdefault("fisher", []).append({"run": str(first), "rows": fisher})
        text += (
            f"\n\nFisher discriminant ratio per feature, mean over features (max), averaged "
            f"over the folds of `{first.name}` (lambda_cls = 2; README: the original's syn_2 "
            "and real-data values, IEMOCAP with TEDLIUM as source):\n\n" + fisher_table(fisher)
        )
    listed = "\n".join(f"- `{c}`" for c in commands)
    print("\n" + text + "\n\nCommands (in the work folder, after `serkit prepare`):\n" + listed)
    write_table(out, text + "\n\nCommands (in the work folder):\n\n" + listed, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
