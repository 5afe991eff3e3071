"""The similarity analysis of seed 004 (§4.6): Fisher ratios between real and synthetic sets.

For one or more runs (several runs = a sweep, e.g. over ``lambda_cls``; each run's synthetic
sets form one column ``syn_<lambda_cls>``), per saved fold:

(a) between sets: the source corpus vs the fold's real training rows, and every synthetic set
    vs those rows, per emotion (synthetic vectors of emotion ``e`` vs real vectors of ``e``;
    the source vs real ``e``) and over all emotions (``all``);
(b) between emotions: every pair of emotions within the real training rows and within each
    synthetic set.

Each per-feature ratio is averaged over the folds (and seeds); the table reports the mean
and max over the features. The mean +- std plot shows 12 representative features of source,
target and each synthetic set (:func:`representative_features`).

Unlike the original (one synthetic set made from every session), here each fold's generators
saw only that fold's training rows, so each fold's sets are compared with those rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from serkit.augment import fisher
from serkit.errors import ConfigError

#: the paper's 12 representative features: (descriptor, regex of its LLD name) x (mean, std);
#: emobase2010 / IS10 names first, eGeMAPS spellings as alternatives
REPRESENTATIVE = (
    ("loudness", r"(pcm_)?loudness_sma3?"),
    ("MFCC[4]", r"(pcm_fftMag_)?mfcc_sma\[4\]|mfcc4_sma3"),
    ("logMelFreqBand[0]", r"(pcm_fftMag_)?logMelFreqBand_sma\[0\]"),
    ("voicing", r"voicingFinalUnclipped_sma|voicingProb_sma"),
    ("jitter", r"jitterLocal_sma3?(nz)?"),
    ("shimmer", r"shimmerLocal(dB)?_sma3?(nz)?"),
)
FUNCTIONALS = (("mean", r"amean"), ("std", r"stddev(Norm)?"))
N_REPRESENTATIVE = 12


def representative_features(
    names: list[str] | None, fallback: np.ndarray | None = None
) -> tuple[list[int], list[str], str]:
    """Indices and labels of the 12 features of the mean +- std plot, and how they were chosen.

    The paper's features (mean and std of loudness, MFCC[4], logMelFreqBand[0], voicing,
    jitter, shimmer) are matched by name; when fewer than 12 exist (another feature set),
    the rest are the features with the largest ``fallback`` ratio (source vs target).

    Example:
        >>> names = ["pcm_loudness_sma_amean", "pcm_loudness_sma_stddev", "x"]
        >>> representative_features(names, np.array([0.0, 0.0, 5.0]))[:2]
        ([0, 1, 2], ['loudness mean', 'loudness std', 'x'])
    """
    chosen: list[int] = []
    labels: list[str] = []
    if names:
        for descriptor, lld in REPRESENTATIVE:
            for word, functional in FUNCTIONALS:
                pattern = re.compile(rf"^({lld})_({functional})$")
                hit = next((i for i, n in enumerate(names) if pattern.match(n)), None)
                if hit is not None and hit not in chosen:
                    chosen.append(hit)
                    labels.append(f"{descriptor} {word}")
    matched = len(chosen)
    how = f"{matched} of the paper's 12 features matched by name"
    if len(chosen) < N_REPRESENTATIVE and fallback is not None:
        order = np.argsort(-np.nan_to_num(np.asarray(fallback, float), posinf=np.inf))
        for i in order:
            if len(chosen) == N_REPRESENTATIVE:
                break
            if int(i) not in chosen:
                chosen.append(int(i))
                labels.append(names[int(i)] if names else f"feature {int(i)}")
        if len(chosen) > matched:
            how += f"; {len(chosen) - matched} with the largest source-target Fisher ratio"
    return chosen, labels, how


@dataclass
class Fold:
    """One fold's inputs: real training rows and, per synthetic set, its rows.

    Attributes:
        X: ``(n, dim)`` real training vectors; y: ``(n,)`` labels.
        synthetic: ``{set name: (X (k, dim), y (k,))}``.
    """

    X: np.ndarray
    y: np.ndarray
    synthetic: dict[str, tuple[np.ndarray, np.ndarray]]


@dataclass
class FisherResult:
    """Per-feature ratios averaged over folds.

    Attributes:
        classes: the emotions.
        sets: names of the synthetic sets, in column order.
        between_sets: ``{"source" | set: {emotion | "all": (dim,)}}``.
        between_emotions: ``{"target" | set: {(e1, e2): (dim,)}}``.
        distributions: ``{"source" | "target" | set: (mean (dim,), std (dim,))}``.
        feature_names: ``(dim,)`` names or ``None``; folds: folds averaged.
    """

    classes: list[str]
    sets: list[str]
    between_sets: dict[str, dict[str, np.ndarray]]
    between_emotions: dict[str, dict[tuple[str, str], np.ndarray]]
    distributions: dict[str, tuple[np.ndarray, np.ndarray]]
    feature_names: list[str] | None = None
    folds: int = 0
    notes: list[str] = field(default_factory=list)


def _mean(arrays: list[np.ndarray]) -> np.ndarray:
    return np.mean(np.stack(arrays), axis=0)


def fisher_analysis(
    folds: list[Fold],
    source: np.ndarray,
    classes: list[str],
    feature_names: list[str] | None = None,
) -> FisherResult:
    """The Fisher-ratio analysis of synthetic sets against real data (pure).

    Args:
        folds: per fold its real training rows and synthetic sets (same set names in all).
        source: ``(m, dim)`` source-corpus vectors.
        classes: the emotions (order of the table and plots).
        feature_names: ``(dim,)`` names, or ``None``.

    Returns:
        The ratios averaged over folds and the distributions pooled over folds.
    """
    if not folds:
        raise ConfigError("fisher_analysis: no fold to analyse")
    sets = list(folds[0].synthetic)
    present = [c for c in classes if any(np.any(f.y == c) for f in folds)]
    between: dict[str, dict[str, list[np.ndarray]]] = {"source": {}}
    pairs: dict[str, dict[tuple[str, str], list[np.ndarray]]] = {"target": {}}
    for fold in folds:
        if list(fold.synthetic) != sets:
            raise ConfigError(
                f"fisher_analysis: a fold has synthetic sets {list(fold.synthetic)}, "
                f"the first has {sets}"
            )
        per = between["source"]
        per.setdefault("all", []).append(fisher.source_target(source, fold.X))
        for label in present:
            if np.any(fold.y == label):
                per.setdefault(label, []).append(
                    fisher.fisher_ratio(source, fold.X[fold.y == label])
                )
        for key, value in fisher.emotion_pairs(fold.X, fold.y, present).items():
            pairs["target"].setdefault(key, []).append(value)
        for name, (X_syn, y_syn) in fold.synthetic.items():
            per = between.setdefault(name, {})
            per.setdefault("all", []).append(fisher.fisher_ratio(X_syn, fold.X))
            shared = [c for c in present if np.any(y_syn == c) and np.any(fold.y == c)]
            for label, value in fisher.synthetic_vs_target(
                X_syn, y_syn, fold.X, fold.y, shared
            ).items():
                per.setdefault(label, []).append(value)
            for key, value in fisher.emotion_pairs(X_syn, y_syn, present).items():
                pairs.setdefault(name, {}).setdefault(key, []).append(value)
    target = np.concatenate([f.X for f in folds])
    distributions = {
        "source": (source.mean(axis=0), source.std(axis=0)),
        "target": (target.mean(axis=0), target.std(axis=0)),
    }
    for name in sets:
        pooled = np.concatenate([f.synthetic[name][0] for f in folds])
        distributions[name] = (pooled.mean(axis=0), pooled.std(axis=0))
    order = ["all", *present]
    return FisherResult(
        classes=present,
        sets=sets,
        between_sets={
            row: {k: _mean(per[k]) for k in order if k in per} for row, per in between.items()
        },
        between_emotions={col: {k: _mean(v) for k, v in per.items()} for col, per in pairs.items()},
        distributions=distributions,
        feature_names=feature_names,
        folds=len(folds),
    )


def summary_rows(result: FisherResult) -> list[dict[str, Any]]:
    """The table: one row per comparison with ``kind``, ``set``, ``against``, ``mean``,
    ``max``, ``n_features``, ``n_infinite``."""
    rows = []
    for name, per in result.between_sets.items():
        for against, ratios in per.items():
            rows.append(
                {
                    "kind": "between_sets",
                    "set": name,
                    "against": f"target {against}",
                    **fisher.summarize(ratios),
                }
            )
    for name, per in result.between_emotions.items():
        for (a, b), ratios in per.items():
            rows.append(
                {
                    "kind": "between_emotions",
                    "set": name,
                    "against": f"{a}-{b}",
                    **fisher.summarize(ratios),
                }
            )
    return rows


def load_runs(run_dirs: list[Path]) -> tuple[list[Fold], Any, list[str]]:
    """Read the folds of one or more runs (a sweep) into :class:`Fold` s.

    The first run gives the real rows; every other run must hold the same (seed, fold) keys
    with the same training rows (else it is not a sweep over the same data).

    Returns:
        ``(folds, real vectors of the first run, set names)``.

    Raises:
        ConfigError: naming the run folder and what is missing or differs.
    """
    from serkit.augment import _runsets

    indexes = [_runsets.read_index(run) for run in run_dirs]
    names = _set_names(run_dirs, indexes)
    real = _runsets.read_real(run_dirs[0])
    by_run = [
        {fs.key: fs for fs in (_runsets.read_fold(run, e) for e in entries)}
        for run, entries in zip(run_dirs, indexes, strict=True)
    ]
    folds = []
    for key, first in by_run[0].items():
        missing = [i for i, fs in enumerate(first.train_id) if fs not in real.X]
        if missing:
            raise ConfigError(
                f"{run_dirs[0]}: fold {key[1]!r} (seed {key[0]}) trained on row "
                f"{first.train_id[missing[0]]}, which the run's data no longer has; analyse "
                "the run with the manifests and store it was trained with"
            )
        X = np.stack([real.X[i] for i in first.train_id])
        y = np.array([real.labels[i] for i in first.train_id])
        synthetic = {}
        for run, sets, name in zip(run_dirs, by_run, names, strict=True):
            fs = sets.get(key)
            if fs is None:
                raise ConfigError(
                    f"{run}: has no synthetic set of fold {key[1]!r} (seed {key[0]}) that "
                    f"{run_dirs[0]} has; a sweep's runs need the same seeds and folds"
                )
            if not np.array_equal(fs.train_id, first.train_id):
                raise ConfigError(
                    f"{run}: fold {key[1]!r} (seed {key[0]}) was trained on other rows than in "
                    f"{run_dirs[0]}; a sweep's runs need the same data and protocol"
                )
            if fs.X.shape[1] != X.shape[1]:
                raise ConfigError(
                    f"{run}: synthetic vectors have {fs.X.shape[1]} features, the run's real "
                    f"vectors {X.shape[1]}; a sweep's runs need the same front end"
                )
            synthetic[name] = (fs.X, fs.y)
        folds.append(Fold(X, y, synthetic))
    return folds, real, names


def _set_names(run_dirs: list[Path], indexes: list[list[dict[str, Any]]]) -> list[str]:
    """``syn_<lambda_cls>`` per run when those differ, else the folder names."""
    from serkit.augment._runsets import set_label

    labels = [set_label(run, entries) for run, entries in zip(run_dirs, indexes, strict=True)]
    values = [value for _, value in labels]
    if None not in values and len({str(v) for v in values}) == len(values):
        return [f"syn_{float(v):g}" for v in values]
    names = [name for name, _ in labels]
    if len(set(names)) < len(names):
        names = [f"{i + 1}:{name}" for i, name in enumerate(names)]
    return names


def analyze_fisher(run_dirs: list[Path], output: Path | None = None) -> list[Path]:
    """Run the analysis on saved runs and write the table and plots.

    Args:
        run_dirs: one run, or several (a sweep over ``lambda_cls``).
        output: folder for the files (default ``<first run>/analysis/fisher``).

    Returns:
        The files written: ``fisher_summary.md``, ``fisher_summary.csv``,
        ``fisher_ratios.npz``, ``overlap_between_sets.png``, ``overlap_between_emotions.png``,
        ``feature_distributions.png``.
    """
    from serkit.augment import plots

    run_dirs = [Path(p) for p in run_dirs]
    if not run_dirs:
        raise ConfigError("analyze_fisher: give at least one run folder")
    folds, real, _ = load_runs(run_dirs)
    result = fisher_analysis(folds, real.source_x, real.classes, real.feature_names)
    out = Path(output) if output is not None else run_dirs[0] / "analysis" / "fisher"
    return plots.write_all(result, out, [str(p) for p in run_dirs])
