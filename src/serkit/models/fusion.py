"""``fusion``: late fusion of utterance-level models, each on its own block of the features.

The input is a concatenation of feature blocks (e.g. the ``concat`` extractor's eGeMAPS +
ComParE 2016; ``blocks`` gives their sizes in order). Every member is a registered
utterance-level model (``svm``, ``logreg``, ...) trained on one block (``block: -1`` = all
columns); the decision is the weighted mean of the members' log-posteriors (a product of
experts; ``combine="mean"``: of the posteriors).

With ``weights="auto"`` the weights are chosen on the fit's own validation speakers
(:func:`serkit.holdout.validation_split` over ``groups``, ``val_fraction`` of the rows): the
members are fitted on the rest, every point of the simplex grid with step ``weight_step`` is
scored by UAR on the held-out speakers (ties: the more even weights), then the members are
refitted on all rows. With ``val_folds=k`` the training speakers are split into ``k`` speaker
folds instead and the weights are scored on the pooled held-out posteriors of all of them.
Nothing outside the training rows is looked at. Without groups (or too few speakers) the split
is stratified by rows (``val_split_`` says which).
"""

from __future__ import annotations

import itertools
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from serkit.errors import ConfigError, PackageError
from serkit.models import register_model

#: the members when none are given: eGeMAPS + RBF SVM and ComParE + linear SVM, the classic
#: baselines' settings (configs/ravdess_egemaps_svm.yaml, configs/ravdess_compare_svm.yaml)
DEFAULT_MEMBERS: tuple[dict[str, Any], ...] = (
    {"block": 0, "name": "svm", "params": {"C": 1.0, "kernel": "rbf"}},
    {"block": 1, "name": "svm", "params": {"C": 0.001, "kernel": "linear"}},
)
META_FILE = "fusion.json"


def simplex_grid(members: int, step: float) -> np.ndarray:
    """``(points, members)`` weight vectors on the simplex with spacing ``step`` (rows sum to 1)."""
    n = round(1.0 / step)
    if members < 1 or n < 1 or abs(n * step - 1.0) > 1e-9:
        raise ConfigError(f"fusion: weight_step must divide 1 (e.g. 0.25, 0.1), found {step}")
    points = [c for c in itertools.product(range(n + 1), repeat=members) if sum(c) == n]
    return np.asarray(points, dtype=np.float64) / n


def combine_posteriors(probas: list[np.ndarray], weights: np.ndarray, how: str) -> np.ndarray:
    """Weighted fusion of ``(n, classes)`` posteriors -> ``(n, classes)`` (rows sum to 1)."""
    w = np.asarray(weights, dtype=np.float64)
    if how == "product":
        logp = sum(wi * np.log(np.clip(p, 1e-12, None)) for wi, p in zip(w, probas, strict=True))
        logp = logp - logp.max(axis=1, keepdims=True)
        out = np.exp(logp)
    else:
        out = sum(wi * p for wi, p in zip(w, probas, strict=True))
    return out / out.sum(axis=1, keepdims=True)


