"""The decomposition study config: schema, defaults and validation (errors name the key).

Example (``configs/studies/decomposition_demo.yaml``)::

    name: decomposition_demo
    encoder: runs/demo_speechflow        # a speechflow package or its pretrain run folder
    conditions: [REC, NR, NF, NC, NU]    # default: every condition of the family
    raw: true                            # also the undecomposed SpeechFlow mel (RAW)
    features: {params: {deltas: 2}, store: features/}   # more speechflow parameters
    corpora: {ravdess: [demo/manifests/ravdess.parquet]}  # corpus name -> manifests
    inside:                              # inside one corpus, speaker folds
      - {corpus: ravdess, protocol: {name: speaker-kfold, params: {k: 3}}}
    across:                              # train on one corpus, test on another
      - {train: ravdess, test: turev-db}   # classes: the emotions both have (or `classes:`)
    model: {name: acrnn, params: {epochs: 4}}
    seeds: [0]
    final_model: reference               # reference (REC runs, for explain) | all | none
    explain: {limit: 24}                 # per-utterance explanation in the report (0: none)
    output: runs/

A corpus name is the value of the manifests' ``corpus`` column. Every cell (scope x condition)
becomes an ordinary experiment config (:func:`serkit.study.decomposition.cells`). Relative
paths resolve against the working directory, as in experiment configs.
"""

from __future__ import annotations

import os
from typing import Any

from serkit.errors import ConfigError
from serkit.experiment.config import REQUIRED, _expect, _unknown, check_name, resolve_schema

FINAL_MODELS = ("reference", "all", "none")
TOP_LEVEL: dict[str, Any] = {
    "name": REQUIRED,
    "description": "",
    "encoder": REQUIRED,
    "conditions": None,  # None: every condition of the family
    "raw": True,
    "features": {},
    "corpora": REQUIRED,
    "inside": [],
    "across": [],
    "model": REQUIRED,
    "validation": None,
    "seeds": [0],
    "bootstrap": {},
    "final_model": "reference",
    "explain": {},
    "output": "runs/",
    "workers": 1,
}
SECTIONS: dict[str, dict[str, Any]] = {
    "features": {
        "params": {},
        "store": "features/",
        "skip_bad": False,
        "min_duration_s": None,
        "min_level_dbfs": None,
    },
    "model": {"name": REQUIRED, "params": {}},
    "validation": {"fraction": 0.1},
    "bootstrap": {"reps": 1000, "seed": 0, "method": "speaker"},
    "explain": {"limit": 24, "conditions": None},
}
INSIDE_KEYS = {
    "corpus": REQUIRED,
    "protocol": {"name": "speaker-kfold", "params": {"k": 5}},
    "label_set": None,
    "filter": {},
}
ACROSS_KEYS = {"train": REQUIRED, "test": REQUIRED, "classes": None, "filter": {}}
#: speechflow parameters the study sets itself
OWN_PARAMS = ("encoder", "condition")


def _entries(value: Any, key: str, spec: dict[str, Any]) -> list[dict[str, Any]]:
    items = _expect(value or [], list, key, "a list of mappings")
    out = []
    for i, item in enumerate(items):
        where = f"{key}[{i}]"
        _expect(item, dict, where, "a mapping")
        unknown = sorted(set(item) - set(spec))
        if unknown:
            raise _unknown(unknown, list(spec), f"{where}.")
        entry = {}
        for name, default in spec.items():
            if item.get(name) is not None:
                entry[name] = item[name]
            elif default is REQUIRED:
                raise ConfigError(f"config key {where}.{name} is required")
            else:
                entry[name] = default
        out.append(entry)
    return out


def validate_study(raw: Any) -> dict[str, Any]:
    """Check a raw study config and return it resolved (defaults filled in).

    The conditions are checked against the family's, the corpora against the entries that
    use them; the experiment configs of the cells are checked when they are built.

    Raises:
        ConfigError: naming the key, the expected and the found value.
    """
    from serkit.features.speechflow import RAW, family_conditions

    cfg = resolve_schema(raw, TOP_LEVEL, SECTIONS, "a study config")
    check_name(cfg["name"], "a study name")
    _expect(cfg["encoder"], str, "encoder", "the path of a speechflow encoder package")
    known = family_conditions()
    conditions = cfg["conditions"] if cfg["conditions"] is not None else list(known)
    if isinstance(conditions, str):
        conditions = [conditions]
    _expect(conditions, list, "conditions", f"a list out of {', '.join(known)}")
    bad = [c for c in conditions if c not in known]
    if bad:
        raise ConfigError(
            f"config key conditions: unknown {bad}; expected some of {', '.join(known)} "
            f"(the raw mel is `raw: true`, not a condition {RAW!r})"
        )
    reference = known[0]
    cfg["conditions"] = [reference] + [c for c in dict.fromkeys(conditions) if c != reference]
    _expect(cfg["raw"], bool, "raw", "true or false")
    params = _expect(cfg["features"]["params"], dict, "features.params", "a mapping")
    own = sorted(set(params) & set(OWN_PARAMS))
    if own:
        raise ConfigError(
            f"config key features.params.{own[0]}: set by the study (encoder: the top-level "
            "key, condition: conditions); remove it"
        )
    corpora = _expect(cfg["corpora"], dict, "corpora", "a mapping corpus name -> manifests")
    for corpus, manifests in list(corpora.items()):
        if isinstance(manifests, str):
            corpora[corpus] = manifests = [manifests]
        if not isinstance(manifests, list) or not all(isinstance(m, str) for m in manifests):
            raise ConfigError(f"config key corpora.{corpus} must list manifest paths")
    cfg["inside"] = _entries(cfg["inside"], "inside", INSIDE_KEYS)
    cfg["across"] = _entries(cfg["across"], "across", ACROSS_KEYS)
    if not cfg["inside"] and not cfg["across"]:
        raise ConfigError("a study needs at least one entry under inside: or across:")
    for i, entry in enumerate(cfg["inside"]):
        _known_corpus(entry["corpus"], corpora, f"inside[{i}].corpus")
    for i, entry in enumerate(cfg["across"]):
        for side in ("train", "test"):
            _known_corpus(entry[side], corpora, f"across[{i}].{side}")
        if entry["train"] == entry["test"]:
            raise ConfigError(
                f"config key across[{i}]: train and test are both {entry['train']!r}; inside "
                "one corpus is an inside: entry"
            )
    if cfg["final_model"] not in FINAL_MODELS:
        raise ConfigError(
            f"config key final_model must be one of {', '.join(FINAL_MODELS)}, found "
            f"{cfg['final_model']!r}"
        )
    limit = _expect(cfg["explain"]["limit"], int, "explain.limit", "a number of utterances")
    if limit < 0:
        raise ConfigError(f"config key explain.limit must be >= 0, found {limit}")
    if limit and cfg["final_model"] == "none":
        raise ConfigError(
            "config key explain.limit needs the REC runs' final models: set final_model: "
            "reference (or all), or explain.limit: 0"
        )
    return cfg


def _known_corpus(name: Any, corpora: dict[str, Any], key: str) -> None:
    if name not in corpora:
        raise ConfigError(
            f"config key {key}: corpus {name!r} is not under corpora: ({', '.join(corpora)})"
        )


def load_study(path: str | os.PathLike, overrides: list[str] | tuple[str, ...] = ()) -> dict:
    """Read a study YAML, apply ``a.b=c`` overrides and validate it."""
    from serkit import config as config_io

    return validate_study(config_io.load(path, overrides))
