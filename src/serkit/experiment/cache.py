"""A run's finished folds, cached in ``<run>/partial/``: keyed by what they were computed
from, verified when read back.

A finished fold is two files: ``seed<S>__<i>.json`` (its info, with its key) and
``seed<S>__<i>.parquet`` (its predictions, written last: it marks the fold done). The key
(:func:`content_key`) is a hash of the config fingerprint, the seed, the feature front end key
(:meth:`~serkit.features.frontend.Frontend.key`) and, per role (train / val / test, in order),
every row's id, speaker, label and feature values (:func:`row_digests`). A fold whose rows,
labels, features or front end changed since it was cached (a speaker removed from the manifest
at the same path, an audio file replaced) has another key: it is computed again, and the old
files are removed first. The final model's marker ``partial/final_model.done`` holds the key of
all rows in the same way.

What is read back is checked (:func:`read_fold`): the key, and the predictions themselves,
which must hold exactly the fold's test rows, once each, with their speakers and labels. A
file that fails is named in the log and its fold recomputed. Before the run writes
``predictions.parquet``, :func:`certify_predictions` checks the union again, per seed: every
test row of the folds predicted exactly once, no id outside the data, no test speaker among
the training speakers of its fold.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from serkit.atomic import atomic_write_parquet, atomic_write_text
from serkit.errors import ProtocolError

#: marker of the saved final model (holds its key)
FINAL_MARKER = "final_model.done"
_COLUMNS = ("id", "fold", "seed", "speaker", "true", "pred")


def slot(seed: int, index: int) -> str:
    """The file stem of fold ``index`` of ``seed``: ``seed<S>__<iiii>``."""
    return f"seed{seed}__{index:04d}"


def row_digests(dataset: Any) -> list[bytes]:
    """One digest per row of ``dataset``: its id, speaker, label and feature values.

    Args:
        dataset: a :class:`~serkit.experiment.data.Dataset` with features.

    Returns:
        ``n`` 16-byte digests, in row order.
    """
    fs = dataset.features
    out = []
    for i, (rid, speaker, label) in enumerate(
        zip(dataset.df["id"].astype(str), dataset.groups, dataset.y, strict=True)
    ):
        h = hashlib.blake2b(f"{rid}\0{speaker}\0{label}\0".encode(), digest_size=16)
        values = fs.X[i] if fs.X is not None else fs.frames[i]
        h.update(np.ascontiguousarray(values).tobytes())
        out.append(h.digest())
    return out


def content_key(base: str, digests: list[bytes], parts: dict[str, np.ndarray | None]) -> str:
    """The key (16 hex) of a fit: ``base`` (fingerprint, seed, front end key) and the row
    digests of each role, in order.

    Args:
        base: e.g. ``"<fingerprint>:<seed>:<front end key>"``.
        digests: :func:`row_digests` of the dataset.
        parts: role -> positional indices (``None`` or empty: no such rows).
    """
    h = hashlib.sha256(base.encode())
    for role, idx in parts.items():
        h.update(f"\0{role}:".encode())
        for i in () if idx is None else idx:
            h.update(digests[int(i)])
    return h.hexdigest()[:16]


def fold_key(base: str, digests: list[bytes], fold: Any) -> str:
    """:func:`content_key` of a fold's train, val and test rows."""
    return content_key(base, digests, {"train": fold.train, "val": fold.val, "test": fold.test})


def discard(partial: Path, name: str) -> None:
    """Remove the cached files of slot ``name`` (the parquet, which marks it done, first)."""
    for suffix in (".parquet", ".json"):
        (partial / f"{name}{suffix}").unlink(missing_ok=True)


def write_fold(
    partial: Path, name: str, key: str, preds: pd.DataFrame, info: dict[str, Any]
) -> None:
    """Write a finished fold: its info with ``key``, then its predictions (the done mark)."""
    atomic_write_text(
        partial / f"{name}.json", json.dumps({**info, "key": key}, indent=1, default=str)
    )
    atomic_write_parquet(partial / f"{name}.parquet", preds)


