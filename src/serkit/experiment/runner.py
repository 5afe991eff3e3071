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

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from serkit.atomic import atomic_write_parquet, atomic_write_text
from serkit.encoders.data import fold_dataset
from serkit.errors import ConfigError
from serkit.experiment import augmentation, cache, perturbation
from serkit.experiment.checkpoints import CHECKPOINTS, fold_checkpoints
from serkit.experiment.checks import check_level, check_paths
from serkit.experiment.config import fingerprint, validate_config
from serkit.experiment.data import Dataset, load_features, load_rows, log_skipped, model_level
from serkit.experiment.distributed import Group, join
from serkit.experiment.final import final_model
from serkit.experiment.fold import run_fold
from serkit.experiment.folder import Log, cached_folds, folds_table, prepare_folder, quiet
from serkit.experiment.search import make_model


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
    from serkit.encoders.leakage import certify_encoder  # what an encoder feature saw

    return folds, certify_encoder(cfg, df, folds, certificate)


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
    if frontend.group_column is not None:
        group = frontend.group_column
        log(f"features: z-scored per {group} (label-free, transductive per {group})")
    level = model_level(template, fs.level, cfg)
    classes = [c for c in rows.attrs["classes"] if c in set(df["label"].astype(str))]
    return df, frontend, fs, Dataset(df, classes, fs), level


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

    log = (log or quiet) if group.writer else quiet
    progress = progress and group.writer
    run_dir = Path(output if output is not None else cfg["output"]) / cfg["name"]
    fp = fingerprint(cfg)
    _check_distributable(cfg, group.world)
    check_level(cfg)
    check_paths(cfg, run_dir.parent)
    rows = load_rows(cfg["data"])
    source_rows = augmentation.read_source(cfg, rows)  # None without `augment`
    early = {}  # a protocol that cannot split these rows fails before extraction, as does a
    for seed in cfg["seeds"]:  # source corpus with a test speaker
        early[seed] = make_folds(cfg, rows, seed)[0]
    augmentation.certify_sources(source_rows, rows, early)
    partial = prepare_folder(run_dir, fp, overwrite, log, write=group.writer)
    if group.world > 1:
        log(f"torchrun: {group.world} processes; rank 0 extracts features and writes the run")
    if group.writer:  # rank 0 extracts (cached in the store); the others only read it
        df, frontend, fs, dataset, level = experiment_data(cfg, rows, log, progress)
        source = augmentation.source_features(cfg, source_rows, log, progress=progress)
        copies = perturbation.perturbed_copies(cfg, df, frontend, log, progress=progress)
    group.barrier()
    if not group.writer:
        df, frontend, fs, dataset, level = experiment_data(cfg, rows, log, extract=False)
        source = augmentation.source_features(cfg, source_rows, log, extract=False)
        copies = perturbation.perturbed_copies(cfg, df, frontend, log, extract=False)
    classes = dataset.classes

    folds_by_seed, certificate = {}, None
    for seed in cfg["seeds"]:
        folds_by_seed[seed], certificate = make_folds(cfg, df, seed)
    log(certificate.statement())
    augmented = augmentation.certify_sources(source, df, folds_by_seed)  # "" without one
    if augmented:
        log(augmented)
    if group.writer:
        table = folds_table(folds_by_seed, df).to_csv(index=False)
        atomic_write_text(run_dir / "folds.csv", table)
    digests = cache.row_digests(dataset)
    extra = f":{source.key()}" if source is not None else ""  # a changed source recomputes
    extra += f":{copies.key()}" if copies is not None else ""
    base = {seed: f"{fp}:{seed}:{frontend.key()}{extra}" for seed in folds_by_seed}
    slots = {  # (seed, i) -> (file name, key of the fold's rows, features and front end)
        (seed, i): (cache.slot(seed, i), cache.fold_key(base[seed], digests, fold))
        for seed, folds in folds_by_seed.items()
        for i, fold in enumerate(folds)
    }
    found = cached_folds(partial, slots, folds_by_seed, df, log) if group.writer else {}
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
                data = fold_dataset(cfg, dataset, fold, log)  # its own encoder, if per-fold
                result = run_fold(cfg, data, fold, level, seed, *args, source=source, copies=copies)
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
            args = (cfg, dataset, level, frontend, classes, run_dir, log, group, digests)
            final_model(*args, source=source, copies=copies)
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
        {
            "seed": i["seed"],
            "fold": i["fold"],
            "best_params": i["best_params"],
            "inner": [
                {"params": r["params"], "mean": r["mean"]} for r in (i.get("search") or [])
            ],
        }
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
                **({"n_copies": i["n_copies"]} if "n_copies" in i else {}),
                **({"synthetic": i["synthetic"]} if i.get("synthetic") else {}),
            }
            for i in infos
        ],
        "search": search,
        "skipped": df.attrs.get("skipped_rows", []),  # {id, path, reason} (features.skip_bad)
    }
    if source is not None:
        dataset_info["certification"]["statement"] += f" {augmented}"
        dataset_info["augment"] = augmentation.summary(source, cfg["augment"], augmented)
        augmentation.write_index(run_dir, infos, cfg["augment"])
    if copies is not None:
        statement = copies.statement(len(df))
        dataset_info["certification"]["statement"] += f" {statement}"
        dataset_info["perturb"] = perturbation.summary(copies, len(df))
    atomic_write_text(run_dir / "dataset.json", json.dumps(dataset_info, indent=1, default=str))
    resolved = {**cfg, "provenance": {**provenance(command, fp), "world_size": group.world}}
    from serkit import config as config_io

    config_io.dump(resolved, run_dir / "config.yaml")

    if cfg["final_model"]:
        args = (cfg, dataset, level, frontend, classes, run_dir, log, group, digests)
        final_model(*args, source=source, copies=copies)
    shutil.rmtree(run_dir / CHECKPOINTS, ignore_errors=True)  # every fit is done and recorded
    from serkit.report import write_report

    md, _ = write_report(run_dir)
    log(f"report: {md}")
    return run_dir
