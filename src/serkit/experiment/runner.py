"""The experiment runner: rows -> features -> certified folds -> predictions -> run folder.

Every fold's predictions are written atomically to ``<run>/partial/`` as soon as the fold is
done, so a killed experiment started again with the same config resumes at the first fold
that has no partial file (earlier folds are read back, not recomputed). A cached fold is keyed
by the rows, labels and features of its train / validation / test sides and the front end, and
checked when read (:mod:`serkit.experiment.cache`): after the manifest at the same path changed,
the folds it touches are computed again, and the predictions are certified once more before
they are written. A run folder of another config is refused while it holds finished results
(``overwrite`` discards them); one left by a start that failed before its first fold is free.

Checkpoints: every fit of a neural model (one with a ``checkpoint_dir`` parameter) gets its
own folder, set with ``set_params`` on the runner's fresh estimator (whatever the config
says): ``<run>/checkpoints/<seed>-<fold>/`` for a fold (``stage1/`` and ``stage2/`` inside for
``dcnn-blstmwa``) and ``<run>/checkpoints/final/`` for the final refit. The training loop writes
them after every epoch, and their fingerprint holds a content hash of the training and
validation items, so no fold can ever resume another's checkpoint. A run killed mid-fold
(``kill -9`` too) and started again resumes the unfinished fold after its last finished epoch
and ends with the same predictions as an uninterrupted run with the same number of processes.
A fold's checkpoint folder is deleted once its partial predictions are written (they are the
record; a DCNN checkpoint is hundreds of MB at paper size), and ``checkpoints/`` is removed
when the run is complete.

Scale-out: started by ``torchrun`` (``torchrun --standalone --nproc_per_node=2 -m serkit train
CONFIG``), :func:`run` joins the process group once (:mod:`serkit.experiment.distributed`).
Every rank computes the same folds and fits each neural model together with the others:
DDP, the training rows sharded by the training loop's ``DistributedSampler`` (gloo on CPU).
Rank 0 alone extracts features (the others wait, then only read the store), writes every file
of the run folder and the checkpoints, and logs; the other ranks write nothing. The world size
is recorded in ``config.yaml`` (``provenance.world_size``), per fold in ``dataset.json`` and in
the report. ``batch_size`` is per process, so N processes take 1/N of the optimiser steps per
epoch; results match a one-process run within seed-to-seed noise, not bit for bit. Classic
(scikit-learn) models train in one process: under torchrun they are refused with a
:class:`~serkit.errors.ConfigError` before anything is written.
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from serkit.atomic import atomic_write_parquet, atomic_write_text
from serkit.errors import ConfigError, Hint
from serkit.experiment import cache
from serkit.experiment.checkpoints import CHECKPOINTS, checkpoints_in, fold_checkpoints, resume_note
from serkit.experiment.checks import check_level, check_paths
from serkit.experiment.config import fingerprint, validate_config
from serkit.experiment.data import Dataset, load_features, load_rows, log_skipped, model_level
from serkit.experiment.distributed import SOLO, Group, join
from serkit.experiment.search import fit_model, grid_search

Log = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


def build_protocol(cfg: dict[str, Any], seed: int) -> Any:
    """The configured protocol; seeded protocols get the run seed unless params set one."""
    from serkit.protocols import PROTOCOLS, get_protocol

    params = dict(cfg["protocol"]["params"])
    if PROTOCOLS.get(cfg["protocol"]["name"]).seeded:
        params.setdefault("seed", seed)
    return get_protocol(
        cfg["protocol"]["name"],
        allow_speaker_dependent=cfg["allow_speaker_dependent"],
        **params,
    )


def make_folds(cfg: dict[str, Any], df: pd.DataFrame, seed: int) -> tuple[list, Any]:
    """Split, add validation rows if configured, and certify. Returns ``(folds, certificate)``."""
    from serkit.protocols import certify, speaker_disjoint_validation

    protocol = build_protocol(cfg, seed)
    folds = protocol.split(df)
    if cfg["validation"] is not None:
        for fold in folds:
            tr, va = speaker_disjoint_validation(
                df.iloc[fold.train], cfg["validation"]["fraction"], seed
            )
            fold.train, fold.val = fold.train[tr], fold.train[va]
    certificate = certify(
        df,
        folds,
        tuple(cfg["protocol"]["disjoint"]),
        complete=protocol.exhaustive,
        protocol=protocol.name,
    )
    return folds, certificate


def make_model(cfg: dict[str, Any], seed: int, params: dict[str, Any] | None = None) -> Any:
    """A new estimator; a ``seed`` parameter not set in the config gets the run seed."""
    from serkit.models import get_model

    model = get_model(cfg["model"]["name"], **cfg["model"]["params"])
    if "seed" in model.get_params() and "seed" not in cfg["model"]["params"]:
        model.set_params(seed=seed)
    if params:
        model.set_params(**params)
    return model


def experiment_data(
    cfg: dict[str, Any],
    rows: pd.DataFrame,
    log: Log,
    progress: bool = False,
    extract: bool = True,
) -> tuple[pd.DataFrame, Any, Any, Dataset, str]:
    """Features of a resolved config's rows, as the runner and the tuning tools use them.

    ``extract=False`` only reads the feature store (it must hold every row already).

    Returns:
        ``(df, frontend, feature_set, dataset, level)``: the rows that have features, the
        feature front end (:class:`~serkit.features.frontend.Frontend`), its loaded features,
        the :class:`Dataset` and the model's input level.
    """
    template = make_model(cfg, cfg["seeds"][0])
    log(
        f"data: {len(rows)} rows, {rows['speaker'].nunique()} speakers, classes "
        f"{', '.join(rows.attrs['classes'])}"
    )
    log(f"features: {cfg['features']['name']} (store {cfg['features']['store']})")
    df, frontend, fs = load_features(
        rows, cfg["features"], workers=cfg["workers"], progress=progress, extract=extract
    )
    log(f"front end: {frontend.describe()} (key {frontend.key()})")
    log_skipped(df.attrs.get("skipped_rows", []), log)
    if frontend.needs_speakers:
        log("features: z-scored per speaker (label-free, transductive per speaker)")
    level = model_level(template, fs.level, cfg)
    classes = [c for c in rows.attrs["classes"] if c in set(df["label"].astype(str))]
    return df, frontend, fs, Dataset(df, classes, fs), level


def searched_model(
    cfg: dict[str, Any], dataset: Dataset, idx: np.ndarray, level: str, seed: int
) -> tuple[Any, dict[str, Any] | None, Any]:
    """A new, unfitted estimator: the config's parameters, updated by the best point of the
    configured inner search on rows ``idx`` (no search: none).

    Returns:
        ``(model, best_params or None, search record or None)``.
    """
    if cfg["search"] is None:
        return make_model(cfg, seed), None, None
    best, search = grid_search(make_model(cfg, seed), dataset, idx, cfg["search"], level, seed)
    return make_model(cfg, seed, best), best, search


def _fit(model: Any, dataset: Dataset, fold: Any, level: str, *, asked: bool) -> Any:
    """Fit on the fold's training rows; validation rows go in as ``val_index`` if supported.

    A model whose ``fit`` has no ``val_index`` parameter trains on the training rows only
    (validation rows of an ``official`` split stay unused), unless the config asked for a
    validation split (``asked``), which is then an error.
    """
    takes_val = "val_index" in inspect.signature(model.fit).parameters
    if fold.val is None or len(fold.val) == 0 or not takes_val:
        if asked and not takes_val:
            raise ConfigError(
                f"config key validation: model {type(model).__name__} takes no validation "
                "index (fit(..., val_index=...)); remove `validation` (neural models make "
                "their own speaker-disjoint split from the speaker groups)"
            )
        return fit_model(model, dataset, fold.train, level)
    idx = np.concatenate([fold.train, fold.val])
    val_index = np.arange(len(fold.train), len(idx))
    return model.fit(
        dataset.inputs(idx, level), dataset.y[idx], groups=dataset.groups[idx], val_index=val_index
    )


def predictions_frame(
    model: Any, dataset: Dataset, idx: np.ndarray, level: str, fold: str, seed: int
) -> pd.DataFrame:
    """One fold's predictions: id, fold, seed, speaker, corpus, true, pred, prob_<class>."""
    X = dataset.inputs(idx, level)
    proba = np.asarray(model.predict_proba(X), dtype=np.float64)
    pred = np.asarray(model.predict(X)).astype(str)
    rows = dataset.df.iloc[idx]
    out = pd.DataFrame(
        {
            "id": rows["id"].astype(str).to_numpy(),
            "fold": fold,
            "seed": seed,
            "speaker": rows["speaker"].astype(str).to_numpy(),
            "corpus": rows["corpus"].astype(str).to_numpy(),
            "true": rows["label"].astype(str).to_numpy(),
            "pred": pred,
        }
    )
    known = [str(c) for c in model.classes_]
    for c in dataset.classes:
        out[f"prob_{c}"] = proba[:, known.index(c)] if c in known else 0.0
    return out


