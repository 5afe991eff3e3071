"""Load stored features back, aligned to a manifest, or say which rows are absent and why.

:func:`load` returns a :class:`~serkit.features.featureset.FeatureSet` of the rows stored with
their current audio fingerprint (:func:`absent_reason` says why a row is not); an error for a
missing store folder names the :func:`~serkit.features.extract.extract` call that fills it and
the VADs the extractor *is* stored with.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np
import pandas as pd

from serkit.features.base import Extractor, FeatureError
from serkit.features.extract import _describe_vad, jobs_of, resolve_frontend
from serkit.features.featureset import FeatureSet
from serkit.features.frontend import Frontend, Vad, vad_spec
from serkit.features.store import FeatureStore
from serkit.features.workers import Job

__all__ = ["absent_reason", "load"]


def absent_reason(job: Job, index: pd.DataFrame) -> str | None:
    """Why the store ``index`` (indexed by id) holds no current features of ``job``, or
    ``None`` when it does (same id and same audio fingerprint)."""
    if job.fingerprint.startswith("missing:"):
        return f"audio file missing: {job.path}"
    if job.id not in index.index:
        return "not in the store (not extracted yet, or skipped as bad)"
    if index.at[job.id, "fingerprint"] != job.fingerprint:
        return f"audio changed since extraction: {job.path}"
    return None


def load(
    manifest: pd.DataFrame,
    extractor: Frontend | Extractor | str | dict[str, Any],
    store: FeatureStore | str | os.PathLike = "features",
    *,
    allow_missing: bool = False,
    vad: Vad | None = None,
) -> FeatureSet:
    """Load stored features aligned to the manifest order.

    A row counts as present only when its id is stored with the current audio fingerprint (see
    :func:`jobs_of`): the cached features of a row whose audio file is gone or changed are
    never used.

    Args:
        manifest: the manifest.
        extractor: the extractor (or its name / ``to_dict()``, or the front end) the features
            were computed with.
        store: the store.
        allow_missing: leave out absent or stale rows (listed in ``FeatureSet.missing``)
            instead of raising.
        vad: the VAD the features were extracted with (it selects the store folder).

    Raises:
        FeatureError: rows are missing or stale (names them, why, and the call that fixes it).
    """
    frontend = resolve_frontend(extractor, vad)
    extractor, vad = frontend.extractor, frontend.vad
    store = store if isinstance(store, FeatureStore) else FeatureStore(store)
    path = store.folder_path(frontend)
    spec = vad_spec(vad)
    if not (path / "config.json").exists():
        raise FeatureError(
            f"{path}: no features for {extractor!r}"
            + (f" behind VAD {_describe_vad(spec)}" if spec else " (without VAD)")
            + (
                f" with analysable thresholds {frontend.custom_thresholds}"
                if frontend.custom_thresholds
                else ""
            )
            + f" in store {store.root}; compute them first with extract(manifest, "
            f"{extractor.name!r}, {str(store.root)!r}{_vad_argument(spec)}) and the same "
            "extractor parameters" + _other_vads(store, extractor, vad)
        )
    folder = store.open(frontend)
    index = folder.index().set_index("id")
    keep, missing, reasons = [], [], []
    for job in jobs_of(manifest):
        reason = absent_reason(job, index)
        (keep if reason is None else missing).append(job.id)
        if reason is not None:
            reasons.append(f"{job.id} ({reason})")
    if missing and not allow_missing:
        shown = "; ".join(reasons[:5]) + (" ..." if len(reasons) > 5 else "")
        raise FeatureError(
            f"{path}: {len(missing)} of {len(manifest)} manifest row(s) have no current "
            f"features: {shown}. Restore the audio or fix the manifest, then run extract() "
            f"with the same {extractor.name!r} front end again (it computes only those), or "
            "load with allow_missing=True"
        )
    entries = index.loc[keep].reset_index()
    X, frames = folder.read(entries)
    lengths = entries["frames"].to_numpy(dtype=np.int64)
    return FeatureSet(
        ids=keep,
        level=extractor.level,
        dim=int(folder.dim or 0),
        X=X,
        frames=frames,
        lengths=lengths,
        feature_names=folder.config.get("feature_names"),
        extractor=extractor.to_dict(),
        channels=int(folder.config.get("channels") or 1),
        missing=missing,
        vad=folder.vad,
    )


def _vad_argument(spec: dict[str, Any] | None) -> str:
    """``, vad=VadTrim(method='energy', pad_ms=10.0)`` for a VAD spec (``""`` for none)."""
    return f", vad={_vad_call(spec)}" if spec else ""


def _vad_call(spec: dict[str, Any]) -> str:
    """The call that builds a VAD spec: ``VadTrim(method=...)`` plus its non-default fields."""
    if spec.get("name") != "vad-trim":
        return _describe_vad(spec)
    from serkit.features.vad import VadTrim

    defaults = VadTrim().to_dict()["params"]
    params = spec.get("params") or {}
    method = params.get("method", defaults["method"])
    rest = [f", {k}={v!r}" for k, v in params.items() if k != "method" and v != defaults.get(k)]
    return f"VadTrim(method={method!r}{''.join(rest)})"


def _other_vads(store: FeatureStore, extractor: Extractor, vad: Vad | None) -> str:
    """A hint naming the VADs this extractor config *is* stored with, if any."""
    if not store.root.is_dir():
        return ""
    # compare as JSON (config.json holds lists where to_dict() may hold tuples)
    wanted = json.loads(json.dumps(extractor.to_dict(), default=str))
    mine = json.loads(json.dumps(vad_spec(vad), default=str))
    others = [
        c.get("vad")
        for c in store.folders()
        if c.get("extractor") == wanted and c.get("vad") != mine
    ]
    if not others:
        return ""
    shown = "; ".join("no VAD (vad=None)" if o is None else f"vad={_vad_call(o)}" for o in others)
    return f". The store holds this extractor with: {shown} (pass the same vad)"
