"""Learned representations (issue 12, seed 001): linear-probe UAR, transfer, speaker information.

For every encoder variant (each registered family of seed 001, with and without the speaker
conditioning where the family takes it) the script runs ordinary serkit runs:

1. ``pretrain`` one encoder per fold of ``speaker-kfold`` (k=6, seed 0) on RAVDESS speech
   (8 classes), each on that fold's training rows only (``folds:``), then an experiment with
   ``features: {name: encoder, params: {path: <that run>}}`` and ``model: logreg`` over the
   same folds: every fold is probed on the encoder that never heard its test speakers
   (certified speaker-disjoint in the run);
2. the same probe on eGeMAPS and ComParE functionals (the baselines' stores);
3. speaker information: for each fold, a logreg identifies the fold's 4 test speakers (unseen
   by its encoder) from the representation, trained on statement 01 and tested on statement
   02 (chance 25 %);
4. transfer: ``pretrain`` one encoder on all RAVDESS rows and probe it on TurEV-DB (4 classes,
   leave-one-speaker-out, logreg);
5. pretraining time per encoder (sum of its epochs, this machine, as run).

Every step is cached in ``--work`` (run folders and feature stores), and the figures so far are
kept in ``<work>/figures.json``, so a killed run continues where it stopped. Run it niced in
the background; ``--epochs`` / ``--ge2e-epochs`` say how long each encoder trains.

    nice -n 10 python benchmarks/representations.py --work /tmp/enc_bench --out representations.md
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from _report import add_out_option, md_table, write_table

BASE = Path("/tmp/serkit_baselines")
PROTOCOL = {"name": "speaker-kfold", "params": {"k": 6, "seed": 0}}
RAVDESS_DATA = {"label_set": "ravdess8", "filter": {"mode": "speech"}}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ravdess", type=Path, default=BASE / "manifests" / "ravdess.parquet")
    parser.add_argument("--turev", type=Path, default=BASE / "manifests" / "turev-db.parquet")
    parser.add_argument(
        "--baseline-store",
        type=Path,
        default=BASE / "features",
        help="store holding eGeMAPS / ComParE (pass a copy: rows it lacks are computed there)",
    )
    parser.add_argument(
        "--turev-baselines",
        nargs="*",
        default=["egemaps", "compare"],
        help="baselines also probed on TurEV-DB",
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/enc_bench"))
    parser.add_argument("--epochs", type=int, default=10, help="epochs of the autoencoders")
    parser.add_argument("--ge2e-epochs", type=int, default=4, help="epochs of ge2e")
    parser.add_argument("--families", nargs="*", default=None, help="default: every family")
    parser.add_argument("--no-transfer", action="store_true", help="skip the TurEV-DB probe")
    parser.add_argument(
        "--tag", default="", help="suffix of this run's rows and run names (e.g. e20 for 20 epochs)"
    )
    add_out_option(parser, "representations.md")
    return parser


def variants(families: list[str] | None) -> list[tuple[str, str | None]]:
    """``[(family, condition)]``: every family, and its speaker-conditioned twin if it has one."""
    from serkit.encoders import get_encoder_class, list_encoders

    out = []
    for name in families or list_encoders():
        out.append((name, None))
        if "speaker" in get_encoder_class(name).conditions:
            out.append((name, "speaker"))
    return out


def label(family: str, condition: str | None) -> str:
    return family + (" + speaker" if condition else "")


def pretrain_config(args, family, condition, folds: bool) -> dict[str, Any]:
    epochs = args.ge2e_epochs if family == "ge2e" else args.epochs
    name = f"{family}{'_spk' if condition else ''}{'_folds' if folds else '_all'}{args.tag}"
    return {
        "name": name,
        "data": {"manifests": [str(args.ravdess)], **RAVDESS_DATA},
        "features": {"store": str(args.work / "features")},
        "encoder": {"name": family, "preset": "cpu", "params": {}},
        "condition": condition,
        "training": {"epochs": epochs, "batch_size": 32, "lr": 0.001, "seed": 0, "num_threads": 1},
        "folds": {"protocol": PROTOCOL} if folds else None,
        "latent_plots": [],
        "output": str(args.work / "runs"),
    }


def probe_config(name, manifest, data, features, protocol, store, work) -> dict[str, Any]:
    return {
        "name": name,
        "data": {"manifests": [str(manifest)], **data},
        "features": {**features, "store": str(store), "skip_bad": True},
        "model": {"name": "logreg", "params": {}},
        "protocol": {**protocol, "disjoint": ["speaker"]},
        "final_model": False,
        "bootstrap": {"reps": 200, "seed": 0},
        "output": str(work / "runs"),
    }


def probe(cfg: dict[str, Any]) -> tuple[float, Path]:
    """UAR (pooled) of a logreg probe run, and its run folder."""
    from serkit.experiment import run

    run_dir = run(cfg)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return float(metrics["pooled"]["uar"]), run_dir


def speaker_id(features_cfg: dict[str, Any], store: Path, args, per_fold: bool) -> float:
    """Mean over folds: accuracy of a logreg naming the fold's test speakers (statement 01 ->
    02), on the representation of the fold's own encoder (``per_fold``) or a fixed one."""
    from serkit.experiment.data import load_features, load_rows
    from serkit.models import get_model
    from serkit.protocols import get_protocol

    rows = load_rows({"manifests": [str(args.ravdess)], **RAVDESS_DATA})
    folds = get_protocol(PROTOCOL["name"], **PROTOCOL["params"]).split(rows)
    scores = []
    for fold in folds:
        cfg = dict(features_cfg, store=str(store), skip_bad=False)
        if per_fold:
            cfg["params"] = {**cfg["params"], "fold": str(fold.name)}
        sub = rows.iloc[fold.test].reset_index(drop=True)
        sub.attrs = rows.attrs
        df, _, fs = load_features(sub, cfg)
        speakers = df["speaker"].astype(str).to_numpy()
        first = (df["text_id"].astype(str) == "01").to_numpy()
        model = get_model("logreg").fit(fs.X[first], speakers[first])
        scores.append(float(np.mean(model.predict(fs.X[~first]) == speakers[~first])))
    return float(np.mean(scores))


