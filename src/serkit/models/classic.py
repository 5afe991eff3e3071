"""Classic utterance-level models: ``svm``, ``logreg``, ``rf``, ``mlp``.

Each is an sklearn ``Pipeline(StandardScaler, classifier)`` wrapped in a small estimator that
follows the scikit-learn contract, so the scaler is fitted inside every training fold. Class
weighting is ``"balanced"`` by default where sklearn supports it (SVC, LogisticRegression,
RandomForest); MLPClassifier has no class weights. ``predict`` is the arg-max of
``predict_proba`` so that labels and probabilities always agree (SVC's Platt-scaled
probabilities can otherwise disagree with its decision function).

Packages store the fitted pipeline in skops format (``pipeline.skops``), which rebuilds objects
from a schema instead of running code: loading accepts only skops' own trusted types (numpy,
scipy and sklearn estimators) plus the few sklearn internals in :data:`TRUSTED_TYPES`, which
serkit's four pipelines need; a file that names any other type is refused. (skops over ONNX
via skl2onnx: it keeps the very sklearn objects, so a loaded model's ``predict_proba`` is
bit-identical, needs no converter per estimator, and works for any ``set_params``.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from serkit.errors import ConfigError, PackageError
from serkit.models import register_model

#: the weight file of a classic package, and the pickle that format-1 packages had instead
SKOPS_FILE = "pipeline.skops"
LEGACY_FILE = "pipeline.joblib"
#: types beyond skops' defaults that serkit's pipelines hold (svm: Platt calibration; rf: the
#: fitted trees; mlp: the Adam optimiser state); all are plain data containers
TRUSTED_TYPES = (
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.tree._tree.Tree",
)


def load_pipeline(path: Path) -> Any:
    """Load a skops file whose types are all trusted (skops' defaults + :data:`TRUSTED_TYPES`).

    Raises:
        PackageError: the file names other types, or is not a readable skops file.
    """
    import zipfile

    import skops.io as sio

    try:
        types = sio.get_untrusted_types(file=path)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise PackageError(
            f"{path}: not a readable skops file ({type(exc).__name__}: {exc}); the package is "
            "damaged; re-export or retrain"
        ) from exc
    unknown = sorted(set(types) - set(TRUSTED_TYPES))
    if unknown:
        raise PackageError(
            f"{path}: holds types serkit does not trust ({', '.join(unknown)}; it trusts "
            f"{', '.join(TRUSTED_TYPES)} besides skops' defaults); serkit never writes these, so "
            "the file was replaced or made elsewhere; refusing to load it"
        )
    return sio.load(path, trusted=types)


def check_matrix(X: Any, *, who: str) -> np.ndarray:
    """Validate utterance-level input ``(n, dim)`` float (names the problem)."""
    if isinstance(X, list) and X and np.asarray(X[0]).ndim == 2:
        raise ConfigError(
            f"{who} expects utterance-level features (n, dim), found a list of frame "
            "matrices; use an utterance-level extractor (e.g. statistics) or a neural model"
        )
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ConfigError(f"{who} expects a non-empty (n, dim) matrix, found shape {X.shape}")
    bad = np.flatnonzero(~np.all(np.isfinite(X), axis=1))
    if len(bad):
        raise ConfigError(
            f"{who}: rows {bad[:5].tolist()} contain NaN or inf features; "
            "fix or drop those utterances"
        )
    return X


class _PipelineClassifier(ClassifierMixin, BaseEstimator):
    """Base: subclasses implement :meth:`_classifier` returning the unfitted sklearn model."""

    input_level: ClassVar[str] = "utterance"

    def _classifier(self, y: np.ndarray) -> Any:
        """The unfitted sklearn classifier for labels ``y`` ``(n,)``."""
        raise NotImplementedError

    def fit(self, X: Any, y: Any, groups: Any = None) -> _PipelineClassifier:
        """Fit scaler + classifier on ``X`` ``(n, dim)`` and labels ``y`` ``(n,)``.

        ``groups`` is accepted for the common contract and unused.
        """
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.utils._param_validation import InvalidParameterError

        X = check_matrix(X, who=type(self).__name__)
        y = np.asarray(y)
        if len(y) != len(X):
            raise ConfigError(f"{len(X)} feature rows but {len(y)} labels")
        if len(np.unique(y)) < 2:
            raise ConfigError(f"need at least 2 classes to train, found {np.unique(y).tolist()}")
        self.pipeline_ = Pipeline([("scale", StandardScaler()), ("clf", self._classifier(y))])
        try:
            self.pipeline_.fit(X, y)
        except InvalidParameterError as exc:  # sklearn rejected a value of our params
            raise self._bad_param(exc) from exc
        self.classes_ = self.pipeline_.classes_
        self.n_features_in_ = X.shape[1]
        return self

    def check_params(self, input_dim: int | None = None) -> None:
        """Check the parameter values without fitting: scikit-learn's own validation of the
        classifier (and of the estimator it wraps), as ``fit`` would run it.

        Raises:
            ConfigError: naming the parameter, its allowed values and the value found.
        """
        from sklearn.utils._param_validation import InvalidParameterError

        classifier = self._classifier(np.repeat([0, 1], 5))  # labels: 5 rows per class
        try:
            for estimator in (classifier, getattr(classifier, "estimator", None)):
                if estimator is not None:
                    estimator._validate_params()
        except InvalidParameterError as exc:
            raise self._bad_param(exc) from exc

    def _bad_param(self, exc: Exception) -> ConfigError:
        return ConfigError(
            f"{type(self).__name__}: {exc} Fix that parameter of the model "
            f"(its params: {self.get_params()})"
        )

    def predict_proba(self, X: Any) -> np.ndarray:
        """Posteriors ``(n, classes)`` in ``classes_`` order."""
        if not hasattr(self, "pipeline_"):
            raise ConfigError(f"{type(self).__name__} is not fitted; call fit() or load_model()")
        X = check_matrix(X, who=type(self).__name__)
        if X.shape[1] != self.n_features_in_:
            raise ConfigError(
                f"{type(self).__name__}: input has {X.shape[1]} features per row but the model "
                f"was trained on {self.n_features_in_}; use the front end it was trained with"
            )
        return self.pipeline_.predict_proba(X)

    def predict(self, X: Any) -> np.ndarray:
        """Labels ``(n,)``: arg-max of :meth:`predict_proba`."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def _save_weights(self, folder: Path) -> list[str]:
        """Write the fitted pipeline as ``pipeline.skops`` (refusing types serkit does not
        trust, so that every package it writes loads again)."""
        import skops.io as sio

        data = sio.dumps(self.pipeline_)
        unknown = sorted(set(sio.get_untrusted_types(data=data)) - set(TRUSTED_TYPES))
        if unknown:
            raise ConfigError(
                f"{type(self).__name__}: the fitted pipeline holds types outside serkit's "
                f"trusted list ({', '.join(unknown)}); add them to "
                "serkit.models.classic.TRUSTED_TYPES after checking that they only hold data"
            )
        with open(folder / SKOPS_FILE, "wb") as handle:
            handle.write(data)
        return [SKOPS_FILE]

    def _load_weights(self, folder: Path, meta: dict[str, Any]) -> None:
        """Read ``pipeline.skops`` with :data:`TRUSTED_TYPES` (or, for format-1 packages that
        :func:`serkit.models.package.load_model` let through with ``trust_pickle=True``, the
        pickled ``pipeline.joblib``)."""
        if LEGACY_FILE in meta.get("weights", []):
            import joblib

            self.pipeline_ = joblib.load(folder / LEGACY_FILE)  # the caller trusts it
        else:
            self.pipeline_ = load_pipeline(folder / SKOPS_FILE)
        self.classes_ = self.pipeline_.classes_
        self.n_features_in_ = self.pipeline_.n_features_in_


@register_model("svm")
class SVMClassifier(_PipelineClassifier):
    """SVM with Platt-scaled probabilities (``CalibratedClassifierCV(SVC, ensemble=False)``,
    internal stratified CV with up to 5 folds).

    Args:
        C: regularisation strength (inverse).
        kernel: ``"rbf"``, ``"linear"``, ``"poly"`` or ``"sigmoid"``.
        gamma: kernel coefficient (``"scale"``, ``"auto"`` or a float).
        class_weight: ``"balanced"`` or ``None``.
        seed: random state of the probability calibration.
    """

    def __init__(
        self,
        C: float = 1.0,
        kernel: str = "rbf",
        gamma: str | float = "scale",
        class_weight: str | None = "balanced",
        seed: int = 0,
    ) -> None:
        self.C = C
        self.kernel = kernel
        self.gamma = gamma
        self.class_weight = class_weight
        self.seed = seed

    def _classifier(self, y: np.ndarray) -> Any:
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.svm import SVC

        svc = SVC(
            C=self.C,
            kernel=self.kernel,
            gamma=self.gamma,
            class_weight=self.class_weight,
            random_state=self.seed,
        )
        smallest = int(np.unique(y, return_counts=True)[1].min())
        if smallest < 2:
            raise ConfigError(
                f"svm: a class has only {smallest} training example; Platt calibration needs "
                "at least 2 per class (use logreg or more data)"
            )
        return CalibratedClassifierCV(svc, method="sigmoid", cv=min(5, smallest), ensemble=False)


@register_model("logreg")
class LogRegClassifier(_PipelineClassifier):
    """Multinomial logistic regression.

    Args:
        C: inverse L2 regularisation strength.
        class_weight: ``"balanced"`` or ``None``.
        max_iter: solver iterations.
        seed: random state.
    """

    def __init__(
        self,
        C: float = 1.0,
        class_weight: str | None = "balanced",
        max_iter: int = 2000,
        seed: int = 0,
    ) -> None:
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.seed = seed

    def _classifier(self, y: np.ndarray) -> Any:
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(
            C=self.C,
            class_weight=self.class_weight,
            max_iter=self.max_iter,
            random_state=self.seed,
        )


@register_model("rf")
class RandomForestModel(_PipelineClassifier):
    """Random forest (scaling is harmless and keeps the pipeline uniform).

    Args:
        n_estimators: trees.
        max_depth: maximum tree depth (``None``: unlimited).
        min_samples_leaf: minimum samples per leaf.
        class_weight: ``"balanced"``, ``"balanced_subsample"`` or ``None``.
        n_jobs: parallel jobs (1 by default; runtime only).
        seed: random state.
    """

    def __init__(
        self,
        n_estimators: int = 300,
        max_depth: int | None = None,
        min_samples_leaf: int = 1,
        class_weight: str | None = "balanced",
        n_jobs: int = 1,
        seed: int = 0,
    ) -> None:
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.class_weight = class_weight
        self.n_jobs = n_jobs
        self.seed = seed

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        """Few trees for tests."""
        return {"n_estimators": 20}

    def _classifier(self, y: np.ndarray) -> Any:
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(
            n_estimators=self.n_estimators,
            max_depth=self.max_depth,
            min_samples_leaf=self.min_samples_leaf,
            class_weight=self.class_weight,
            n_jobs=self.n_jobs,
            random_state=self.seed,
        )


@register_model("mlp")
class MLPModel(_PipelineClassifier):
    """sklearn multi-layer perceptron (no class weighting: sklearn has none for it).

    Args:
        hidden_layer_sizes: units per hidden layer.
        alpha: L2 penalty.
        learning_rate_init: Adam learning rate.
        max_iter: epochs.
        early_stopping: hold out 10 % (stratified, not speaker-disjoint) to stop early.
        seed: random state.
    """

    def __init__(
        self,
        hidden_layer_sizes: tuple[int, ...] | list[int] = (256, 128),
        alpha: float = 1e-3,
        learning_rate_init: float = 1e-3,
        max_iter: int = 300,
        early_stopping: bool = False,
        seed: int = 0,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.alpha = alpha
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.early_stopping = early_stopping
        self.seed = seed

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        """A small, short MLP for tests."""
        return {"hidden_layer_sizes": [16], "max_iter": 200}

    def fit(self, X: Any, y: Any, groups: Any = None) -> MLPModel:
        """As the base ``fit``; sklearn's "did not converge" warning is silenced."""
        import warnings

        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return super().fit(X, y, groups)

    def _classifier(self, y: np.ndarray) -> Any:
        from sklearn.neural_network import MLPClassifier

        return MLPClassifier(
            hidden_layer_sizes=tuple(self.hidden_layer_sizes),
            alpha=self.alpha,
            learning_rate_init=self.learning_rate_init,
            max_iter=self.max_iter,
            early_stopping=self.early_stopping,
            random_state=self.seed,
        )
