"""Prediction from a trained model package: audio files in, labels and probabilities out.

:class:`Predictor` loads a model package (``model.json`` + weights, see
:mod:`serkit.models.package`) and the extractor recorded in it (``extra["extractor"]``), reads
each file at the extractor's sample rate, extracts features and calls ``predict_proba`` in
batches. A run folder (``runs/<name>/``) has its package in ``model/``; either may be given.

Example:
    >>> p = Predictor.from_path("runs/ravdess-svm")           # doctest: +SKIP
    >>> p.predict_files(["a.wav", "clips/"]).head()           # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from serkit.errors import AudioError, ConfigError, SerkitError


def resolve_model_dir(path: str | os.PathLike) -> Path:
    """The package folder of ``path``: itself if it has ``model.json``, else ``path/model``.

    Raises:
        ConfigError: neither holds a ``model.json``.
    """
    path = Path(path)
    for candidate in (path, path / "model"):
        if (candidate / "model.json").is_file():
            return candidate
    if not path.exists():
        raise ConfigError(f"{path}: no such run or model folder")
    raise ConfigError(
        f"{path}: no model.json here nor in {path / 'model'}; pass a run folder written by "
        "`serkit train`/experiment.run or a package written by save_model()"
    )


def collect_audio(inputs: Iterable[str | os.PathLike]) -> list[Path]:
    """Expand inputs to audio files: files are kept as given, folders searched recursively.

    Raises:
        AudioError: an input does not exist.
    """
    from serkit.audio import is_audio

    out: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*") if p.is_file() and is_audio(p)))
        elif path.exists():
            out.append(path)
        else:
            raise AudioError(f"{path}: no such file or folder")
    return out


def _extractor_from_meta(meta: dict[str, Any], model_dir: Path) -> Any:
    spec = (meta.get("extra") or {}).get("extractor")
    if not spec:
        raise ConfigError(
            f"{model_dir / 'model.json'}: no extra.extractor recorded; the package cannot "
            "turn audio into features. Save it with save_model(..., extra={'extractor': "
            "extractor.to_dict()}) or pass an extractor to Predictor(...)"
        )
    from serkit.features import extractor_from_dict

    return extractor_from_dict(spec)


class Predictor:
    """A fitted model plus the extractor it was trained with.

    Args:
        model: fitted estimator (``predict_proba``, ``classes_``, ``input_level``).
        extractor: callable ``signal, sample_rate -> features`` with a ``sample_rate``.
        meta: the package's ``model.json`` (optional, informative).
    """

    def __init__(self, model: Any, extractor: Any, meta: dict[str, Any] | None = None) -> None:
        self.model = model
        self.extractor = extractor
        self.meta = meta or {}

    @classmethod
    def from_path(cls, path: str | os.PathLike) -> Predictor:
        """Load from a run folder (with ``model/``) or a model package folder."""
        from serkit.models.package import load_model

        model_dir = resolve_model_dir(path)
        model, meta = load_model(model_dir)
        if (meta.get("extra") or {}).get("speaker_normalize"):
            import warnings

            warnings.warn(
                f"{model_dir}: trained on per-speaker z-scored features (features.normalize: "
                "speaker) but predict sees raw per-file features; expect lower accuracy",
                UserWarning,
                stacklevel=2,
            )
        return cls(model, _extractor_from_meta(meta, model_dir), meta)

    @property
    def classes(self) -> list[str]:
        """Class labels in probability-column order."""
        return [str(c) for c in self.model.classes_]

    @property
    def input_level(self) -> str:
        """``"utterance"`` or ``"frame"``."""
        return getattr(self.model, "input_level", "utterance")

    def features(self, path: str | os.PathLike) -> np.ndarray:
        """Read one file at the extractor's rate and extract its features."""
        from serkit.audio import read

        signal, rate = read(path, sample_rate=int(self.extractor.sample_rate))
        feats = np.asarray(self.extractor(signal, rate), dtype=np.float32)
        if not np.all(np.isfinite(feats)):
            raise AudioError(f"{path}: features contain NaN or inf (silent or corrupt audio?)")
        if feats.ndim == 2 and feats.shape[0] == 0:
            raise AudioError(f"{path}: too short to give any feature frame")
        return feats

    def predict_features(self, feats: Sequence[np.ndarray]) -> np.ndarray:
        """Posteriors ``(n, classes)`` of already extracted features."""
        if self.input_level == "frame":
            return self.model.predict_proba(list(feats))
        return self.model.predict_proba(np.stack([np.ravel(f) for f in feats]))

    def predict_files(
        self,
        inputs: Iterable[str | os.PathLike],
        *,
        batch_size: int = 16,
        skip_bad: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> pd.DataFrame:
        """Predict audio files (folders are searched recursively).

        Args:
            inputs: files and/or folders.
            batch_size: files per ``predict_proba`` call.
            skip_bad: skip unreadable files (listed in ``df.attrs["skipped"]`` as
                ``"path: reason"``) instead of raising.
            progress: called with the number of files finished after each file.

        Returns:
            DataFrame with columns ``path, label, prob_<class>...`` in input order.

        Raises:
            AudioError: a bad file (naming it) when ``skip_bad`` is false.
        """
        paths = collect_audio(inputs)
        rows: list[dict[str, Any]] = []
        skipped: list[str] = []
        pending: list[tuple[Path, np.ndarray]] = []

        def flush() -> None:
            if not pending:
                return
            proba = self.predict_features([f for _, f in pending])
            for (path, _), p in zip(pending, proba, strict=True):
                row: dict[str, Any] = {"path": str(path), "label": self.classes[int(np.argmax(p))]}
                row.update({f"prob_{c}": float(v) for c, v in zip(self.classes, p, strict=True)})
                rows.append(row)
            pending.clear()

        for path in paths:
            try:
                pending.append((path, self.features(path)))
            except SerkitError as exc:
                if not skip_bad:
                    raise
                skipped.append(f"{path}: {exc}")
            if len(pending) >= batch_size:
                flush()
            if progress is not None:
                progress(1)
        flush()
        columns = ["path", "label"] + [f"prob_{c}" for c in self.classes]
        df = pd.DataFrame(rows, columns=columns)
        df.attrs["skipped"] = skipped
        return df


def predict(
    model_path: str | os.PathLike,
    inputs: Iterable[str | os.PathLike],
    *,
    batch_size: int = 16,
    skip_bad: bool = False,
    progress: bool = False,
) -> pd.DataFrame:
    """Load ``model_path`` (run or package folder) and predict ``inputs`` (files/folders)."""
    predictor = Predictor.from_path(model_path)
    inputs = list(inputs)
    if not progress:
        return predictor.predict_files(inputs, batch_size=batch_size, skip_bad=skip_bad)
    from tqdm import tqdm

    total = len(collect_audio(inputs))
    with tqdm(total=total, unit="file", desc="predict", leave=False) as bar:
        return predictor.predict_files(
            inputs, batch_size=batch_size, skip_bad=skip_bad, progress=bar.update
        )