def _prepare_folder(run_dir: Path, fp: str, overwrite: bool, log: Log, write: bool) -> Path:
    """Check (every rank) and, with ``write``, prepare (rank 0) the run folder; ``partial/``.

    A folder of another config (its fingerprint is in ``partial/fingerprint.txt``) is refused
    while it holds any finished result (a fold, predictions, a model), unless ``overwrite``.
    One that holds none, left by a start that failed or was stopped before its first fold
    finished, is free: it is taken over (its checkpoints and unfinished files removed).
    """
    partial = run_dir / "partial"
    stamp = partial / "fingerprint.txt"
    old = stamp.read_text().strip() if stamp.is_file() else None
    if run_dir.exists() and overwrite:
        if not write:
            return partial
        log(f"removing the old run folder {run_dir} (--overwrite)")
        shutil.rmtree(run_dir)
    elif old is not None and old != fp:
        finished = _finished_results(run_dir)
        if finished:
            raise ConfigError(
                f"{run_dir} holds results of a different config (fingerprint {old} != {fp}; "
                f"{finished}); choose another `name`",
                hint=Hint("overwrite", True, "to discard them"),
            )
        if not write:
            return partial
        log(
            f"{run_dir}: taking over the folder of config {old}, which finished no fold (a "
            "start that failed or was stopped); its checkpoints are removed"
        )
        shutil.rmtree(run_dir / CHECKPOINTS, ignore_errors=True)
        for path in partial.iterdir():
            if path.is_file():
                path.unlink()
    if not write:
        return partial
    partial.mkdir(parents=True, exist_ok=True)
    atomic_write_text(stamp, fp + "\n")
    return partial