def read_fold(
    partial: Path, name: str, key: str, fold: Any, seed: int, df: pd.DataFrame
) -> tuple[tuple[pd.DataFrame, dict[str, Any]] | None, str | None]:
    """A cached fold, if it exists, has ``key`` and holds exactly the fold's test rows.

    Args:
        partial: the run's ``partial/`` folder.
        name: the slot (:func:`slot`).
        key: the key the fold has now (:func:`fold_key`).
        fold: the fold, its indices into ``df``.
        seed: the seed it belongs to.
        df: the run's rows (``id``, ``speaker``, ``label``).

    Returns:
        ``((predictions, info), None)`` when it can be used; ``(None, None)`` when there is no
        finished fold in the slot; ``(None, problem)`` when there is one that must not be used
        (``problem`` names the file and why).
    """
    info_path, preds_path = partial / f"{name}.json", partial / f"{name}.parquet"
    if not preds_path.exists() or not info_path.exists():
        return None, None
    try:
        info = json.loads(info_path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return None, f"{info_path} is damaged ({type(exc).__name__})"
    found = info.get("key") if isinstance(info, dict) else None
    if found is None:
        return None, f"{info_path} has no key (cached by an older serkit)"
    if found != key:
        return None, (
            f"it was computed from other rows, labels, features or front end (key {found}, "
            f"now {key})"
        )
    try:
        preds = pd.read_parquet(preds_path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        return None, f"{preds_path} is damaged ({type(exc).__name__})"
    problem = _mismatch(preds, fold, seed, df)
    if problem:
        return None, f"{preds_path} {problem} (the file was edited or damaged)"
    return (preds, info), None


def _mismatch(preds: pd.DataFrame, fold: Any, seed: int, df: pd.DataFrame) -> str | None:
    """Why ``preds`` are not the predictions of ``fold``'s test rows, or ``None``."""
    missing = [c for c in _COLUMNS if c not in preds.columns]
    if missing:
        return f"lacks the column(s) {', '.join(missing)}"
    rows = df.iloc[fold.test]
    ids = preds["id"].astype(str)
    if ids.duplicated().any():
        return f"predicts row {ids[ids.duplicated()].iloc[0]} more than once"
    expected = set(rows["id"].astype(str))
    extra, absent = sorted(set(ids) - expected), sorted(expected - set(ids))
    if extra or absent:
        said = [f"row(s) {', '.join(extra[:3])} not in the fold's test rows"] if extra else []
        said += [f"no prediction for {', '.join(absent[:3])}"] if absent else []
        return "holds " + " and ".join(said)
    truth = rows.set_index(rows["id"].astype(str))
    for column, source in (("speaker", "speaker"), ("true", "label")):
        known = truth.loc[ids, source].astype(str).to_numpy()
        wrong = preds[column].astype(str).to_numpy() != known
        if wrong.any():
            return f"gives row {ids[wrong].iloc[0]} another {source} than the data"
    if (preds["fold"].astype(str) != str(fold.name)).any() or (preds["seed"] != seed).any():
        return f"is labelled with another fold or seed than fold {fold.name!r} of seed {seed}"
    return None


def stale_slots(partial: Path, counts: dict[int, int]) -> list[str]:
    """Slots of the seeds in ``counts`` (seed -> number of folds) beyond the last fold: left
    by an earlier run on more folds."""
    out = []
    for seed, n in counts.items():
        for path in partial.glob(f"seed{seed}__*.*"):
            index = path.stem.rpartition("__")[2]
            if index.isdigit() and int(index) >= n:
                out.append(path.stem)
    return sorted(set(out))


def certify_predictions(
    predictions: pd.DataFrame,
    df: pd.DataFrame,
    folds_by_seed: dict[int, list],
    speaker_independent: bool = True,
) -> str:
    """Check the run's predictions against its folds before they are written.

    Per seed: every test row of the folds predicted exactly once, no id outside ``df``, each
    row's speaker as in ``df``, and (``speaker_independent``) no test speaker of a fold among
    its training (or validation) speakers.

    Returns:
        One sentence for the log.

    Raises:
        ProtocolError: naming the seed, the fold and the offending ids.
    """
    ids = df["id"].astype(str).to_numpy()
    speakers = df["speaker"].astype(str).to_numpy()
    speaker_of = dict(zip(ids, speakers, strict=True))
    total = 0
    for seed, folds in folds_by_seed.items():
        p = predictions[predictions["seed"] == seed]
        pid = p["id"].astype(str)
        where = f"predictions of seed {seed}"
        if pid.duplicated().any():
            raise ProtocolError(f"{where}: row {pid[pid.duplicated()].iloc[0]} predicted twice")
        outside = sorted(set(pid) - set(ids))
        if outside:
            raise ProtocolError(f"{where}: row(s) {', '.join(outside[:5])} are not in the data")
        expected = set(ids[np.concatenate([f.test for f in folds])])
        if set(pid) != expected:
            gone = sorted(expected - set(pid))
            raise ProtocolError(f"{where}: no prediction for row(s) {', '.join(gone[:5])}")
        wrong = p["speaker"].astype(str).to_numpy() != pid.map(speaker_of).to_numpy()
        if wrong.any():
            raise ProtocolError(f"{where}: row {pid[wrong].iloc[0]} has another speaker")
        for fold in folds if speaker_independent else ():
            seen = fold.train if fold.val is None else np.concatenate([fold.train, fold.val])
            tested = set(p.loc[p["fold"].astype(str) == str(fold.name), "speaker"].astype(str))
            shared = sorted(tested & set(speakers[seen]))
            if shared:
                raise ProtocolError(
                    f"{where}, fold {fold.name!r}: test speaker(s) {', '.join(shared[:5])} "
                    "are training speakers of the fold"
                )
        total += len(p)
    disjoint = ", test and training speakers disjoint" if speaker_independent else ""
    return (
        f"predictions verified: {total} over {len(folds_by_seed)} seed(s), every test row of "
        f"every fold predicted exactly once, no id outside the data{disjoint}"
    )
