"""Dry run: validate a config, load the rows, split and certify, without extracting features."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from serkit.experiment.config import fingerprint, validate_config


def plan(
    config: dict[str, Any], output: str | os.PathLike | None = None, *, overwrite: bool = False
) -> dict[str, Any]:
    """What :func:`serkit.experiment.run` would do, checked as far as possible cheaply.

    Validates the config (which builds the extractor, model and protocols with every
    parameter checked), checks the output folder and the feature store path, whether the
    run folder may be used (not one of another config's finished results, unless
    ``overwrite``), reads the manifests, applies filter and label set, and splits and
    certifies the folds of every seed. Nothing is written and no feature is extracted.

    Args:
        config: the experiment config.
        output: parent folder of the run folder, as :func:`~serkit.experiment.run` takes it
            (default: the config's ``output``).
        overwrite: as :func:`~serkit.experiment.run`.

    Returns:
        ``{"config", "fingerprint", "rows", "speakers", "classes", "per_class", "folds",
        "certification"}``.

    Raises:
        ConfigError: anything :func:`~serkit.experiment.run` would refuse before extracting.
    """
    from serkit.experiment import augmentation
    from serkit.experiment.checks import check_level, check_paths
    from serkit.experiment.data import load_rows
    from serkit.experiment.folder import check_run_folder
    from serkit.experiment.runner import make_folds

    cfg = validate_config(config)
    check_level(cfg)
    parent = Path(output if output is not None else cfg["output"])
    check_paths(cfg, parent)
    check_run_folder(parent / cfg["name"], fingerprint(cfg), overwrite)
    df = load_rows(cfg["data"])
    source = augmentation.read_source(cfg, df)  # augment.source: files, corpus (None: none)
    folds, certificate, splits = {}, None, {}
    for seed in cfg["seeds"]:
        split, certificate = make_folds(cfg, df, seed)
        folds[seed] = [{"fold": f.name, "train": len(f.train), "test": len(f.test)} for f in split]
        splits[seed] = split
    augmentation.certify_sources(source, df, splits)  # no source speaker in a test fold
    classes = list(df.attrs["classes"])
    return {
        "config": cfg,
        "fingerprint": fingerprint(cfg),
        "rows": len(df),
        "speakers": int(df["speaker"].nunique()),
        "classes": classes,
        "per_class": {c: int((df["label"] == c).sum()) for c in classes},
        "folds": folds,
        "certification": certificate.to_dict(),
    }
