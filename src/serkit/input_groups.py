"""How the inputs of one prediction call are grouped for set-level normalisation
(``features.normalize: speaker`` or ``corpus``) and the checks that refuse groups a model cannot
be normalised with: items without a speaker, a mix of items with and without a corpus, and
groups with too few utterances. An item is a :class:`serkit.inference.Item` (``path``,
``speaker``, ``corpus``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from serkit.errors import ConfigError

#: per-speaker (per-corpus) z-scores of utterance features need at least this many
#: utterances of a speaker (of a corpus)
MIN_GROUP_ITEMS = 2
#: the group of the inputs that carry no corpus, under per-corpus normalisation
CALL_GROUP = "(the inputs of this call)"
#: plural of each group column, for messages
_PLURAL = {"speaker": "speakers", "corpus": "corpora"}


def check_speakers(items: Sequence[Any]) -> None:
    """Refuse items without a speaker when the front end normalises per speaker."""
    unknown = [item for item in items if item.speaker is None]
    if unknown:
        raise ConfigError(
            f"{unknown[0].path}: this model was trained on per-speaker z-scored features "
            "(features.normalize: speaker) and needs the speaker of every input to normalise "
            f"it the same way; {len(unknown)} of {len(items)} input(s) have none. Give "
            "speaker=NAME (all files are one speaker) or predict a manifest with a speaker column"
        )


def check_corpora(items: Sequence[Any]) -> None:
    """Refuse a mix of items with and without a corpus when the front end normalises per
    corpus (it would not know which corpus the others belong to)."""
    unknown = [item for item in items if item.corpus is None]
    if unknown and len(unknown) < len(items):
        raise ConfigError(
            f"{unknown[0].path}: this model was trained on per-corpus z-scored features "
            "(features.normalize: corpus) and normalises each corpus's inputs together; "
            f"{len(unknown)} of {len(items)} input(s) have no corpus while the others have "
            "one. Fill the manifest's corpus column, or predict the files without a manifest "
            "(then all of them are one corpus)"
        )


def group_of(item: Any, column: str) -> str:
    """The group ``item`` is z-scored with: its speaker, its corpus, or :data:`CALL_GROUP`."""
    if column == "speaker":
        return str(item.speaker)
    return CALL_GROUP if item.corpus is None else str(item.corpus)


def check_counts(groups: list[str], column: str, skipped: list[str]) -> None:
    """Refuse groups (speakers, corpora) with fewer than :data:`MIN_GROUP_ITEMS` utterances."""
    names, counts = np.unique(groups, return_counts=True)
    few = [f"{n} ({c})" for n, c in zip(names, counts, strict=True) if c < MIN_GROUP_ITEMS]
    if few:
        note = f" after leaving out {len(skipped)} bad or unanalysable file(s)" if skipped else ""
        plural = _PLURAL[column]
        extra = (
            f" (inputs without a {column} are all one {column})" if CALL_GROUP in names else ""
        )
        raise ConfigError(
            f"per-{column} normalisation needs at least {MIN_GROUP_ITEMS} utterances of each "
            f"{column}{extra} (one utterance z-scores to zeros); too few{note}: "
            f"{', '.join(few[:5])}. Predict at least {MIN_GROUP_ITEMS} files of those "
            f"{plural} together"
        )
