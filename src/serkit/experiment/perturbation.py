"""Speed-perturbed training copies inside the runner (config section ``perturb``).

``perturb: {speed: [0.9, 1.1]}`` gives every training row of every fold (and of the final
model) one more copy per factor: the same audio played that many times faster (tempo and
pitch together, :func:`serkit.audio.speed_perturb`), through the experiment's own front end.
A copy keeps its source row's label and speaker; test rows are never trained on or changed
(``perturb.test``, below, only scores them with their copies too), and the model's own
validation rows (``val_index``) stay real. Copies are features in the store
like any other (the front end's key holds the factor), so each is computed once for all folds.

``perturb.test: true`` adds test-time augmentation: a test row's posteriors are the mean over
the row and its copies (:meth:`Copies.posteriors`; the copies are never trained on in that
fold), and the final model's package records the factors (``extra.test_speeds``) so that
:class:`serkit.inference.Predictor` averages the same views of every input. With
``perturb.train: false`` as well the model trains on the real rows only, and the copies serve
at test time alone.

With ``features.normalize`` each factor's copies are z-scored with their own group statistics
(a speaker's copies at 0.9 with that speaker's copies at 0.9), as if the factor made a new
speaker; the real rows are normalised as without ``perturb``. A neural model's own
speaker-disjoint validation split sees a copy in the same group as its source (its speaker), so
a validation speaker's copies are validation rows of that model too.

A copy that cannot be made (e.g. the sped-up signal is too short to analyse) is left out,
counted in ``dataset.json`` and its first reasons logged. ``perturb`` does not combine with
``augment`` or ``search`` (the inner folds would train without copies); the runner refuses
both.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from serkit.errors import ConfigError


def check_perturb(cfg: dict[str, Any]) -> None:
    """Check a resolved config's ``perturb`` section in place (``speed`` becomes sorted floats).

    Raises:
        ConfigError: naming ``perturb.speed``, the expected and the found value, or the section
            it does not combine with.
    """
    from serkit.audio import SPEED_RANGE

    speed = cfg["perturb"]["speed"]
    low, high = SPEED_RANGE
    expected = f"a non-empty list of speed factors in [{low}, {high}] other than 1"
    if not isinstance(speed, list) or not speed:
        raise ConfigError(f"config key perturb.speed must be {expected}, found {speed!r}")
    for value in speed:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"config key perturb.speed must be {expected}, found {value!r}")
        if not low <= value <= high or value == 1:
            raise ConfigError(
                f"config key perturb.speed must be {expected}, found {value} (1 is the real "
                "row itself)"
            )
    if len(set(map(float, speed))) != len(speed):
        raise ConfigError(f"config key perturb.speed lists a factor twice: {speed}")
    cfg["perturb"]["speed"] = sorted(float(v) for v in speed)
    if not isinstance(cfg["perturb"].get("test", False), bool):
        raise ConfigError(
            "config key perturb.test must be true (average each test row's posteriors over the "
            f"row and its copies) or false, found {cfg['perturb']['test']!r}"
        )
    if not isinstance(cfg["perturb"].get("train", True), bool):
        raise ConfigError(
            "config key perturb.train must be true (train on the copies too) or false (real "
            f"rows only), found {cfg['perturb']['train']!r}"
        )
    if not cfg["perturb"].get("train", True) and not cfg["perturb"].get("test", False):
        raise ConfigError(
            "config keys perturb.train and perturb.test are both false: the copies would be "
            "used nowhere; set one of them true or remove the perturb section"
        )
    for other in ("augment", "search"):
        if cfg.get(other) is not None:
            raise ConfigError(
                f"config keys perturb and {other} do not combine (the "
                + (
                    "synthetic rows would have no perturbed copies"
                    if other == "augment"
                    else "inner folds would train without the copies"
                )
                + "); remove one of them"
            )


@dataclass
class Copies:
    """The perturbed copies of a dataset's rows, one set per factor.

    Attributes:
        factors: the speed factors, ascending.
        index: per factor, the dataset row positions ``(k,)`` that have a copy.
        inputs: per factor, the copies aligned with ``index``: ``(k, dim)`` or a list of
            ``k`` ``(frames_i, dim)`` arrays, normalised as the front end says.
        keys: per factor, the store key of the front end that made them.
        test: test-time augmentation (``perturb.test``): a test row's posteriors are the mean
            over the row and its copies (:meth:`posteriors`).
        train: the copies join the training rows (``perturb.train``, the default); without,
            :meth:`training` gives the real rows only.
    """

    factors: tuple[float, ...]
    index: list[np.ndarray]
    inputs: list[Any]
    keys: list[str]
    test: bool = False
    train: bool = True

    def key(self) -> str:
        """Hash (16 hex) of the factors, their front-end keys and which rows have copies:
        part of every cached fold's key."""
        h = hashlib.sha256()
        for factor, index, key in zip(self.factors, self.index, self.keys, strict=True):
            h.update(f"{factor}\0{key}\0".encode())
            h.update(np.ascontiguousarray(index, dtype=np.int64).tobytes())
        return h.hexdigest()[:16]

    def missing(self, n_rows: int) -> int:
        """How many (row, factor) copies could not be made."""
        return sum(n_rows - len(index) for index in self.index)

    def statement(self, n_rows: int) -> str:
        """One line for the log and the certificate."""
        factors = ", ".join(f"{f:g}" for f in self.factors)
        lost = self.missing(n_rows)
        rows, test = "training rows only", "test rows are never copied"
        if self.test:
            rows = "training rows and, for test-time augmentation, of test rows"
            test = "a test row's posteriors are the mean over the row and its copies"
            if not self.train:
                rows = "test rows only, for test-time augmentation (training on real rows)"
        return (
            f"perturb: speed copies x{factors} of {rows} (each copy keeps its "
            f"source row's label and speaker; {test})"
            + (f"; {lost} copy(ies) that could not be analysed left out" if lost else "")
        )

    def training(
        self, dataset: Any, idx: np.ndarray, level: str
    ) -> tuple[Any, np.ndarray, np.ndarray]:
        """Training inputs ``(X, y (m,), groups (m,))`` of rows ``idx``: the real rows first,
        then each factor's copies of those rows (none without :attr:`train`); ``X`` is
        ``(m, dim)`` or a list of ``m`` frame arrays."""
        idx = np.asarray(idx, dtype=np.int64)
        parts = [dataset.inputs(idx, level)]
        rows = [idx]
        for index, inputs in zip(self.index, self.inputs, strict=True) if self.train else ():
            where = np.flatnonzero(np.isin(index, idx))
            rows.append(index[where])
            parts.append([inputs[i] for i in where] if level == "frame" else inputs[where])
        taken = np.concatenate(rows)
        if level == "frame":
            X: Any = [x for part in parts for x in part]
        else:
            X = np.concatenate(parts)
        return X, dataset.y[taken], dataset.groups[taken]

    def posteriors(self, model: Any, dataset: Any, idx: np.ndarray, level: str) -> np.ndarray:
        """Posteriors ``(len(idx), classes)`` of rows ``idx`` in ``model.classes_`` order: the
        real rows' alone, or with :attr:`test` the mean over each row and those of its copies
        that could be made (a row without copies keeps its own)."""
        from serkit.views import mean_posteriors

        idx = np.asarray(idx, dtype=np.int64)
        own = np.asarray(model.predict_proba(dataset.inputs(idx, level)), dtype=np.float64)
        if not self.test:
            return own
        parts = [(np.arange(len(idx)), own)]
        position = {int(row): i for i, row in enumerate(idx)}
        for index, inputs in zip(self.index, self.inputs, strict=True):
            where = np.flatnonzero(np.isin(index, idx))
            if len(where):
                X = [inputs[i] for i in where] if level == "frame" else inputs[where]
                at = np.array([position[int(row)] for row in index[where]], dtype=np.int64)
                parts.append((at, model.predict_proba(X)))
        return mean_posteriors(len(idx), own.shape[1], parts)