def check_run_folder(run_dir: Path, fp: str, overwrite: bool = False) -> None:
    """Raise what :func:`run` would raise for the run folder ``run_dir`` of a config with
    fingerprint ``fp`` (another config's finished results there); writes nothing."""
    _prepare_folder(run_dir, fp, overwrite, _quiet, write=False)


def _finished_results(run_dir: Path) -> str:
    """What finished results ``run_dir`` holds, in words (``""``: none)."""
    partial = run_dir / "partial"
    folds = [p for p in partial.glob("*.parquet") if p.with_suffix(".json").exists()]
    found = [f"{len(folds)} finished fold(s)"] if folds else []
    found += [name for name in ("predictions.parquet", "model") if (run_dir / name).exists()]
    return ", ".join(found)


def _cached_folds(
    partial: Path,
    slots: dict[tuple[int, int], tuple[str, str]],
    folds_by_seed: dict[int, list],
    df: pd.DataFrame,
    log: Log,
) -> dict[str, tuple[pd.DataFrame, dict[str, Any]]]:
    """The finished folds in ``partial`` that can be used (rank 0), by slot name.

    A cached fold whose key changed, or whose files do not hold the fold's test rows, is
    logged and its files are removed (it is computed again), as are the slots beyond the
    last fold of each seed (left by a run on more folds).

    Args:
        slots: (seed, fold index) -> (slot name, the fold's key now).
    """
    found = {}
    for (seed, i), (name, key) in slots.items():
        fold = folds_by_seed[seed][i]
        result, problem = cache.read_fold(partial, name, key, fold, seed, df)
        if result is not None:
            found[name] = result
            continue
        if problem:
            log(f"seed {seed} fold {fold.name}: cached result not used: {problem}; recomputing")
        cache.discard(partial, name)
    counts = {seed: len(folds) for seed, folds in folds_by_seed.items()}
    for name in cache.stale_slots(partial, counts):
        log(f"removing {partial / name}.*: a fold this run does not have (the data changed)")
        cache.discard(partial, name)
    return found


