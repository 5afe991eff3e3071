"""Per-fold encoder features: each experiment fold gets the features of its own encoder.

A per-fold pretrain run (``folds:`` in its config) holds ``encoder/<fold>/`` packages, each
trained on one fold's training rows. An experiment whose ``features`` are
``{name: encoder, params: {path: runs/<pretrain>}}`` (no ``fold``) loads its features once with
the first fold's package (for the final model), and the runner calls :func:`fold_dataset` for
every fold: the fold trains and is tested on the features of the package whose training
speakers are disjoint from its test speakers (:func:`serkit.encoders.leakage.assign_packages`,
the same choice the certificate records). Every package's features are ordinary store folders
(keyed by the package's content), so re-running is a cache hit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from serkit.errors import ConfigError


def fold_package(cfg: dict[str, Any], df: Any, fold: Any) -> str | None:
    """The per-fold package a fold uses, or ``None`` when the features need no per-fold choice
    (not an encoder, a single package, or ``fold`` given in the params)."""
    from serkit.encoders.leakage import assign_packages, encoder_path
    from serkit.encoders.package import encoder_folders, read_encoder_meta

    where = encoder_path(cfg)
    if where is None or where[1]:
        return None
    folders = encoder_folders(where[0])
    if "" in folders:
        return None
    metas = {name: read_encoder_meta(folder) for name, folder in folders.items()}
    return assign_packages(metas, df, [fold])[str(fold.name)]


def fold_dataset(
    cfg: dict[str, Any], dataset: Any, fold: Any, log: Callable[[str], None] | None = None
) -> Any:
    """``dataset`` with the features of ``fold``'s own encoder (unchanged when none applies).

    Args:
        cfg: the resolved experiment config.
        dataset: the experiment's :class:`~serkit.experiment.data.Dataset` (the folds index
            its rows).
        fold: the fold about to be fitted.
        log: called with one line when the fold's features differ from the dataset's.

    Raises:
        ConfigError: the fold's package has no features for some of the rows.
    """
    from dataclasses import replace

    from serkit.encoders.package import encoder_folders
    from serkit.experiment.data import load_features

    chosen = fold_package(cfg, dataset.df, fold)
    if chosen is None or chosen == next(iter(encoder_folders(cfg["features"]["params"]["path"]))):
        return dataset  # the dataset's features are that package's already
    features = {**cfg["features"], "params": {**cfg["features"]["params"], "fold": chosen}}
    df, _, fs = load_features(dataset.df, features, workers=cfg.get("workers", 1))
    if [str(i) for i in fs.ids] != dataset.df["id"].astype(str).tolist():
        missing = sorted(set(dataset.df["id"].astype(str)) - {str(i) for i in fs.ids})
        raise ConfigError(
            f"features: the encoder of fold {chosen!r} ({features['params']['path']}) gave no "
            f"features for {len(missing)} row(s), e.g. {missing[:3]}; set features.skip_bad "
            "false to see why, or fix those files"
        )
    if log is not None:
        log(f"fold {fold.name}: features of the encoder trained for fold {chosen}")
    return replace(dataset, features=fs)
