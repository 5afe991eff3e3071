"""``serkit pretrain``: manifest rows -> frame features -> a trained encoder package.

:func:`pretrain` writes ``<output>/<name>/``:

* ``encoder/`` (one package, :mod:`serkit.encoders.package`), or ``encoder/<fold>/`` per fold
  of ``folds.protocol`` (each trained on that fold's training rows only, so a probe of the same
  folds never uses an encoder that heard its test speakers);
* ``config.yaml`` (resolved, with provenance), ``fingerprint.txt``, ``history.json``
  (per fold, per epoch: loss and its parts, ``val_loss`` / ``val_<part>`` with validation),
  ``report.md`` / ``report.html``;
* ``targets.csv`` for a family with V/A/D ``target_columns`` (per row: ``vad_source``
  ``corpus`` | ``derived`` | empty and the binary targets, :mod:`serkit.corpora.vad_targets`);
* ``checkpoints/<fold>/`` while a fold trains (per-epoch, :mod:`serkit.encoders.trainer`),
  removed once its package is written.

With ``training.validation`` (:mod:`serkit.encoders.validation`), whole speakers of each
fold's training rows are held out: the normaliser is fitted on the remaining training rows,
each epoch's loss on the held-out rows picks the weights the package keeps (``training.patience``
ends the training early), and the package counts the held-out speakers as heard
(``validation_ids`` / ``validation_speakers``, inside its ``ids`` / ``speakers``), so the
leakage certificate treats them like training speakers.

Killed and started again with the same config, it keeps the packages already written and
resumes the unfinished one after its last finished epoch. A folder of another config is
refused while it holds a package (``overwrite`` discards it).

Family hooks (:class:`~serkit.encoders.base.EncoderNet`): ``input_norm`` (z-scored frames or
raw), ``fit_input`` (called with the training frames before training), ``target_columns``
(:func:`row_targets`), and ``encoder.init`` (:func:`initialise`, after ``fit_input``).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from serkit.atomic import atomic_write_text
from serkit.errors import ConfigError, Hint, ProtocolError

Log = Callable[[str], None]
CHECKPOINTS = "checkpoints"
ALL = "all"  # the checkpoint folder name of a single (not per-fold) encoder


def _quiet(_: str) -> None:
    return None


def select_rows(cfg: dict[str, Any]) -> pd.DataFrame:
    """The manifests' rows after ``data.filter``, ``data.label_set`` and ``exclude_speakers``.

    Raises:
        ConfigError: an excluded speaker is not in the data (a typo would leak silently).
    """
    from serkit.experiment.data import load_rows

    rows = load_rows(cfg["data"])
    exclude = cfg["data"]["exclude_speakers"]
    if exclude:
        present = set(rows["speaker"].astype(str))
        unknown = [s for s in exclude if s not in present]
        if unknown:
            raise ConfigError(
                f"data.exclude_speakers: {', '.join(unknown)} not among the rows' speakers "
                f"({', '.join(sorted(present)[:8])}{', ...' if len(present) > 8 else ''}); "
                "speaker ids are namespaced <corpus>/<speaker>"
            )
        attrs = dict(rows.attrs)
        rows = rows[~rows["speaker"].astype(str).isin(exclude)].reset_index(drop=True)
        rows.attrs = attrs
    if len(rows) == 0:
        raise ConfigError("no rows left to pretrain on after data.exclude_speakers")
    return rows


def split(cfg: dict[str, Any], rows: pd.DataFrame) -> list[tuple[str, np.ndarray]]:
    """``[(fold name, training row positions)]``: one ``("", all rows)`` without ``folds``."""
    if cfg["folds"] is None:
        return [("", np.arange(len(rows)))]
    from serkit.protocols import get_protocol

    protocol = cfg["folds"]["protocol"]
    try:
        folds = get_protocol(protocol["name"], **protocol["params"]).split(rows)
    except (ConfigError, ProtocolError) as exc:
        message = exc.message.replace("protocol.params", "folds.protocol.params")
        raise ConfigError(f"config key folds.protocol: {message}") from None
    return [(str(f.name), np.asarray(f.train)) for f in folds]


def plan(cfg: dict[str, Any], output: str | Path | None = None, overwrite: bool = False) -> dict:
    """Dry run: validate, check the run folder, load the rows and split; extract nothing.

    Returns:
        ``{"fingerprint", "rows", "speakers", "folds": [{"fold", "train", "speakers"}]}``
        (``train``, ``speakers``: the rows left for training; with ``training.validation``
        also ``validation_speakers``).
    """
    from serkit.encoders.config import fingerprint, validate_pretrain_config

    cfg = validate_pretrain_config(cfg)
    run_dir = Path(output if output is not None else cfg["output"]) / cfg["name"]
    _check_folder(run_dir, fingerprint(cfg), overwrite, _quiet, write=False)
    rows = select_rows(cfg)
    folds = []
    for name, idx in split(cfg, rows):
        train, _, held = validation_split(cfg, rows, idx, name)
        entry = {
            "fold": name or ALL,
            "train": len(train),
            "speakers": int(rows["speaker"].iloc[train].nunique()),
        }
        if cfg["training"].get("validation") is not None:
            entry["validation_speakers"] = held
        folds.append(entry)
    return {
        "fingerprint": fingerprint(cfg),
        "rows": len(rows),
        "speakers": int(rows["speaker"].nunique()),
        "folds": folds,
    }


def _check_folder(run_dir: Path, fp: str, overwrite: bool, log: Log, write: bool) -> None:
    """Refuse a folder of another config that holds packages; take over one that holds none."""
    stamp = run_dir / "fingerprint.txt"
    old = stamp.read_text().strip() if stamp.is_file() else None
    if run_dir.exists() and overwrite:
        if write:
            log(f"removing the old pretrain folder {run_dir} (--overwrite)")
            shutil.rmtree(run_dir)
    elif old is not None and old != fp:
        if (run_dir / "encoder").exists():
            raise ConfigError(
                f"{run_dir} holds an encoder of a different pretrain config (fingerprint {old} "
                f"!= {fp}); choose another `name`",
                hint=Hint("overwrite", True, "to discard it"),
            )
        if write:
            log(f"{run_dir}: taking over the folder of config {old}, which wrote no encoder")
            shutil.rmtree(run_dir / CHECKPOINTS, ignore_errors=True)
    if write:
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(stamp, fp + "\n")


def _frame_features(
    cfg: dict[str, Any], rows: pd.DataFrame, log: Log, progress: bool
) -> tuple[pd.DataFrame, Any, list[np.ndarray], np.ndarray | None]:
    """Rows that have features (and conditioning vectors), the front end, their frames and the
    ``(n, cond_dim)`` conditioning matrix (``None`` without ``condition``)."""
    from serkit.encoders.package import SPEAKER_FRONTEND
    from serkit.experiment.data import load_features, log_skipped

    feats = cfg["features"]
    df, frontend, fs = load_features(rows, feats, workers=cfg["workers"], progress=progress)
    log(f"front end: {frontend.describe()} (key {frontend.key()})")
    log_skipped(df.attrs.get("skipped_rows", []), log)
    frames = [np.asarray(f, np.float32) for f in fs.frames]
    if cfg["condition"] != "speaker":
        return df, frontend, frames, None
    spec = {**SPEAKER_FRONTEND, "store": feats["store"], "skip_bad": feats["skip_bad"]}
    cdf, _, cfs = load_features(df, spec, workers=cfg["workers"], progress=progress)
    log(f"condition: speaker (resemblyzer, {cfs.dim}-d, store {feats['store']})")
    if len(cdf) != len(df):  # rows the speaker encoder could not embed
        log_skipped(cdf.attrs.get("skipped_rows", []), log)
        keep = set(cdf["id"].astype(str))
        mask = df["id"].astype(str).isin(keep).to_numpy()
        frames = [f for f, k in zip(frames, mask, strict=True) if k]
        attrs = dict(df.attrs)
        df = df[mask].reset_index(drop=True)
        df.attrs = attrs
    return df, frontend, frames, np.asarray(cfs.X, np.float32)


def build_family(cfg: dict[str, Any], input_dim: int, num_classes: int, cond_dim: int) -> Any:
    """A new family instance: preset parameters updated by ``encoder.params``."""
    from serkit.encoders import get_encoder_class

    enc = cfg["encoder"]
    cls = get_encoder_class(enc["name"])
    params = {**cls.presets[enc["preset"]], **enc["params"]}
    try:
        return cls(input_dim, num_classes=num_classes, cond_dim=cond_dim, **params)
    except TypeError as exc:
        raise ConfigError(f"config key encoder.params: family {enc['name']!r}: {exc}") from None


def row_targets(family: type, rows: pd.DataFrame) -> tuple[np.ndarray | None, dict | None]:
    """The ``(n, k)`` extra targets of a family with ``target_columns`` (NaN: missing) and
    what the package and report record about them (``None, None`` for other families).

    V/A/D columns come from :func:`serkit.corpora.vad_targets.binary_targets` (the corpus'
    own ratings, binarised, else derived from the emotion; ``sources`` counts the rows of
    each); any other column is read from the rows as floats.

    Raises:
        ConfigError: a non-V/A/D target column is not in the manifest rows.
    """
    from serkit.corpora import vad_targets as V

    columns = tuple(getattr(family, "target_columns", ()) or ())
    if not columns:
        return None, None
    out = np.full((len(rows), len(columns)), np.nan)
    info: dict[str, Any] = {"columns": list(columns)}
    if set(columns) & set(V.DIMENSIONS):
        annotated = V.annotate(rows)
        binary = V.binary_targets(annotated)
        info["sources"] = V.source_counts(annotated)
        info["method"] = (
            "corpus ratings > 2.5 on 1-5 (RH-emo); derived: signs of Russell & Mehrabian "
            "(1977) PAD means (serkit.corpora.vad_targets)"
        )
    for j, column in enumerate(columns):
        if column in V.DIMENSIONS:
            out[:, j] = binary[column].to_numpy(dtype=np.float64)
        elif column in rows.columns:
            out[:, j] = pd.to_numeric(rows[column], errors="coerce").to_numpy(np.float64)
        else:
            raise ConfigError(
                f"encoder family {getattr(family, 'encoder_name', family.__name__)!r} trains on "
                f"the column {column!r}, which the manifests do not have; found "
                f"{', '.join(map(str, rows.columns))}"
            )
    info["known"] = {c: int(np.isfinite(out[:, j]).sum()) for j, c in enumerate(columns)}
    return out.astype(np.float32), info


TARGETS = "targets.csv"


def _write_targets(cfg: dict[str, Any], df: pd.DataFrame, run_dir: Path, log: Log) -> None:
    """``targets.csv`` of a family with V/A/D targets: per row ``id, speaker, emotion,
    vad_source`` (``corpus`` | ``derived`` | empty) and the binary targets it trains on."""
    from serkit.corpora import vad_targets as V
    from serkit.encoders import get_encoder_class

    family = get_encoder_class(cfg["encoder"]["name"])
    columns = tuple(getattr(family, "target_columns", ()) or ())
    if not set(columns) & set(V.DIMENSIONS):
        return
    annotated = V.annotate(df)
    table = annotated[["id", "speaker", "emotion", V.SOURCE_COLUMN]].copy()
    binary = V.binary_targets(annotated)
    for column in V.DIMENSIONS:
        table[column] = binary[column]
    atomic_write_text(run_dir / TARGETS, table.to_csv(index=False))
    counts = V.source_counts(annotated)
    log(
        f"V/A/D targets: {counts['corpus']} rows from corpus ratings, {counts['derived']} "
        f"DERIVED from the emotion, {counts['none']} without ({run_dir / TARGETS})"
    )


def initialise(net: Any, path: str, fold: str) -> dict[str, Any]:
    """Load into ``net`` the tensors of the package at ``path`` whose name and shape match
    (``encoder.init``, e.g. RH-emo stage 2 from stage 1); the rest keep their fresh values.

    A per-fold run at ``path`` gives the package of the same ``fold``.

    Returns:
        ``{"path", "folder", "fold", "key", "loaded", "skipped"}`` (recorded in the package).

    Raises:
        ConfigError: no package for ``fold`` there, or no tensor of ``net`` matches.
    """
    from serkit.encoders.package import encoder_folders, load_encoder

    folders = encoder_folders(path)
    key = "" if "" in folders else fold
    if key not in folders:
        raise ConfigError(
            f"config key encoder.init: {path} has no encoder for fold {fold or ALL!r} (folds: "
            f"{', '.join(folders)}); initialise a per-fold run from one with the same folds"
        )
    pkg = load_encoder(folders[key])
    source = pkg.net.state_dict()
    own = net.state_dict()
    match = {k: v for k, v in source.items() if k in own and own[k].shape == v.shape}
    if not match:
        raise ConfigError(
            f"config key encoder.init: no tensor of {folders[key]} fits this net (different "
            "sizes); initialise from a package trained with the same encoder params"
        )
    net.load_state_dict(match, strict=False)
    return {
        "path": str(path),
        "folder": str(folders[key]),
        "fold": key,
        "key": pkg.key(),
        "loaded": len(match),
        "skipped": sorted(set(own) - set(match)),
    }


def validation_split(
    cfg: dict[str, Any], rows: pd.DataFrame, idx: np.ndarray, fold: str
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``(training positions, validation positions, validation speakers)`` of one fold's
    training rows ``idx`` (positions into ``rows``) under ``training.validation``; without it
    ``(idx, [], [])``.

    Raises:
        ConfigError: as :func:`serkit.encoders.validation.choose_speakers`.
    """
    from serkit.encoders.validation import check_validation, split_validation

    spec = check_validation(cfg["training"].get("validation"))
    idx = np.asarray(idx)
    if spec is None:
        return idx, idx[:0], []
    speakers = rows["speaker"].astype(str).to_numpy()[idx]
    train, val, chosen = split_validation(speakers, spec, fold)
    return idx[train], idx[val], chosen


