"""The pretrain config: schema, defaults and validation (errors name the key).

Example::

    name: demo_vae
    data: {manifests: [demo/manifests/ravdess.parquet], label_set: null, filter: {},
           exclude_speakers: [ravdess/23, ravdess/24]}   # e.g. keep test speakers out
    features: {store: features/}     # default front end: the family's default_frontend
    encoder: {name: vae, preset: cpu, params: {beta: 4.0}}
    # encoder.init: runs/<stage1>/  initialise from another package of the same family
    #   (tensors of equal name and shape; per fold from the same-named fold of a per-fold run)
    condition: speaker               # optional: Resemblyzer embedding of every row
    training: {epochs: 20, batch_size: 32, lr: 0.001, seed: 0, device: cpu}
    # training.validation: {speakers: [ravdess/22]} or {fraction: 0.1, seed: 0}: whole
    #   speakers held out of each fold's training rows; the package keeps the weights of the
    #   lowest validation loss; training.patience: 10 stops after 10 epochs without a lower
    #   one (training.min_delta: by how much lower; default 0)
    folds: {protocol: {name: speaker-kfold, params: {k: 6}}}   # optional: one per fold
    output: runs/
    latent_plots: [umap, tsne]       # the report's projections of the latent space ([]: none)

Relative paths resolve against the working directory, as in experiment configs.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from serkit.errors import ConfigError
from serkit.experiment.config import (
    REQUIRED,
    _expect,
    _unknown,
    check_data,
    check_name,
    resolve_schema,
)

TOP_LEVEL: dict[str, Any] = {
    "name": REQUIRED,
    "description": "",
    "data": REQUIRED,
    "features": {},
    "encoder": REQUIRED,
    "condition": None,
    "training": {},
    "folds": None,
    "output": "runs/",
    "workers": 1,
    "latent_plots": ["umap", "tsne"],  # the report's latent-space projections ([]: none)
    "provenance": None,  # written into config.yaml; ignored on input
}
SECTIONS: dict[str, dict[str, Any]] = {
    "data": {"manifests": REQUIRED, "label_set": None, "filter": {}, "exclude_speakers": []},
    "features": {
        "name": None,  # None: the family's default_frontend
        "params": None,
        "store": "features/",
        "skip_bad": False,
        "vad": None,
        "min_duration_s": None,
        "min_level_dbfs": None,
    },
    "encoder": {"name": REQUIRED, "preset": "cpu", "params": {}, "init": None},
    "folds": {"protocol": REQUIRED},
}
#: keys that change no encoder (left out of the run fingerprint)
RUNTIME_KEYS = ("name", "description", "output", "workers", "latent_plots", "provenance")


def validate_pretrain_config(raw: dict[str, Any]) -> dict[str, Any]:
    """Check a raw pretrain config and return it resolved (defaults filled in).

    The family, its preset and parameters, the front end (frame level), the conditioning and
    the fold protocol are all checked here, before anything is extracted or trained.

    Raises:
        ConfigError: naming the key, the expected and the found value.
    """
    from serkit.encoders import get_encoder_class
    from serkit.encoders.package import CONDITIONS
    from serkit.encoders.trainer import TrainOptions

    cfg = resolve_schema(raw, TOP_LEVEL, SECTIONS, "a pretrain config")

    check_name(cfg["name"], "a run name")
    data = cfg["data"]
    check_data(data)
    if isinstance(data["exclude_speakers"], str):
        data["exclude_speakers"] = [data["exclude_speakers"]]
    _expect(data["exclude_speakers"], list, "data.exclude_speakers", "a list of speaker ids")
    data["exclude_speakers"] = [str(s) for s in data["exclude_speakers"]]

    enc = cfg["encoder"]
    _expect(enc["name"], str, "encoder.name", "a registered encoder family")
    family = get_encoder_class(enc["name"])
    presets = getattr(family, "presets", {}) or {}
    if enc["preset"] not in presets:
        raise ConfigError(
            f"config key encoder.preset: family {enc['name']!r} has no preset "
            f"{enc['preset']!r}; presets: {', '.join(sorted(presets)) or 'none'}"
        )
    _expect(enc["params"], dict, "encoder.params", "a mapping")
    if enc["init"] is not None:
        _check_init(enc["init"], enc["name"])
        _check_init_params(enc["init"], family, {**presets[enc["preset"]], **enc["params"]})

    cond = cfg["condition"]
    if cond is not None:
        if cond not in CONDITIONS:
            raise ConfigError(
                f"config key condition must be null or one of {', '.join(CONDITIONS)}, "
                f"found {cond!r}"
            )
        if cond not in tuple(getattr(family, "conditions", ())):
            raise ConfigError(
                f"config key condition: encoder family {enc['name']!r} cannot be conditioned "
                f"on {cond!r} (it accepts {list(family.conditions) or 'no conditioning'}); "
                "remove `condition`"
            )

    features = cfg["features"]
    if features["name"] is None:
        default = dict(family.default_frontend)
        features["name"] = default["name"]
        if features["params"] is None:
            features["params"] = dict(default.get("params") or {})
    features["params"] = features["params"] or {}
    for key in ("vad", "min_duration_s", "min_level_dbfs"):
        if features[key] is None:
            del features[key]
    _expect(features["store"], str, "features.store", "a folder path")
    _expect(features["skip_bad"], bool, "features.skip_bad", "true or false")
    from serkit.features.frontend import Frontend

    try:
        frontend = Frontend.from_config(features)
    except ConfigError as exc:
        raise ConfigError(f"config key features: {exc.message}") from None
    if frontend.level != "frame":
        raise ConfigError(
            f"config key features.name: encoders train on frame-level features and "
            f"{features['name']!r} is {frontend.level}-level; use a frame-level extractor "
            f"such as logmel (the family's default: {family.default_frontend})"
        )

    training = cfg["training"]
    _expect(training, dict, "training", "a mapping")
    known = list(TrainOptions.__dataclass_fields__)
    bad = sorted(set(training) - set(known))
    if bad:
        raise _unknown(bad, known, "training.")
    for key in ("patience", "min_delta"):
        if training.get(key) is not None and training.get("validation") is None:
            raise ConfigError(
                f"config key training.{key} needs training.validation (the speakers whose loss "
                "decides when to stop), e.g. validation: {fraction: 0.1, seed: 0} or "
                f"validation: {{speakers: [<corpus>/<speaker>]}}; or remove training.{key}"
            )
    # checks the values; validation normalised; unset validation keys stay out (fingerprints)
    cfg["training"] = TrainOptions(**training).to_dict()

    folds = cfg["folds"]
    if folds is not None:
        protocol = folds["protocol"]
        if isinstance(protocol, str):
            protocol = folds["protocol"] = {"name": protocol}
        _expect(protocol, dict, "folds.protocol", "a mapping {name, params}")
        extra = sorted(set(protocol) - {"name", "params"})
        if extra:
            raise _unknown(extra, ["name", "params"], "folds.protocol.")
        protocol.setdefault("params", {})
        protocol["params"] = protocol["params"] or {}
        from serkit.protocols import get_protocol

        get_protocol(protocol["name"], **protocol["params"])  # checks name and parameters
    workers = _expect(cfg["workers"], int, "workers", "a positive integer")
    if workers < 1:
        raise ConfigError(f"config key workers must be >= 1, found {workers}")
    _expect(cfg["output"], str, "output", "a folder path")
    if isinstance(cfg["latent_plots"], str):
        cfg["latent_plots"] = [cfg["latent_plots"]]
    plots = _expect(cfg["latent_plots"], list, "latent_plots", "a list out of umap, tsne")
    bad = [m for m in plots if m not in ("umap", "tsne")]
    if bad:
        raise ConfigError(f"config key latent_plots: unknown {bad}; use [umap, tsne] or []")
    return cfg


def _init_metas(path: str) -> dict[str, dict[str, Any]]:
    """``{fold: encoder.json}`` of the package(s) at ``encoder.init`` (checked)."""
    from serkit.encoders.package import encoder_folders, read_encoder_meta

    try:
        folders = encoder_folders(path)
    except ConfigError as exc:
        raise ConfigError(f"config key encoder.init: {exc.message}") from None
    return {fold: read_encoder_meta(folder) for fold, folder in folders.items()}


def _check_init(path: Any, family: str) -> None:
    """``encoder.init`` names a package (or run) of ``family``."""
    _expect(path, str, "encoder.init", "the folder of an encoder package or pretrain run")
    for fold, meta in _init_metas(path).items():
        if meta["family"] != family:
            where = f"{path} (fold {fold})" if fold else path
            raise ConfigError(
                f"config key encoder.init: {where} holds a {meta['family']!r} encoder, this "
                f"config trains {family!r}; initialise from a package of the same family"
            )


def _check_init_params(path: str, family: Any, params: dict[str, Any]) -> None:
    """The package at ``encoder.init`` has the values of ``family.init_must_match`` that
    ``params`` (preset and given values over the family's defaults) give this net."""
    import inspect

    defaults = {
        k: p.default
        for k, p in inspect.signature(family.__init__).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    wanted = {**defaults, **params}
    for fold, meta in _init_metas(path).items():
        for key in getattr(family, "init_must_match", ()):
            have, want = (meta.get("params") or {}).get(key), wanted.get(key)
            if have != want:
                where = f"{path} (fold {fold})" if fold else path
                raise ConfigError(
                    f"config key encoder.init: {where} was trained with {key}={have!r}, this "
                    f"config gives {key}={want!r}; its weights expect other inputs: set "
                    f"encoder.params.{key}={have!r} or initialise from a matching package"
                )


def load_pretrain_config(
    path: str | os.PathLike, overrides: list[str] | tuple[str, ...] = ()
) -> dict[str, Any]:
    """Read a pretrain YAML, apply ``a.b=c`` overrides and validate it."""
    from serkit import config as config_io

    return validate_pretrain_config(config_io.load(path, overrides))


def fingerprint(cfg: dict[str, Any]) -> str:
    """Hash (16 hex) of everything in a resolved pretrain config that changes an encoder."""
    from serkit.encoders.package import meta_key

    relevant = {k: v for k, v in cfg.items() if k not in RUNTIME_KEYS}
    enc = dict(relevant.get("encoder") or {})
    if enc.get("init") is None:
        enc.pop("init", None)  # configs without init keep their fingerprints
    else:  # a retrained init package makes another encoder
        metas = _init_metas(enc["init"])
        enc["init_keys"] = {fold: meta_key(meta) for fold, meta in metas.items()}
    relevant["encoder"] = enc
    payload = json.dumps(relevant, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]