def perturbed_copies(
    cfg: dict[str, Any],
    df: pd.DataFrame,
    frontend: Any,
    log: Any,
    *,
    progress: bool = False,
    extract: bool = True,
) -> Copies | None:
    """The copies of every row of ``df`` (``None`` without ``perturb``), extracted into the
    experiment's store (cached) and normalised as the front end says.

    Args:
        cfg: the resolved config.
        df: the dataset's rows (after extraction: every row has real features).
        frontend: the experiment's :class:`~serkit.features.frontend.Frontend`.
        log: one line per step.
        progress: extraction progress bars.
        extract: ``False`` only reads the store (torchrun ranks other than 0).
    """
    from serkit import features as feats
    from serkit.experiment.augmentation import refuse_per_fold_encoder
    from serkit.experiment.data import group_normalized

    if cfg.get("perturb") is None:
        return None
    refuse_per_fold_encoder(cfg, "perturb")
    store = cfg["features"]["store"]
    position = {rid: i for i, rid in enumerate(df["id"].astype(str))}
    factors = tuple(cfg["perturb"]["speed"])
    index, inputs, keys = [], [], []
    for factor in factors:
        made = replace(frontend, speed=factor)
        if extract:
            summary = feats.extract(
                df, made.cached(), store, workers=cfg["workers"], skip_bad=True, progress=progress
            )
            for row in summary.skipped_rows[:3]:
                log(f"perturb: no x{factor:g} copy of {row['id']}: {row['reason']}")
        fs = feats.load(df, made.cached(), store, allow_missing=True)
        rows = np.array([position[str(rid)] for rid in fs.ids], dtype=np.int64)
        if made.group_column is not None:
            fs = group_normalized(fs, df.iloc[rows].reset_index(drop=True), made)
        index.append(rows)
        inputs.append(fs.frames if fs.level == "frame" else np.asarray(fs.X))
        keys.append(made.cached().key())
    section = cfg["perturb"]
    copies = Copies(
        factors,
        index,
        inputs,
        keys,
        test=bool(section.get("test", False)),
        train=bool(section.get("train", True)),
    )
    log(copies.statement(len(df)))
    return copies


def summary(copies: Copies, n_rows: int) -> dict[str, Any]:
    """The ``perturb`` entry of ``dataset.json``: factors, copies made and left out."""
    return {
        "speed": list(copies.factors),
        "copies": {
            f"{f:g}": int(len(i)) for f, i in zip(copies.factors, copies.index, strict=True)
        },
        "left_out": copies.missing(n_rows),
        "statement": copies.statement(n_rows),
    }
