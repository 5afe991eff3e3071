"""The final model of a run: refit on every row and saved as the run's model package
(``<run>/model``), unless the package of the same rows, features and front end is there.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from serkit.atomic import atomic_write_text
from serkit.experiment import cache
from serkit.experiment.augmentation import final_training
from serkit.experiment.checkpoints import CHECKPOINTS, checkpoints_in
from serkit.experiment.config import fingerprint
from serkit.experiment.data import Dataset
from serkit.experiment.distributed import SOLO, Group
from serkit.experiment.folder import Log
from serkit.experiment.search import fit_model, searched_model


def final_model(
    cfg: dict[str, Any],
    dataset: Dataset,
    level: str,
    frontend: Any,
    classes: list[str],
    run_dir: Path,
    log: Log,
    group: Group = SOLO,
    digests: list[bytes] | None = None,
    source: Any = None,
    copies: Any = None,
) -> Path:
    """Refit on every row (after the same search, if any) and save the model package.

    Checkpoints go to ``<run>/checkpoints/final/``; under torchrun every rank fits (DDP) and
    rank 0 saves. The marker ``partial/final_model.done`` holds the key of the rows, features
    and front end it was fitted on (:mod:`serkit.experiment.cache`; ``digests``: the
    :func:`~serkit.experiment.cache.row_digests` of ``dataset``, computed when not given):
    a model of other data is refitted. With ``source`` (config ``augment``) it trains as the
    folds do, on ``train_on`` with the augmenter fitted on every row; with ``copies`` (config
    ``perturb``) on every row and its copies."""
    from serkit.models.package import is_current, save_model

    target = run_dir / "model"
    marker = run_dir / "partial" / cache.FINAL_MARKER
    key = cache.content_key(
        f"{fingerprint(cfg)}:{cfg['seeds'][0]}:{frontend.key()}"
        + (f":{source.key()}" if source is not None else "")
        + (f":{copies.key()}" if copies is not None else ""),
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
    train = final_training(cfg, dataset, source, seed)  # None without `augment`
    if copies is not None:
        train = copies.training(dataset, every, level)
    with checkpoints_in(model, run_dir / CHECKPOINTS / "final"):
        if train is None:
            model = fit_model(model, dataset, every, level)
        else:
            model = model.fit(train[0], train[1], groups=train[2])
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
            **(
                {"test_speeds": list(copies.factors)}
                if copies is not None and copies.test
                else {}
            ),
        },
    )
    atomic_write_text(marker, key + "\n")
    log(
        f"final model: refitted on all {len(every)} rows in {time.time() - started:.1f} s "
        f"-> {target}"
    )
    return target
