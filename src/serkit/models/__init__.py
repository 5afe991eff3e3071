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
    """A new, unfitted estimator ``name`` with ``params`` (unknown params raise ConfigError)."""
    import inspect

    from serkit.errors import ConfigError

    cls = get_model_class(name)
    accepted = inspect.signature(cls.__init__).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
        unknown = sorted(set(params) - set(accepted) - {"self"})
        if unknown:
            known = sorted(set(accepted) - {"self"})
            raise ConfigError(
                f"model {name!r} has no parameter(s) {', '.join(unknown)}; "
                f"known: {', '.join(known)}"
            )
    return cls(**params)


def model_test_params(name: str) -> dict[str, Any]:
    """The small parameters a model declares for tests (``test_params()``), or ``{}``."""
    method = getattr(get_model_class(name), "test_params", None)
    return dict(method()) if callable(method) else {}


__all__ = [
    "MODELS",
    "get_model",
    "get_model_class",
    "list_models",
    "model_test_params",
    "register_model",
]