def _label_indices(rows: pd.DataFrame, classes: list[str], fold: str) -> np.ndarray:
    """``(n,)`` the index in ``classes`` (the training rows' classes) of each row's label.

    Raises:
        ConfigError: a (validation) row's label is not among ``classes``.
    """
    position = {c: i for i, c in enumerate(classes)}
    labels = rows["label"].astype(str)
    unknown = sorted(set(labels) - set(position))
    if unknown:
        who = sorted(set(rows["speaker"].astype(str)[labels.isin(unknown)]))
        raise ConfigError(
            f"training.validation: validation rows of {', '.join(who)} (fold {fold or ALL}) "
            f"have labels {', '.join(unknown)} that no training row has ({', '.join(classes)}); "
            "choose other validation speakers"
        )
    return np.array([position[v] for v in labels], dtype=np.int64)


def _train_fold(
    cfg: dict[str, Any],
    run_dir: Path,
    fold: str,
    idx: np.ndarray,
    data: tuple[pd.DataFrame, Any, list[np.ndarray], np.ndarray | None],
    fp: str,
    log: Log,
    stop_after_epochs: int | None,
) -> dict[str, Any] | None:
    """Train and save one package (or read back the one already written). ``None``: stopped."""
    from serkit.encoders import package as pk
    from serkit.encoders.trainer import TrainOptions, ValidationRows, fit_encoder
    from serkit.models.data import Normalizer
    from serkit.models.training import seed_everything

    df, frontend, frames, cond = data
    folder = run_dir / "encoder" / pk.fold_folder(fold) if fold else run_dir / "encoder"
    if (folder / "encoder.json").is_file():
        try:
            meta = pk.read_encoder_meta(folder)
        except ConfigError as exc:
            log(f"fold {fold or ALL}: the package there is not usable ({exc.message}); retraining")
        else:
            if meta["extra"].get("fingerprint") == fp:
                log(f"fold {fold or ALL}: encoder already written ({folder}); kept")
                return {"fold": fold or ALL, "history": meta["history"], **meta["extra"]}
    from serkit.encoders import get_encoder_class

    options = TrainOptions(**cfg["training"])
    idx, val_idx, val_speakers = validation_split(cfg, df, idx, fold)
    sub, vsub = df.iloc[idx], df.iloc[val_idx]
    train_frames = [frames[i] for i in idx]
    family = get_encoder_class(cfg["encoder"]["name"])
    seed_everything(options.seed)
    if getattr(family, "input_norm", "zscore") == "none":
        norm, x = None, [np.asarray(f, np.float32) for f in train_frames]
    else:
        norm = Normalizer().fit(train_frames)  # on the training rows only
        x = norm.transform(train_frames)
    labels, classes = None, []
    family_uses_labels = bool(family.uses_labels)
    if family_uses_labels:
        classes = [c for c in df.attrs["classes"] if c in set(sub["label"].astype(str))]
        labels = _label_indices(sub, classes, fold)
    c = None if cond is None else cond[idx]
    net = build_family(cfg, x[0].shape[1], len(classes), 0 if c is None else c.shape[1])
    targets, target_info = row_targets(family, sub)
    validation = None
    if len(val_idx):
        vx = [frames[i] for i in val_idx]
        validation = ValidationRows(
            frames=[np.asarray(f, np.float32) for f in vx] if norm is None else norm.transform(vx),
            labels=_label_indices(vsub, classes, fold) if family_uses_labels else None,
            cond=None if cond is None else cond[val_idx],
            targets=row_targets(family, vsub)[0],
        )
    net.fit_input(x)
    init = None
    if cfg["encoder"].get("init"):
        init = initialise(net, cfg["encoder"]["init"], fold)
        log(
            f"fold {fold or ALL}: initialised from {init['folder']} ({init['loaded']} tensors; "
            f"not loaded: {', '.join(init['skipped']) or 'none'})"
        )
    speakers = sub["speaker"].astype(str)
    log(
        f"fold {fold or ALL}: training {cfg['encoder']['name']} on {len(idx)} rows, "
        f"{speakers.nunique()} speakers{' with labels' if family_uses_labels else ''}"
        + (
            f"; validation on {len(val_idx)} rows of {len(val_speakers)} speaker(s) "
            f"({', '.join(val_speakers)})"
            if validation is not None
            else ""
        )
    )
    began = time.perf_counter()
    ckpt = run_dir / CHECKPOINTS / (pk.fold_folder(fold) if fold else ALL)
    fit = fit_encoder(
        net,
        x,
        labels=labels,
        cond=c,
        targets=targets,
        validation=validation,
        options=options,
        checkpoint_dir=ckpt,
        log=lambda line: log(f"  {fold or ALL} {line}"),
        stop_after_epochs=stop_after_epochs,
    )
    if not fit.done:
        return None
    history = fit.history
    seconds = round(sum(float(h.get("seconds", 0.0)) for h in history), 2)
    extra = {"fingerprint": fp, "fold": fold, "seconds": seconds, "config": cfg}
    if target_info is not None:
        extra["targets"] = target_info
    if init is not None:
        extra["init"] = init
    if validation is not None:
        extra["validation"] = {
            "speakers": val_speakers,
            "rows": len(val_idx),
            "rule": options.validation,
            "patience": options.patience,
            "min_delta": float(options.min_delta or 0.0),
            "best_epoch": fit.best_epoch,
            "best_val_loss": fit.best_val_loss,
            "epochs_run": fit.epochs_run,
            "stopped_early": fit.stopped_early,
        }
        best = fit.best_val_loss if fit.best_val_loss is not None else float("nan")
        early = " (stopped early)" if fit.stopped_early else ""
        log(
            f"fold {fold or ALL}: keeping the weights of epoch {fit.best_epoch} (val_loss "
            f"{best:.4g}) after {fit.epochs_run} epoch(s){early}"
        )
    pk.save_encoder(
        net,
        folder,
        frontend=frontend,
        input_dim=int(x[0].shape[1]),
        ids=sub["id"].astype(str).tolist(),
        speakers=speakers.tolist(),
        classes=classes,
        condition=cfg["condition"],
        cond_dim=0 if c is None else int(c.shape[1]),
        norm=None if norm is None else norm.to_dict(),
        history=history,
        extra=extra,
        validation_ids=vsub["id"].astype(str).tolist(),
        validation_speakers=val_speakers,
    )
    shutil.rmtree(ckpt, ignore_errors=True)
    pk.encoder_folders(run_dir)  # the package just written is found
    log(f"fold {fold or ALL}: encoder written to {folder} ({time.perf_counter() - began:.1f} s)")
    return {"fold": fold or ALL, "history": history, **extra}


