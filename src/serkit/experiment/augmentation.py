"""Per-fold augmentation inside the runner (config section ``augment``).

For every (seed, fold) the runner fits the configured augmenter (:mod:`serkit.augment`) on that
fold's *training* rows only (never its validation or test rows), turns the feature vectors of a
source corpus into labelled synthetic rows, and trains the fold's model on ``train_on``:
``real`` (the training rows; the synthetic rows are only made and saved), ``syn`` (the
synthetic rows alone) or ``real+syn``. Predictions are made on the fold's real test rows only.

The source corpus (``augment.source``: manifests, read whole, labels unused) goes through the
experiment's own front end and feature store. It is certified: it is another corpus than the
data (no shared row id or corpus name), it shares no speaker with any fold's test rows, and
every synthetic row keeps the id (``source_id``) and speaker of the source row it was made
from; no synthetic row is made from a test row or equals a test row's feature vector. A
synthetic row's speaker is its source row's speaker (the groups of a speaker-disjoint
validation split inside the model).

Saved (``augment.save``) in ``<run>/synthetic/``: per fold ``<seed>-<fold>.npz`` with ``X``
``(k, dim)`` float32, ``y`` ``(k,)``, ``source_id`` ``(k,)`` and ``train_id`` ``(n,)`` (the
fold's training rows), and ``index.json`` listing them (``seed``, ``fold``, ``file``,
``per_class``, ``augment``): what ``serkit analyze fisher`` reads.

Note on the original system (Bao et al. 2019): its generators were trained on every session,
the held-out test session included, before the inner-corpus evaluation; here they never see a
test row.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from serkit.errors import ConfigError, ProtocolError, SerkitError

TRAIN_ON = ("real", "syn", "real+syn")
#: the run folder's synthetic sets
SYNTHETIC = "synthetic"
INDEX = "index.json"


def check_augment(cfg: dict[str, Any]) -> None:
    """Check a resolved config's ``augment`` section in place (``source`` becomes a list).

    Raises:
        ConfigError: naming the key (``augment.name``, ``augment.params``, ``augment.source``,
            ``augment.train_on``, ``augment.save``), the expected and the found value.
    """
    from serkit.augment import AUGMENTERS

    aug = cfg["augment"]
    if not isinstance(aug["name"], str):
        raise ConfigError(
            f"config key augment.name must be an augmenter name, found {aug['name']!r}"
        )
    try:
        cls = AUGMENTERS.get(aug["name"])
    except SerkitError as exc:
        raise ConfigError(f"config key augment.name: {exc.message}") from None
    if not isinstance(aug["params"], dict):
        raise ConfigError(f"config key augment.params must be a mapping, found {aug['params']!r}")
    try:
        augmenter = cls(**aug["params"])
        check = getattr(augmenter, "check_params", None)  # values, where it checks them
        if callable(check):
            check()
    except TypeError as exc:
        raise ConfigError(f"config key augment.params: {aug['name']}: {exc}") from None
    except SerkitError as exc:
        raise ConfigError(f"config key augment.params: {exc.message}") from None
    if aug["train_on"] not in TRAIN_ON:
        raise ConfigError(
            f"config key augment.train_on must be one of {', '.join(TRAIN_ON)} (train the "
            f"fold's model on its real rows, the synthetic rows, or both), found "
            f"{aug['train_on']!r}"
        )
    if isinstance(aug["source"], str):
        aug["source"] = [aug["source"]]
    source = aug["source"]
    if not isinstance(source, list) or not source or not all(isinstance(p, str) for p in source):
        raise ConfigError(
            f"config key augment.source must list manifest paths of a source corpus, found "
            f"{source!r}"
        )
    same = sorted({str(Path(p).resolve()) for p in source} & _resolved(cfg["data"]["manifests"]))
    if same:
        raise ConfigError(
            f"config key augment.source: {same[0]} is also in data.manifests; the source must "
            "be another corpus than the data (its rows would reach the test folds)"
        )
    if not isinstance(aug["save"], bool):
        raise ConfigError(f"config key augment.save must be true or false, found {aug['save']!r}")
    try:
        from serkit.features.frontend import Frontend

        level = Frontend.from_config(cfg["features"]).level
    except SerkitError:
        return  # the front end's own error comes from check_components
    if level != "utterance":
        raise ConfigError(
            f"config key augment: augmenters make feature vectors, but extractor "
            f"{cfg['features']['name']!r} gives {level}-level features; choose an "
            "utterance-level extractor (e.g. emobase2010)"
        )


def _resolved(paths: list[str]) -> set[str]:
    return {str(Path(p).resolve()) for p in paths}


def refuse_per_fold_encoder(cfg: dict[str, Any], key: str = "augment") -> None:
    """Augmentation (config section ``key``) with per-fold encoder features is refused: the
    extra vectors would come from one fold's encoder while each fold's rows come from its
    own."""
    features = cfg["features"]
    if features["name"] != "encoder" or features["params"].get("fold") is not None:
        return
    from serkit.encoders.package import encoder_folders

    folders = encoder_folders(features["params"]["path"])
    if len(folders) > 1:
        raise ConfigError(
            f"config key {key}: features.params.path {features['params']['path']} holds "
            f"{len(folders)} per-fold encoders ({', '.join(list(folders)[:3])}...), and "
            "augmentation with per-fold encoder features is not supported (the extra rows "
            "would be encoded by one fold's encoder only); use a single encoder (pretrain "
            f"without `folds`) or remove `{key}`"
        )


def read_source(cfg: dict[str, Any], data: pd.DataFrame) -> pd.DataFrame | None:
    """The source corpus rows of ``augment.source`` (``None`` without ``augment``), checked
    to be another corpus than the data rows ``data``.

    Raises:
        ConfigError: a missing or unreadable manifest, a row id or corpus shared with the data
            (naming ``augment.source``).
    """
    from serkit import manifest

    aug = cfg.get("augment")
    if aug is None:
        return None
    refuse_per_fold_encoder(cfg)
    frames = []
    for path in aug["source"]:
        if not Path(path).is_file():
            raise ConfigError(
                f"config key augment.source: {path}: no such manifest file (paths resolve "
                f"against the working directory {Path.cwd()}); create it with `serkit prepare`"
            )
        try:
            frames.append(manifest.read(Path(path)))
        except SerkitError as exc:
            raise ConfigError(f"config key augment.source: {exc.message}") from None
    rows = frames[0] if len(frames) == 1 else manifest.concat(frames)
    ids = rows["id"].astype(str)
    if ids.duplicated().any():
        raise ConfigError(
            f"config key augment.source: id {ids[ids.duplicated()].iloc[0]} occurs more than once"
        )
    shared = sorted(set(ids) & set(data["id"].astype(str)))
    if shared:
        raise ConfigError(
            f"config key augment.source: {len(shared)} row(s) are also rows of data.manifests "
            f"(e.g. {', '.join(shared[:3])}); the source must be another corpus"
        )
    corpora = sorted(set(rows["corpus"].astype(str)) & set(data["corpus"].astype(str)))
    if corpora:
        raise ConfigError(
            f"config key augment.source: corpus {', '.join(corpora)} is also in "
            "data.manifests; the source must be another corpus than the data"
        )
    rows = rows.reset_index(drop=True)
    return rows


@dataclass
class Source:
    """The source corpus: its rows and their feature vectors (the data's front end).

    Attributes:
        df: the source rows (``id``, ``corpus``, ``speaker``), aligned with ``X``.
        X: ``(m, dim)`` feature vectors.
    """

    df: pd.DataFrame
    X: np.ndarray

    @property
    def ids(self) -> np.ndarray:
        return self.df["id"].astype(str).to_numpy()

    @property
    def speakers(self) -> np.ndarray:
        return self.df["speaker"].astype(str).to_numpy()

    @property
    def corpora(self) -> list[str]:
        return sorted(set(self.df["corpus"].astype(str)))

    def key(self) -> str:
        """Hash (16 hex) of every source row's id, speaker and feature values: part of every
        cached fold's key, so a changed source corpus recomputes the folds."""
        h = hashlib.sha256()
        for rid, speaker, values in zip(self.ids, self.speakers, self.X, strict=True):
            h.update(f"{rid}\0{speaker}\0".encode())
            h.update(np.ascontiguousarray(values).tobytes())
        return h.hexdigest()[:16]

    def describe(self) -> str:
        return describe(self.df)


def describe(rows: pd.DataFrame) -> str:
    """``the source corpus <corpora> (<n> rows, <s> speaker(s))``."""
    corpora = ", ".join(sorted(set(rows["corpus"].astype(str))))
    return f"the source corpus {corpora} ({len(rows)} rows, {rows['speaker'].nunique()} speaker(s))"


def source_features(
    cfg: dict[str, Any],
    rows: pd.DataFrame | None,
    log: Any,
    *,
    progress: bool = False,
    extract: bool = True,
) -> Source | None:
    """Features of the source rows through the experiment's front end and store.

    Args:
        cfg: the resolved config.
        rows: :func:`read_source` rows (``None``: no augmentation, returns ``None``).
        log: one line per step.
        progress: extraction progress bars.
        extract: ``False`` only reads the store (torchrun ranks other than 0).
    """
    from serkit.experiment.data import load_features, log_skipped

    if rows is None:
        return None
    df, _, fs = load_features(
        rows, cfg["features"], workers=cfg["workers"], progress=progress, extract=extract
    )
    log_skipped(df.attrs.get("skipped_rows", []), log)
    if fs.X is None or len(df) == 0:
        raise ConfigError("config key augment.source: no source row has feature vectors")
    source = Source(df, np.asarray(fs.X))
    log(f"augment: {cfg['augment']['name']} per fold; {source.describe()}")
    return source


def certify_sources(
    source: Source | pd.DataFrame | None, df: pd.DataFrame, folds_by_seed: dict
) -> str:
    """Check, for every fold of every seed, that no source speaker is a test speaker.

    Args:
        source: the source corpus, or its rows (:func:`read_source`; the dry run).
        df: the data rows the folds index.
        folds_by_seed: seed -> folds.

    Returns:
        One sentence for the log and the certificate (``""`` without a source).

    Raises:
        ProtocolError: naming the seed, the fold and the shared speakers.
    """
    if source is None:
        return ""
    rows = source.df if isinstance(source, Source) else source
    speakers = df["speaker"].astype(str).to_numpy()
    known = set(rows["speaker"].astype(str))
    n = 0
    for seed, folds in folds_by_seed.items():
        for fold in folds:
            shared = sorted(set(speakers[fold.test]) & known)
            if shared:
                raise ProtocolError(
                    f"augment.source shares speaker(s) {', '.join(shared[:5])} with the test "
                    f"rows of fold {fold.name!r} (seed {seed}); synthetic rows made from "
                    "them would carry test speakers into training. Use a source corpus "
                    "without these speakers"
                )
            n += 1
    return (
        f"Augmentation: {describe(rows)} shares no speaker with the test rows of any of "
        f"the {n} fold(s); synthetic rows are made per fold by an augmenter fitted on that "
        "fold's training rows only, and none is a test row or made from one."
    )


@dataclass
class FoldSynthetic:
    """The synthetic rows of one fold.

    Attributes:
        X: ``(k, dim)`` float32 vectors. y: ``(k,)`` labels. source_id, speaker: ``(k,)`` id
        and speaker of the source row each was made from. seconds: fit + generate time.
    """

    X: np.ndarray
    y: np.ndarray
    source_id: np.ndarray
    speaker: np.ndarray
    seconds: float
    fit_summary: dict[str, Any] | None = None
    file: str | None = field(default=None)

    def per_class(self, classes: list[str]) -> dict[str, int]:
        return {c: int((self.y == c).sum()) for c in classes}

    def info(self, classes: list[str], source: Source) -> dict[str, Any]:
        """What the fold's info (and ``dataset.json``) records."""
        return {
            "rows": int(len(self.y)),
            "per_class": self.per_class(classes),
            "source_corpora": source.corpora,
            "seconds": round(self.seconds, 3),
            "file": self.file,
        }


def augment_fold(
    cfg: dict[str, Any], dataset: Any, fold: Any, source: Source, seed: int
) -> FoldSynthetic:
    """Fit the augmenter on ``fold``'s training rows and make certified synthetic rows.

    Args:
        cfg: the resolved config (its ``augment`` section).
        dataset: the run's :class:`~serkit.experiment.data.Dataset` (utterance level).
        fold: the fold; only ``fold.train`` is shown to the augmenter.
        source: the source corpus.
        seed: the run seed (seeds the augmenter).

    Raises:
        ProtocolError: a synthetic row made from or equal to a test row, or one from outside
            the source corpus.
    """
    from serkit.augment import get_augmenter

    aug_cfg = cfg["augment"]
    augmenter = get_augmenter(aug_cfg["name"], **aug_cfg["params"])
    train = fold.train
    started = time.perf_counter()
    augmenter.fit(
        dataset.features.X[train],
        dataset.y[train],
        source.X,
        groups=dataset.groups[train],
        seed=seed,
    )
    made = augmenter.generate(source.X)
    seconds = time.perf_counter() - started
    X = np.asarray(made.X, dtype=np.float32)
    y = np.asarray(made.y).astype(str)
    index = np.asarray(made.source_index)
    where = f"augmenter {aug_cfg['name']!r}, fold {fold.name!r} (seed {seed})"
    if X.ndim != 2 or X.shape[1] != dataset.features.X.shape[1] or len(y) != len(X):
        raise ProtocolError(f"{where} made vectors of shape {X.shape}, labels {y.shape}")
    if len(index) != len(X) or (len(index) and (index.min() < 0 or index.max() >= len(source.X))):
        raise ProtocolError(f"{where}: source_index is not a row index of the source corpus")
    unknown = sorted(set(y) - set(dataset.y[train]))
    if unknown:
        raise ProtocolError(f"{where} made labels {unknown} that no training row has")
    syn = FoldSynthetic(
        X, y, source.ids[index.astype(int)], source.speakers[index.astype(int)], seconds
    )
    syn.fit_summary = getattr(augmenter, "fit_summary_", None)
    certify_synthetic(syn, dataset, fold, where)
    return syn


def certify_synthetic(syn: FoldSynthetic, dataset: Any, fold: Any, where: str) -> None:
    """No synthetic row is made from a test row of ``fold`` or equals a test row's vector.

    Raises:
        ProtocolError: naming the rows.
    """
    test_ids = set(dataset.df["id"].astype(str).to_numpy()[fold.test])
    made_from = sorted(set(syn.source_id) & test_ids)
    if made_from:
        raise ProtocolError(f"{where}: synthetic rows made from test row(s) {made_from[:3]}")
    test = {
        np.ascontiguousarray(v, dtype=np.float32).tobytes() for v in dataset.features.X[fold.test]
    }
    equal = [i for i, v in enumerate(syn.X) if np.ascontiguousarray(v).tobytes() in test]
    if equal:
        raise ProtocolError(
            f"{where}: synthetic row(s) {equal[:3]} (made from {syn.source_id[equal[0]]}) equal "
            "a test row's feature vector"
        )


def training_set(
    dataset: Any, idx: np.ndarray, syn: FoldSynthetic, train_on: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The fold model's training inputs ``(X (n, dim), y (n,), groups (n,))`` for ``train_on``.

    ``real`` gives exactly the training rows (as a run without ``augment``), ``syn`` the
    synthetic rows (groups: their source speakers), ``real+syn`` both, real rows first.
    """
    real = (dataset.features.X[idx], dataset.y[idx], dataset.groups[idx])
    made = (syn.X.astype(real[0].dtype, copy=False), syn.y, syn.speaker)
    if train_on == "real":
        return real
    if train_on == "syn":
        return made
    return tuple(np.concatenate([a, b]) for a, b in zip(real, made, strict=True))  # type: ignore[return-value]


def fold_file(seed: int, fold: str) -> str:
    """The file name of a fold's synthetic set, ``<seed>-<fold>.npz`` (odd characters ``_``)."""
    return f"{seed}-{re.sub(r'[^A-Za-z0-9_.+-]', '_', str(fold))}.npz"


def save_fold(
    run_dir: Path, seed: int, fold: Any, syn: FoldSynthetic, train_ids: np.ndarray
) -> str:
    """Write one fold's synthetic set atomically to ``<run>/synthetic/``; returns its name."""
    from serkit.atomic import atomic_write_bytes

    name = fold_file(seed, fold.name)
    buffer = io.BytesIO()
    np.savez(
        buffer,
        X=syn.X,
        y=syn.y.astype(str),
        source_id=syn.source_id.astype(str),
        train_id=np.asarray(train_ids).astype(str),
    )
    atomic_write_bytes(run_dir / SYNTHETIC / name, buffer.getvalue())
    syn.file = name
    return name


def write_index(run_dir: Path, infos: list[dict[str, Any]], augment: dict[str, Any]) -> Path | None:
    """``<run>/synthetic/index.json`` of the folds' saved sets (``None``: none saved)."""
    from serkit.atomic import atomic_write_text

    entries = [
        {
            "seed": info["seed"],
            "fold": info["fold"],
            "file": info["synthetic"]["file"],
            "per_class": info["synthetic"]["per_class"],
            "augment": augment,
        }
        for info in infos
        if (info.get("synthetic") or {}).get("file")
    ]
    if not entries:
        return None
    return atomic_write_text(run_dir / SYNTHETIC / INDEX, json.dumps(entries, indent=1))


def summary(source: Source, augment: dict[str, Any], statement: str) -> dict[str, Any]:
    """``dataset.json``'s ``augment`` entry: the section, the source corpus, the check."""
    return {
        **augment,
        "source_corpora": source.corpora,
        "source_rows": int(len(source.df)),
        "source_speakers": int(source.df["speaker"].nunique()),
        "source_skipped": source.df.attrs.get("skipped_rows", []),
        "certification": statement,
    }


def fold_training(
    cfg: dict[str, Any],
    dataset: Any,
    fold: Any,
    source: Source | None,
    seed: int,
    run_dir: Path,
    write: bool,
) -> tuple[FoldSynthetic | None, tuple[np.ndarray, np.ndarray, np.ndarray] | None]:
    """One fold's synthetic rows and its model's training inputs (``(None, None)`` without
    a source); with ``write`` and ``augment.save`` the set is saved first."""
    if source is None:
        return None, None
    syn = augment_fold(cfg, dataset, fold, source, seed)
    if write and cfg["augment"]["save"]:
        save_fold(run_dir, seed, fold, syn, dataset.df["id"].astype(str).to_numpy()[fold.train])
    return syn, training_set(dataset, fold.train, syn, cfg["augment"]["train_on"])


def final_training(
    cfg: dict[str, Any], dataset: Any, source: Source | None, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The final model's training inputs: the augmenter fitted on every row (no test rows
    exist there), ``train_on`` as in the folds; ``None`` without a source."""
    from serkit.protocols import Fold

    if source is None:
        return None
    every = Fold("final", np.arange(len(dataset.df)), np.array([], dtype=int))
    syn = augment_fold(cfg, dataset, every, source, seed)
    return training_set(dataset, every.train, syn, cfg["augment"]["train_on"])
