"""Validation speakers of a pretraining: the ``training.validation`` section and the split.

``training.validation`` takes whole speakers out of a fold's training rows; each epoch the
family's loss on their rows selects the weights the package keeps (and, with
``training.patience``, ends the training, :mod:`serkit.encoders.trainer`). Two forms::

    validation: {speakers: [urdu/SM2, urdu/SF6]}   # named: must be among the fold's speakers
    validation: {fraction: 0.1, seed: 0}            # drawn: whole speakers, ~10 % of the rows

:func:`check_validation` checks and normalises the section (config time),
:func:`split_validation` splits one fold's training rows (pure: speaker ids in, positions out).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from serkit.errors import ConfigError

KEY = "training.validation"
FORMS = {"speakers": ("speakers",), "fraction": ("fraction", "seed")}


def check_validation(spec: Any) -> dict[str, Any] | None:
    """The ``training.validation`` section, checked and normalised.

    Returns:
        ``None`` (no validation), ``{"speakers": [ids]}`` (sorted, unique) or
        ``{"fraction": f, "seed": s}`` (``seed`` defaults to 0).

    Raises:
        ConfigError: not a mapping, unknown keys, both or neither form, an empty speaker list,
            ``fraction`` outside (0, 1) or a non-integer ``seed``.
    """
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise ConfigError(
            f"config key {KEY} must be a mapping, {{speakers: [ids]}} or {{fraction: 0.1, "
            f"seed: 0}}, found {spec!r}"
        )
    known = ["speakers", "fraction", "seed"]
    unknown = sorted(set(spec) - set(known))
    if unknown:
        from serkit.experiment.config import _unknown

        raise _unknown(unknown, known, f"{KEY}.")
    if ("speakers" in spec) == ("fraction" in spec):
        raise ConfigError(
            f"config key {KEY}: give either speakers (a list of speaker ids) or fraction (a "
            f"share of the training speakers, with an optional seed), found {sorted(spec)}"
        )
    if "speakers" in spec:
        if "seed" in spec:
            raise ConfigError(
                f"config key {KEY}.seed applies to fraction only; named speakers are not drawn"
            )
        speakers = spec["speakers"]
        if isinstance(speakers, str):
            speakers = [speakers]
        if not isinstance(speakers, list | tuple) or not speakers:
            raise ConfigError(
                f"config key {KEY}.speakers must be a non-empty list of speaker ids "
                f"(<corpus>/<speaker>), found {spec['speakers']!r}"
            )
        return {"speakers": sorted({str(s) for s in speakers})}
    fraction, seed = spec["fraction"], spec.get("seed", 0)
    if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0 < fraction < 1:
        raise ConfigError(
            f"config key {KEY}.fraction must be a number in (0, 1) (the share of each fold's "
            f"training rows held out for validation, as whole speakers), found {fraction!r}"
        )
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError(f"config key {KEY}.seed must be an integer, found {seed!r}")
    return {"fraction": float(fraction), "seed": int(seed)}


def choose_speakers(speakers: Sequence[str], spec: dict[str, Any], fold: str = "") -> list[str]:
    """The validation speakers among one fold's training ``speakers`` (sorted).

    Args:
        speakers: the fold's training speakers (any order, repeats allowed).
        spec: a normalised section (:func:`check_validation`).
        fold: the fold's name, for the messages (``""``: the single encoder).

    Raises:
        ConfigError: named speakers not among them (names the unknown and the available ids),
            no speaker left for training, or fewer than three speakers for a fraction (drawn
            by :func:`serkit.holdout.validation_split`: whole speakers until ``fraction`` of
            the rows, two always left for training).
    """
    available = sorted({str(s) for s in speakers})
    where = f"fold {fold}" if fold else "the training rows"
    if "speakers" in spec:
        chosen = list(spec["speakers"])
        unknown = [s for s in chosen if s not in set(available)]
        if unknown:
            raise ConfigError(
                f"config key {KEY}.speakers: {', '.join(unknown)} not among the training "
                f"speakers of {where} ({', '.join(available)}); validation speakers must be "
                "training speakers of every fold (ids are namespaced <corpus>/<speaker>)"
            )
        if len(chosen) >= len(available):
            raise ConfigError(
                f"config key {KEY}.speakers names all {len(available)} training speakers of "
                f"{where}; leave at least one for training"
            )
        return chosen
    from serkit.errors import ProtocolError
    from serkit.holdout import validation_split

    ids = np.asarray([str(s) for s in speakers])
    try:  # the one validation rule of serkit (neural models and runs use it too)
        _, val, _ = validation_split(
            np.zeros(len(ids)), ids, spec["fraction"], spec["seed"], fallback=False
        )
    except ProtocolError:
        raise ConfigError(
            f"config key {KEY}.fraction: {where} has {len(available)} training speaker(s) "
            f"({', '.join(available)}); validation takes whole speakers and two always stay "
            "in training, so it needs at least 3; name the speakers (speakers: [...]) or "
            "remove training.validation"
        ) from None
    return sorted(set(ids[val].tolist()))


def split_validation(
    speakers: Sequence[str], spec: dict[str, Any], fold: str = ""
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Split one fold's training rows by speaker.

    Args:
        speakers: ``(n,)`` the speaker of each training row.
        spec: a normalised section (:func:`check_validation`).
        fold: the fold's name, for the messages.

    Returns:
        ``(train, val, validation speakers)``: positions into ``speakers`` of the rows left
        for training and of the validation rows (disjoint, together all ``n``), and the
        sorted validation speaker ids.

    Raises:
        ConfigError: as :func:`choose_speakers`.
    """
    ids = np.asarray([str(s) for s in speakers], dtype=object)
    chosen = choose_speakers(ids.tolist(), spec, fold)
    held = np.isin(ids, np.asarray(chosen, dtype=object))
    return np.flatnonzero(~held), np.flatnonzero(held), chosen