def pretrain_seconds(run_dir: Path) -> tuple[float, int]:
    """Mean training seconds per encoder of a pretrain run, and its number of encoders."""
    history = json.loads((run_dir / "history.json").read_text())
    return float(np.mean([h["seconds"] for h in history])), len(history)


def main(argv: list[str] | None = None) -> int:
    from serkit.encoders.pretrain import pretrain

    args = _parser().parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    record = args.work / "figures.json"
    figures: dict[str, Any] = json.loads(record.read_text()) if record.exists() else {}

    def keep(key: str, value: Any) -> None:
        figures[key] = value
        record.write_text(json.dumps(figures, indent=1))
        print(f"{key}: {value}", flush=True)

    store = args.work / "features"
    for feature in ("egemaps", "compare"):
        key = f"baseline/{feature}"
        if key not in figures:
            features = {"name": feature, "params": {}}
            cfg = probe_config(
                f"probe_{feature}",
                args.ravdess,
                RAVDESS_DATA,
                features,
                PROTOCOL,
                args.baseline_store,
                args.work,
            )
            uar, _ = probe(cfg)
            spk = speaker_id(features, args.baseline_store, args, per_fold=False)
            turev = None
            if not args.no_transfer and feature in args.turev_baselines:
                cfg = probe_config(
                    f"turev_{feature}",
                    args.turev,
                    {"label_set": "turev4"},
                    features,
                    {"name": "loso", "params": {}},
                    args.baseline_store,
                    args.work,
                )
                turev, _ = probe(cfg)
            keep(key, {"uar": uar, "speaker_id": spk, "turev_uar": turev})

    for family, condition in variants(args.families):
        key = f"encoder/{label(family, condition)}" + (f" [{args.tag}]" if args.tag else "")
        if key in figures:
            continue
        began = time.time()
        cfg = pretrain_config(args, family, condition, folds=True)
        run_dir = pretrain(cfg, log=lambda line: print(line, flush=True))
        seconds, n = pretrain_seconds(run_dir)
        features = {"name": "encoder", "params": {"path": str(run_dir)}}
        probe_cfg = probe_config(
            f"probe_{cfg['name']}", args.ravdess, RAVDESS_DATA, features, PROTOCOL, store, args.work
        )
        uar, probe_dir = probe(probe_cfg)
        cert = json.loads((probe_dir / "dataset.json").read_text())["certification"]
        spk = speaker_id(features, store, args, per_fold=True)
        turev = None
        if not args.no_transfer:
            all_cfg = pretrain_config(args, family, condition, folds=False)
            all_dir = pretrain(all_cfg, log=lambda line: print(line, flush=True))
            tcfg = probe_config(
                f"turev_{all_cfg['name']}",
                args.turev,
                {"label_set": "turev4"},
                {"name": "encoder", "params": {"path": str(all_dir)}},
                {"name": "loso", "params": {}},
                store,
                args.work,
            )
            turev, _ = probe(tcfg)
        keep(
            key,
            {
                "uar": uar,
                "speaker_id": spk,
                "turev_uar": turev,
                "pretrain_s_per_encoder": seconds,
                "encoders": n,
                "epochs": cfg["training"]["epochs"],
                "certificate": cert["encoder"]["status"],
                "wall_s": round(time.time() - began, 1),
            },
        )

    text = table(figures, args)
    print(text)
    write_table(args.out, text, figures)
    return 0


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def table(figures: dict[str, Any], args) -> str:
    rows = []
    for key, f in figures.items():
        kind, name = key.split("/", 1)
        if kind == "baseline":
            rows.append(
                [
                    {"egemaps": "eGeMAPS", "compare": "ComParE"}[name] + " functionals",
                    _pct(f["uar"]),
                    _pct(f["turev_uar"]),
                    _pct(f["speaker_id"]),
                    "-",
                ]
            )
        else:
            rows.append(
                [
                    f"{name} ({f['epochs']} epochs, cpu preset)",
                    _pct(f["uar"]),
                    _pct(f["turev_uar"]),
                    _pct(f["speaker_id"]),
                    f"{f['pretrain_s_per_encoder']:.0f} s",
                ]
            )
    header = [
        "representation",
        "RAVDESS UAR % (6 speaker folds)",
        "TurEV-DB UAR % (transfer)",
        "speaker-ID acc. % (4 unseen speakers)",
        "pretraining per encoder",
    ]
    note = (
        "Linear probe = `logreg` on the representation. RAVDESS: 8 classes, speech, "
        "speaker-kfold k=6 seed 0; every fold probed on an encoder pretrained on that fold's "
        "training rows only (one per fold, certified speaker-disjoint). TurEV-DB: 4 classes, "
        "leave-one-speaker-out, encoder pretrained on all RAVDESS rows. Speaker-ID: per fold, "
        "logreg over the fold's 4 test speakers, statement 01 -> 02 (chance 25 %). Times: sum "
        "of the epochs of one encoder on this machine (2 shared cores, niced)."
    )
    return md_table(header, rows) + "\n\n" + note + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
