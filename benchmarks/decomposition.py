"""SpeechFlow decomposition study (issue 15, seed 000): UAR per condition inside RAVDESS and
across RAVDESS / TurEV-DB / URDU, with the SpeechFlow package's losses and conversion speed.

The study is one ``serkit study decomposition`` config built here (every cell an ordinary,
certified run, cached in ``--work``, so a killed benchmark continues where it stopped):

* inside RAVDESS speech, 8 classes, ``speaker-kfold`` (``--k``, seed 0);
* across: train on RAVDESS, test on TurEV-DB and on URDU (``--across``), on the classes both
  corpora have (TurEV-DB: angry, calm, happy, sad; URDU: angry, happy, neutral, sad);
* the 3-D ACRNN (cpu preset) on the 80-band SpeechFlow mel + deltas, 192-frame segments (the
  fork's size), max-pooled over an utterance's segments;
* conditions REC (the reference), the removals (``--conditions``) and RAW.

SpeechFlow is the package named in ``--encoder`` (default: the path in
``/tmp/sflow/PACKAGE_PATH.txt``), pretrained label-free on TurEV-DB + URDU: disjoint from
RAVDESS, so the inside cells are certified speaker-disjoint, and the across cells say
TRANSDUCTIVE (it heard the test corpus's audio, never its labels). Also printed: the package's
reconstruction losses (last epoch, from ``encoder.json``) and pretraining time, and the
conversion speed (utterances per second of one decomposition, this machine, one thread).

    nice -n 10 python benchmarks/decomposition.py --work /tmp/study/bench --out decomposition.md
    # reduced (what README reports): 4 classes, RAVDESS -> URDU only, 3 epochs
    nice -n 10 python benchmarks/decomposition.py --conditions NR NF --label-set four_class
        --k 3 --across ravdess:urdu --epochs 3 --explain 20 (one command line)
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import pandas as pd

from _report import add_out_option, md_table, write_table

MANIFESTS = Path("/tmp/aug_bench/manifests")
PACKAGE_FILE = Path("/tmp/sflow/PACKAGE_PATH.txt")
CORPORA = {"ravdess": "ravdess", "turev-db": "turev-db", "urdu": "urdu"}
TITLES = {"ravdess": "RAVDESS", "turev-db": "TurEV-DB", "urdu": "URDU"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", type=Path, default=None, help=f"default: {PACKAGE_FILE}")
    parser.add_argument("--manifests", type=Path, default=MANIFESTS)
    parser.add_argument("--work", type=Path, default=Path("/tmp/study/bench"))
    parser.add_argument(
        "--conditions",
        nargs="*",
        default=None,
        help="removal conditions besides REC (default: all eight)",
    )
    parser.add_argument("--no-raw", action="store_true", help="leave out the RAW reference")
    parser.add_argument("--k", type=int, default=5, help="speaker folds inside RAVDESS")
    parser.add_argument("--no-inside", action="store_true", help="skip the RAVDESS folds")
    parser.add_argument(
        "--label-set", default="ravdess8", help="classes inside RAVDESS (e.g. four_class)"
    )
    parser.add_argument(
        "--across",
        nargs="*",
        default=["ravdess:turev-db", "ravdess:urdu"],
        help="TRAIN:TEST corpus pairs",
    )
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seeds", type=int, nargs="*", default=[0])
    parser.add_argument("--explain", type=int, default=40, help="utterances explained per scope")
    parser.add_argument("--speed-utterances", type=int, default=20)
    parser.add_argument(
        "--wait", action="store_true", help=f"wait for {PACKAGE_FILE} (warming up meanwhile)"
    )
    add_out_option(parser, "decomposition.md")
    return parser


def encoder_path(args: argparse.Namespace) -> Path:
    """``--encoder``, or the package path SFLOW wrote to ``/tmp/sflow/PACKAGE_PATH.txt``
    (with ``--wait``: the speaker vectors are computed while that file is awaited)."""
    if args.encoder is not None:
        return args.encoder
    if args.wait and not PACKAGE_FILE.is_file():
        warm_speaker_vectors(args)
        while not PACKAGE_FILE.is_file():
            time.sleep(30)
    if not PACKAGE_FILE.is_file():
        raise SystemExit(f"no --encoder given and no {PACKAGE_FILE}: pretrain SpeechFlow first")
    return Path(PACKAGE_FILE.read_text().strip())


def warm_speaker_vectors(args: argparse.Namespace) -> None:
    """Compute the Resemblyzer vectors of the study's rows into this process's memo
    (:func:`serkit.encoders.package.cached_condition`) before the package exists: they do not
    depend on it."""
    from serkit import audio
    from serkit import manifest as mf
    from serkit.corpora.labels import apply_label_set
    from serkit.encoders.package import SPEAKER_FRONTEND, cached_condition
    from serkit.features import extractor_from_dict

    speaker = extractor_from_dict(SPEAKER_FRONTEND)
    corpora = study_config(args, Path("pending"))["corpora"]
    for name, paths in corpora.items():
        df = mf.read(Path(paths[0]))
        if name == "ravdess" and not args.no_inside and not args.across:
            df = apply_label_set(df, args.label_set)
        elif name == "ravdess" and args.label_set == "four_class":
            df = apply_label_set(df, "four_class")
        print(f"speaker vectors of {len(df)} {name} rows (waiting for {PACKAGE_FILE})", flush=True)
        for path in mf.audio_paths(df):
            signal, rate = audio.read(path, sample_rate=16000)
            cached_condition(speaker, signal, rate)


def study_config(args: argparse.Namespace, encoder: Path) -> dict[str, Any]:
    """The study config of this benchmark (raw, as YAML would give it)."""
    across = [dict(zip(("train", "test"), pair.split(":"), strict=True)) for pair in args.across]
    used = {c for pair in across for c in pair.values()} | (
        {"ravdess"} if not args.no_inside else set()
    )
    conditions = ["REC", *(args.conditions if args.conditions is not None else [])]
    return {
        "name": "decomposition_bench",
        "encoder": str(encoder),
        "conditions": None if args.conditions is None else conditions,
        "raw": not args.no_raw,
        "features": {"params": {"deltas": 2}, "store": str(args.work / "features")},
        "corpora": {c: [str(args.manifests / f"{CORPORA[c]}.parquet")] for c in sorted(used)},
        "inside": []
        if args.no_inside
        else [
            {
                "corpus": "ravdess",
                "label_set": args.label_set,
                "protocol": {"name": "speaker-kfold", "params": {"k": args.k, "seed": 0}},
            }
        ],
        "across": across,
        "model": {
            "name": "acrnn",
            "params": {
                "net_params": {"preset": "cpu"},
                "segment_frames": 192,
                "segment_hop": 96,
                "pooling": "max",
                "epochs": args.epochs,
                "batch_size": 32,
                "lr": 0.001,
                "num_threads": 1,
            },
        },
        "seeds": list(args.seeds),
        "final_model": "reference" if args.explain else "none",
        "explain": {"limit": int(args.explain)},
        "output": str(args.work),
    }


def package_facts(encoder: Path, manifest: Path, n: int) -> dict[str, Any]:
    """Last-epoch losses and pretraining time from ``encoder.json``; the conversion speed
    (utterances per second of one REC decomposition, one thread) on ``n`` RAVDESS files."""
    import torch

    from serkit import audio
    from serkit import manifest as mf
    from serkit.features.encoder import cached_package
    from serkit.features.speechflow import decompose_signal

    torch.set_num_threads(1)
    pkg = cached_package(str(encoder))
    history = pkg.meta.get("history") or []
    last = history[-1] if history else {}
    seconds = sum(float(h.get("seconds") or 0.0) for h in history)
    paths = mf.audio_paths(mf.read(manifest))[:n]
    signals = [audio.read(p, sample_rate=pkg.frontend.sample_rate)[0] for p in paths]
    decompose_signal(pkg, signals[0][:16000], pkg.frontend.sample_rate, "REC")  # warm up
    started = time.perf_counter()
    for signal in signals:
        decompose_signal(pkg, signal, pkg.frontend.sample_rate, "REC")
    took = time.perf_counter() - started
    return {
        "package": str(encoder),
        "epochs": len(history),
        "last_epoch": last,
        "pretrain_seconds": seconds,
        "train_speakers": len(pkg.speakers),
        "speed_utt_per_s": len(signals) / took if took else None,
        "speed_seconds_audio": float(sum(len(s) for s in signals) / pkg.frontend.sample_rate),
    }


def tables(table: pd.DataFrame, facts: dict[str, Any]) -> str:
    """The condition table (one column pair per scope) and the package line, Markdown."""
    scopes = list(dict.fromkeys(table["scope"]))
    conditions = list(dict.fromkeys(table["condition"]))
    header = ["condition"]
    for scope in scopes:
        train, _, test = scope.partition("_to_")
        title = TITLES.get(train, train) + (
            f" -> {TITLES.get(test, test)}" if test else " (inside)"
        )
        header += [f"{title} UAR % [95 % CI]", "Δ vs REC [paired CI]"]
    rows = []
    for condition in conditions:
        row = [condition]
        for scope in scopes:
            r = table[(table["scope"] == scope) & (table["condition"] == condition)]
            if r.empty:
                row += ["-", "-"]
                continue
            r = r.iloc[0]
            row.append(f"{100 * r.uar:.1f} [{100 * r.uar_low:.1f}, {100 * r.uar_high:.1f}]")
            if condition == "REC":
                row.append("ref.")
            elif pd.isna(r.delta_low):
                row.append(f"{100 * r.delta_rec:+.1f}")
            else:
                low, high = 100 * r.delta_low, 100 * r.delta_high
                row.append(f"{100 * r.delta_rec:+.1f} [{low:+.1f}, {high:+.1f}]")
        rows.append(row)
    certs = table.drop_duplicates("scope")[["scope", "certificate"]]
    notes = "; ".join(f"{s}: {c}" for s, c in certs.itertuples(index=False))
    last = facts.get("last_epoch") or {}
    losses = ", ".join(
        f"{k} {v:.4f}" for k, v in last.items() if isinstance(v, float) and k != "seconds"
    )
    text = md_table(header, rows)
    text += (
        f"\n\nEncoder certificate per scope: {notes}. SpeechFlow package {facts['package']}: "
        f"{facts['epochs']} epochs, {facts['pretrain_seconds'] / 60:.1f} min pretraining, "
        f"{facts['train_speakers']} training speakers; last epoch: {losses or 'n/a'}. "
        f"Conversion: {facts['speed_utt_per_s']:.2f} utterances/s (REC, one thread, "
        f"{facts['speed_seconds_audio']:.0f} s of RAVDESS audio)."
    )
    return text


def main() -> None:
    args = _parser().parse_args()
    from serkit.study.config import validate_study
    from serkit.study.decomposition import run_study

    encoder = encoder_path(args)
    args.work.mkdir(parents=True, exist_ok=True)
    facts = package_facts(encoder, args.manifests / "ravdess.parquet", args.speed_utterances)
    print(json.dumps(facts, indent=1, default=str), flush=True)
    study = validate_study(study_config(args, encoder))
    folder = run_study(study, log=lambda line: print(line, flush=True))
    table = pd.read_csv(folder / "table.csv")
    text = tables(table, facts)
    print(text)
    write_table(
        args.out,
        text,
        {"facts": facts, "cells": table.to_dict(orient="records"), "report": str(folder)},
    )


if __name__ == "__main__":
    main()