@register_model("fusion")
class FusionClassifier(ClassifierMixin, BaseEstimator):
    """Late fusion of registered utterance-level models on blocks of the input columns.

    Args:
        blocks: sizes of the column blocks, in order (they must add up to the input dim).
        members: ``[{"block": i, "name": model, "params": {...}}, ...]`` (``None``:
            :data:`DEFAULT_MEMBERS`); ``block: -1`` gives a member all columns.
        weights: ``"auto"`` (chosen on validation speakers) or one weight per member.
        weight_step: spacing of the weight grid for ``"auto"``.
        combine: ``"product"`` (weighted mean of log-posteriors) or ``"mean"``.
        val_fraction: share of the rows held out (whole speakers) to choose the weights.
        val_folds: instead of one split, this many speaker folds of the training rows
            (``speaker-kfold``): the members are fitted once per fold and the weights scored on
            the pooled held-out posteriors of every training speaker (``None``: one split).
        seed: seed of the validation split.

    Attributes:
        members_: the fitted member models.
        weights_: ``(members,)`` the weights used.
        weight_scores_: validation UAR of every grid point (``"auto"``), best first.
        val_split_: how the validation split was made.
        fit_summary_: JSON-able weights and scores (kept in the run's ``history.json``).
    """

    input_level: ClassVar[str] = "utterance"

    def __init__(
        self,
        blocks: list[int] | None = None,
        members: list[dict[str, Any]] | None = None,
        weights: str | list[float] = "auto",
        weight_step: float = 0.1,
        combine: str = "product",
        val_fraction: float = 0.2,
        val_folds: int | None = None,
        seed: int = 0,
    ) -> None:
        self.blocks = blocks
        self.members = members
        self.weights = weights
        self.weight_step = weight_step
        self.combine = combine
        self.val_fraction = val_fraction
        self.val_folds = val_folds
        self.seed = seed

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        """Two cheap members on a 2 + 3 column input (the contract suite's 5 columns)."""
        return {
            "blocks": [2, 3],
            "members": [
                {"block": 0, "name": "logreg", "params": {"C": 1.0}},
                {"block": 1, "name": "logreg", "params": {"C": 0.1}},
            ],
            "weight_step": 0.5,
        }

    # ------------------------------------------------------------------ checks

    def _member_specs(self) -> list[dict[str, Any]]:
        specs = [dict(m) for m in (self.members if self.members is not None else DEFAULT_MEMBERS)]
        if not specs:
            raise ConfigError("fusion: members is empty; give at least one member")
        for i, spec in enumerate(specs):
            unknown = sorted(set(spec) - {"block", "name", "params"})
            if unknown or "name" not in spec:
                raise ConfigError(
                    f"fusion: members[{i}] = {spec!r}; expected keys name, block (default -1) "
                    f"and params{f'; unknown: {unknown}' if unknown else ''}"
                )
            spec.setdefault("block", -1)
            spec["params"] = dict(spec.get("params") or {})
        return specs

    def _slices(self, dim: int | None) -> list[slice]:
        blocks = [int(b) for b in (self.blocks or [])]
        if any(b < 1 for b in blocks):
            raise ConfigError(f"fusion: blocks must be positive sizes, found {self.blocks}")
        if dim is not None and blocks and sum(blocks) != dim:
            raise ConfigError(
                f"fusion: blocks {blocks} add up to {sum(blocks)} columns but the input has "
                f"{dim}; give the sizes of the concatenated feature sets in order (e.g. "
                "[88, 6373] for concat parts [egemaps, compare])"
            )
        edges = np.cumsum([0, *blocks])
        return [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]

    def _columns(self, spec: dict[str, Any], slices: list[slice], i: int) -> slice:
        block = int(spec["block"])
        if block == -1:
            return slice(None)
        if not 0 <= block < len(slices):
            raise ConfigError(
                f"fusion: members[{i}] uses block {block} but blocks={self.blocks} has "
                f"{len(slices)} block(s); use 0..{len(slices) - 1} or -1 (all columns)"
            )
        return slices[block]

    def check_params(self, input_dim: int | None = None) -> None:
        """Check members (registered, utterance-level, their params), blocks and options."""
        from serkit.models import get_model

        if self.combine not in ("product", "mean"):
            raise ConfigError(
                f"fusion: combine must be 'product' or 'mean', found {self.combine!r}"
            )
        if not 0 < self.val_fraction < 1:
            raise ConfigError(f"fusion: val_fraction must be in (0, 1), found {self.val_fraction}")
        if self.val_folds is not None and self.val_folds < 2:
            raise ConfigError(f"fusion: val_folds must be >= 2 or null, found {self.val_folds}")
        specs = self._member_specs()
        slices = self._slices(input_dim)
        for i, spec in enumerate(specs):
            self._columns(spec, slices, i)
            model = get_model(spec["name"], **spec["params"])
            if getattr(model, "input_level", "utterance") != "utterance":
                raise ConfigError(
                    f"fusion: members[{i}] {spec['name']!r} takes frame-level input; fusion "
                    "members are utterance-level models (svm, logreg, rf, mlp, ...)"
                )
            if hasattr(model, "check_params"):
                model.check_params()
        if self.weights == "auto":
            simplex_grid(len(specs), float(self.weight_step))
        elif isinstance(self.weights, str) or len(self.weights) != len(specs):
            raise ConfigError(
                f"fusion: weights must be 'auto' or {len(specs)} numbers (one per member), "
                f"found {self.weights!r}"
            )
        elif min(self.weights) < 0 or sum(self.weights) <= 0:
            raise ConfigError(f"fusion: weights must be >= 0 and not all 0, found {self.weights}")

    # ------------------------------------------------------------------ fitting

    def _fit_members(self, X: np.ndarray, y: np.ndarray, groups: Any) -> list[Any]:
        from serkit.models import get_model

        slices = self._slices(X.shape[1])
        fitted = []
        for i, spec in enumerate(self._member_specs()):
            cols = self._columns(spec, slices, i)
            model = get_model(spec["name"], **spec["params"])
            fitted.append(model.fit(X[:, cols], y, groups))
        return fitted

    def _probas(self, members: list[Any], X: np.ndarray) -> list[np.ndarray]:
        slices = self._slices(X.shape[1])
        return [
            m.predict_proba(X[:, self._columns(spec, slices, i)])
            for i, (m, spec) in enumerate(zip(members, self._member_specs(), strict=True))
        ]

    def fit(self, X: Any, y: Any, groups: Any = None) -> FusionClassifier:
        """Fit the members on their blocks of ``X`` ``(n, dim)`` (after choosing the weights on
        validation speakers when ``weights="auto"``)."""
        from serkit.models.classic import check_matrix

        X = check_matrix(X, who="fusion")
        y = np.asarray(y)
        if len(y) != len(X):
            raise ConfigError(f"fusion: {len(X)} feature rows but {len(y)} labels")
        self.check_params(X.shape[1])
        groups = None if groups is None else np.asarray(groups)
        n = len(self._member_specs())
        self.weight_scores_: list[dict[str, Any]] = []
        self.val_split_ = "none (weights given)"
        if self.weights == "auto":
            weights = self._choose_weights(X, y, groups, n)
        else:
            weights = np.asarray(self.weights, dtype=np.float64)
            weights = weights / weights.sum()
        self.weights_ = weights
        self.members_ = self._fit_members(X, y, groups)
        self.classes_ = self.members_[0].classes_
        for m in self.members_[1:]:
            if not np.array_equal(m.classes_, self.classes_):
                raise ConfigError("fusion: members ordered their classes differently")
        self.n_features_in_ = X.shape[1]
        self.fit_summary_ = {
            "weights": self.weights_.tolist(),
            "val_split": self.val_split_,
            "weight_scores": self.weight_scores_[:10],
        }
        return self

    def _validation_parts(
        self, y: np.ndarray, groups: np.ndarray | None
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """``(train, validation)`` positions: one speaker-disjoint split, or ``val_folds``
        speaker folds (every training speaker validates once); sets ``val_split_``."""
        import pandas as pd

        from serkit.holdout import validation_split
        from serkit.protocols import get_protocol

        _, y_idx = np.unique(y, return_inverse=True)
        k = self.val_folds
        if k is not None and groups is not None and len(set(groups.tolist())) >= k:
            df = pd.DataFrame({"speaker": groups.astype(str), "emotion": y.astype(str)})
            folds = get_protocol("speaker-kfold", k=int(k), seed=int(self.seed)).split(df)
            self.val_split_ = f"speaker-kfold: {k} folds over {len(set(groups.tolist()))} speakers"
            return [(f.train, f.test) for f in folds]
        tr, va, note = validation_split(y_idx, groups, self.val_fraction, self.seed)
        self.val_split_ = note
        return [(tr, va)] if len(va) else []

    def _choose_weights(
        self, X: np.ndarray, y: np.ndarray, groups: np.ndarray | None, n: int
    ) -> np.ndarray:
        """The grid point with the best UAR on the held-out speakers' pooled posteriors (ties:
        the more even weights); even weights when there is nothing to hold out."""
        from serkit import metrics

        classes = np.unique(y)
        held, probas = [], []
        for tr, va in self._validation_parts(y, groups):
            if len(np.unique(y[tr])) < len(classes):
                continue  # a member cannot learn every class from this part
            members = self._fit_members(X[tr], y[tr], None if groups is None else groups[tr])
            held.append(va)
            probas.append(self._probas(members, X[va]))
        if not held:
            return np.full(n, 1.0 / n)
        va = np.concatenate(held)
        pooled = [np.concatenate([p[m] for p in probas]) for m in range(n)]
        even = np.full(n, 1.0 / n)
        scores = []
        for w in simplex_grid(n, float(self.weight_step)):
            pred = classes[combine_posteriors(pooled, w, self.combine).argmax(axis=1)]
            score = float(metrics.uar(y[va], pred, classes))
            scores.append((-score, float(np.abs(w - even).sum()), w.round(6).tolist()))
        scores.sort()
        self.weight_scores_ = [{"weights": w, "uar": -s} for s, _, w in scores]
        return np.asarray(self.weight_scores_[0]["weights"])

    def predict_proba(self, X: Any) -> np.ndarray:
        """Fused posteriors ``(n, classes)`` in ``classes_`` order."""
        from serkit.models.classic import check_matrix

        if not hasattr(self, "members_"):
            raise ConfigError("fusion is not fitted; call fit() or load_model()")
        X = check_matrix(X, who="fusion")
        if X.shape[1] != self.n_features_in_:
            raise ConfigError(
                f"fusion: input has {X.shape[1]} features per row but the model was trained on "
                f"{self.n_features_in_}; use the front end it was trained with"
            )
        return combine_posteriors(self._probas(self.members_, X), self.weights_, self.combine)

    def predict(self, X: Any) -> np.ndarray:
        """Labels ``(n,)``: arg-max of :meth:`predict_proba`."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    # ------------------------------------------------------------------ packages

    def _save_weights(self, folder: Path) -> list[str]:
        """Each member's weight files as ``member<i>-<file>`` plus ``fusion.json``."""
        files, members = [], []
        for i, model in enumerate(self.members_):
            with tempfile.TemporaryDirectory(dir=folder) as tmp:
                own = [str(f) for f in model._save_weights(Path(tmp))]
                for name in own:
                    shutil.move(str(Path(tmp) / name), folder / f"member{i}-{name}")
            files += [f"member{i}-{name}" for name in own]
            members.append({"files": own, "classes": np.asarray(model.classes_).tolist()})
        meta = {
            "weights": self.weights_.tolist(),
            "n_features_in": int(self.n_features_in_),
            "members": members,
        }
        (folder / META_FILE).write_text(json.dumps(meta, indent=1))
        return sorted([*files, META_FILE])

    def _load_weights(self, folder: Path, meta: dict[str, Any]) -> None:
        from serkit.models import get_model

        try:
            own = json.loads((folder / META_FILE).read_text())
        except (OSError, ValueError) as exc:
            raise PackageError(
                f"{folder / META_FILE}: not readable ({exc}); the package is damaged; retrain"
            ) from exc
        specs = self._member_specs()
        if len(own.get("members", [])) != len(specs):
            raise PackageError(
                f"{folder / META_FILE}: holds {len(own.get('members', []))} members but the "
                f"params name {len(specs)}; the package was modified; retrain"
            )
        self.members_ = []
        for i, (spec, saved) in enumerate(zip(specs, own["members"], strict=True)):
            model = get_model(spec["name"], **spec["params"])
            with tempfile.TemporaryDirectory() as tmp:
                for name in saved["files"]:
                    shutil.copy(folder / f"member{i}-{name}", Path(tmp) / name)
                model._load_weights(
                    Path(tmp), {"classes": saved["classes"], "weights": saved["files"]}
                )
            self.members_.append(model)
        self.weights_ = np.asarray(own["weights"], dtype=np.float64)
        self.n_features_in_ = int(own["n_features_in"])
        self.classes_ = self.members_[0].classes_


__all__ = ["DEFAULT_MEMBERS", "FusionClassifier", "combine_posteriors", "simplex_grid"]
