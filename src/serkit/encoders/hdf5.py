"""The representation seed's HDF5 store: one leaf per RAVDESS utterance, keyed by its codes.

Layout (seed 001, ``reference/seed_methods.md`` 1.1; the seed keeps each statement in its own
dictionary)::

    statement_SS / Actor_AA / emotion_EE / intensity_II / repete_RR     (a group per utterance)
        wav          (samples,) float32 at the leaf's ``sample_rate``   (``waveform=True``)
        <features>   (frames, dim) or (dim,) float32, e.g. ``logmel``  (``features=...``)
        attrs:  id, path, speaker, actor, gender, emotion, raw_emotion, intensity, statement
                (the sentence), text_id, repetition, duration, sample_rate, corpus, and every
                other scalar column of the manifest row

so ``h5["statement_01"]["Actor_01"]["emotion_05"]["intensity_02"]["repete_01"]["wav"]`` is
the seed's ``data['Actor_#']['emotion_#']['intensity_#']['repete_#']`` of statement 1, with the
two-digit codes of the RAVDESS file name. File attributes: ``layout``, ``corpus``, ``root``,
``serkit_version``, ``features`` (the front end's ``to_dict()`` as JSON, or ``""``),
``feature_name``; the dataset ``index`` lists the leaves in manifest order.

:func:`write_hdf5` writes the file atomically (``serkit.atomic``) from any RAVDESS manifest
(the codes come from the file names, as ``serkit prepare ravdess`` parses them);
:func:`read_hdf5` gives back a manifest-like table plus the arrays.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from serkit.errors import SKIP_BAD, AudioError, ConfigError, Hint, ManifestError, message_of

if TYPE_CHECKING:
    from serkit.features.base import Extractor
    from serkit.features.frontend import Frontend

#: the remedy for speech and song rows in one manifest
CHANNEL = Hint("channel", "speech", "(or 'song') to keep the rows of one vocal channel")
LAYOUT = "statement_SS/Actor_AA/emotion_EE/intensity_II/repete_RR"
WAVE = "wav"


@dataclass
class Hdf5Summary:
    """What :func:`write_hdf5` wrote.

    Attributes:
        path: the HDF5 file.
        written: leaves written.
        skipped: ``"<id> (<path>): <reason>"`` per row skipped as unreadable (``skip_bad``).
        feature_name: the features stored beside the waveform (``None``: none).
    """

    path: Path
    written: int = 0
    skipped: list[str] = field(default_factory=list)
    feature_name: str | None = None

    def format(self) -> str:
        """One line for the CLI."""
        what = "waveform" + (f" + {self.feature_name}" if self.feature_name else "")
        return f"wrote {self.written} utterance(s) ({what}) to {self.path}" + (
            f"; {len(self.skipped)} skipped" if self.skipped else ""
        )


@dataclass
class Hdf5Data:
    """What :func:`read_hdf5` gives back.

    Attributes:
        table: one row per leaf in the written order: ``key`` (the leaf's HDF5 path) plus its
            attributes (``id``, ``speaker``, ``emotion``, ``gender``, ``intensity``, ...);
            ``attrs["root"]`` is the corpus root the file was written from.
        waves: per row the ``(samples,)`` waveform (``[]`` when not loaded or not stored).
        features: per row the stored features (``[]`` when not loaded or not stored).
        feature_name: the stored features' name (``None``: none).
        frontend: the front end's ``to_dict()`` they were computed with (``None``: none).
    """

    table: pd.DataFrame
    waves: list[np.ndarray]
    features: list[np.ndarray]
    feature_name: str | None
    frontend: dict[str, Any] | None


def leaf_key(stem: str) -> str:
    """The leaf path of a RAVDESS file name (without extension).

    >>> leaf_key("03-01-05-02-01-02-07")
    'statement_01/Actor_07/emotion_05/intensity_02/repete_02'

    Raises:
        ValueError: not a RAVDESS name (see :func:`serkit.corpora.ravdess.parse_name`).
    """
    from serkit.corpora.ravdess import parse_name

    parse_name(stem)  # checks every field
    _, _, emotion, intensity, statement, repetition, actor = stem.split("-")
    return (
        f"statement_{statement}/Actor_{actor}/emotion_{emotion}/intensity_{intensity}/"
        f"repete_{repetition}"
    )


def _check_manifest(df: pd.DataFrame) -> list[str]:
    """Leaf keys of every row; refuses a manifest that is not RAVDESS or has duplicate keys."""
    missing = [c for c in ("id", "corpus", "path") if c not in df.columns]
    if missing:
        raise ManifestError(
            f"the manifest lacks the column(s) {', '.join(missing)}; the HDF5 export needs a "
            "RAVDESS manifest as `serkit prepare ravdess` writes it"
        )
    if df.empty:
        raise ManifestError("the manifest has no rows; nothing to write to the HDF5 store")
    corpora = sorted(set(df["corpus"].astype(str)) - {"ravdess"})
    if corpora:
        n = int((df["corpus"].astype(str) != "ravdess").sum())
        raise ManifestError(
            f"the HDF5 export keeps the RAVDESS layout (Actor/emotion/intensity/repetition "
            f"codes of the file names) but {n} row(s) are of corpus {', '.join(corpora)}; "
            "pass only the ravdess rows (manifest[manifest['corpus'] == 'ravdess'])"
        )
    if "start" in df.columns and df["start"].notna().any():
        raise ManifestError(
            "the manifest has segment rows (column start); the HDF5 layout holds one leaf per "
            "RAVDESS file: pass the manifest of whole files"
        )
    keys: list[str] = []
    seen: dict[str, str] = {}
    for row_id, path in zip(df["id"].astype(str), df["path"].astype(str), strict=True):
        stem = PurePosixPath(path).stem
        try:
            key = leaf_key(stem)
        except ValueError as exc:
            raise ManifestError(
                f"row {row_id}: path {path!r} is not a RAVDESS file name "
                f"(MM-VV-EE-II-SS-RR-AA.wav: {exc}); the HDF5 layout is keyed by those codes"
            ) from None
        if key in seen:
            raise ManifestError(
                f"rows {seen[key]} and {row_id} both map to the leaf {key} (same actor, "
                "emotion, intensity, statement and repetition): speech and song files share "
                "these codes, so one file holds one vocal channel, and no row twice",
                hint=CHANNEL,
            )
        seen[key] = row_id
        keys.append(key)
    return keys


def _attr_value(value: Any) -> Any | None:
    """A manifest cell as an HDF5 attribute (``None``: left out: missing or not scalar)."""
    if value is None or (not isinstance(value, (list, tuple, dict)) and pd.isna(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, str):
        return value
    return None


def _leaf_attrs(row: pd.Series, stem: str) -> dict[str, Any]:
    _, _, emotion, intensity, statement, repetition, actor = stem.split("-")
    attrs = {}
    for name, value in row.items():
        converted = _attr_value(value)
        if converted is not None:
            attrs[str(name)] = converted
    from serkit.corpora.ravdess import STATEMENTS

    attrs.update(
        actor=actor,
        text_id=statement,
        repetition=repetition,
        intensity_code=intensity,
        emotion_code=emotion,
        statement=STATEMENTS[statement],
    )
    return attrs


def _as_frontend(features: Frontend | Extractor | None) -> Frontend | None:
    if features is None:
        return None
    from serkit.features.frontend import Frontend

    return features if isinstance(features, Frontend) else Frontend(features)


def write_hdf5(
    manifest: pd.DataFrame,
    path: str | os.PathLike,
    *,
    features: Frontend | Extractor | None = None,
    waveform: bool = True,
    sample_rate: int | None = 16000,
    channel: str | None = None,
    skip_bad: bool = False,
) -> Hdf5Summary:
    """Write the seed's HDF5 store of a RAVDESS manifest (atomically: temp file + rename).

    Args:
        manifest: RAVDESS rows (``serkit prepare ravdess``); one leaf per row.
        path: the ``.h5`` file to write (replaced when it exists).
        features: an extractor or front end whose output each leaf also holds (its name is
            the dataset name, e.g. ``logmel``); ``None``: waveforms only.
        waveform: store the waveform (dataset ``wav``).
        sample_rate: rate of the stored waveform (the seed resamples to 16 kHz); ``None`` keeps
            each file's rate.
        channel: keep only the rows of this vocal channel (``"speech"`` or ``"song"``, column
            ``mode``); ``None``: every row (speech and song rows of one actor share the codes,
            so a manifest holding both needs it).
        skip_bad: skip rows whose audio cannot be read or analysed (listed in
            ``summary.skipped``) instead of failing.

    Returns:
        An :class:`Hdf5Summary`.

    Raises:
        ManifestError: not a RAVDESS manifest (names the missing column, the other corpus or
            the row whose file name is not a RAVDESS name), or two rows with one leaf key.
        AudioError: an unreadable file (with ``skip_bad=False``), naming the row.
        ConfigError: neither ``waveform`` nor ``features``.
    """
    import h5py

    import serkit
    from serkit import audio
    from serkit import manifest as mf
    from serkit.atomic import atomic_path
    from serkit.features.base import FeatureError

    if not waveform and features is None:
        raise ConfigError("write_hdf5: store the waveform (waveform=True) or features, or both")
    if channel is not None:
        if "mode" not in manifest.columns:
            raise ManifestError(
                f"channel={channel!r} keeps the rows of one vocal channel, but the manifest has "
                "no mode column (speech / song); prepare it with `serkit prepare ravdess`"
            )
        manifest = manifest[manifest["mode"].astype(str) == channel]
        if manifest.empty:
            raise ManifestError(f"the manifest has no rows of vocal channel {channel!r}")
    frontend = _as_frontend(features)
    keys = _check_manifest(manifest)
    paths = mf.audio_paths(manifest)
    path = Path(path)
    summary = Hdf5Summary(path=path, feature_name=frontend.name if frontend else None)
    written: list[str] = []
    with atomic_path(path, keep_suffix=True) as tmp, h5py.File(tmp, "w") as h5:
        h5.attrs.update(
            layout=LAYOUT,
            corpus="ravdess",
            root=str(mf.root_of(manifest, "ravdess") or ""),
            serkit_version=serkit.__version__,
            features=json.dumps(frontend.to_dict(), sort_keys=True) if frontend else "",
            feature_name=frontend.name if frontend else "",
        )
        for (_, row), key, file in zip(manifest.iterrows(), keys, paths, strict=True):
            try:
                signal, sr = audio.read(file, sample_rate=sample_rate)
                frames = frontend.compute(signal, sr) if frontend is not None else None
            except (AudioError, FeatureError) as exc:
                message = f"{row['id']} ({row['path']}): {message_of(exc)}"
                if not skip_bad:
                    raise AudioError(
                        f"{message}. Fix or remove the file (nothing was written)",
                        hint=SKIP_BAD,
                    ) from exc
                summary.skipped.append(message)
                continue
            leaf = h5.create_group(key)
            leaf.attrs.update(_leaf_attrs(row, PurePosixPath(str(row["path"])).stem))
            leaf.attrs["sample_rate"] = int(sr)
            if waveform:
                leaf.create_dataset(WAVE, data=np.asarray(signal, dtype=np.float32))
            if frames is not None:
                leaf.create_dataset(frontend.name, data=np.asarray(frames, dtype=np.float32))
            written.append(key)
        h5.create_dataset("index", data=np.array(written, dtype=object), dtype=h5py.string_dtype())
    summary.written = len(written)
    return summary


def read_hdf5(path: str | os.PathLike, *, waves: bool = True, features: bool = True) -> Hdf5Data:
    """Read a store written by :func:`write_hdf5`.

    Args:
        path: the ``.h5`` file.
        waves: load the waveforms.
        features: load the stored features.

    Returns:
        An :class:`Hdf5Data` (rows in the written order).

    Raises:
        ManifestError: the file is not such a store (names what is missing).
    """
    import h5py

    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"{path}: no such HDF5 file")
    try:
        h5 = h5py.File(path, "r")
    except OSError as exc:
        raise ManifestError(f"{path}: not a readable HDF5 file ({exc})") from None
    with h5:
        if h5.attrs.get("layout") != LAYOUT or "index" not in h5:
            raise ManifestError(
                f"{path}: not a serkit RAVDESS HDF5 store (no layout attribute {LAYOUT!r} or "
                "no index); write one with serkit.encoders.hdf5.write_hdf5"
            )
        name = str(h5.attrs.get("feature_name", "")) or None
        spec = str(h5.attrs.get("features", ""))
        rows, wave_list, feature_list = [], [], []
        for key in h5["index"].asstr()[()]:
            leaf = h5[key]
            rows.append({"key": key, **{k: _plain(v) for k, v in leaf.attrs.items()}})
            if waves and WAVE in leaf:
                wave_list.append(leaf[WAVE][()])
            if features and name and name in leaf:
                feature_list.append(leaf[name][()])
        table = pd.DataFrame(rows)
        table.attrs["root"] = str(h5.attrs.get("root", ""))
        table.attrs["corpus"] = "ravdess"
    return Hdf5Data(
        table=table,
        waves=wave_list,
        features=feature_list,
        feature_name=name,
        frontend=json.loads(spec) if spec else None,
    )


def _plain(value: Any) -> Any:
    """An HDF5 attribute as a Python scalar."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return value.item()
    return value