def _check_distributable(cfg: dict[str, Any], world: int) -> None:
    """Under torchrun only neural models (the DDP training loop) may run."""
    from serkit.models.neural import NeuralClassifier

    if world > 1 and not isinstance(make_model(cfg, cfg["seeds"][0]), NeuralClassifier):
        raise ConfigError(
            f"model {cfg['model']['name']!r} is a classic (scikit-learn) model: it trains in "
            f"one process, so {world} processes (torchrun) would only repeat its work. Run "
            "this config in a single process (not under torchrun); only neural models "
            "(neural, acrnn, dcnn-blstmwa) train with DDP"
        )


def _run_fold(
    cfg: dict[str, Any],
    dataset: Dataset,
    fold: Any,
    level: str,
    seed: int,
    partial: Path,
    slot: tuple[str, str],
    checkpoints: Path,
    group: Group,
    log: Log,
) -> tuple[pd.DataFrame, dict[str, Any]] | None:
    """Fit and predict one fold, checkpointing into ``checkpoints``.

    Rank 0 writes the fold's partial files (``slot``: their name and the fold's key, see
    :mod:`serkit.experiment.cache`), deletes its checkpoints and returns
    ``(predictions, info)``; the other ranks take part in the fit and return ``None``.
    """
    started = time.time()
    model, best, search = searched_model(cfg, dataset, fold.train, level, seed)
    note = resume_note(checkpoints)
    if note:
        log(f"seed {seed} fold {fold.name}: {note}")
    with checkpoints_in(model, checkpoints):
        model = _fit(model, dataset, fold, level, asked=cfg["validation"] is not None)
    if not group.writer:
        return None
    preds = predictions_frame(model, dataset, fold.test, level, fold.name, seed)
    history = getattr(model, "history_", None)
    fit_summary = getattr(model, "fit_summary_", None)
    info = {
        "fold": fold.name,
        "seed": seed,
        "n_train": int(len(fold.train)),
        "n_val": 0 if fold.val is None else int(len(fold.val)),
        "n_test": int(len(fold.test)),
        "started": started,
        "finished": time.time(),
        "seconds": round(time.time() - started, 3),
        "world_size": group.world,
        "resumed_from": getattr(model, "resumed_from_", None),
        "best_params": best,
        "search": search,
        "history": _jsonable(history) if history else None,
        "fit_summary": _jsonable(fit_summary) if fit_summary else None,
    }
    cache.write_fold(partial, *slot, preds, info)  # the parquet, written last, marks it done
    shutil.rmtree(checkpoints, ignore_errors=True)
    return preds, info


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=lambda v: getattr(v, "item", lambda: str(v))()))


def folds_table(folds_by_seed: dict[int, list], df: pd.DataFrame) -> pd.DataFrame:
    """``folds.csv``: one line per (seed, fold, row) with role train / val / test."""
    ids = df["id"].astype(str).to_numpy()
    parts = []
    for seed, folds in folds_by_seed.items():
        for fold in folds:
            for role, idx in (("train", fold.train), ("val", fold.val), ("test", fold.test)):
                if idx is None or len(idx) == 0:
                    continue
                parts.append(
                    pd.DataFrame({"id": ids[idx], "fold": fold.name, "role": role, "seed": seed})
                )
    return pd.concat(parts, ignore_index=True)


def run(
    config: dict[str, Any],
    output: str | os.PathLike | None = None,
    *,
    overwrite: bool = False,
    log: Log | None = None,
    command: str | None = None,
    progress: bool = False,
    stop_after: int | None = None,
) -> Path:
    """Run an experiment and write its run folder ``<output>/<name>/``.

    Under ``torchrun`` every rank calls this with the same arguments; neural models train
    with DDP and rank 0 alone writes and logs (see the module docstring).

    Args:
        config: the experiment config (raw or resolved; validated here).
        output: parent folder of the run folder (default: the config's ``output``).
        overwrite: discard an existing run folder of the same name first.
        log: called with one line per step (default: silent).
        command: the command line to record (default: ``sys.argv``).
        progress: show feature-extraction progress bars.
        stop_after: stop after computing this many new folds (for tests and smoke runs);
            the run folder is then partial and a later call resumes it.

    Returns:
        The run folder, holding ``config.yaml``, ``folds.csv``, ``predictions.parquet``,
        ``metrics.json``, ``dataset.json``, ``report.md``, ``report.html``, ``history.json``
        (neural models: per-fold epoch history, plus ``fit_summary`` where the model keeps
        one, e.g. the stage-1 history and decision of ``dcnn-blstmwa``) and ``model/``.

    Raises:
        ConfigError: bad config, a run folder of another config, or a classic model under
            torchrun.
    """
    cfg = validate_config(config)
    group = join()
    try:
        run_dir = _run(cfg, output, overwrite, log, command, progress, stop_after, group)
        group.barrier()  # the ranks leave together, after rank 0 wrote the run folder
        return run_dir
    finally:
        group.leave()


