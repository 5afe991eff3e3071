"""Prediction from a trained model package: audio files in, labels and probabilities out.

:class:`Predictor` loads a model package (``model.json`` + weights, see
:mod:`serkit.models.package`) and rebuilds the feature front end recorded in it
(``extra["frontend"]``: extractor, VAD trimming, per-speaker or per-corpus normalisation; see
:class:`serkit.features.frontend.Frontend`), reads each file at the extractor's sample rate,
computes its features exactly as training did and calls ``predict_proba`` in batches. A model
trained on per-speaker normalised features needs the speaker of every input
(:meth:`Predictor.predict_manifest`, or ``speaker=`` for files of one speaker) and refuses
without; one trained on per-corpus normalised features z-scores the inputs of one call as one
corpus, unless they carry their own (a manifest's ``corpus`` column). A run folder
(``runs/<name>/``) has its package in ``model/``; either may be given.

Audio the front end cannot analyse (shorter than its ``min_duration_s`` or quieter than its
``min_level_dbfs`` after the VAD, see :mod:`serkit.features.analysable`) is not an error and
gets no label: its row has a missing ``label`` (``pd.isna``), NaN probabilities and a
``status`` such as ``"unanalysable: 0.050 s (800 samples) < 0.100 s minimum duration"``
(``"ok"`` otherwise).
Unreadable files raise (or, with ``skip_bad``, are listed in ``df.attrs["skipped"]``).

Example:
    >>> p = Predictor.from_path("runs/ravdess-svm")           # doctest: +SKIP
    >>> p.predict_files(["a.wav", "clips/"]).head()           # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from serkit import input_groups
from serkit.errors import SKIP_BAD, AudioError, ConfigError, SerkitError
from serkit.features.analysable import UnanalysableError
from serkit.features.base import FeatureError
from serkit.features.frontend import Frontend
from serkit.views import compute_views, mean_posteriors, normalise_views, view_frontends


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


def frontend_from_meta(
    meta: dict[str, Any], model_dir: Path, *, required: bool = True
) -> Frontend | None:
    """The feature front end a package was trained with (``extra["frontend"]``).

    Packages written before front ends existed record ``extra["extractor"]`` (and
    ``extra["speaker_normalize"]``); they are read as that extractor without VAD.

    Args:
        meta: the package's ``model.json``.
        model_dir: the package folder (for messages).
        required: raise when none is recorded (else return ``None``).

    Raises:
        ConfigError: the package records no front end and ``required``.
    """
    extra = meta.get("extra") or {}
    if extra.get("frontend"):
        return Frontend.from_dict(extra["frontend"])
    if extra.get("extractor"):
        legacy = Frontend.from_dict(extra["extractor"])
        return replace(legacy, normalize="speaker" if extra.get("speaker_normalize") else "none")
    if not required:
        return None
    raise ConfigError(
        f"{model_dir / 'model.json'}: no extra.frontend recorded; the package cannot turn audio "
        "into features. Save it with save_model(..., extra={'frontend': frontend.to_dict()}) or "
        "pass a Frontend to Predictor(...)"
    )


@dataclass(frozen=True)
class Item:
    """One input to predict: a file (or a segment of it) and, where known, its speaker and
    corpus."""

    path: Path
    id: str | None = None
    speaker: str | None = None
    start: float | None = None
    end: float | None = None
    corpus: str | None = None


class Predictor:
    """A fitted model plus the feature front end it was trained with.

    Args:
        model: fitted estimator (``predict_proba``, ``classes_``, ``input_level``).
        frontend: the :class:`~serkit.features.frontend.Frontend` (an extractor alone is
            taken as a front end without VAD and normalisation).
        meta: the package's ``model.json`` (optional; its ``extra.test_speeds`` adds a
            test-time view per speed factor).

    Attributes:
        views: the front ends an input goes through: the trained one, then one per
            test-time speed factor (a run with ``perturb.test``); posteriors are their mean.
    """

    def __init__(self, model: Any, frontend: Frontend | Any, meta: dict[str, Any] | None = None):
        self.model = model
        self.frontend = frontend if isinstance(frontend, Frontend) else Frontend(frontend)
        self.meta = meta or {}
        self.views = view_frontends(self.frontend, self.meta)

    @classmethod
    def from_path(cls, path: str | os.PathLike, *, trust_pickle: bool = False) -> Predictor:
        """Load from a run folder (with ``model/``), a model package folder, or an ``.onnx``
        file written by :func:`serkit.export.export` (run with ONNX Runtime).

        The package is verified first (checksums, see
        :func:`serkit.models.package.load_model`); ``trust_pickle=True`` lets an old package
        whose model is a pickle load (only for a package you trust: loading runs its code).
        """
        from serkit.models.package import load_model

        if Path(path).suffix == ".onnx" and Path(path).is_file():
            from serkit.export import OnnxClassifier

            onnx = OnnxClassifier(path)
            return cls(onnx, onnx.frontend, onnx.meta)
        model_dir = resolve_model_dir(path)
        model, meta = load_model(model_dir, trust_pickle=trust_pickle)
        return cls(model, frontend_from_meta(meta, model_dir), meta)

    def check_input(self, feats: np.ndarray, path: str | os.PathLike) -> None:
        """Refuse features whose shape the model does not take (checked on the first file).

        Raises:
            ConfigError: naming the file, the front end, and the expected and found dimension.
        """
        from serkit.models.package import input_dim

        recorded = self.meta.get("input") or {}
        expected = recorded.get("dim") or input_dim(self.model)
        level = "frame" if feats.ndim == 2 else "utterance"
        found = int(feats.shape[-1]) if level == "frame" else int(feats.size)
        channels = int(self.frontend.extractor.channels)
        wanted = recorded.get("channels") or channels
        if (
            level != self.input_level
            or (expected is not None and found != int(expected))
            or channels != int(wanted)
        ):
            raise ConfigError(
                f"{path}: the front end ({self.frontend.describe()}) gives {level}-level "
                f"features of dimension {found} ({channels} channel(s)), but the model takes "
                f"{self.input_level}-level features of dimension {expected} ({wanted} "
                "channel(s)); the front end and the model do not belong together (a package "
                "mixed from two runs?): re-export or retrain"
            )

    @property
    def extractor(self) -> Any:
        """The front end's extractor."""
        return self.frontend.extractor

    @property
    def classes(self) -> list[str]:
        """Class labels in probability-column order."""
        return [str(c) for c in self.model.classes_]

    @property
    def input_level(self) -> str:
        """``"utterance"`` or ``"frame"``."""
        return getattr(self.model, "input_level", "utterance")

    def features(
        self, path: str | os.PathLike, *, start: float | None = None, end: float | None = None
    ) -> np.ndarray:
        """Read one file (or segment) at the front end's rate and compute its features
        (VAD trimming included; per-speaker normalisation is a batch step, see
        :meth:`predict_items`). A model with test-time copies predicts from all of
        :meth:`view_features`; this is the first of them.

        Raises:
            AudioError: the file cannot be read.
            UnanalysableError: too short or too silent after the VAD (names the file and why).
            FeatureError: the extractor cannot compute finite features of it.
        """
        return self.view_features(path, start=start, end=end, views=self.views[:1])[0]

    def view_features(
        self,
        path: str | os.PathLike,
        *,
        start: float | None = None,
        end: float | None = None,
        views: Sequence[Frontend] | None = None,
    ) -> list[np.ndarray | None]:
        """Read one file (or segment) once and compute its features through every front end
        of :attr:`views` (the trained one, then one per test-time speed factor; ``None`` for
        a sped-up view that cannot be analysed, as a run leaves out a copy it cannot make).

        Raises:
            AudioError, UnanalysableError, FeatureError: as :meth:`features`, naming the file.
        """
        from serkit.audio import read

        signal, rate = read(path, sample_rate=self.frontend.sample_rate, start=start, end=end)
        try:
            return self.signal_views(signal, rate, views=views)
        except UnanalysableError as exc:
            raise UnanalysableError(f"{path}: {exc.message}", reason=exc.reason) from None
        except FeatureError as exc:
            raise FeatureError(f"{path}: {exc.message}") from exc

    def signal_views(
        self, signal: np.ndarray, rate: int, *, views: Sequence[Frontend] | None = None
    ) -> list[np.ndarray | None]:
        """Features of one signal ``(samples,)`` at the front end's rate, one array per front
        end of :attr:`views` (default: all of them); a sped-up view that cannot be analysed
        is ``None`` and left out of the mean (:func:`serkit.views.compute_views`).

        Raises:
            UnanalysableError: too short or too silent after the VAD (the trained view).
            FeatureError: the extractor cannot compute finite features of it (likewise).
        """
        return compute_views(self.views if views is None else views, signal, rate)

    def predict_features(self, feats: Sequence[np.ndarray]) -> np.ndarray:
        """Posteriors ``(n, classes)`` of already computed (and normalised) features, through
        the trained front end only (see :meth:`predict_views` for test-time copies)."""
        if self.input_level == "frame":
            return self.model.predict_proba(list(feats))
        return self.model.predict_proba(np.stack([np.ravel(f) for f in feats]))

    def predict_views(self, views: Sequence[Sequence[np.ndarray | None]]) -> np.ndarray:
        """Posteriors ``(n, classes)`` of ``n`` inputs, each given as its features through
        every front end of :attr:`views` (normalised; ``None`` where a sped-up view could not
        be analysed): the mean of the views' posteriors, as the run that trained the model
        (``perturb.test``) scored its test rows."""
        parts = []
        for k in range(len(self.views)):
            have = [i for i, item in enumerate(views) if item[k] is not None]
            if have:
                parts.append((have, self.predict_features([views[i][k] for i in have])))
        return mean_posteriors(len(views), len(self.classes), parts)

    def predict_files(
        self,
        inputs: Iterable[str | os.PathLike],
        *,
        speaker: str | None = None,
        batch_size: int = 16,
        skip_bad: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> pd.DataFrame:
        """Predict audio files (folders are searched recursively).

        A model trained with ``features.normalize: corpus`` z-scores all the files of one call
        as one corpus (at least :data:`~serkit.input_groups.MIN_GROUP_ITEMS` of them).

        Args:
            inputs: files and/or folders.
            speaker: the one speaker of every file (needed by a model trained with
                ``features.normalize: speaker``; then a ``speaker`` column is added).
            batch_size: files per ``predict_proba`` call.
            skip_bad: skip unreadable files (listed in ``df.attrs["skipped"]`` as
                ``"path: reason"``) instead of raising.
            progress: called with the number of files finished after each file.

        Returns:
            DataFrame with columns ``path, label, status, prob_<class>...`` in input order;
            ``status`` is ``"ok"``, or for audio too short or too silent to analyse
            ``"unanalysable: <why>"`` with a missing ``label`` and NaN probabilities.

        Raises:
            AudioError: a bad file (naming it) when ``skip_bad`` is false.
            ConfigError: the model needs speakers and none was given, or too few files to
                normalise per speaker or per corpus.
        """
        items = [Item(path, speaker=speaker) for path in collect_audio(inputs)]
        return self.predict_items(
            items, batch_size=batch_size, skip_bad=skip_bad, progress=progress
        )

    def predict_manifest(
        self,
        manifest: pd.DataFrame,
        *,
        batch_size: int = 16,
        skip_bad: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> pd.DataFrame:
        """Predict the rows of a manifest (its ``speaker`` column groups per-speaker
        normalisation, its ``corpus`` column per-corpus normalisation; ``start``/``end`` cut
        segments). Columns: ``id, path, speaker, label, status, prob_<class>...`` (see
        :meth:`predict_files`; ``corpus`` after ``speaker`` for a per-corpus model)."""
        from serkit import manifest as mf

        starts = manifest["start"] if "start" in manifest.columns else [None] * len(manifest)
        ends = manifest["end"] if "end" in manifest.columns else [None] * len(manifest)
        speakers = manifest["speaker"] if "speaker" in manifest.columns else [None] * len(manifest)
        corpora = manifest["corpus"] if "corpus" in manifest.columns else [None] * len(manifest)
        items = [
            Item(path, str(row_id), _text(spk), _number(start), _number(end), _text(corpus))
            for row_id, path, spk, start, end, corpus in zip(
                manifest["id"],
                mf.audio_paths(manifest),
                speakers,
                starts,
                ends,
                corpora,
                strict=True,
            )
        ]
        return self.predict_items(
            items, batch_size=batch_size, skip_bad=skip_bad, progress=progress
        )

    def predict_items(
        self,
        items: Sequence[Item],
        *,
        batch_size: int = 16,
        skip_bad: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> pd.DataFrame:
        """Predict :class:`Item` s in order (see :meth:`predict_files` for the arguments).

        A front end with per-speaker normalisation z-scores each speaker's features with the
        statistics of that speaker's items in this call (as training did with the speaker's
        rows), so every item needs a speaker, and at utterance level each speaker at least
        :data:`~serkit.input_groups.MIN_GROUP_ITEMS` items. Per-corpus normalisation does the
        same per corpus: items without a corpus (files) are all one corpus, the items of a
        manifest are grouped by its ``corpus`` column (all items carry one or none).
        """
        column = self.frontend.group_column
        if column == "speaker":
            input_groups.check_speakers(items)
        elif column == "corpus":
            input_groups.check_corpora(items)
        keep: list[Item] = []
        feats: list[list[np.ndarray | None]] = []  # per item: its features through every view
        skipped: list[str] = []
        outcome: list[tuple[Item, str | None]] = []  # in input order; a status if unanalysable
        for item in items:
            try:
                computed = self.view_features(item.path, start=item.start, end=item.end)
            except UnanalysableError as exc:  # a row that says why, never a label (nor an error)
                outcome.append((item, exc.reason))
            except SerkitError as exc:
                if not skip_bad:
                    exc.hint = SKIP_BAD  # the caller can skip such files
                    raise
                skipped.append(f"{item.path}: {exc}")
            else:
                if not feats:  # a model/front-end mismatch is no bad file: never skipped
                    self.check_input(computed[0], item.path)
                feats.append(computed)
                keep.append(item)
                outcome.append((item, None))
            if progress is not None:
                progress(1)
        if column is not None and keep:
            groups = [input_groups.group_of(item, column) for item in keep]
            if self.input_level == "utterance":
                left_out = skipped + [s for _, s in outcome if s is not None]
                input_groups.check_counts(groups, column, left_out)
            normalise_views(self.views, feats, groups, self.input_level)
        proba = [
            self.predict_views(feats[i : i + batch_size])
            for i in range(0, len(feats), batch_size)
        ]
        probs = np.concatenate(proba) if proba else np.zeros((0, len(self.classes)))
        with_id = any(item.id is not None for item in items)
        with_speaker = any(item.speaker is not None for item in items)
        with_corpus = column == "corpus" and any(item.corpus is not None for item in items)
        columns = (
            (["id"] if with_id else [])
            + ["path"]
            + (["speaker"] if with_speaker else [])
            + (["corpus"] if with_corpus else [])
            + ["label", "status"]
            + [f"prob_{c}" for c in self.classes]
        )
        rows = []
        posteriors = iter(probs)
        for item, status in outcome:
            row: dict[str, Any] = {
                "id": item.id,
                "path": str(item.path),
                "speaker": item.speaker,
                "corpus": item.corpus,
            }
            if status is None:
                p = next(posteriors)
                row.update(label=self.classes[int(np.argmax(p))], status="ok")
                row.update({f"prob_{c}": float(v) for c, v in zip(self.classes, p, strict=True)})
            else:  # no label and no probabilities: the status says why
                row.update(label=None, status=status)
                row.update({f"prob_{c}": float("nan") for c in self.classes})
            rows.append(row)
        df = pd.DataFrame(rows, columns=columns)
        df.attrs["skipped"] = skipped
        return df


def _text(value: Any) -> str | None:
    return None if value is None or pd.isna(value) or not str(value).strip() else str(value)


def _number(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def predict(
    model_path: str | os.PathLike,
    inputs: Iterable[str | os.PathLike] = (),
    *,
    manifest: pd.DataFrame | None = None,
    speaker: str | None = None,
    batch_size: int = 16,
    skip_bad: bool = False,
    progress: bool = False,
    trust_pickle: bool = False,
) -> pd.DataFrame:
    """Load ``model_path`` (run or package folder) and predict ``inputs`` (files/folders) or
    the rows of ``manifest``.

    Args:
        model_path: a run folder or a model package.
        inputs: audio files and/or folders (with ``speaker``: all of one speaker).
        manifest: a manifest to predict instead of ``inputs`` (speakers and corpora from its
            columns).
        speaker: the speaker of every input file.
        batch_size: files per ``predict_proba`` call.
        skip_bad: skip (and list) bad files instead of raising.
        progress: show a progress bar.
        trust_pickle: load an old package whose model is a pickle (runs its code; see
            :meth:`Predictor.from_path`).

    Raises:
        ConfigError: both or neither of ``inputs`` and ``manifest``, or ``speaker`` with a
            manifest.
    """
    inputs = list(inputs)
    if (manifest is None) == (not inputs):
        raise ConfigError("predict: give audio inputs or a manifest (exactly one of them)")
    if manifest is not None and speaker is not None:
        raise ConfigError("predict: speaker= applies to audio inputs; a manifest has its own")
    predictor = Predictor.from_path(model_path, trust_pickle=trust_pickle)
    total = len(manifest) if manifest is not None else len(collect_audio(inputs))

    def go(update: Callable[[int], None] | None) -> pd.DataFrame:
        options = {"batch_size": batch_size, "skip_bad": skip_bad, "progress": update}
        if manifest is not None:
            return predictor.predict_manifest(manifest, **options)
        return predictor.predict_files(inputs, speaker=speaker, **options)

    if not progress:
        return go(None)
    from tqdm import tqdm

    with tqdm(total=total, unit="file", desc="predict", leave=False) as bar:
        return go(bar.update)
