"""Per-fold augmentation run by the experiment runner (config section ``augment``).

An augmenter is fitted on one training fold's feature vectors and turns feature vectors of a
source corpus (unlabelled for it) into labelled synthetic rows; the runner adds them to that
fold's training rows only. The contract is :class:`serkit.augment.base.Augmenter`; register
with :func:`register_augmenter`. Modules of this package not starting with ``_`` and not
listed in ``_INFRASTRUCTURE`` are imported on first use, so a new file registers itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from serkit.registry import Registry, import_submodules

_INFRASTRUCTURE = {"base", "fisher", "losses", "runner", "synthetic", "plots", "analysis"}

AUGMENTERS: Registry[type] = Registry(
    "augmenter",
    name_attribute="augmenter_name",
    discover=lambda: import_submodules(__name__, __path__, skip=_INFRASTRUCTURE),
)


def register_augmenter(name: str) -> Callable[[type], type]:
    """Class decorator: register an augmenter class under ``name``."""
    return AUGMENTERS.register(name)


def get_augmenter(name: str, **params: Any) -> Any:
    """A new augmenter ``name`` built with ``params`` (helpful error for unknown names).

    Raises:
        ConfigError: a parameter the augmenter does not take, or a value whose type its
            ``__init__`` type hint does not allow (see :mod:`serkit.params`).
    """
    from serkit.params import check_params

    cls = AUGMENTERS.get(name)
    check_params(cls.__init__, params, f"augmenter {name!r}")
    return cls(**params)


def list_augmenters() -> list[str]:
    """Names of every registered augmenter, sorted."""
    return AUGMENTERS.names()
