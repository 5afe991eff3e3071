"""The data side of an experiment: manifests -> labelled rows -> features aligned to rows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from serkit.errors import ConfigError
from serkit.features.frontend import Frontend


@dataclass
class Dataset:
    """Rows and their features, aligned.

    Attributes:
        df: the labelled manifest rows (``label`` column), index reset to ``0..n-1``.
        classes: the class labels in their fixed order.
        features: the feature set (``X`` ``(n, dim)`` or ``frames``), aligned with ``df``;
            ``None`` before extraction.
    """

    df: pd.DataFrame
    classes: list[str]
    features: Any = None

    def inputs(self, idx: np.ndarray, level: str) -> Any:
        """Model inputs of rows ``idx``: ``(len(idx), dim)`` or a list of frame arrays."""
        if level == "frame":
            return [self.features.frames[i] for i in idx]
        return self.features.X[idx]

    @property
    def y(self) -> np.ndarray:
        """Labels ``(n,)`` as strings."""
        return self.df["label"].astype(str).to_numpy()

    @property
    def groups(self) -> np.ndarray:
        """Speaker ids ``(n,)``."""
        return self.df["speaker"].astype(str).to_numpy()


def load_rows(data_cfg: dict[str, Any]) -> pd.DataFrame:
    """Read and concatenate the manifests, apply ``filter`` and the label set.

    Args:
        data_cfg: the config's ``data`` section (paths relative to the working directory).

    Returns:
        The labelled rows (column ``label``; ``attrs["classes"]``), index ``0..n-1``.
    """
    from serkit import manifest
    from serkit.corpora.labels import apply_label_set

    frames = [manifest.read(Path(p)) for p in data_cfg["manifests"]]
    df = frames[0] if len(frames) == 1 else manifest.concat(frames)
    if len(frames) > 1:
        duplicated = df["id"][df["id"].duplicated()]
        if len(duplicated):
            raise ConfigError(
                f"data.manifests: id {duplicated.iloc[0]} occurs in more than one manifest"
            )
    for column, wanted in (data_cfg.get("filter") or {}).items():
        if column not in df.columns:
            raise ConfigError(
                f"data.filter.{column}: the manifest has no column {column!r}; "
                f"found {', '.join(map(str, df.columns))}"
            )
        values = wanted if isinstance(wanted, list) else [wanted]
        keep = df[column].astype("string").isin([str(v) for v in values]).fillna(False)
        attrs = dict(df.attrs)
        df = df[keep.to_numpy(dtype=bool)]
        df.attrs = attrs
    out = apply_label_set(df, data_cfg.get("label_set"))
    attrs = dict(out.attrs)
    out = out.reset_index(drop=True)
    out.attrs = attrs
    if len(out) == 0:
        raise ConfigError(
            f"no rows left after data.filter {data_cfg.get('filter')} and data.label_set "
            f"{data_cfg.get('label_set')!r}; check them against `serkit info MANIFEST`"
        )
    classes = list(out.attrs["classes"])
    if len(classes) < 2:
        raise ConfigError(f"need at least 2 classes to train, found {classes}")
    return out


def load_features(
    df: pd.DataFrame,
    features_cfg: dict[str, Any],
    *,
    workers: int = 1,
    progress: bool = False,
    extract: bool = True,
) -> tuple[pd.DataFrame, Frontend, Any]:
    """Extract (cached in the store) and load the features of ``df`` through the config's
    front end, normalised as it says.

    Rows whose audio was skipped as bad or unanalysable (``features.skip_bad``), or whose
    cached features are no longer current (audio file gone or changed), are dropped from
    ``df`` and listed in ``df.attrs["skipped_rows"]`` as ``{"id", "path", "reason"}`` in
    manifest order. ``extract=False`` only reads the store (ranks other than 0 of a torchrun
    run, after rank 0 extracted: they write nothing).

    Returns:
        ``(df, frontend, feature_set)`` with ``df`` aligned to ``feature_set.ids``.
    """
    from serkit import features as feats

    frontend = Frontend.from_config(features_cfg)
    store = Path(features_cfg["store"])
    stored = frontend.cached()  # extractor, VAD and analysable thresholds
    reasons: dict[str, str] = {}
    if extract:
        summary = feats.extract(
            df,
            stored,
            store,
            workers=workers,
            skip_bad=features_cfg["skip_bad"],
            progress=progress,
        )
        reasons = {row["id"]: row["reason"] for row in summary.skipped_rows}
    fs = feats.load(df, stored, store, allow_missing=features_cfg["skip_bad"])
    ids = [str(i) for i in fs.ids]
    attrs = {**df.attrs, "skipped_rows": []}
    if ids != df["id"].astype(str).tolist():
        position = {rid: i for i, rid in enumerate(df["id"].astype(str))}
        missing = [rid for rid in ids if rid not in position]
        if missing:
            raise ConfigError(f"feature store returned unknown id(s) {missing[:5]}")
        attrs["skipped_rows"] = skipped_rows(df, set(ids), reasons)
        df = df.iloc[[position[rid] for rid in ids]].reset_index(drop=True)
    else:
        df = df.copy(deep=False)  # the caller's frame keeps its attrs
    df.attrs = attrs
    if frontend.group_column is not None:
        fs = group_normalized(fs, df, frontend)
    return df, frontend, fs


def skipped_rows(
    df: pd.DataFrame, kept: set[str], reasons: dict[str, str]
) -> list[dict[str, str]]:
    """The rows of ``df`` not in ``kept`` as ``{"id", "path", "reason"}``, in ``df`` order.

    Args:
        df: the manifest rows (with their root in ``attrs``).
        kept: the ids that have features.
        reasons: id -> why extraction skipped it; other dropped rows had no current features.
    """
    from serkit import manifest

    out = []
    for row_id, path in zip(df["id"].astype(str), manifest.audio_paths(df), strict=True):
        if row_id not in kept:
            reason = reasons.get(
                row_id, "no current features in the store (not extracted, or audio changed)"
            )
            out.append({"id": row_id, "path": str(path), "reason": reason})
    return out


#: skipped rows named one per line in the run log (all of them are in dataset.json)
LOG_SKIPPED = 20


def log_skipped(rows: list[dict[str, str]], log: Callable[[str], None]) -> None:
    """Name the rows left out by ``features.skip_bad`` in the run log (the first
    :data:`LOG_SKIPPED`, then a count)."""
    if not rows:
        return
    log(f"features: {len(rows)} row(s) skipped (features.skip_bad), not trained or tested on:")
    for row in rows[:LOG_SKIPPED]:
        log(f"  skipped {row['id']} ({row['path']}): {row['reason']}")
    if len(rows) > LOG_SKIPPED:
        log(f"  ... and {len(rows) - LOG_SKIPPED} more (all listed in dataset.json)")


def group_normalized(fs: Any, df: pd.DataFrame, frontend: Frontend) -> Any:
    """``fs`` with every row z-scored by its group's feature statistics (``features.normalize``:
    the group is the row's speaker or corpus, :attr:`Frontend.group_column`).

    Label-free and transductive per group: the statistics of a test speaker (corpus) come from
    that speaker's (corpus's) own rows (all of them, whatever fold they fall in), never from
    labels. See :mod:`serkit.features.normalize`.

    Args:
        fs: the loaded feature set, aligned with ``df``.
        df: the rows (column ``speaker`` or ``corpus``).
        frontend: the front end (``normalize="speaker"`` or ``"corpus"``) that does it.

    Returns:
        A copy of ``fs`` with ``X`` ``(n, dim)`` or ``frames`` (in-memory) normalised.

    Raises:
        ConfigError: a row has no value in the group column (or ``df`` has no such column).
    """
    from dataclasses import replace

    column = str(frontend.group_column)
    if column not in df.columns:
        raise ConfigError(
            f"features.normalize: {frontend.normalize} needs a {column!r} column in the "
            f"manifest; found {', '.join(map(str, df.columns))}. Add it or remove "
            "features.normalize"
        )
    groups = df[column].astype("string")
    empty = groups.isna() | (groups.str.strip() == "")
    if empty.any():
        raise ConfigError(
            f"features.normalize: {frontend.normalize} needs a {column} id on every row; row id "
            f"{df['id'].iloc[int(np.flatnonzero(empty.to_numpy())[0])]} has none. Fill the "
            f"manifest's {column} column or remove features.normalize"
        )
    groups = groups.to_numpy(dtype=str)
    if fs.level == "frame":
        return replace(fs, frames=frontend.normalise(fs.frames, groups))
    return replace(fs, X=frontend.normalise(fs.X, groups))


def model_level(model: Any, feature_level: str, cfg: dict[str, Any]) -> str:
    """Check that the model accepts the feature level and return it.

    Raises:
        ConfigError: a frame-level feature set for an utterance-level model, or the reverse.
    """
    wanted = getattr(model, "input_level", "utterance")
    if wanted != feature_level:
        raise ConfigError(
            f"model {cfg['model']['name']!r} takes {wanted}-level input but extractor "
            f"{cfg['features']['name']!r} gives {feature_level}-level features; choose an "
            f"{wanted}-level extractor (`serkit list extractors`) or a "
            f"{'neural' if feature_level == 'frame' else 'classic'} model"
        )
    return wanted