def _run(
    cfg: dict[str, Any],
    output: str | os.PathLike | None,
    overwrite: bool,
    log: Log | None,
    command: str | None,
    progress: bool,
    stop_after: int | None,
    group: Group,
) -> Path:
    """:func:`run` in one process of ``group``."""
    from serkit import metrics
    from serkit.experiment.provenance import provenance
    from serkit.manifest import summary

    log = (log or _quiet) if group.writer else _quiet
    progress = progress and group.writer
    run_dir = Path(output if output is not None else cfg["output"]) / cfg["name"]
    fp = fingerprint(cfg)
    _check_distributable(cfg, group.world)
    check_level(cfg)
    check_paths(cfg, run_dir.parent)
    rows = load_rows(cfg["data"])
    for seed in cfg["seeds"]:  # a protocol that cannot split these rows fails before extraction
        make_folds(cfg, rows, seed)
    partial = _prepare_folder(run_dir, fp, overwrite, log, write=group.writer)
    if group.world > 1:
        log(f"torchrun: {group.world} processes; rank 0 extracts features and writes the run")
    if group.writer:  # rank 0 extracts (cached in the store); the others only read it
        df, frontend, fs, dataset, level = experiment_data(cfg, rows, log, progress)
    group.barrier()
    if not group.writer:
        df, frontend, fs, dataset, level = experiment_data(cfg, rows, log, extract=False)
    classes = dataset.classes

    folds_by_seed, certificate = {}, None
    for seed in cfg["seeds"]:
        folds_by_seed[seed], certificate = make_folds(cfg, df, seed)
    log(certificate.statement())
    if group.writer:
        table = folds_table(folds_by_seed, df).to_csv(index=False)
        atomic_write_text(run_dir / "folds.csv", table)
    digests = cache.row_digests(dataset)
    base = {seed: f"{fp}:{seed}:{frontend.key()}" for seed in folds_by_seed}
    slots = {  # (seed, i) -> (file name, key of the fold's rows, features and front end)
        (seed, i): (cache.slot(seed, i), cache.fold_key(base[seed], digests, fold))
        for seed, folds in folds_by_seed.items()
        for i, fold in enumerate(folds)
    }
    found = _cached_folds(partial, slots, folds_by_seed, df, log) if group.writer else {}
    finished = set(group.agree(sorted(found)))

    frames, infos, computed = [], [], 0
    total = sum(len(f) for f in folds_by_seed.values())
    done = 0
    for seed, folds in folds_by_seed.items():
        for i, fold in enumerate(folds):
            done += 1
            name = slots[seed, i][0]
            cached = name in finished
            if cached and group.writer:
                result = found[name]
            elif not cached:
                folder = fold_checkpoints(run_dir, seed, fold.name)
                args = (partial, slots[seed, i], folder, group, log)
                result = _run_fold(cfg, dataset, fold, level, seed, *args)
            if group.writer:
                preds, info = result
                frames.append(preds)
                infos.append(info)
                score = metrics.uar(preds["true"], preds["pred"], classes)
                how = "cached" if cached else f"{info['seconds']:.1f} s"
                log(
                    f"[{done}/{total}] seed {seed} fold {fold.name}: n={len(preds)} "
                    f"UAR {score:.3f} ({how})"
                )
            if not cached:
                computed += 1
                if stop_after is not None and computed >= stop_after and done < total:
                    log(f"stopping after {computed} new fold(s) as asked; re-run to resume")
                    return run_dir

    if not group.writer:  # the other ranks only take part in the final refit
        if cfg["final_model"]:
            _final_model(cfg, dataset, level, frontend, classes, run_dir, log, group, digests)
        return run_dir
    predictions = pd.concat(frames, ignore_index=True)
    independent = "speaker" in cfg["protocol"]["disjoint"]
    log(cache.certify_predictions(predictions, df, folds_by_seed, independent))
    atomic_write_parquet(run_dir / "predictions.parquet", predictions)
    result = metrics.summarize(predictions, classes, **cfg["bootstrap"])
    atomic_write_text(run_dir / "metrics.json", json.dumps(result, indent=1))
    histories = [
        {
            "seed": info["seed"],
            "fold": info["fold"],
            "history": info["history"] or [],
            **({"fit_summary": info["fit_summary"]} if info.get("fit_summary") else {}),
        }
        for info in infos
        if info.get("history") or info.get("fit_summary")
    ]
    if histories:
        atomic_write_text(run_dir / "history.json", json.dumps(histories, indent=1))
    search = [
        {"seed": i["seed"], "fold": i["fold"], "best_params": i["best_params"]}
        for i in infos
        if i.get("best_params") is not None
    ]
    info = summary(df)
    dataset_info = {
        "rows": info.rows,
        "hours": info.hours,
        "speakers": info.speakers,
        "corpora": info.corpora,
        "classes": classes,
        "per_class": {c: int((df["label"] == c).sum()) for c in classes},
        "features": {
            "frontend": frontend.to_dict(),
            "level": fs.level,
            "dim": int(fs.dim),
        },
        "certification": certificate.to_dict(),
        "folds": [
            {
                **{k: i[k] for k in ("seed", "fold", "n_train", "n_val", "n_test", "seconds")},
                "world_size": i.get("world_size", 1),
            }
            for i in infos
        ],
        "search": search,
        "skipped": df.attrs.get("skipped_rows", []),  # {id, path, reason} (features.skip_bad)
    }
    atomic_write_text(run_dir / "dataset.json", json.dumps(dataset_info, indent=1, default=str))
    resolved = {**cfg, "provenance": {**provenance(command, fp), "world_size": group.world}}
    from serkit import config as config_io

    config_io.dump(resolved, run_dir / "config.yaml")

    if cfg["final_model"]:
        _final_model(cfg, dataset, level, frontend, classes, run_dir, log, group, digests)
    shutil.rmtree(run_dir / CHECKPOINTS, ignore_errors=True)  # every fit is done and recorded
    from serkit.report import write_report

    md, _ = write_report(run_dir)
    log(f"report: {md}")
    return run_dir


