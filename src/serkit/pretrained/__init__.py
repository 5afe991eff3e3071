"""The default model shipped with serkit: emotion out of the box, before any training.

``default/`` is a model package (:mod:`serkit.models.package`: ``model.json`` + weights)
trained on RAVDESS, URDU and TurEV-DB together on neutral / happy / sad / angry, chosen by
nested leave-one-corpus-out evaluation; ``model_card.md`` beside it says how, with the
per-corpus figures, the training data's licences (non-commercial research only) and the known
limits. Both are rebuilt by ``python benchmarks/default_model.py``.

Example:
    >>> from serkit.pretrained import default_predictor, model_card
    >>> default_predictor().classes
    ['angry', 'happy', 'neutral', 'sad']
    >>> model_card().startswith("# serkit default model")
    True
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from serkit.errors import ConfigError

HERE = Path(__file__).resolve().parent
#: the shipped package folder
DEFAULT_MODEL = HERE / "default"
#: its model card
MODEL_CARD = HERE / "model_card.md"


def default_model_path() -> Path:
    """The shipped model package folder.

    Raises:
        ConfigError: the package is missing from this installation.
    """
    if not (DEFAULT_MODEL / "model.json").is_file():
        raise ConfigError(
            f"{DEFAULT_MODEL}: the default model is missing from this installation (the wheel "
            "was built without its package data?); reinstall serkit or pass a model folder"
        )
    return DEFAULT_MODEL


def model_card() -> str:
    """The default model's card (Markdown)."""
    if not MODEL_CARD.is_file():
        raise ConfigError(f"{MODEL_CARD}: the model card is missing; reinstall serkit")
    return MODEL_CARD.read_text(encoding="utf-8")


def default_predictor() -> Any:
    """A :class:`~serkit.inference.Predictor` of the shipped model (loaded and verified)."""
    from serkit.inference import Predictor

    return Predictor.from_path(default_model_path())
