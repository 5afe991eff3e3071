"""Evaluation protocols: splitters over a manifest, certified speaker-disjoint per fold.

A protocol turns a manifest (one row per utterance) into a list of :class:`Fold` objects whose
``train`` / ``test`` (and optional ``val``) are *positional* index arrays into that manifest.
:func:`certify` checks, for every fold, that no speaker (and where asked, no sentence) is on
both sides and that every test row is predicted exactly once over the protocol.

Registered protocols (``serkit list protocols``):

- ``loso``: leave one speaker out (one fold per speaker).
- ``loso-session``: leave one session out (``session`` column; e.g. IEMOCAP).
- ``speaker-kfold``: ``k`` folds grouped by speaker, stratified by label, seeded.
- ``official``: the corpus' own ``split`` column (train / validation / test names configurable).
- ``cross-corpus``: train on the corpora in ``train``, test on each corpus in ``test``.
- ``leave-one-corpus-out``: one fold per corpus, trained on all the others.
- ``speaker-dependent``: random stratified k-fold; speakers appear on both sides. Refused by
  :func:`get_protocol` unless ``allow_speaker_dependent=True`` (config key
  ``allow_speaker_dependent: true``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from serkit.errors import ConfigError, ProtocolError
from serkit.holdout import validation_split
from serkit.registry import Registry

SPEAKER_DEPENDENT = "speaker-dependent"


@dataclass
class Fold:
    """One train/test split as positional indices into the manifest.

    Attributes:
        name: fold name (the held-out speaker, session, corpus or ``fold<i>``).
        train: positional indices of the training rows, shape ``(n_train,)``.
        test: positional indices of the test rows, shape ``(n_test,)``.
        val: optional positional indices of validation rows (taken from training speakers).
    """

    name: str
    train: np.ndarray
    test: np.ndarray
    val: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.train = np.asarray(self.train, dtype=np.int64)
        self.test = np.asarray(self.test, dtype=np.int64)
        if self.val is not None:
            self.val = np.asarray(self.val, dtype=np.int64)


@dataclass
class Certificate:
    """What :func:`certify` verified, for the run's report."""

    protocol: str
    n_folds: int
    disjoint: tuple[str, ...]
    n_test_rows: int
    n_rows: int
    complete: bool
    speaker_independent: bool
    checks: list[str] = field(default_factory=list)

    def statement(self) -> str:
        """One human sentence for reports."""
        sides = ", ".join(self.disjoint) if self.disjoint else "nothing (speaker-DEPENDENT)"
        cover = (
            f"every one of the {self.n_rows} rows is predicted exactly once"
            if self.complete
            else f"{self.n_test_rows} of {self.n_rows} rows are test rows, each predicted once"
        )
        return (
            f"Protocol {self.protocol!r}: {self.n_folds} fold(s); verified for every fold that "
            f"train and test are disjoint in {sides}; {cover}."
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict including the statement."""
        return {
            "protocol": self.protocol,
            "n_folds": self.n_folds,
            "disjoint": list(self.disjoint),
            "n_test_rows": self.n_test_rows,
            "n_rows": self.n_rows,
            "complete": self.complete,
            "speaker_independent": self.speaker_independent,
            "statement": self.statement(),
        }


class Protocol:
    """Base class: subclasses set ``name`` and implement :meth:`split`.

    Attributes:
        exhaustive: True when every row of the manifest is a test row exactly once.
        seeded: True when the split depends on a ``seed`` parameter.
        types: the type hint of each parameter (``{"k": "int"}``), checked by the
            constructor (:func:`serkit.params.check_value`): ``k=6.5`` or ``k=ten`` is an
            error, never ``int(6.5)``.
    """

    name: ClassVar[str] = ""
    exhaustive: ClassVar[bool] = True
    seeded: ClassVar[bool] = False
    speaker_independent: ClassVar[bool] = True
    types: ClassVar[dict[str, str]] = {}

    def __init__(self, **params: Any) -> None:
        from serkit.params import check_value

        unknown = sorted(set(params) - set(self.defaults()))
        if unknown:
            raise ConfigError(
                f"protocol {self.name!r} has no parameter(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(self.defaults())) or 'none'}"
            )
        for key, value in params.items():
            check_value(value, self.types.get(key, "Any"), f"protocol {self.name!r}", key)
        self.params = {**self.defaults(), **params}
        self.check()

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Parameter names and default values."""
        return {}

    def check(self) -> None:
        """Check the parameter values that need no data (raise ConfigError); called by the
        constructor, so a bad value is found when the config is validated."""

    def split(self, df: pd.DataFrame) -> list[Fold]:
        """Split a manifest into folds (positional indices)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({params})"


PROTOCOLS: Registry[type[Protocol]] = Registry("protocol")


def register_protocol(cls: type[Protocol]) -> type[Protocol]:
    """Class decorator: register a protocol under its ``name``."""
    PROTOCOLS.add(cls.name, cls)
    return cls


def get_protocol(name: str, *, allow_speaker_dependent: bool = False, **params: Any) -> Protocol:
    """Build a registered protocol.

    Args:
        name: registry name (``serkit list protocols``).
        allow_speaker_dependent: must be True to build ``speaker-dependent``.
        **params: protocol parameters.

    Raises:
        ConfigError: unknown parameter, or ``speaker-dependent`` without permission.
    """
    cls = PROTOCOLS.get(name)
    if cls.name == SPEAKER_DEPENDENT and not allow_speaker_dependent:
        raise ConfigError(
            "protocol 'speaker-dependent' puts the same speakers in train and test and "
            "overestimates accuracy; set `allow_speaker_dependent: true` in the experiment "
            "config if you really want it, or use loso / speaker-kfold"
        )
    return cls(**params)


def list_protocols() -> list[str]:
    """Registered protocol names."""
    return PROTOCOLS.names()


def _labels(df: pd.DataFrame) -> np.ndarray:
    column = "label" if "label" in df.columns else "emotion"
    return df[column].astype("string").fillna("<NA>").to_numpy(dtype=str)


def _require(df: pd.DataFrame, column: str, protocol: str) -> None:
    if column not in df.columns or df[column].isna().all():
        raise ConfigError(
            f"protocol {protocol!r} needs the manifest column {column!r}; found columns "
            f"{', '.join(map(str, df.columns))}. Choose another protocol (e.g. loso)."
        )


def _leave_one_out(df: pd.DataFrame, column: str, protocol: str) -> list[Fold]:
    _require(df, column, protocol)
    values = df[column].astype("string")
    if values.isna().any():
        row = df["id"][values.isna()].iloc[0]
        raise ProtocolError(f"protocol {protocol!r}: row {row} has no {column!r}")
    groups = sorted(values.unique())
    if len(groups) < 2:
        raise ProtocolError(
            f"protocol {protocol!r} needs at least 2 distinct {column!r} values, "
            f"found {len(groups)} ({', '.join(map(str, groups))})"
        )
    arr = values.to_numpy(dtype=str)
    return [Fold(str(g), np.flatnonzero(arr != g), np.flatnonzero(arr == g)) for g in groups]


@register_protocol
class LeaveOneSpeakerOut(Protocol):
    """One fold per speaker: train on all other speakers, test on that speaker."""

    name = "loso"

    def split(self, df: pd.DataFrame) -> list[Fold]:
        return _leave_one_out(df, "speaker", self.name)


@register_protocol
class LeaveOneSessionOut(Protocol):
    """One fold per ``session`` (sessions must not share speakers; certification checks)."""

    name = "loso-session"

    def split(self, df: pd.DataFrame) -> list[Fold]:
        return _leave_one_out(df, "session", self.name)


@register_protocol
class LeaveOneCorpusOut(Protocol):
    """One fold per corpus: train on every other corpus."""

    name = "leave-one-corpus-out"

    def split(self, df: pd.DataFrame) -> list[Fold]:
        return _leave_one_out(df, "corpus", self.name)


@register_protocol
class SpeakerKFold(Protocol):
    """``k`` speaker-disjoint folds stratified by label (``StratifiedGroupKFold``), seeded."""

    name = "speaker-kfold"
    seeded = True
    types = {"k": "int", "seed": "int"}

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {"k": 5, "seed": 0}

    def check(self) -> None:
        if self.params["k"] < 2:
            raise ConfigError(
                f"protocol {self.name!r}: k={self.params['k']}, needs k >= 2 folds; raise "
                "protocol.params.k"
            )

    def split(self, df: pd.DataFrame) -> list[Fold]:
        from sklearn.model_selection import StratifiedGroupKFold

        k = int(self.params["k"])
        speakers = df["speaker"].astype("string").to_numpy(dtype=str)
        n_speakers = len(set(speakers))
        if k < 2 or n_speakers < k:
            raise ProtocolError(
                f"protocol 'speaker-kfold' with k={k} needs 2 <= k <= number of speakers "
                f"({n_speakers}); lower protocol.params.k"
            )
        splitter = StratifiedGroupKFold(
            n_splits=k, shuffle=True, random_state=int(self.params["seed"])
        )
        dummy = np.zeros(len(df))
        folds = []
        for i, (train, test) in enumerate(splitter.split(dummy, _labels(df), speakers)):
            folds.append(Fold(f"fold{i}", np.sort(train), np.sort(test)))
        return folds


@register_protocol
class SpeakerDependent(Protocol):
    """Random stratified k-fold ignoring speakers (speaker-DEPENDENT; only when asked for)."""

    name = SPEAKER_DEPENDENT
    seeded = True
    speaker_independent = False
    types = SpeakerKFold.types

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {"k": 5, "seed": 0}

    check = SpeakerKFold.check

    def split(self, df: pd.DataFrame) -> list[Fold]:
        from sklearn.model_selection import StratifiedKFold

        k = int(self.params["k"])
        splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=int(self.params["seed"]))
        labels = _labels(df)
        return [
            Fold(f"fold{i}", np.sort(train), np.sort(test))
            for i, (train, test) in enumerate(splitter.split(np.zeros(len(df)), labels))
        ]


@register_protocol
class Official(Protocol):
    """The corpus' own ``split`` column: one fold (train [+ validation] vs test)."""

    name = "official"
    exhaustive = False
    types = {"train": "list[str] | str", "val": "list[str] | str | None", "test": "list[str] | str"}

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {
            "train": ["train"],
            "val": ["dev", "validation", "valid", "evaluation"],
            "test": ["test"],
        }

    def split(self, df: pd.DataFrame) -> list[Fold]:
        _require(df, "split", self.name)
        split = df["split"].astype("string").str.lower().fillna("")
        names = {
            role: [str(v).lower() for v in _as_list(self.params[role])]
            for role in ("train", "val", "test")
        }
        train = np.flatnonzero(split.isin(names["train"]).to_numpy())
        val = np.flatnonzero(split.isin(names["val"]).to_numpy())
        test = np.flatnonzero(split.isin(names["test"]).to_numpy())
        if len(train) == 0 or len(test) == 0:
            found = ", ".join(sorted(set(split))) or "none"
            raise ProtocolError(
                f"protocol 'official': no rows with split in {names['train']} (train) or "
                f"{names['test']} (test); found split values: {found}. Set protocol.params."
            )
        return [Fold("official", train, test, val if len(val) else None)]


@register_protocol
class CrossCorpus(Protocol):
    """Train on the corpora in ``train``; one fold per corpus in ``test``."""

    name = "cross-corpus"
    exhaustive = False
    types = {"train": "list[str] | str", "test": "list[str] | str"}

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {"train": [], "test": []}

    def split(self, df: pd.DataFrame) -> list[Fold]:
        train_names = [str(c) for c in _as_list(self.params["train"])]
        test_names = [str(c) for c in _as_list(self.params["test"])]
        if not train_names or not test_names:
            raise ConfigError(
                "protocol 'cross-corpus' needs params train: [corpus, ...] and test: [corpus, ...]"
            )
        overlap = sorted(set(train_names) & set(test_names))
        if overlap:
            raise ConfigError(f"protocol 'cross-corpus': {overlap} listed in both train and test")
        corpus = df["corpus"].astype("string").to_numpy(dtype=str)
        present = set(corpus)
        missing = [c for c in train_names + test_names if c not in present]
        if missing:
            raise ConfigError(
                f"protocol 'cross-corpus': corpus {missing} not in the data; "
                f"found {', '.join(sorted(present))}"
            )
        train = np.flatnonzero(np.isin(corpus, train_names))
        label = "+".join(train_names)
        return [
            Fold(f"{label}->{name}", train, np.flatnonzero(corpus == name)) for name in test_names
        ]


def _as_list(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def _disjoint_values(df: pd.DataFrame, key: str) -> np.ndarray | None:
    if key == "text":
        for column in ("text_id", "text"):
            if column in df.columns and df[column].notna().any():
                values = df[column].astype("string")
                prefix = df["corpus"].astype("string") + "/" if column == "text_id" else ""
                return (prefix + values).to_numpy(dtype=object)
        return None
    if key not in df.columns:
        raise ConfigError(
            f"certify: cannot check disjointness in {key!r}: the manifest has no such column"
        )
    return df[key].astype("string").to_numpy(dtype=object)


def certify(
    df: pd.DataFrame,
    folds: list[Fold],
    disjoint: tuple[str, ...] | list[str] = ("speaker",),
    *,
    complete: bool = False,
    protocol: str = "",
) -> Certificate:
    """Verify a protocol's folds; raise naming the offending ids when anything leaks.

    Checks, for every fold: indices in range, train/val/test rows disjoint, no value of each
    ``disjoint`` column (``"speaker"``, ``"session"``, ``"text"`` meaning ``text_id`` or
    ``text``) on both the training (or validation) side and the test side; over the protocol:
    no row is a test row twice, and with ``complete`` every row is a test row.

    Args:
        df: the manifest the folds index (positional).
        folds: the folds.
        disjoint: columns that must not be shared between train (+ val) and test.
        complete: require every row to be tested exactly once (exhaustive protocols).
        protocol: name for messages.

    Returns:
        A :class:`Certificate` for the report.

    Raises:
        ProtocolError: naming the fold and the offending ids / speakers / sentences.
    """
    n = len(df)
    ids = df["id"].astype("string").to_numpy(dtype=object)
    if not folds:
        raise ProtocolError(f"protocol {protocol!r} produced no folds")
    columns = {key: _disjoint_values(df, key) for key in disjoint}
    counts = np.zeros(n, dtype=np.int64)
    for fold in folds:
        parts = {"train": fold.train, "test": fold.test}
        if fold.val is not None:
            parts["val"] = fold.val
        for role, idx in parts.items():
            if len(idx) and (idx.min() < 0 or idx.max() >= n):
                raise ProtocolError(f"fold {fold.name!r}: {role} index out of range for {n} rows")
        if len(fold.test) == 0:
            raise ProtocolError(f"fold {fold.name!r} has no test rows")
        if len(fold.train) == 0:
            raise ProtocolError(f"fold {fold.name!r} has no training rows")
        seen = fold.train if fold.val is None else np.concatenate([fold.train, fold.val])
        if fold.val is not None:
            both = np.intersect1d(fold.train, fold.val)
            if len(both):
                raise ProtocolError(
                    f"fold {fold.name!r}: {len(both)} row(s) both train and validation, "
                    f"e.g. {', '.join(map(str, ids[both[:5]]))}"
                )
        both = np.intersect1d(seen, fold.test)
        if len(both):
            raise ProtocolError(
                f"fold {fold.name!r}: {len(both)} row(s) on both the training and test side, "
                f"e.g. {', '.join(map(str, ids[both[:5]]))}"
            )
        for key, values in columns.items():
            if values is None:
                continue
            shared = sorted(set(values[seen]) & set(values[fold.test]) - {None, pd.NA})
            if shared:
                leak = np.intersect1d(
                    fold.test, np.flatnonzero(np.isin(values, np.array(shared, dtype=object)))
                )
                raise ProtocolError(
                    f"fold {fold.name!r}: {len(shared)} {key} value(s) on both train and test "
                    f"sides: {', '.join(map(str, shared[:10]))}; e.g. test row(s) "
                    f"{', '.join(map(str, ids[leak[:5]]))}. The protocol leaks {key}s."
                )
        np.add.at(counts, fold.test, 1)
    twice = np.flatnonzero(counts > 1)
    if len(twice):
        raise ProtocolError(
            f"protocol {protocol!r}: {len(twice)} row(s) are test rows in more than one fold, "
            f"e.g. {', '.join(map(str, ids[twice[:5]]))}; each test row must be predicted once"
        )
    if complete:
        never = np.flatnonzero(counts == 0)
        if len(never):
            raise ProtocolError(
                f"protocol {protocol!r}: {len(never)} row(s) are never a test row, "
                f"e.g. {', '.join(map(str, ids[never[:5]]))}; every row must be predicted once"
            )
    return Certificate(
        protocol=protocol,
        n_folds=len(folds),
        disjoint=tuple(disjoint),
        n_test_rows=int((counts > 0).sum()),
        n_rows=n,
        complete=bool(complete),
        speaker_independent="speaker" in disjoint,
    )


def speaker_disjoint_validation(
    df_train: pd.DataFrame | np.ndarray | list,
    fraction: float = 0.1,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Split a training fold into train / validation by whole speakers (the runner's
    ``validation:`` section).

    The rule is :func:`serkit.holdout.validation_split`, the one the neural estimators use:
    speakers shuffled with ``seed`` move to validation until at least ``fraction`` of the rows
    are there, and at least two speakers always stay in training. This needs at least three
    training speakers; there is no stratified fallback here (the validation rows must be
    speaker-disjoint). Before the rules were merged this function kept only one speaker in
    training and accepted two speakers. Only ever call it on the training side of a fold.

    Args:
        df_train: the training fold's manifest rows (needs ``speaker``), or an array of
            speaker ids (the ``groups`` a model's ``fit`` receives), shape ``(n,)``.
        fraction: target share of rows in validation, in ``(0, 1)``.
        seed: random seed.

    Returns:
        ``(train_positions, val_positions)``: positional indices into ``df_train``.

    Raises:
        ProtocolError: fewer than 3 speakers or a fraction outside ``(0, 1)``.
    """
    if isinstance(df_train, pd.DataFrame):
        speakers = df_train["speaker"].astype("string").to_numpy(dtype=str)
    else:
        speakers = np.asarray(df_train).astype(str)
    if not 0.0 < float(fraction) < 1.0:
        raise ProtocolError(f"validation fraction must be in (0, 1), got {fraction}")
    labels = np.zeros(len(speakers), dtype=np.int64)  # only a fallback would use them
    train, val, _ = validation_split(labels, speakers, float(fraction), seed, fallback=False)
    return train, val