def _final_model(
    cfg: dict[str, Any],
    dataset: Dataset,
    level: str,
    frontend: Any,
    classes: list[str],
    run_dir: Path,
    log: Log,
    group: Group = SOLO,
    digests: list[bytes] | None = None,
) -> Path:
    """Refit on every row (after the same search, if any) and save the model package.

    Checkpoints go to ``<run>/checkpoints/final/``; under torchrun every rank fits (DDP) and
    rank 0 saves. The marker ``partial/final_model.done`` holds the key of the rows, features
    and front end it was fitted on (:mod:`serkit.experiment.cache`; ``digests``: the
    :func:`~serkit.experiment.cache.row_digests` of ``dataset``, computed when not given):
    a model of other data is refitted."""
    from serkit.models.package import is_current, save_model

    target = run_dir / "model"
    marker = run_dir / "partial" / cache.FINAL_MARKER
    key = cache.content_key(
        f"{fingerprint(cfg)}:{cfg['seeds'][0]}:{frontend.key()}",
        cache.row_digests(dataset) if digests is None else digests,
        {"train": np.arange(len(dataset.df))},
    )
    fresh = marker.is_file() and marker.read_text().strip() == key
    if group.agree(fresh and is_current(target)):  # checksums verified
        log(f"final model: {target} (cached)")
        return target
    seed = cfg["seeds"][0]
    every = np.arange(len(dataset.df))
    model, best, _ = searched_model(cfg, dataset, every, level, seed)
    started = time.time()
    with checkpoints_in(model, run_dir / CHECKPOINTS / "final"):
        model = fit_model(model, dataset, every, level)
    if not group.writer:
        return target
    save_model(  # replaces an old or damaged package in one rename
        model,
        target,
        extra={
            "frontend": frontend.to_dict(),
            "label_set": cfg["data"]["label_set"],
            "classes": classes,
            "experiment": cfg["name"],
            "best_params": best,
        },
    )
    atomic_write_text(marker, key + "\n")
    log(
        f"final model: refitted on all {len(every)} rows in {time.time() - started:.1f} s "
        f"-> {target}"
    )
    return target
