"""A run-like folder in the layout ``serkit analyze fisher`` reads (``<run>/config.yaml`` and
``<run>/synthetic/``: ``index.json`` + one ``<seed>-<fold>.npz`` per fold), built without the
runner: real emobase2010 vectors of two small demo corpora (target and source) and synthetic
sets made by moving source vectors towards each emotion's mean by a factor ``pull``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import yaml

FEATURES = {
    "name": "emobase2010",
    "params": {},
    "skip_bad": False,
    "vad": None,
    "normalize": None,
    "min_duration_s": None,
    "min_level_dbfs": None,
}


def corpora(root: Path) -> dict:
    """Target and source demo corpora prepared as manifests, features extracted into a store."""
    from serkit import manifest
    from serkit.corpora import prepare
    from serkit.demo import make_corpus
    from serkit.experiment.data import load_features, load_rows

    emotions = ("neutral", "happy", "sad", "angry")
    make_corpus(root / "target", speakers=4, sentences=1, repetitions=2, emotions=emotions, seed=0)
    make_corpus(root / "source", speakers=2, sentences=1, repetitions=1, emotions=emotions, seed=7)
    prepare("ravdess", root / "target", output=root / "manifests")
    src = prepare("ravdess", root / "source", output=root / "src_raw")
    src = src.copy()
    src["corpus"] = "demosrc"
    for column in ("id", "speaker"):
        src[column] = src[column].str.replace("ravdess/", "demosrc/", regex=False)
    src.attrs = {**src.attrs, "corpus": "demosrc"}
    manifest.write(src, root / "manifests" / "demosrc.parquet")
    data = {
        "manifests": [str(root / "manifests" / "ravdess.parquet")],
        "label_set": "four_class",
        "filter": {},
    }
    features = {**FEATURES, "store": str(root / "features")}
    rows = load_rows(data)
    df, _, fs = load_features(rows, features)
    sdf, _, sfs = load_features(manifest.read(root / "manifests" / "demosrc.parquet"), features)
    return {
        "data": data,
        "features": features,
        "source": [str(root / "manifests" / "demosrc.parquet")],
        "df": df,
        "X": np.asarray(fs.X, dtype=np.float64),
        "source_ids": sdf["id"].to_numpy().astype(str),
        "source_X": np.asarray(sfs.X, dtype=np.float64),
    }


def make_run(
    run: Path, c: dict, *, lambda_cls: float | None, pull: float, save: bool = True
) -> Path:
    """A run folder whose two folds (speakers 1-2 | 3-4 held out) have synthetic sets."""
    run.mkdir(parents=True)
    params = {} if lambda_cls is None else {"lambda_cls": lambda_cls}
    augment = {
        "name": "cyclegan",
        "params": params,
        "source": c["source"],
        "train_on": "real+syn",
        "save": save,
    }
    cfg = {"name": run.name, "data": c["data"], "features": c["features"], "augment": augment}
    (run / "config.yaml").write_text(yaml.safe_dump(cfg))
    if not save:
        return run
    df = c["df"]
    speakers = sorted(set(df["speaker"]))
    labels = df["label"].astype(str).to_numpy()
    entries = []
    for name, test in (("f1", speakers[:2]), ("f2", speakers[2:])):
        train = ~df["speaker"].isin(test).to_numpy()
        X, y = c["X"][train], labels[train]
        xs, ys, ids = [], [], []
        for label in sorted(set(y)):
            shift = X[y == label].mean(axis=0) - c["source_X"].mean(axis=0)
            xs.append(c["source_X"] + pull * shift)
            ys += [label] * len(c["source_X"])
            ids += list(c["source_ids"])
        (run / "synthetic").mkdir(exist_ok=True)
        np.savez(
            run / "synthetic" / f"0-{name}.npz",
            X=np.concatenate(xs).astype(np.float32),
            y=np.array(ys),
            source_id=np.array(ids),
            train_id=df["id"].to_numpy().astype(str)[train],
        )
        entries.append(
            {
                "seed": 0,
                "fold": name,
                "file": f"0-{name}.npz",
                "per_class": {k: ys.count(k) for k in sorted(set(ys))},
                "augment": augment,
            }
        )
    (run / "synthetic" / "index.json").write_text(json.dumps(entries))
    return run
