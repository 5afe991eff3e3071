"""RH-emo + quaternion CNNs vs their real twins (issue 13, seed 003): speaker-independent UAR.

For every test corpus and architecture the script runs ordinary serkit runs:

1. an RH-emo package pretrained on corpora that share no speaker with the test corpus
   (RAVDESS <- TurEV-DB + URDU, TurEV-DB <- RAVDESS + URDU): stage 1 then stage 2 of
   ``configs/pretrain/rhemo_stage{1,2}.yaml`` with the manifests swapped, or an existing
   pretrain run given with ``--rhemo CORPUS=RUN``; every experiment on it is certified
   speaker-disjoint by the runner;
2. ``quaternion``: model ``rhemo-cnn`` with net ``q<arch>`` on the package's ``map`` features
   (``encoder`` extractor, ``pooling: none``; the frozen RH-emo of the seed);
3. ``real twin``: model ``rhemo-cnn`` with net ``r<arch>`` on the same front end's spectrogram
   (``spectrogram`` preset ``rhemo``, per-bin z-score);
4. optionally (``--finetune``) the quaternion net with the RH-emo package inside the model,
   fine-tuned with it.

Protocols: RAVDESS speech, 8 classes (``ravdess8``), ``speaker-kfold`` k=6 seed 0 (the folds of
configs/ravdess_*.yaml); TurEV-DB 4 classes (``turev4``), leave-one-speaker-out. Reported:
pooled UAR with its 95 % speaker-bootstrap interval, parameters of the net, mean training
seconds per fold (this machine, as run), and the RH-emo heads' accuracies on the test corpus
(emotion on the rows whose label the head knows; valence / arousal / dominance against the
binary targets of :mod:`serkit.corpora.vad_targets`, derived from the emotion for these
corpora), i.e. on speakers and a corpus the package never saw, and the same figures plus the
reconstruction BCE on the pretraining corpora's held-out speakers (the package config's
``exclude_speakers``), all from :func:`serkit.encoders.rhemo_eval.evaluate_heads`.

Every run is cached in ``--work`` and the figures so far in ``<work>/figures.json``, so a killed
run continues where it stopped. The full table (paper-sized nets: ``--preset paper``):

    nice -n 10 python benchmarks/rhemo.py --work /tmp/qnet/bench --out rhemo.md
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from _report import add_out_option, md_table, write_table

ROOT = Path(__file__).resolve().parents[1]
CORPORA = {
    "ravdess": {
        "data": {"label_set": "ravdess8", "filter": {"mode": "speech"}},
        "protocol": {"name": "speaker-kfold", "params": {"k": 6, "seed": 0}},
        "pretrain_on": ["turev-db", "urdu"],
    },
    "turev-db": {
        "data": {"label_set": "turev4", "filter": {}},
        "protocol": {"name": "loso", "params": {}},
        "pretrain_on": ["ravdess", "urdu"],
    },
}
ARCHS = ("alexnet", "resnet50", "vgg16")
#: the authors' plotting scripts (seed_methods.md 3.6; random splits, test accuracy %)
PAPER_RAVDESS = {"vgg16": (41.06, 49.85), "alexnet": (46.36, 43.94), "resnet50": (43.48, 55.15)}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifests", type=Path, default=Path("/tmp/aug_bench/manifests"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/qnet/bench"))
    parser.add_argument("--corpora", nargs="*", default=list(CORPORA), choices=list(CORPORA))
    parser.add_argument("--archs", nargs="*", default=list(ARCHS), choices=list(ARCHS))
    parser.add_argument(
        "--variants", nargs="*", default=["quaternion", "real"], choices=["quaternion", "real"]
    )
    parser.add_argument("--finetune", action="store_true", help="add the fine-tuned RH-emo row")
    parser.add_argument("--preset", default="cpu", choices=["cpu", "paper"])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--patience", type=int, default=10)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument(
        "--pretrain-epochs", type=int, nargs=2, default=[20, 10], metavar=("STAGE1", "STAGE2")
    )
    parser.add_argument(
        "--rhemo",
        action="append",
        default=[],
        metavar="CORPUS=RUN",
        help="use this RH-emo pretrain run for CORPUS instead of pretraining one",
    )
    add_out_option(parser, "rhemo.md")
    return parser


def manifest(args, corpus: str) -> str:
    return str(args.manifests / f"{corpus}.parquet")


def pretrain_configs(args, corpus: str) -> list[dict[str, Any]]:
    """Stage 1 and stage 2 configs for the package used on ``corpus`` (its other corpora)."""
    others = CORPORA[corpus]["pretrain_on"]
    out = []
    for stage, epochs in zip((1, 2), args.pretrain_epochs, strict=True):
        cfg = yaml.safe_load(
            (ROOT / "configs" / "pretrain" / f"rhemo_stage{stage}.yaml").read_text()
        )
        cfg["name"] = f"rhemo_stage{stage}_for_{corpus}"
        cfg["data"]["manifests"] = [manifest(args, c) for c in others]
        prefixes = tuple(f"{c}/" for c in others)  # keep the held-out speakers that exist here
        cfg["data"]["exclude_speakers"] = [
            s for s in cfg["data"].get("exclude_speakers") or [] if s.startswith(prefixes)
        ]
        cfg["features"]["store"] = str(args.work / "features")
        cfg["training"] = {**cfg["training"], "epochs": epochs, "num_threads": 1}
        cfg["output"] = str(args.work / "runs")
        cfg["latent_plots"] = []
        if stage == 2:
            cfg["encoder"]["init"] = str(args.work / "runs" / f"rhemo_stage1_for_{corpus}")
        out.append(cfg)
    return out


def rhemo_run(args, corpus: str) -> Path:
    """The RH-emo pretrain run used on ``corpus`` (given, or pretrained here)."""
    from serkit.encoders.pretrain import pretrain

    given = dict(item.split("=", 1) for item in args.rhemo)
    if corpus in given:
        return Path(given[corpus])
    run_dir = None
    for cfg in pretrain_configs(args, corpus):
        run_dir = pretrain(cfg, log=lambda line: print(line, flush=True))
    assert run_dir is not None
    return Path(run_dir)


def experiment_config(args, corpus: str, arch: str, variant: str, package: Path) -> dict:
    spec = CORPORA[corpus]
    model: dict[str, Any] = {
        "net": ("r" if variant == "real" else "q") + arch,
        "net_params": {"preset": args.preset},
        "epochs": args.epochs,
        "patience": args.patience,
        "lr": args.lr,
        "batch_size": 32,
        "num_threads": 1,
        "device": "cpu",
    }
    if variant == "quaternion":
        features = {
            "name": "encoder",
            "params": {"path": str(package), "layer": "map", "pooling": "none"},
        }
    else:
        features = {"name": "spectrogram", "params": {"preset": "rhemo"}}
        if variant == "real":
            model["normalize"] = "global"  # per-bin z-score of the spectrogram
        if variant == "finetune":
            model.update(encoder=str(package), finetune=True)
    return {
        "name": f"{corpus}_rhemo_{arch}_{variant}_{args.preset}_e{args.epochs}",
        "data": {"manifests": [manifest(args, corpus)], **spec["data"]},
        "features": {**features, "store": str(args.work / "features"), "skip_bad": True},
        "model": {"name": "rhemo-cnn", "params": model},
        "protocol": {**spec["protocol"], "disjoint": ["speaker"]},
        "final_model": False,
        "bootstrap": {"reps": 500, "seed": 0},
        "output": str(args.work / "runs"),
    }


def run_figures(run_dir: Path) -> dict[str, Any]:
    """Pooled UAR (+ CI), certificate, per-fold seconds and the trained module's parameter
    count (the net; with ``encoder`` + ``finetune`` the RH-emo encoder in front of it too)."""
    from serkit.models import get_model
    from serkit.models.nets.acrnn import count_parameters

    metrics = json.loads((run_dir / "metrics.json").read_text())
    info = json.loads((run_dir / "dataset.json").read_text())
    cfg = yaml.safe_load((run_dir / "config.yaml").read_text())
    model = get_model(cfg["model"]["name"], **cfg["model"]["params"])
    net = model.build_module(int(info["features"]["dim"]), len(info["classes"]))
    return {
        "uar": metrics["pooled"]["uar"],
        "ci95": metrics["pooled"].get("ci95"),
        "certificate": info["certification"].get("encoder", {}).get("status", "no encoder"),
        "seconds_per_fold": float(np.mean([f["seconds"] for f in info["folds"]])),
        "folds": len(info["folds"]),
        "params": count_parameters(net),
    }


def head_accuracies(args, corpus: str, package: Path) -> dict[str, Any]:
    """The RH-emo heads on the test corpus (from the cached ``map`` features):
    :func:`serkit.encoders.rhemo_eval.evaluate_heads`."""
    from serkit.encoders.package import load_encoder
    from serkit.encoders.rhemo_eval import evaluate_heads
    from serkit.experiment.data import load_features, load_rows

    pkg = load_encoder(package)
    rows = load_rows({"manifests": [manifest(args, corpus)], **CORPORA[corpus]["data"]})
    features = {
        "name": "encoder",
        "params": {"path": str(package), "layer": "map", "pooling": "none"},
        "store": str(args.work / "features"),
        "skip_bad": True,
    }
    df, _, fs = load_features(rows, features)
    return evaluate_heads(pkg.net, pkg.classes, df, maps=fs.frames)


def heldout_heads(args, corpus: str, package: Path) -> dict[str, Any]:
    """The RH-emo heads and reconstruction on the pretraining corpora's held-out speakers
    (the package config's ``exclude_speakers``), from the package's own front end."""
    from serkit.encoders.package import load_encoder
    from serkit.encoders.rhemo_eval import evaluate_heads
    from serkit.experiment.data import load_features, load_rows

    pkg = load_encoder(package)
    cfg = pkg.meta["extra"]["config"]
    held = set(cfg["data"]["exclude_speakers"])
    manifests = [manifest(args, c) for c in CORPORA[corpus]["pretrain_on"]]
    rows = load_rows({"manifests": manifests, "label_set": None, "filter": {}})
    rows = rows[rows["speaker"].astype(str).isin(held)].reset_index(drop=True)
    features = {**cfg["features"], "store": str(args.work / "features"), "skip_bad": True}
    df, _, fs = load_features(rows, features)
    frames = [pkg.normalise(f) for f in fs.frames]
    return {**evaluate_heads(pkg.net, pkg.classes, df, frames=frames), "speakers": sorted(held)}


def main(argv: list[str] | None = None) -> int:
    from serkit.experiment import run

    args = _parser().parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    record = args.work / "figures.json"
    figures: dict[str, Any] = json.loads(record.read_text()) if record.exists() else {}

    def keep(key: str, value: Any) -> None:
        figures[key] = value
        record.write_text(json.dumps(figures, indent=1))
        print(f"{key}: {value}", flush=True)

    variants = list(args.variants) + (["finetune"] if args.finetune else [])
    for corpus in args.corpora:
        package = None
        if any(v != "real" for v in variants):
            began = time.time()
            package = rhemo_run(args, corpus)
            if f"{corpus}/rhemo" not in figures:
                from serkit.encoders.package import load_encoder

                keep(
                    f"{corpus}/rhemo",
                    {
                        "run": str(package),
                        "package_key": load_encoder(package).key(),
                        "wall_s": round(time.time() - began, 1),
                    },
                )
        for arch in args.archs:
            for variant in variants:
                key = f"{corpus}/{arch}/{variant}/{args.preset}/e{args.epochs}"
                if key in figures:
                    continue
                cfg = experiment_config(args, corpus, arch, variant, package or Path())
                began = time.time()
                run_dir = run(cfg)
                keep(key, {**run_figures(run_dir), "wall_s": round(time.time() - began, 1)})
        if package is not None and f"{corpus}/heads" not in figures:
            keep(f"{corpus}/heads", head_accuracies(args, corpus, package))
        if package is not None and f"{corpus}/heads_heldout" not in figures:
            keep(f"{corpus}/heads_heldout", heldout_heads(args, corpus, package))

    text = table(figures)
    print(text)
    write_table(args.out, text, figures)
    return 0


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def _ci(ci: Any) -> str:
    if isinstance(ci, dict) and "uar" in ci:
        ci = ci["uar"]
    if isinstance(ci, (list, tuple)) and len(ci) == 2:
        return f"[{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"
    return "-"


HEAD_ROWS = {
    "heads": "the test corpus",
    "heads_heldout": "held-out speakers of {}",
}
VARIANT_NAMES = {
    "quaternion": "quaternion on RH-emo (frozen)",
    "real": "real twin on spectrogram",
    "finetune": "quaternion on RH-emo (fine-tuned)",
}


def table(figures: dict[str, Any]) -> str:
    rows, heads = [], []
    for key, f in figures.items():
        parts = key.split("/")
        if len(parts) == 2 and parts[1] in HEAD_ROWS:
            pretrained = " + ".join(CORPORA.get(parts[0], {}).get("pretrain_on", []))
            bce = f.get("recon_bce")
            heads.append(
                [
                    parts[0],
                    HEAD_ROWS[parts[1]].format(pretrained or "pretraining corpora"),
                    f["rows"],
                    "-" if bce is None else f"{bce:.4f}",
                    _pct(f.get("emotion_acc", f.get("emotion"))),
                    _pct(f.get("emotion_uar")),
                    f["emotion_rows"],
                ]
                + [
                    f"{_pct(f.get(f'{d}_acc', f.get(d)))} ({_pct(f[f'{d}_majority'])})"
                    for d in ("valence", "arousal", "dominance")
                ]
            )
        elif len(parts) == 5:
            corpus, arch, variant, preset, epochs = parts
            paper = PAPER_RAVDESS.get(arch) if corpus == "ravdess" else None
            ref = "-" if paper is None else f"{paper[0 if variant == 'real' else 1]:.1f}"
            rows.append(
                [
                    corpus,
                    arch,
                    VARIANT_NAMES[variant],
                    f"{preset}, {epochs[1:]} ep.",
                    f"{f['params']:,}",
                    _pct(f["uar"]),
                    _ci(f["ci95"]),
                    f"{f['seconds_per_fold']:.0f}",
                    f["certificate"],
                    ref,
                ]
            )
    header = [
        "corpus",
        "arch",
        "variant",
        "preset",
        "parameters",
        "UAR %",
        "95 % CI",
        "train s / fold",
        "encoder certificate",
        "authors' acc. % (random split)",
    ]
    out = md_table(header, rows)
    if heads:
        out += "\n\n" + md_table(
            [
                "RH-emo for",
                "evaluated on",
                "rows",
                "recon. BCE",
                "emotion head acc. %",
                "emotion UAR %",
                "rows with a known label",
                "valence % (majority)",
                "arousal % (majority)",
                "dominance % (majority)",
            ],
            heads,
        )
    note = (
        "RAVDESS: speech, 8 classes, speaker-kfold k=6 seed 0; TurEV-DB: 4 classes, leave one "
        "speaker out. RH-emo pretrained on the other corpora only (RAVDESS <- TurEV-DB + URDU, "
        "TurEV-DB <- RAVDESS + URDU; certificate from the run). UAR pooled over folds, CI = "
        "speaker bootstrap. Parameters of the net for the corpus's classes. Train seconds: mean "
        "per fold on this machine (2 shared cores, niced). Heads: the RH-emo package's own "
        "classifiers (serkit.encoders.rhemo_eval; one decision per utterance, window logits "
        "averaged) on the test corpus and on the pretraining corpora's held-out speakers "
        "(V/A/D targets derived from the emotion, serkit.corpora.vad_targets; majority "
        "baseline in brackets; recon. BCE only where the spectrogram is read). The authors' "
        "figures are accuracies on random, speaker-dependent splits with "
        "IEMOCAP-pretrained RH-emo and paper-sized nets."
    )
    return out + "\n\n" + note + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
