"""Checks that find a bad experiment config before any work: the parts built, the paths.

:func:`check_components` (called by :func:`~serkit.experiment.config.validate_config`) builds
the feature front end, the model, the protocol and the inner search protocol from the config,
with every parameter checked for its name, type and value without extracting a feature or
fitting anything: ``model.params.C=ten``, ``kernel=foo``, ``epochs=three``, an unknown
``net_params`` key, ``lr=-1``, ``protocol.params.k=6.5`` each give one
:class:`~serkit.errors.ConfigError` that names the config key. Neural models build their net on
torch's ``meta`` device for the extractor's dimension where the extractor knows it
(``feature_names()``), which costs no memory.

Before a run extracts anything (and in the dry run), :func:`check_level` checks that the model
takes the extractor's level (a config that mixes them still validates, e.g. to load its
features) and :func:`check_paths` the folders a run writes into (the run folder's parent and
the feature store): a path below an existing file is refused before anything is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from serkit.errors import ConfigError, RegistryError, SerkitError


def _keyed(key: str, exc: SerkitError, name_key: str | None = None) -> ConfigError:
    """``exc`` as a ConfigError naming the config key it came from (``name_key`` for an
    unknown registry name)."""
    if isinstance(exc, RegistryError) and name_key is not None:
        key = name_key
    message = exc.message
    if message.startswith("config key "):
        return ConfigError(message, hint=exc.hint)
    return ConfigError(f"config key {key}: {message}", hint=exc.hint)


def check_components(cfg: dict[str, Any]) -> None:
    """Build the front end, model, protocol and inner protocol of a resolved config.

    Raises:
        ConfigError: a name or parameter that cannot work, naming its config key.
    """
    from serkit.features.frontend import Frontend
    from serkit.models import check_model, get_model

    try:
        frontend = Frontend.from_config(cfg["features"])
    except SerkitError as exc:
        raise _keyed("features.params", exc, "features.name") from None
    model_cfg = cfg["model"]
    try:
        model = get_model(model_cfg["name"], **model_cfg["params"])
    except SerkitError as exc:
        raise _keyed("model.params", exc, "model.name") from None
    level = getattr(model, "input_level", "utterance")  # a mismatch: see check_level
    dim = _input_dim(frontend) if level == frontend.level == "frame" else None
    try:
        check_model(model_cfg["name"], model_cfg["params"], dim)
    except SerkitError as exc:
        raise _keyed("model.params", exc, "model.params.net") from None
    _check_protocols(cfg)
    if cfg["search"] is not None:
        for key, values in cfg["search"]["param_grid"].items():
            for value in values:
                try:
                    check_model(model_cfg["name"], {**model_cfg["params"], key: value}, dim)
                except SerkitError as exc:
                    raise _keyed(f"search.param_grid.{key}", exc) from None


def check_level(cfg: dict[str, Any]) -> str:
    """The model's input level, checked against the extractor's (before any extraction).

    Raises:
        ConfigError: an utterance-level model on frame-level features or the reverse.
    """
    from serkit.experiment.data import model_level
    from serkit.features.frontend import Frontend
    from serkit.models import get_model

    model = get_model(cfg["model"]["name"], **cfg["model"]["params"])
    return model_level(model, Frontend.from_config(cfg["features"]).level, cfg)


def _input_dim(frontend: Any) -> int | None:
    """The feature dimension the front end gives, when its extractor knows its names."""
    try:
        names = frontend.extractor.feature_names()
    except SerkitError as exc:
        raise _keyed("features.params", exc) from None
    return len(names) if names else None


def _check_protocols(cfg: dict[str, Any]) -> None:
    from serkit.experiment.runner import build_protocol
    from serkit.experiment.search import inner_protocol

    seed = cfg["seeds"][0]
    try:
        build_protocol(cfg, seed)
    except SerkitError as exc:
        raise _keyed("protocol.params", exc) from None
    if cfg["search"] is not None:
        try:
            inner_protocol(cfg["search"]["inner"], seed)
        except SerkitError as exc:
            raise _keyed("search.inner.params", exc) from None


def check_folder(path: str | Path, what: str) -> Path:
    """Check that ``path`` is, or can be made, a folder: neither it nor a parent is a file.

    Args:
        path: the folder.
        what: how the caller names it in messages (``"output"``, ``"features.store"``).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        ConfigError: naming the file in the way.
    """
    path = Path(path)
    for part in (path, *path.parents):
        if part.exists():
            if not part.is_dir():
                where = "is a file" if part == path else f"is below the file {part}"
                raise ConfigError(
                    f"{what} {path}: {where}, not a folder; choose another {what} (or move "
                    "the file)"
                )
            break
    return path


def check_paths(cfg: dict[str, Any], output: str | Path) -> None:
    """Check the folders a run of ``cfg`` writes into: ``output`` (the parent of the run
    folder) and ``features.store``.

    Raises:
        ConfigError: a path that is, or is below, an existing file.
    """
    check_folder(output, "output")
    check_folder(cfg["features"]["store"], "features.store")
