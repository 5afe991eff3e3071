"""Late fusion of finished runs: one run folder from the posteriors of several.

``fuse_runs([run_a, run_b], "runs/fused")`` checks that the runs predicted the same rows in the
same test folds with the same classes, averages each run's log-posteriors over its seeds (a
seed ensemble), takes the weighted mean of the runs' log-posteriors per row, and writes an
ordinary run folder (``config.yaml``, ``folds.csv``, ``dataset.json``, ``predictions.parquet``,
``metrics.json``, reports) that ``serkit evaluate`` / ``compare`` read like any other.

Nothing is fitted: the weights are given (equal by default). Weights chosen by looking at the
fused runs' test folds would be a choice on test data; choose them on validation speakers of
the training part, or keep them equal.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from serkit.errors import ConfigError

RULE = "weighted mean of log-posteriors (each run first averaged over its seeds), renormalised"
KEYS = ["id", "fold", "speaker", "corpus", "true"]


def _probs(frame: pd.DataFrame, classes: list[str]) -> np.ndarray:
    return frame[[f"prob_{c}" for c in classes]].to_numpy(np.float64)


def seed_ensemble(predictions: pd.DataFrame, classes: list[str], source: str) -> pd.DataFrame:
    """One row per id: the run's seeds fused, equal weights, by
    :func:`~serkit.models.fusion.combine_posteriors` (``"product"``: the normalised geometric
    mean of the posteriors).

    Args:
        predictions: a run's ``predictions.parquet`` (one row per id and seed).
        classes: its class order (``prob_<class>`` columns).
        source: the run's name for error messages.

    Returns:
        ``KEYS`` and ``prob_<class>`` columns, one row per id, sorted by id.

    >>> p = pd.DataFrame({"id": ["a", "a"], "fold": ["f0", "f0"], "seed": [0, 1],
    ...     "speaker": ["s", "s"], "corpus": ["c", "c"], "true": ["x", "x"],
    ...     "prob_x": [0.5, 0.125], "prob_y": [0.5, 0.875]})
    >>> round(float(seed_ensemble(p, ["x", "y"], "demo").iloc[0]["prob_x"]), 3)  # .25/(.25+.66)
    0.274
    """
    from serkit.models.fusion import combine_posteriors

    frame = predictions.copy()
    frame["seed"] = frame["seed"].astype(int)
    repeated = frame.duplicated(["id", "seed"])
    if repeated.any():
        first = frame.loc[repeated].iloc[0]
        raise ConfigError(
            f"{source}: id {first['id']} is predicted more than once in seed {first['seed']}; "
            "a run predicts every row once per seed (is predictions.parquet damaged?)"
        )
    seeds = sorted(frame["seed"].unique())
    counts = frame.groupby("id")["seed"].nunique()
    short = counts[counts != len(seeds)]
    if len(short):
        raise ConfigError(
            f"{source}: id {short.index[0]} is predicted in {short.iloc[0]} of the run's "
            f"{len(seeds)} seeds; finish the run (`serkit train` resumes) before fusing it"
        )
    for key in ("fold", "true"):
        varies = frame.groupby("id")[key].nunique()
        if (varies > 1).any():
            raise ConfigError(
                f"{source}: id {varies[varies > 1].index[0]} has a different {key} in different "
                "seeds; fuse runs whose seeds share one split (protocol.params.seed set)"
            )
    frame["id"] = frame["id"].astype(str)
    by_seed = [frame[frame["seed"] == s].set_index("id").sort_index() for s in seeds]
    fused = combine_posteriors(
        [_probs(f, classes) for f in by_seed], np.full(len(seeds), 1 / len(seeds)), "product"
    )
    out = by_seed[0][KEYS[1:]].astype(str).reset_index()
    return out.assign(**{f"prob_{c}": fused[:, i] for i, c in enumerate(classes)})


def fuse_posteriors(
    members: Sequence[pd.DataFrame], classes: list[str], weights: Sequence[float]
) -> pd.DataFrame:
    """:func:`~serkit.models.fusion.combine_posteriors` (``"product"``) of
    :func:`seed_ensemble` frames, aligned by id, as predictions.

    Args:
        members: :func:`seed_ensemble` outputs with identical ids, folds and labels.
        classes: the class order.
        weights: one non-negative weight per member (normalised to sum 1).

    Returns:
        A ``predictions.parquet`` frame (seed 0): ``KEYS``, ``seed``, ``pred``, ``prob_<class>``.

    >>> a = pd.DataFrame({"id": ["r"], "fold": ["f"], "speaker": ["s"], "corpus": ["c"],
    ...     "true": ["x"], "prob_x": [0.9], "prob_y": [0.1]})
    >>> b = a.assign(prob_x=0.1, prob_y=0.9)
    >>> fuse_posteriors([a, b], ["x", "y"], [1, 1])[["prob_x", "prob_y"]].round(2).values.tolist()
    [[0.5, 0.5]]
    """
    from serkit.models.fusion import combine_posteriors

    w = np.asarray(weights, dtype=float)
    ids = members[0]["id"]
    aligned = [m.set_index("id").loc[ids] for m in members]
    probs = combine_posteriors([_probs(m, classes) for m in aligned], w / w.sum(), "product")
    out = members[0][KEYS].copy()
    out.insert(2, "seed", 0)
    out["pred"] = np.asarray(classes)[probs.argmax(axis=1)]
    for i, c in enumerate(classes):
        out[f"prob_{c}"] = probs[:, i]
    return out


def check_weights(weights: Sequence[float] | None, n: int) -> list[float]:
    """Equal weights for ``None``; else ``n`` finite non-negative weights, not all zero."""
    if weights is None:
        return [1.0] * n
    values = [float(x) for x in weights]
    if len(values) != n:
        raise ConfigError(f"{len(values)} weight(s) for {n} run(s): give one weight per run")
    if not all(np.isfinite(values)) or min(values) < 0 or sum(values) == 0:
        raise ConfigError(f"weights must be finite, >= 0 and not all 0; found {values}")
    return values


def _align(frames: list[pd.DataFrame], names: list[str]) -> None:
    """Refuse runs that did not predict the same rows in the same folds with the same labels."""
    ref = frames[0].set_index("id")
    for frame, name in zip(frames[1:], names[1:], strict=True):
        other = frame.set_index("id")
        missing = ref.index.difference(other.index)
        extra = other.index.difference(ref.index)
        if len(missing) or len(extra):
            example = missing[0] if len(missing) else extra[0]
            raise ConfigError(
                f"{name} and {names[0]} predicted different rows ({len(missing)} of "
                f"{names[0]}'s missing, {len(extra)} extra; e.g. {example}); fuse runs of the "
                "same data, filter and label set"
            )
        other = other.loc[ref.index]
        for key in ("fold", "true"):
            differs = ref[key] != other[key]
            if differs.any():
                row = differs.idxmax()
                raise ConfigError(
                    f"{row}: {key} is {other.at[row, key]!r} in {name} but {ref.at[row, key]!r} "
                    f"in {names[0]}; fuse runs of the same protocol and protocol seed "
                    "(identical test folds)"
                )


def _member(run_dir: Path) -> dict[str, Any]:
    from serkit.experiment.runs import _read, _require, read_config

    predictions = _read(_require(run_dir, "predictions.parquet"))
    cfg = read_config(run_dir)
    dataset_path = run_dir / "dataset.json"
    return {
        "dir": run_dir,
        "name": str(cfg.get("name", run_dir.name)),
        "cfg": cfg,
        "predictions": predictions,
        "dataset": _read(dataset_path) if dataset_path.exists() else {},
    }


def _certification(members: list[dict[str, Any]]) -> dict[str, Any]:
    certs = [m["dataset"].get("certification") or {} for m in members]
    cert = dict(certs[0])
    cert["speaker_independent"] = all(c.get("speaker_independent") for c in certs)
    statements = list(dict.fromkeys(c.get("statement", "(not certified)") for c in certs))
    if len(members) == 1:
        what = f"Seed ensemble of {members[0]['name']}. "
    else:
        what = (
            f"Late fusion of {len(members)} runs whose test folds were checked to be "
            "identical, row by row. "
        )
    if len(statements) > 1:
        statements = [
            f"{m['name']}: {c.get('statement', '(not certified)')}"
            for m, c in zip(members, certs, strict=True)
        ]
    cert["statement"] = what + " ".join(statements)
    return cert


def _config(
    members: list[dict[str, Any]],
    name: str,
    weights: list[float],
    command: str | None,
    description: str | None,
) -> dict[str, Any]:
    from serkit.experiment.provenance import provenance

    first = members[0]["cfg"]
    described = [
        {
            "run": str(m["dir"]),
            "name": m["name"],
            "features": (m["cfg"].get("features") or {}).get("name"),
            "normalize": (m["cfg"].get("features") or {}).get("normalize"),
            "model": (m["cfg"].get("model") or {}).get("name"),
            "seeds": sorted(int(s) for s in m["predictions"]["seed"].unique()),
            "fingerprint": (m["cfg"].get("provenance") or {}).get("config_fingerprint"),
        }
        for m in members
    ]
    kinds = {d["normalize"] for d in described}
    normalize = {"normalize": kinds.pop()} if len(kinds) == 1 else {}
    return {
        "name": name,
        "description": description or "late fusion of " + ", ".join(m["name"] for m in members),
        "data": first.get("data", {}),
        "features": {"name": "+".join(str(d["features"]) for d in described), **normalize},
        "model": {
            "name": "late-fusion",
            "params": {"runs": [d["name"] for d in described], "weights": weights},
        },
        "protocol": first.get("protocol", {}),
        "seeds": [0],
        "bootstrap": first.get("bootstrap", {}),
        "fuse": {"rule": RULE, "weights": weights, "members": described},
        "provenance": provenance(
            command, "fuse:" + ":".join(str(d["fingerprint"]) for d in described)
        ),
    }


def fuse_runs(
    runs: Sequence[str | os.PathLike],
    output: str | os.PathLike,
    *,
    weights: Sequence[float] | None = None,
    overwrite: bool = False,
    command: str | None = None,
    description: str | None = None,
) -> Path:
    """Fuse finished runs into the run folder ``output``; returns it.

    Args:
        runs: run folders of ``serkit train`` with identical rows, test folds and classes; one
            run of several seeds alone gives its seed ensemble.
        output: the new run folder (its name is the run's name); refused if it exists, unless
            ``overwrite``. Written in full, then renamed into place.
        weights: one weight per run (default equal), fixed in advance.
        overwrite: replace an existing ``output``.
        command: the command line recorded in ``config.yaml``.
        description: the fused run's description (default: the members' names).

    Raises:
        ConfigError: a run is unfinished or damaged, the runs disagree on rows, folds, labels
            or classes, bad weights, or ``output`` exists.
    """
    from serkit.atomic import atomic_dir, atomic_write_json, atomic_write_parquet
    from serkit.experiment.runs import evaluate
    from serkit.metrics import classes_of

    dirs = [Path(r) for r in runs]
    output = Path(output)
    if not dirs:
        raise ConfigError("no run to fuse: give two or more run folders (or one with 2+ seeds)")
    if any(output.resolve() == d.resolve() for d in dirs):
        raise ConfigError(f"{output}: the output is one of the fused runs; choose a new folder")
    if output.exists() and not overwrite:
        raise ConfigError(f"{output} exists; choose another folder or pass --overwrite")
    w = check_weights(weights, len(dirs))
    members = [_member(d) for d in dirs]
    names = [m["name"] for m in members]
    classes = classes_of(members[0]["predictions"])
    for m in members[1:]:
        if classes_of(m["predictions"]) != classes:
            raise ConfigError(
                f"{m['name']} has classes {classes_of(m['predictions'])}, {names[0]} has "
                f"{classes}; fuse runs of one label set"
            )
    if len(members) == 1 and members[0]["predictions"]["seed"].nunique() < 2:
        raise ConfigError(f"{names[0]}: one run of one seed; nothing to fuse")
    frames = [seed_ensemble(m["predictions"], classes, m["name"]) for m in members]
    _align(frames, names)
    fused = fuse_posteriors(frames, classes, w)
    dataset = dict(members[0]["dataset"])
    dataset["certification"] = _certification(members)
    dataset["fuse"] = {"members": names, "weights": w}
    features = [m["dataset"].get("features") or {} for m in members]
    dataset["features"] = {
        "level": "+".join(str(f.get("level", "?")) for f in features),
        "dim": "+".join(str(f.get("dim", "?")) for f in features),
        "members": features,
    }
    folds_csv = members[0]["dir"] / "folds.csv"
    with atomic_dir(output) as tmp:
        (tmp / "config.yaml").write_text(
            yaml.safe_dump(_config(members, output.name, w, command, description), sort_keys=False)
        )
        atomic_write_json(tmp / "dataset.json", dataset)
        if folds_csv.exists():
            folds = pd.read_csv(folds_csv)
            folds = folds[folds["seed"] == folds["seed"].min()].assign(seed=0)
            folds.to_csv(tmp / "folds.csv", index=False)
        atomic_write_parquet(tmp / "predictions.parquet", fused)
        evaluate(tmp, write=True)
    return output


def describe(run_dir: str | os.PathLike) -> str:
    """One line naming a fused run's members and weights (for the CLI)."""
    cfg = yaml.safe_load((Path(run_dir) / "config.yaml").read_text()) or {}
    fuse = cfg.get("fuse") or {}
    pairs = zip(fuse.get("members", []), fuse.get("weights", []), strict=False)
    return "fused " + ", ".join(f"{m['name']} (weight {w:g}, seeds {m['seeds']})" for m, w in pairs)


__all__ = ["check_weights", "describe", "fuse_posteriors", "fuse_runs", "seed_ensemble"]
