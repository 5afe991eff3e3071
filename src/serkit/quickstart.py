"""The main job end to end on the synthetic demo corpus.

``quickstart(folder)`` runs every stage of the pipeline once, each leaving its file under
``folder``::

    corpus/            serkit demo-corpus     (6 speakers x 5 emotions, RAVDESS names)
    manifests/         serkit prepare ravdess
    features/          serkit features        (the run's feature store)
    config.yaml        the experiment config  (eGeMAPS + SVM, leave one speaker out)
    runs/<name>/       serkit train           (folds, predictions, metrics, report, model)
    new_audio/         unseen recordings of a new speaker
    predictions.csv    serkit predict         (the trained model on new_audio/)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

DEFAULT_FEATURES: dict = {"name": "egemaps", "params": {}}
DEFAULT_MODEL: dict = {"name": "svm", "params": {"C": 1.0}}


@dataclass
class QuickstartResult:
    """Where the quickstart left its outputs."""

    folder: Path
    manifest: Path
    run: Path
    report: Path
    predictions: Path
    metrics: dict
    predicted: pd.DataFrame


def demo_config(folder: Path, *, features: dict, model: dict, workers: int = 1) -> dict:
    """The experiment config the quickstart trains (paths inside ``folder``)."""
    return {
        "name": f"demo_{features['name']}_{model['name']}",
        "description": "synthetic demo corpus, speaker-independent (leave one speaker out)",
        "data": {
            "manifests": [str(folder / "manifests" / "ravdess.parquet")],
            "label_set": None,
        },
        "features": {**features, "store": str(folder / "features")},
        "model": model,
        "protocol": {"name": "loso", "params": {}, "disjoint": ["speaker"]},
        "seeds": [0],
        "output": str(folder / "runs"),
        "workers": workers,
    }


def _check(folder: Path, features: dict, model: dict, workers: int) -> None:
    """Refuse bad arguments before any stage runs (the registries name unknown names)."""
    from serkit.errors import ConfigError
    from serkit.features import get_extractor
    from serkit.models import get_model

    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{folder}: is a file; the quickstart needs a folder to write into")
    if int(workers) < 1:
        raise ConfigError(f"workers must be >= 1, got {workers}")
    get_extractor(features["name"], **(features.get("params") or {}))
    get_model(model["name"], **(model.get("params") or {}))


def quickstart(
    folder: str | os.PathLike,
    *,
    features: dict | None = None,
    model: dict | None = None,
    workers: int = 1,
    log: Callable[[str], None] = print,
) -> QuickstartResult:
    """Run demo corpus -> prepare -> features -> train (LOSO) -> report -> predict.

    Args:
        folder: where everything is written (created).
        features: ``{"name": ..., "params": {...}}`` (default eGeMAPS functionals).
        model: ``{"name": ..., "params": {...}}`` (default an RBF SVM).
        workers: feature-extraction processes.
        log: called with one line per step.

    Returns:
        The paths of the outputs, the pooled metrics and the predictions on new audio.

    Raises:
        ConfigError / RegistryError: an unknown extractor or model, a bad parameter, ``workers``
            below 1 or a ``folder`` that is a file (before anything is written).
    """
    from serkit import config as config_io
    from serkit import experiment, manifest
    from serkit.corpora import prepare
    from serkit.corpora.ravdess import parse_name
    from serkit.demo import make_corpus
    from serkit.inference import predict
    from serkit.report import headline

    folder = Path(folder).resolve()
    features = dict(features or DEFAULT_FEATURES)
    model = dict(model or DEFAULT_MODEL)
    _check(folder, features, model, workers)
    folder.mkdir(parents=True, exist_ok=True)

    log("1/5 writing the synthetic demo corpus")
    corpus = make_corpus(folder / "corpus")
    log(f"    {corpus.format()}")

    log("2/5 preparing its manifest (recipe: ravdess)")
    df = prepare("ravdess", corpus.root, output=folder / "manifests")
    log("    " + manifest.summary(df).format(max_speakers=8).replace("\n", "\n    "))

    cfg = demo_config(folder, features=features, model=model, workers=workers)
    config_path = config_io.dump(cfg, folder / "config.yaml")
    log(
        f"3/5 extracting {features['name']} features and training {model['name']} "
        f"under leave-one-speaker-out (config {config_path})"
    )
    run_dir = experiment.run(cfg, log=lambda line: log(f"    {line}"), progress=False)

    log("4/5 predicting unseen recordings of a new speaker")
    new = make_corpus(folder / "new_audio", speakers=1, sentences=1, repetitions=1, seed=2024)
    predicted = predict(run_dir, [new.root], skip_bad=False)
    predictions_path = folder / "predictions.csv"
    predicted.to_csv(predictions_path, index=False)
    shown = pd.DataFrame(
        {
            "file": [Path(p).name for p in predicted["path"]],
            "acted": [parse_name(Path(p).stem)["emotion"] for p in predicted["path"]],
            "predicted": predicted["label"],
        }
    )
    log("    " + shown.to_string(index=False).replace("\n", "\n    "))

    metrics_path = run_dir / "metrics.json"
    import json

    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    report = run_dir / "report.html"
    log("5/5 done")
    if metrics:
        log(f"    {headline(metrics)}")
    log(f"    manifest:    {folder / 'manifests' / 'ravdess.parquet'}")
    log(f"    run folder:  {run_dir}")
    log(f"    report:      {report}  (and report.md)")
    log(f"    predictions: {predictions_path}")
    return QuickstartResult(
        folder=folder,
        manifest=folder / "manifests" / "ravdess.parquet",
        run=run_dir,
        report=report,
        predictions=predictions_path,
        metrics=metrics,
        predicted=predicted,
    )
