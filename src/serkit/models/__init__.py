"""Model registry: every family follows the scikit-learn estimator contract.

A model class stores its ``__init__`` arguments unchanged (so ``get_params`` / ``set_params`` /
``sklearn.base.clone`` work), has a class attribute ``input_level`` (``"utterance"``: ``X`` is
``(n, dim)``; ``"frame"``: ``X`` is a list of ``(frames_i, dim)`` arrays), and implements
``fit(X, y, groups=None) -> self`` (``groups``: speaker ids for a speaker-disjoint
validation split), ``predict``, ``predict_proba`` (columns in ``classes_`` order).

Optional class hooks used elsewhere:

* ``@classmethod test_params() -> dict``: small, fast parameters for the contract suite
  (``tests/models/test_model_contract.py`` runs over every registered model).
* ``_save_weights(folder) -> list[str]`` / ``_load_weights(folder, meta)``: how
  :mod:`serkit.models.package` stores fitted state; required (no estimator is pickled), in a
  format that cannot run code when loaded (torch tensors, skops, JSON, numpy arrays).
* ``check_params(self, input_dim: int | None = None) -> None``: check the values of the
  parameters without fitting (raise :class:`~serkit.errors.ConfigError`), as cheaply as
  possible: classic models run scikit-learn's own parameter validation, neural ones check
  the training options and build their net on the ``meta`` device for ``input_dim`` (when
  known). :func:`check_model` calls it; the experiment config calls that at validation, so
  ``serkit train --dry-run`` finds a bad value before any feature is extracted.

Parameter names and types are checked for every model by :func:`get_model` against the
``__init__`` signature and its type hints (:mod:`serkit.params`): ``epochs=three`` or
``n_estimators=6.5`` is refused there, naming the parameter.

Register with ``@register_model("name")``. Modules of this package (not starting with ``_``, and
not the infrastructure modules ``data``, ``training``, ``package``, ``ddp_smoke``,
``segments``, ``augment``) are imported on first use of the registry, so a new model file
registers itself. Keep torch imports of model modules inside functions where possible.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from serkit.registry import Registry, import_submodules

_INFRASTRUCTURE = {
    "data",
    "training",
    "package",
    "ddp_smoke",
    "segments",
    "augment",
    "nets",
    "segmented",
}


MODELS: Registry[type] = Registry(
    "model",
    name_attribute="model_name",
    discover=lambda: import_submodules(__name__, __path__, skip=_INFRASTRUCTURE),
)


def register_model(name: str) -> Callable[[type], type]:
    """Class decorator: register a class under ``name`` (sets ``cls.model_name``)."""
    return MODELS.register(name)


def list_models() -> list[str]:
    """Names of all registered models, sorted."""
    return MODELS.names()


def get_model_class(name: str) -> type:
    """The estimator class registered under ``name``."""
    return MODELS.get(name)


def get_model(name: str, **params: Any) -> Any:
    """A new, unfitted estimator ``name`` with ``params``.

    Raises:
        ConfigError: a parameter the model does not take, or a value whose type its
            ``__init__`` type hint does not allow (see :mod:`serkit.params`).
    """
    from serkit.params import check_params

    cls = get_model_class(name)
    check_params(cls.__init__, params, f"model {name!r}")
    return cls(**params)


def check_model(name: str, params: dict[str, Any], input_dim: int | None = None) -> Any:
    """Build estimator ``name`` with ``params`` and check the values without fitting.

    Names and types are checked by :func:`get_model`, values by the model's optional
    ``check_params(input_dim)`` hook (see the module docstring).

    Args:
        name: registered model name.
        params: its parameters.
        input_dim: the feature dimension the model will get, when known (neural models
            build their net for it); ``None`` skips the checks that need it.

    Returns:
        The unfitted estimator.

    Raises:
        ConfigError: naming the parameter and the value.
    """
    model = get_model(name, **params)
    hook = getattr(model, "check_params", None)
    if callable(hook):
        hook(input_dim)
    return model


def model_test_params(name: str) -> dict[str, Any]:
    """The small parameters a model declares for tests (``test_params()``), or ``{}``."""
    method = getattr(get_model_class(name), "test_params", None)
    return dict(method()) if callable(method) else {}


__all__ = [
    "MODELS",
    "check_model",
    "get_model",
    "get_model_class",
    "list_models",
    "model_test_params",
    "register_model",
]
