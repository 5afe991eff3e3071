"""The experiment config: schema, defaults and validation (errors name the key).

A config is plain YAML data, read once at the edge (:func:`load_config`) with ``a.b=c``
overrides. Relative paths in it (``data.manifests``, ``features.store``, ``output``) resolve
against the current working directory of the process that runs the experiment, never
against the config file's folder: run ``serkit train`` from the project root.

Example::

    name: demo_egemaps_svm
    data: {manifests: [manifests/ravdess.parquet], label_set: ravdess8, filter: {mode: speech}}
    features: {name: egemaps, params: {}, store: features/}
    model: {name: svm, params: {C: 1.0}}
    protocol: {name: loso, params: {}, disjoint: [speaker]}
    seeds: [0]
    bootstrap: {reps: 1000, seed: 0, method: speaker}   # intervals resample test speakers
    output: runs/
    workers: 1
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import os
import re
from typing import Any

from serkit.errors import ConfigError

METRIC_NAMES = ("uar", "wa", "macro_f1")
DISJOINT_KEYS = ("speaker", "text", "session")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")

#: top-level keys -> default (``REQUIRED`` marks required keys)
REQUIRED = object()
TOP_LEVEL: dict[str, Any] = {
    "name": REQUIRED,
    "description": "",
    "data": REQUIRED,
    "features": REQUIRED,
    "model": REQUIRED,
    "protocol": {"name": "loso"},
    "allow_speaker_dependent": False,
    "search": None,
    "validation": None,
    "seeds": [0],
    "output": "runs/",
    "workers": 1,
    "final_model": True,
    "bootstrap": {},
    "augment": None,  # per-fold synthetic rows (serkit.experiment.augmentation)
    "perturb": None,  # speed-perturbed training copies (serkit.experiment.perturbation)
    "provenance": None,  # written by the runner into config.yaml; ignored on input
}
SECTIONS: dict[str, dict[str, Any]] = {
    "data": {"manifests": REQUIRED, "label_set": None, "filter": {}},
    "features": {
        "name": REQUIRED,
        "params": {},
        "store": "features/",
        "skip_bad": False,
        "vad": None,  # optional VadTrim params, e.g. {method: silero, pad_ms: 30}
        "normalize": None,  # none | speaker | corpus (label-free z-score per group, transductive)
        "min_duration_s": None,  # analysable audio (after the VAD); None: 0.1 s
        "min_level_dbfs": None,  # analysable peak level (after the VAD); None: -60 dBFS
    },
    "model": {"name": REQUIRED, "params": {}},
    "protocol": {"name": "loso", "params": {}, "disjoint": None},
    "search": {"param_grid": REQUIRED, "inner": {"name": "speaker-kfold"}, "metric": "uar"},
    "validation": {"fraction": 0.1},
    "bootstrap": {"reps": 1000, "seed": 0, "method": "speaker"},  # method: speaker | row
    # train_on: real | syn | real+syn; source: manifests of a corpus that is not the data's
    "augment": {
        "name": REQUIRED,
        "params": {},
        "source": REQUIRED,
        "train_on": "real+syn",
        "save": True,
    },
    # speed: e.g. [0.9, 1.1], one more copy of a training row each; test: average the
    # posteriors of each test row and its copies (test-time augmentation); train: false
    # trains on the real rows only (copies at test time alone)
    "perturb": {"speed": REQUIRED, "test": False, "train": True},
}
#: keys that do not change any fold's predictions (excluded from the resume fingerprint, so
#: adding a seed or changing the bootstrap, its method included, reuses the finished folds)
RUNTIME_KEYS = (
    "name",
    "output",
    "workers",
    "provenance",
    "description",
    "seeds",
    "bootstrap",
    "final_model",
)


def _unknown(keys: list[str], known: list[str], where: str) -> ConfigError:
    parts = []
    for key in keys:
        close = difflib.get_close_matches(key, known, n=1)
        parts.append(f"{where}{key}" + (f" (did you mean {where}{close[0]}?)" if close else ""))
    return ConfigError(
        f"unknown config key(s) {', '.join(parts)}; known: {', '.join(where + k for k in known)}"
    )


def _section(data: Any, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    if isinstance(data, str) and "name" in spec:
        data = {"name": data}
    if not isinstance(data, dict):
        raise ConfigError(f"config key {name!r} must be a mapping, found {type(data).__name__}")
    unknown = sorted(set(data) - set(spec))
    if unknown:
        raise _unknown(unknown, list(spec), f"{name}.")
    out = {}
    for key, default in spec.items():
        if key in data and data[key] is not None:
            out[key] = copy.deepcopy(data[key])
        elif default is REQUIRED:
            raise ConfigError(f"config key {name}.{key} is required")
        else:
            out[key] = copy.deepcopy(default)
    return out


def resolve_schema(
    raw: Any, top_level: dict[str, Any], sections: dict[str, dict[str, Any]], kind: str
) -> dict[str, Any]:
    """``raw`` with every key of the schema, defaults filled in (values not yet checked).

    Args:
        raw: the config as read (YAML data).
        top_level: top-level key -> default (:data:`REQUIRED` for a required key).
        sections: section key -> its key -> default; a section whose top-level default is
            ``None`` stays ``None`` when absent.
        kind: what the config is, for the error of a non-mapping (``"an experiment config"``).

    Raises:
        ConfigError: a non-mapping, an unknown or a missing required key (named).
    """
    if not isinstance(raw, dict):
        raise ConfigError(f"{kind} is a mapping, found {type(raw).__name__}")
    unknown = sorted(set(raw) - set(top_level))
    if unknown:
        raise _unknown(unknown, [k for k in top_level if k != "provenance"], "")
    cfg: dict[str, Any] = {}
    for key, default in top_level.items():
        if key == "provenance":
            continue
        value = raw.get(key)
        if value is None and default is REQUIRED:
            raise ConfigError(f"config key {key!r} is required")
        if key in sections:
            absent = value is None and default is None
            given = value if value is not None else default
            cfg[key] = None if absent else _section(given, key, sections[key])
        else:
            cfg[key] = copy.deepcopy(value if value is not None else default)
    return cfg


def check_data(data: dict[str, Any]) -> None:
    """Check (and normalise in place) a resolved ``data`` section: manifests, label set,
    filter."""
    if isinstance(data["manifests"], str):
        data["manifests"] = [data["manifests"]]
    manifests = _expect(data["manifests"], list, "data.manifests", "a list of manifest paths")
    if not manifests or not all(isinstance(m, str) for m in manifests):
        raise ConfigError(f"config key data.manifests must list manifest paths, found {manifests}")
    if data["label_set"] is not None:
        from serkit.corpora.labels import get_label_set

        _expect(data["label_set"], str, "data.label_set", "a label-set name")
        get_label_set(data["label_set"])  # unknown names fail here with suggestions
    _expect(data["filter"], dict, "data.filter", "a mapping column: value or [values]")


def _expect(value: Any, kind: type | tuple[type, ...], key: str, what: str) -> Any:
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise ConfigError(f"config key {key} must be {what}, found {value!r}")
    if not isinstance(value, kind):
        raise ConfigError(f"config key {key} must be {what}, found {value!r}")
    return value


def check_name(value: Any, what: str) -> str:
    """The ``name`` key of a config (run, pretrain run, study): a string of letters, digits,
    ``_``, ``-``, ``.`` that starts with a letter or digit (it names a folder).

    Raises:
        ConfigError: naming the key, the expected and the found value.
    """
    name = _expect(value, str, "name", what)
    if not _NAME.match(name):
        raise ConfigError(f"config key name must be letters, digits, '_', '-', '.'; got {name!r}")
    return name


def validate_config(raw: dict[str, Any]) -> dict[str, Any]:
    """Check a raw experiment config and return it resolved (defaults filled in).

    Besides the schema, the front end, model and protocols are built with their parameters
    (:func:`serkit.experiment.checks.check_components`): a bad model or protocol parameter
    is found here, before any feature is extracted.

    Raises:
        ConfigError: naming the key, the expected and the found value.
    """
    cfg = resolve_schema(raw, TOP_LEVEL, SECTIONS, "an experiment config")

    check_name(cfg["name"], "a run name")
    _expect(cfg["description"], str, "description", "a string")

    check_data(cfg["data"])

    for section in ("features", "model", "protocol"):
        _expect(cfg[section]["name"], str, f"{section}.name", "a registered name")
        _expect(cfg[section]["params"], dict, f"{section}.params", "a mapping")
    _expect(cfg["features"]["store"], str, "features.store", "a folder path")
    _expect(cfg["features"]["skip_bad"], bool, "features.skip_bad", "true or false")
    if cfg["features"]["vad"] is None:
        del cfg["features"]["vad"]  # absent, so the fingerprints of runs without a VAD stay put
    else:
        from serkit.features.vad import VadTrim

        vad = cfg["features"]["vad"]
        vad = {"method": vad} if isinstance(vad, str) else vad  # `vad: silero` shorthand
        _expect(vad, dict, "features.vad", "silero, energy or {method: silero|energy, ...}")
        try:
            cfg["features"]["vad"] = VadTrim.from_dict(vad).to_dict()["params"]
        except ConfigError as exc:
            raise ConfigError(f"config key features.vad: {exc}") from None

    _normalize(cfg["features"])
    _thresholds(cfg["features"])

    protocol = cfg["protocol"]
    from serkit.protocols import PROTOCOLS, SPEAKER_DEPENDENT

    protocol_cls = PROTOCOLS.get(protocol["name"])
    protocol["name"] = protocol_cls.name
    if protocol["disjoint"] is None:
        protocol["disjoint"] = ["speaker"] if protocol_cls.speaker_independent else []
    if isinstance(protocol["disjoint"], str):
        protocol["disjoint"] = [protocol["disjoint"]]
    _expect(protocol["disjoint"], list, "protocol.disjoint", f"a list out of {DISJOINT_KEYS}")
    bad = [d for d in protocol["disjoint"] if d not in DISJOINT_KEYS]
    if bad:
        raise ConfigError(f"config key protocol.disjoint: unknown {bad}; use {DISJOINT_KEYS}")
    _expect(cfg["allow_speaker_dependent"], bool, "allow_speaker_dependent", "true or false")
    if protocol_cls.name == SPEAKER_DEPENDENT:
        if not cfg["allow_speaker_dependent"]:
            raise ConfigError(
                "protocol.name speaker-dependent needs `allow_speaker_dependent: true` "
                "(its accuracy is not speaker-independent)"
            )
        if "speaker" in protocol["disjoint"]:
            raise ConfigError(
                "protocol.disjoint cannot contain 'speaker' with protocol speaker-dependent"
            )

    if isinstance(cfg["seeds"], int) and not isinstance(cfg["seeds"], bool):
        cfg["seeds"] = [cfg["seeds"]]
    seeds = _expect(cfg["seeds"], list, "seeds", "a list of integers")
    if not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise ConfigError(f"config key seeds must be a non-empty list of integers, found {seeds}")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"config key seeds has duplicates: {seeds}")
    _expect(cfg["output"], str, "output", "a folder path")
    workers = _expect(cfg["workers"], int, "workers", "a positive integer")
    if workers < 1:
        raise ConfigError(f"config key workers must be >= 1, found {workers}")
    _expect(cfg["final_model"], bool, "final_model", "true or false")

    search = cfg["search"]
    if search is not None:
        grid = _expect(search["param_grid"], dict, "search.param_grid", "a mapping param: [values]")
        for key, values in grid.items():
            if not isinstance(values, list) or not values:
                raise ConfigError(
                    f"config key search.param_grid.{key} must be a non-empty list, found {values}"
                )
        if isinstance(search["inner"], str):
            search["inner"] = {"name": search["inner"]}
        inner = _expect(search["inner"], dict, "search.inner", "a mapping {name, params}")
        extra = sorted(set(inner) - {"name", "params"})
        if extra:
            raise _unknown(extra, ["name", "params"], "search.inner.")
        inner.setdefault("name", "speaker-kfold")
        inner_cls = PROTOCOLS.get(inner["name"])
        inner["name"] = inner_cls.name
        if inner.get("params") is None:
            inner["params"] = {"k": 3} if inner_cls.name == "speaker-kfold" else {}
        if inner_cls.name == SPEAKER_DEPENDENT:
            raise ConfigError("search.inner cannot be speaker-dependent")
        if search["metric"] not in METRIC_NAMES:
            raise ConfigError(
                f"config key search.metric must be one of {METRIC_NAMES}, found {search['metric']}"
            )
    validation = cfg["validation"]
    if validation is not None:
        fraction = _expect(validation["fraction"], (int, float), "validation.fraction", "a number")
        if not 0 < fraction < 1:
            raise ConfigError(f"config key validation.fraction must be in (0, 1), got {fraction}")
    boot = cfg["bootstrap"]
    if _expect(boot["reps"], int, "bootstrap.reps", "a positive integer") < 10:
        raise ConfigError(f"config key bootstrap.reps must be >= 10, found {boot['reps']}")
    _expect(boot["seed"], int, "bootstrap.seed", "an integer")
    _bootstrap_method(boot)
    if cfg["augment"] is not None:
        from serkit.experiment.augmentation import check_augment

        check_augment(cfg)  # names, params, train_on, source paths (their files: at run start)
    if cfg["perturb"] is not None:
        from serkit.experiment.perturbation import check_perturb

        check_perturb(cfg)
    from serkit.experiment.checks import check_components

    check_components(cfg)  # front end, model, protocols built: every parameter checked
    return cfg


def _bootstrap_method(boot: dict[str, Any]) -> None:
    """Check ``bootstrap.method`` (speaker: resample test speakers; row: resample rows)."""
    from serkit.metrics import BOOTSTRAP_METHODS

    method = boot["method"]
    if method not in BOOTSTRAP_METHODS:
        close = difflib.get_close_matches(str(method), BOOTSTRAP_METHODS, n=1)
        raise ConfigError(
            f"config key bootstrap.method must be one of {', '.join(BOOTSTRAP_METHODS)} "
            "(speaker: resample test speakers with all their rows; row: resample rows), "
            f"found {method!r}" + (f" (did you mean {close[0]}?)" if close else "")
        )


def _normalize(features: dict[str, Any]) -> None:
    """Check ``features.normalize``; ``none`` is dropped so old run fingerprints stay put."""
    from serkit.features.frontend import NORMALIZE_METHODS

    value = features["normalize"]
    if value is None or value == "none":
        del features["normalize"]
        return
    if value not in NORMALIZE_METHODS:
        raise ConfigError(
            f"config key features.normalize must be one of {', '.join(NORMALIZE_METHODS)} "
            "(speaker: z-score each row with its speaker's feature statistics; corpus: with "
            f"its corpus's), found {value!r}"
        )


def _thresholds(features: dict[str, Any]) -> None:
    """Check ``features.min_duration_s`` / ``min_level_dbfs`` (what audio is analysable); an
    unset one is dropped (the front end's default) so old run fingerprints stay put."""
    from serkit.features.analysable import check_thresholds

    for key in ("min_duration_s", "min_level_dbfs"):
        if features[key] is None:
            del features[key]
        elif isinstance(features[key], int) and not isinstance(features[key], bool):
            features[key] = float(features[key])
    try:
        check_thresholds(
            features.get("min_duration_s", 0.0), features.get("min_level_dbfs", -60.0)
        )
    except ConfigError as exc:
        raise ConfigError(f"config key features.{exc.message}") from None


def load_config(
    path: str | os.PathLike, overrides: list[str] | tuple[str, ...] = ()
) -> dict[str, Any]:
    """Read an experiment YAML, apply ``a.b=c`` overrides and validate it."""
    from serkit import config as config_io

    return validate_config(config_io.load(path, overrides))


def _resolved_augment(augment: dict[str, Any]) -> dict[str, Any]:
    """The augmenter's :meth:`~serkit.augment.base.Augmenter.resolved_params` of a section."""
    from serkit.augment import get_augmenter

    return get_augmenter(augment["name"], **dict(augment.get("params") or {})).resolved_params()


def fingerprint(cfg: dict[str, Any]) -> str:
    """Hash of everything in a resolved config that changes a fold's predictions (16 hex)."""
    relevant = {k: v for k, v in cfg.items() if k not in RUNTIME_KEYS}
    if relevant.get("augment", 0) is None:
        del relevant["augment"]  # absent, so the fingerprints of runs without one stay put
    elif "augment" in relevant:  # a preset's values, so a changed preset recomputes the folds
        relevant["augment_resolved"] = _resolved_augment(relevant["augment"])
    if relevant.get("perturb", 0) is None:
        del relevant["perturb"]  # likewise
    elif "perturb" in relevant:  # the defaults left out: runs before `test` / `train` keep
        relevant["perturb"] = {  # their fingerprints
            k: v
            for k, v in relevant["perturb"].items()
            if not (k == "test" and not v) and not (k == "train" and v)
        }
    pretrained = pretrained_path(relevant)
    if pretrained:  # the weights' content, so new weights at the same path recompute the folds
        from serkit.models.nets.alexnet import weights_key

        relevant["pretrained_key"] = weights_key(pretrained)
    payload = json.dumps(relevant, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def pretrained_path(cfg: dict[str, Any]) -> str | None:
    """``model.params.net_params.pretrained_path`` of a config (the weights a net starts
    from), or ``None``."""
    params = (cfg.get("model") or {}).get("params") or {}
    net_params = params.get("net_params") if isinstance(params, dict) else None
    value = net_params.get("pretrained_path") if isinstance(net_params, dict) else None
    return str(value) if value else None
