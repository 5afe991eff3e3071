"""The validation hold-out of a training set: whole speakers, or a stratified fallback.

One rule for every validation split in serkit: the neural estimators' internal split
(``NeuralClassifier``, ``dcnn-blstmwa``) and the runner's ``validation:`` config section
(through :func:`serkit.protocols.speaker_disjoint_validation`). It sits below both the models
and the protocols (numpy only), so neither imports the other. Only ever call it on training
rows, never on test rows.
"""

from __future__ import annotations

import numpy as np

from serkit.errors import ProtocolError

__all__ = ["MIN_SPEAKERS", "validation_split"]

#: Fewest speakers for a speaker-disjoint split: at least two always stay in training.
MIN_SPEAKERS = 3


def validation_split(
    y: np.ndarray,
    groups: np.ndarray | None,
    fraction: float,
    seed: int,
    *,
    fallback: bool = True,
) -> tuple[np.ndarray, np.ndarray, str]:
    """Split item positions into train / validation.

    With :data:`MIN_SPEAKERS` or more speakers, the speakers are shuffled with ``seed`` and
    moved to validation, whole, until at least ``fraction`` of the items are there; the last
    two speakers of the shuffled order always stay in training. With fewer speakers (or no
    ``groups``) a stratified random split is made instead: ``round(fraction * count)`` items
    of each class with at least 2 items (at least 1, never all of them), so the validation
    set is NOT speaker-disjoint and ``note`` says so.

    Args:
        y: ``(n,)`` class labels (used only by the stratified fallback).
        groups: ``(n,)`` speaker ids or ``None``.
        fraction: target share of items in validation; 0 (or less) = no validation.
        seed: random seed; the same inputs and seed give the same split.
        fallback: ``False`` raises instead of falling back to a stratified split.

    Returns:
        ``(train_idx, val_idx, note)``: sorted positions into ``y`` (together every position
        once) and a note that says how the split was made.

    Raises:
        ProtocolError: ``fallback=False`` and fewer than :data:`MIN_SPEAKERS` speakers.

    >>> speakers = np.repeat(["a", "b", "c", "d"], 5)
    >>> train, val, note = validation_split(np.arange(20) % 2, speakers, 0.2, seed=0)
    >>> note, len(val), sorted(set(speakers[val]) & set(speakers[train]))
    ('speaker-disjoint: 1 of 4 speakers', 5, [])
    """
    n = len(y)
    rng = np.random.default_rng(seed)
    everything = np.arange(n)
    if fraction <= 0:
        return everything, everything[:0], "none (val_fraction=0)"
    if groups is not None:
        groups = np.asarray(groups).astype(str)
        speakers = np.unique(groups)
        if len(speakers) >= MIN_SPEAKERS:
            order = rng.permutation(speakers)
            chosen: list[str] = []
            count = 0
            for spk in order[:-2]:  # keep at least two speakers for training
                if count >= fraction * n:
                    break
                chosen.append(spk)
                count += int(np.sum(groups == spk))
            val_mask = np.isin(groups, chosen)
            note = f"speaker-disjoint: {len(chosen)} of {len(speakers)} speakers"
            return everything[~val_mask], everything[val_mask], note
        reason = f"only {len(speakers)} speaker(s)"
    else:
        reason = "no speaker groups"
    if not fallback:
        raise ProtocolError(
            f"a speaker-disjoint validation split needs at least {MIN_SPEAKERS} training "
            f"speakers (two always stay in training), found {reason.removeprefix('only ')}; "
            "use a protocol with more training speakers per fold or no validation split"
        )
    y = np.asarray(y)
    val = []
    for c in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == c))
        if len(members) >= 2:
            take = max(1, int(round(fraction * len(members))))
            val.extend(members[: min(take, len(members) - 1)].tolist())
    val_idx = np.sort(np.asarray(val, dtype=np.int64))
    if len(val_idx) == 0:
        return everything, val_idx, f"none ({reason}, too few items per class)"
    train_idx = np.setdiff1d(everything, val_idx)
    return train_idx, val_idx, f"stratified random ({reason}; not speaker-disjoint)"