def pretrain(
    config: dict[str, Any],
    output: str | Path | None = None,
    *,
    overwrite: bool = False,
    log: Log | None = None,
    command: str | None = None,
    progress: bool = False,
    stop_after_epochs: int | None = None,
) -> Path:
    """Pretrain the configured encoder (one, or one per fold) and write the run folder.

    Args:
        config: the pretrain config (raw or resolved; validated here).
        output: parent folder of the run folder (default: the config's ``output``).
        overwrite: discard an existing run folder of the same name first.
        log: called with one line per step (default: silent).
        command: the command line to record.
        progress: feature-extraction progress bars.
        stop_after_epochs: stop after this many new epochs (tests, smoke runs); the run
            folder is then partial and a later call resumes it.

    Returns:
        The run folder ``<output>/<name>/`` (see the module docstring).

    Raises:
        ConfigError: bad config, a folder of another config, or data it cannot train on.
    """
    from serkit import config as config_io
    from serkit.encoders.config import fingerprint, validate_pretrain_config
    from serkit.encoders.report import write_pretrain_report
    from serkit.experiment.provenance import provenance

    cfg = validate_pretrain_config(config)
    log = log or _quiet
    run_dir = Path(output if output is not None else cfg["output"]) / cfg["name"]
    fp = fingerprint(cfg)
    rows = select_rows(cfg)
    for fold, idx in split(cfg, rows):  # a bad protocol or validation fails before extraction
        validation_split(cfg, rows, idx, fold)
    _check_folder(run_dir, fp, overwrite, log, write=True)
    log(f"data: {len(rows)} rows, {rows['speaker'].nunique()} speakers")
    data = _frame_features(cfg, rows, log, progress)
    df = data[0]
    _write_targets(cfg, df, run_dir, log)
    results = []
    for fold, idx in split(cfg, df):
        result = _train_fold(cfg, run_dir, fold, idx, data, fp, log, stop_after_epochs)
        if result is None:
            log(f"stopped after {stop_after_epochs} epoch(s) as asked; run again to resume")
            return run_dir
        results.append(result)
    history = [
        {"fold": r["fold"], "seconds": r["seconds"], "history": r["history"]}
        | ({"validation": r["validation"]} if "validation" in r else {})
        for r in results
    ]
    atomic_write_text(run_dir / "history.json", json.dumps(history, indent=1))
    resolved = {**cfg, "provenance": provenance(command, fp)}
    config_io.dump(resolved, run_dir / "config.yaml")
    shutil.rmtree(run_dir / CHECKPOINTS, ignore_errors=True)
    md, _ = write_pretrain_report(run_dir, df, data[2], data[3], log, tuple(cfg["latent_plots"]))
    log(f"report: {md}")
    return run_dir
