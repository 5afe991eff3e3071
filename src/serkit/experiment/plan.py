"""Dry run: validate a config, load the rows, split and certify, without extracting features."""

from __future__ import annotations

from typing import Any

from serkit.experiment.config import fingerprint, validate_config


def plan(config: dict[str, Any]) -> dict[str, Any]:
    """What :func:`serkit.experiment.run` would do, checked as far as possible cheaply.

    Validates the config, checks the extractor / model / protocol names and parameters, reads
    the manifests, applies filter and label set, and splits and certifies the folds of every
    seed. Nothing is written and no feature is extracted.

    Returns:
        ``{"config", "fingerprint", "rows", "speakers", "classes", "per_class", "folds",
        "certification"}``.
    """
    from serkit.experiment.data import load_rows, model_level
    from serkit.experiment.runner import make_folds, make_model
    from serkit.features import get_extractor

    cfg = validate_config(config)
    extractor = get_extractor(cfg["features"]["name"], **cfg["features"]["params"])
    model = make_model(cfg, cfg["seeds"][0])
    model_level(model, extractor.level, cfg)
    df = load_rows(cfg["data"])
    folds, certificate = {}, None
    for seed in cfg["seeds"]:
        split, certificate = make_folds(cfg, df, seed)
        folds[seed] = [{"fold": f.name, "train": len(f.train), "test": len(f.test)} for f in split]
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
