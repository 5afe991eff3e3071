"""Registry of neural nets (``nn.Module`` classes) trained by :class:`NeuralClassifier`.

Every net follows one contract:

* ``__init__(self, input_dim: int, num_classes: int, **params)``: sizes and options only.
* ``forward(self, x, lengths) -> logits`` with ``x`` of shape ``(batch, frames, dim)`` (float32,
  zero-padded after each sequence's end), ``lengths`` of shape ``(batch,)`` (int64, real frames
  per row) and ``logits`` of shape ``(batch, num_classes)``. Padded frames must not change the
  output (mask them), so a sequence gets the same logits alone or in a padded batch.
* optional ``@classmethod test_params(cls) -> dict``: small sizes used by the contract suite
  (``tests/models/test_model_contract.py``: shape, padding invariance and a tiny-overfit test on
  8 random sequences); default ``{}``.
* optional class attribute ``min_frames`` (int, default 1): shortest input the net accepts;
  the contract suite feeds sequences at least that long.

Register a net with the decorator::

    from serkit.models.nets import register_net

    @register_net("my-net")
    class MyNet(nn.Module):
        ...

Any module placed in this package (not starting with ``_``) is imported automatically the first
time the registry is queried, so a new file is all a new family needs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from serkit.registry import Registry, import_submodules

NETS: Registry[type] = Registry(
    "net",
    name_attribute="net_name",
    discover=lambda: import_submodules(__name__, __path__),
)


def register_net(name: str) -> Callable[[type], type]:
    """Class decorator: register a class under ``name`` (sets ``cls.net_name``)."""
    return NETS.register(name)


def list_nets() -> list[str]:
    """Names of all registered nets, sorted."""
    return NETS.names()


def get_net(name: str) -> type:
    """The net class registered under ``name`` (raises :class:`RegistryError` if unknown)."""
    return NETS.get(name)


def build_net(name: str, input_dim: int, num_classes: int, **params: Any) -> Any:
    """Instantiate net ``name`` for ``input_dim`` features and ``num_classes`` classes.

    Raises:
        ConfigError: a parameter the net does not take (naming those it does), or a value of
            a type its signature does not allow.
    """
    check_net_params(name, params)
    return get_net(name)(int(input_dim), int(num_classes), **params)


def check_net_params(name: str, params: dict[str, Any]) -> None:
    """Check the names and types of net ``name``'s ``params`` against its ``__init__``
    signature (:func:`serkit.params.check_params`); a net taking ``**params`` checks the
    names itself when built.

    Raises:
        ConfigError: an unknown net, an unknown parameter or a value of the wrong type.
    """
    from serkit.params import check_params

    check_params(get_net(name).__init__, params, f"net {name!r}", skip=_SIZES)


_SIZES = ("self", "input_dim", "num_classes")


def net_test_params(name: str) -> dict[str, Any]:
    """The small parameters a net declares for tests (``test_params()``), or ``{}``."""
    cls = get_net(name)
    method = getattr(cls, "test_params", None)
    return dict(method()) if callable(method) else {}


__all__ = [
    "NETS",
    "build_net",
    "check_net_params",
    "get_net",
    "list_nets",
    "net_test_params",
    "register_net",
]
