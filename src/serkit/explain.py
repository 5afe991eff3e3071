"""Which speech component carries the predicted emotion: posteriors under SpeechFlow removals.

:func:`explain` takes a run (or model package) trained on ``speechflow`` features and, per
utterance, predicts it once as trained (the run's own condition, normally ``REC``) and once
under each removal condition, and records how the posterior of the class predicted as
trained changes: ``delta_<condition> = p_condition(predicted) - p_reference(predicted)``. A
strongly negative change under ``NR`` means the model needed the rhythm to say that emotion.

How a run trained on REC features is applied to NR features: its front end is rebuilt exactly
from the run (the same package, checked by its content key, the same deltas, swap and
thresholds) with only ``condition`` changed, and the features go through the run's fitted
model as they are (its own input normalisation included). Nothing is refitted, so the change
measures what the trained model reads from each component, not what a model trained on the
removed condition could learn (that is the study's condition table).

Given an encoder package instead of a run there is no classifier; the measure is then how
much each removal changes the re-synthesised mel: ``delta_<condition>`` = the mean absolute
difference to the reference (REC) mel, in mel units.

:func:`summarize` gives the per-corpus summary: the mean change per condition per emotion (the
true emotion where the rows carry one, else the predicted one) and over all rows.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from serkit.errors import ConfigError

REFERENCE = "REC"


def single_removals() -> dict[str, str]:
    """``{condition: component}`` of the conditions that remove exactly one component."""
    from serkit.encoders.speechflow import removed_inputs
    from serkit.features.speechflow import family_conditions

    out = {}
    for condition in family_conditions():
        removed = sorted(removed_inputs(condition))
        if len(removed) == 1:
            out[condition] = removed[0]
    return out


@dataclasses.dataclass
class Explanation:
    """What :func:`explain` found.

    Attributes:
        table: one row per utterance: ``id``, ``path``, ``emotion`` (true, where known),
            ``predicted``, ``p_<reference>`` and per condition ``p_<condition>`` and
            ``delta_<condition>`` (for an encoder: ``delta_<condition>`` only).
        conditions: the removal conditions, in order.
        reference: the condition the run was trained on.
        measure: ``"posterior"`` (a run) or ``"mel"`` (an encoder package alone).
        source: the run or package explained.
    """

    table: pd.DataFrame
    conditions: list[str]
    reference: str
    measure: str
    source: str

    def summary(self) -> pd.DataFrame:
        """:func:`summarize` of the table."""
        return summarize(self.table, self.conditions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "measure": self.measure,
            "reference": self.reference,
            "conditions": list(self.conditions),
            "components": {c: single_removals().get(c, "") for c in self.conditions},
        }


def summarize(table: pd.DataFrame, conditions: Sequence[str]) -> pd.DataFrame:
    """Mean ``delta_<condition>`` per emotion and over ``all`` rows.

    Args:
        table: :attr:`Explanation.table`.
        conditions: the conditions whose deltas to average.

    Returns:
        Index ``emotion`` (true where known, else predicted; last row ``all``), one column per
        condition, plus ``n``.
    """
    key = table["emotion"].where(table["emotion"].notna(), table.get("predicted"))
    key = key.fillna("?").astype(str)
    columns = [f"delta_{c}" for c in conditions]
    per = table.groupby(key)[columns].mean()
    per.loc["all"] = table[columns].mean()
    per.columns = list(conditions)
    per["n"] = [*(key.value_counts().reindex(per.index[:-1]).tolist()), len(table)]
    per.index.name = "emotion"
    return per


def _signals(paths: Sequence[Path], rate: int) -> list[np.ndarray]:
    from serkit import audio

    return [audio.read(p, sample_rate=rate)[0] for p in paths]


def _run_source(path: Path) -> Any | None:
    """The :class:`~serkit.inference.Predictor` of a run or model package, or ``None`` when
    ``path`` holds an encoder package."""
    from serkit.inference import Predictor

    for candidate in (path, path / "model"):
        if (candidate / "model.json").is_file():
            return Predictor.from_path(path)
    return None


def explain(
    source: str | os.PathLike,
    audio_files: Sequence[str | os.PathLike],
    *,
    conditions: Sequence[str] | None = None,
    emotions: Sequence[str | None] | None = None,
    ids: Sequence[str] | None = None,
    fold: str = "",
) -> Explanation:
    """Per utterance, the change under each removal (see the module docstring).

    Args:
        source: a run folder / model package trained on ``speechflow`` features, or a
            ``speechflow`` encoder package (or its pretrain run folder).
        audio_files: the utterances.
        conditions: removal conditions (default: those removing one component: NR, NF, NC,
            NU); the reference is the run's own condition.
        emotions: true emotion per file, for the summary (``None``: unknown).
        ids: row ids to record (default: the file names).
        fold: which package of a per-fold pretrain run (encoder source only).

    Raises:
        ConfigError: a run not trained on ``speechflow`` features, one trained with per-speaker
            or per-corpus normalisation, an unknown condition, or a package that is not
            ``speechflow``.
    """
    from serkit.features.speechflow import check_condition

    path = Path(source)
    conditions = list(conditions) if conditions else list(single_removals())
    for condition in conditions:
        check_condition(condition)
    files = [Path(f) for f in audio_files]
    if not files:
        raise ConfigError("explain: no audio files given")
    predictor = _run_source(path)
    if predictor is not None:
        table, reference = _posterior_table(predictor, files, conditions, path)
        measure = "posterior"
    else:
        table, reference = _mel_table(path, fold, files, conditions)
        measure = "mel"
    table.insert(0, "id", list(ids) if ids is not None else [f.stem for f in files])
    table.insert(1, "path", [str(f) for f in files])
    table.insert(2, "emotion", list(emotions) if emotions is not None else [None] * len(files))
    return Explanation(table, conditions, reference, measure, str(path))


def _posterior_table(
    predictor: Any, files: list[Path], conditions: list[str], path: Path
) -> tuple[pd.DataFrame, str]:
    from serkit.features.speechflow import SpeechFlowFeatures

    if len(predictor.views) > 1:
        raise ConfigError(
            f"{path}: its model averages each input's posteriors over speed-perturbed copies "
            "(perturb.test); explain changes one component of the trained front end only. "
            "Explain a run trained without perturb.test"
        )
    frontend = predictor.frontend
    extractor = frontend.extractor
    if not isinstance(extractor, SpeechFlowFeatures):
        raise ConfigError(
            f"{path}: its model was trained on {extractor.name!r} features, not 'speechflow'; "
            "explain needs a run trained on SpeechFlow features (serkit study decomposition "
            "writes them), or a speechflow encoder package"
        )
    if frontend.group_column is not None:
        raise ConfigError(
            f"{path}: its features are z-scored per {frontend.group_column} "
            f"(features.normalize: {frontend.normalize}); explain takes runs without "
            "per-speaker or per-corpus normalisation"
        )
    reference = extractor.config.condition
    signals = _signals(files, frontend.sample_rate)
    classes = predictor.classes

    def posteriors(condition: str) -> np.ndarray:
        fe = dataclasses.replace(frontend, extractor=extractor.with_condition(condition))
        return np.asarray(
            predictor.predict_features([fe.compute(s, fe.sample_rate) for s in signals])
        )

    base = posteriors(reference)
    picked = base.argmax(axis=1)
    rows = np.arange(len(files))
    out = pd.DataFrame(
        {"predicted": [classes[i] for i in picked], f"p_{reference}": base[rows, picked]}
    )
    for condition in conditions:
        probs = posteriors(condition)
        out[f"p_{condition}"] = probs[rows, picked]
        out[f"delta_{condition}"] = probs[rows, picked] - base[rows, picked]
        out[f"pred_{condition}"] = [classes[i] for i in probs.argmax(axis=1)]
    return out, reference


def _mel_table(
    path: Path, fold: str, files: list[Path], conditions: list[str]
) -> tuple[pd.DataFrame, str]:
    from serkit.features.encoder import cached_package
    from serkit.features.speechflow import check_family, decompose_signal

    pkg = cached_package(str(path), fold)
    check_family(pkg, str(path))
    rate = pkg.frontend.sample_rate
    signals = _signals(files, rate)
    base = [decompose_signal(pkg, s, rate, REFERENCE) for s in signals]
    out = pd.DataFrame({"predicted": [None] * len(files)})
    for condition in conditions:
        mels = [decompose_signal(pkg, s, rate, condition) for s in signals]
        out[f"delta_{condition}"] = [
            float(np.mean(np.abs(m - b))) for m, b in zip(mels, base, strict=True)
        ]
    return out, REFERENCE


def explain_rows(
    source: str | os.PathLike,
    rows: pd.DataFrame,
    *,
    conditions: Sequence[str] | None = None,
) -> Explanation:
    """:func:`explain` on manifest rows (their audio, ids and true emotions)."""
    from serkit import manifest

    emotions = [None if pd.isna(e) else str(e) for e in rows["emotion"]]
    return explain(
        source,
        manifest.audio_paths(rows),
        conditions=conditions,
        emotions=emotions,
        ids=rows["id"].astype(str).tolist(),
    )


def pick_rows(rows: pd.DataFrame, limit: int, seed: int = 0) -> pd.DataFrame:
    """At most ``limit`` rows, spread evenly over the emotions (seeded, order kept)."""
    if limit <= 0 or len(rows) <= limit:
        return rows
    rng = np.random.default_rng(seed)
    groups = list(rows.groupby(rows["emotion"].astype(str)).groups.values())
    per = max(1, limit // max(1, len(groups)))
    chosen = []
    for index in groups:
        index = np.asarray(index)
        chosen.extend(rng.choice(index, size=min(per, len(index)), replace=False).tolist())
    out = rows.loc[sorted(chosen)[:limit]]
    out.attrs = dict(rows.attrs)
    return out
