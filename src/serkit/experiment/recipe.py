"""Fusion recipes: one config that trains several experiments on the same folds and fuses them.

A recipe is a YAML file with a ``fuse`` section instead of ``features`` / ``model``::

    name: ravdess_recipe
    protocol: {name: speaker-kfold, params: {k: 6, seed: 0}, disjoint: [speaker]}
    fuse:
      members:
        - ravdess_compare_svm_spknorm.yaml          # paths relative to the recipe
        - {config: ravdess_acrnn_spknorm.yaml, overrides: ["seeds=[0,1,2]"]}
      weights: [1, 1]                                # default: equal
    output: runs/

``serkit train RECIPE`` trains (or resumes) every member as the run ``<name>--<member name>``
with the recipe's ``protocol`` (so every member has the same test folds), then writes the fused
run ``<output>/<name>`` with :func:`serkit.experiment.fuse.fuse_runs`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from serkit.errors import ConfigError

KEYS = ("name", "description", "protocol", "fuse", "output")


def is_recipe(raw: dict[str, Any]) -> bool:
    """Whether a loaded YAML mapping is a fusion recipe (it has a ``fuse`` section)."""
    return "fuse" in raw


def _member(item: Any, index: int, folder: Path, where: str) -> dict[str, Any]:
    if isinstance(item, str):
        item = {"config": item}
    if not isinstance(item, dict) or not isinstance(item.get("config"), str):
        raise ConfigError(
            f"{where}: fuse.members[{index}] must be a config path or "
            f"{{config: PATH, overrides: [KEY=VALUE, ...]}}, found {item!r}"
        )
    unknown = sorted(set(item) - {"config", "overrides"})
    if unknown:
        raise ConfigError(f"{where}: fuse.members[{index}] has unknown key(s) {unknown}")
    overrides = item.get("overrides") or []
    if not isinstance(overrides, list) or not all(isinstance(o, str) for o in overrides):
        raise ConfigError(f"{where}: fuse.members[{index}].overrides must be a list of KEY=VALUE")
    path = Path(item["config"])
    path = path if path.is_absolute() else folder / path
    if not path.is_file():
        raise ConfigError(f"{where}: fuse.members[{index}]: no config file {path}")
    return {"config": str(path), "overrides": list(overrides)}


def load_recipe(path: str | os.PathLike, overrides: list[str] | tuple[str, ...] = ()) -> dict:
    """Read and check a recipe (:func:`check_recipe`)."""
    from serkit.config import load

    return check_recipe(load(path, overrides), path)


def check_recipe(raw: dict[str, Any], path: str | os.PathLike) -> dict:
    """Check a recipe read from ``path``; member config paths come back absolute.

    Raises:
        ConfigError: unknown keys, no or bad members, a missing member config, bad weights.
    """
    from serkit.experiment.config import check_name
    from serkit.experiment.fuse import check_weights

    path = Path(path)
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        raise ConfigError(
            f"{path}: a fusion recipe (it has `fuse`) takes only {list(KEYS)}; found {unknown}. "
            "Put features and models in the member configs"
        )
    fuse = raw.get("fuse")
    if not isinstance(fuse, dict) or not isinstance(fuse.get("members"), list):
        raise ConfigError(f"{path}: fuse must be a mapping with a list `members`")
    extra = sorted(set(fuse) - {"members", "weights"})
    if extra:
        raise ConfigError(f"{path}: fuse has unknown key(s) {extra}; it takes members, weights")
    members = [_member(m, i, path.parent, str(path)) for i, m in enumerate(fuse["members"])]
    if len(members) < 2:
        raise ConfigError(f"{path}: fuse.members lists {len(members)} config(s); give two or more")
    weights = fuse.get("weights")
    if weights is not None and not isinstance(weights, list):
        raise ConfigError(f"{path}: fuse.weights must be a list of numbers, found {weights!r}")
    try:
        weights = check_weights(weights, len(members))
    except ConfigError as exc:
        raise ConfigError(f"{path}: fuse.weights: {exc}") from None
    protocol = raw.get("protocol")
    if protocol is not None and not isinstance(protocol, dict):
        raise ConfigError(f"{path}: protocol must be a mapping like the experiments' protocol")
    return {
        "name": check_name(raw.get("name", path.stem), "a run name"),
        "description": str(raw.get("description", "")),
        "protocol": protocol,
        "members": members,
        "weights": weights,
        "output": str(raw.get("output", "runs/")),
    }


def member_configs(recipe: dict[str, Any]) -> list[dict[str, Any]]:
    """The validated experiment config of every member, with the recipe's protocol and the
    member run name ``<recipe>--<member>``."""
    from serkit.experiment.config import load_config, validate_config

    configs = []
    for member in recipe["members"]:
        cfg = load_config(member["config"], member["overrides"])
        if recipe["protocol"] is not None:
            cfg = validate_config({**cfg, "protocol": recipe["protocol"]})
        cfg["name"] = f"{recipe['name']}--{cfg['name']}"
        configs.append(cfg)
    return configs


def run_recipe(
    recipe: dict[str, Any],
    output: str | os.PathLike | None = None,
    *,
    overwrite: bool = False,
    log: Any = None,
    command: str | None = None,
    progress: bool = False,
) -> Path:
    """Train (or resume) every member, then fuse them into ``<output>/<name>``; returns it.

    ``overwrite`` retrains the members from scratch; the fused run is always rewritten (it is
    a function of the members' predictions), but only over an earlier fused run.
    """
    from serkit import experiment
    from serkit.experiment.folder import quiet
    from serkit.experiment.fuse import fuse_runs
    from serkit.experiment.runs import read_config

    log = log or quiet
    parent = Path(output if output is not None else recipe["output"])
    target = parent / recipe["name"]
    if target.exists() and not (target / "config.yaml").is_file():
        raise ConfigError(f"{target} exists and is not a run folder; move it or rename the recipe")
    if target.exists() and "fuse" not in read_config(target):
        raise ConfigError(f"{target} holds a run that is not a fusion; rename the recipe")
    runs = []
    for cfg in member_configs(recipe):
        log(f"member {cfg['name']}")
        runs.append(
            experiment.run(
                cfg, parent, overwrite=overwrite, log=log, command=command, progress=progress
            )
        )
    fused = fuse_runs(
        runs,
        target,
        weights=recipe["weights"],
        overwrite=True,
        command=command,
        description=recipe["description"] or None,
    )
    log(f"fused {len(runs)} runs into {fused}")
    return fused


__all__ = ["check_recipe", "is_recipe", "load_recipe", "member_configs", "run_recipe"]
