"""Encoder families for ``serkit pretrain``: representations learned before classification.

An encoder family is a :class:`torch.nn.Module` subclass registered with
:func:`register_encoder`; the contract it follows is :class:`serkit.encoders.base.EncoderNet`.
``serkit pretrain CONFIG`` trains one on manifest rows and writes an encoder package
(:mod:`serkit.encoders.package`); the ``encoder`` extractor turns a package into features.

Modules of this package not starting with ``_`` and not listed in ``_INFRASTRUCTURE`` are
imported on first use of the registry, so a new family file registers itself.
"""

from __future__ import annotations

from collections.abc import Callable

from serkit.registry import Registry, import_submodules

_INFRASTRUCTURE = {
    "base",
    "package",
    "pretrain",
    "config",
    "losses",
    "leakage",
    "hdf5",
    "plots",
    "listen",
    "report",
    "data",
    "trainer",
}

ENCODERS: Registry[type] = Registry(
    "encoder",
    name_attribute="encoder_name",
    discover=lambda: import_submodules(__name__, __path__, skip=_INFRASTRUCTURE),
)


def register_encoder(name: str) -> Callable[[type], type]:
    """Class decorator: register an encoder family under ``name`` (sets ``encoder_name``)."""
    return ENCODERS.register(name)


def get_encoder_class(name: str) -> type:
    """The encoder family registered under ``name`` (helpful error when unknown)."""
    return ENCODERS.get(name)


def list_encoders() -> list[str]:
    """Names of every registered encoder family, sorted."""
    return ENCODERS.names()
