"""One decoded signal -> the JSON answer: label and probabilities, or segments with timestamps.

The same :class:`serkit.inference.Predictor` as ``serkit predict``: its front end (VAD,
analysable check, extractor) and its model. Audio the front end cannot analyse (too short,
silent) is refused with ``422`` and the reason, never given a label.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from serkit.errors import AudioError, ConfigError
from serkit.features.analysable import UnanalysableError
from serkit.features.base import FeatureError
from serkit.inference import Predictor
from serkit.serve.limits import UploadError

#: ``segment=`` values of ``POST /predict``: whole file, fixed windows, voice activity
SEGMENT_METHODS = ("none", "window", "vad")


def check_servable(predictor: Predictor) -> None:
    """Refuse a model that cannot predict one clip on its own.

    Raises:
        ConfigError: the model z-scores features per speaker or per corpus (it needs several
            clips of the speaker, of the corpus, at once).
    """
    group = predictor.frontend.group_column
    if group is not None:
        raise ConfigError(
            f"this model was trained on per-{group} z-scored features (features.normalize: "
            f"{predictor.frontend.normalize}) and needs several clips of a {group} at once; a "
            "server predicts one clip at a time: serve a model trained without per-speaker "
            "or per-corpus normalisation"
        )


def predict_signal(predictor: Predictor, signal: np.ndarray, rate: int) -> dict[str, Any]:
    """The emotion of one whole signal.

    Args:
        predictor: the loaded model.
        signal: ``(samples,)`` float32.
        rate: its sample rate (the front end resamples).

    Returns:
        ``{"label", "probs": {class: p}, "duration", "status": "ok"}``.

    Raises:
        UploadError: 422 when the audio is unanalysable (too short or silent, the reason
            says which) or its features are not finite.
    """
    from serkit.audio import resample

    duration = len(signal) / rate
    target = predictor.frontend.sample_rate
    if rate != target:
        signal, rate = resample(signal, rate, target), target
    try:
        views = predictor.signal_views(signal, rate)
    except UnanalysableError as exc:
        raise UploadError(422, f"no emotion for this audio: {exc.reason}; send speech") from None
    except FeatureError as exc:
        raise UploadError(422, f"no emotion for this audio: {exc.message}") from None
    predictor.check_input(views[0], "upload")
    probs = predictor.predict_views([views])[0]
    return {**decision(predictor.classes, probs), "duration": duration, "status": "ok"}


def decision(classes: list[str], probs: Any) -> dict[str, Any]:
    """``{"label", "probs"}`` of one posterior vector."""
    values = [float(p) for p in np.asarray(probs, dtype=float)]
    return {
        "label": classes[int(np.argmax(values))],
        "probs": dict(zip(classes, values, strict=True)),
    }


def segment_config(method: str, window_s: Any = None, hop_s: Any = None) -> Any:
    """The :class:`serkit.segmentation.SegmentConfig` of the request's parameters.

    Raises:
        UploadError: 422 for an unknown method or a bad window/hop; 501 when this build has no
            segmentation.
    """
    if method not in SEGMENT_METHODS:
        raise UploadError(422, f"segment={method!r}: expected one of {', '.join(SEGMENT_METHODS)}")
    try:
        from serkit.segmentation import SegmentConfig
    except ModuleNotFoundError:
        raise UploadError(501, "this serkit has no long-audio segmentation yet") from None
    params: dict[str, float] = {}
    for name, value in (("window_s", window_s), ("hop_s", hop_s)):
        if value is None or value == "":
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number) or number <= 0:
            raise UploadError(422, f"{name}={value!r}: expected a number of seconds > 0")
        params[name] = number
    try:
        return SegmentConfig(method=method, **params)
    except ConfigError as exc:
        raise UploadError(422, f"segmentation: {exc.message}") from None


def predict_segments(
    predictor: Predictor, signal: np.ndarray, rate: int, config: Any
) -> dict[str, Any]:
    """Per-segment emotions with timestamps and the whole-signal decision.

    Returns:
        ``{"label", "probs", "duration", "status", "segments": [{start, end, label, probs,
        status}]}`` (an unanalysable segment has ``label`` and ``probs`` null and a status
        that says why).

    Raises:
        UploadError: 422 when no segment at all could be analysed.
    """
    from serkit.segmentation import predict_long

    try:
        result = predict_long(predictor, signal, config, sample_rate=rate)
    except AudioError as exc:
        raise UploadError(422, f"no emotion for this audio: {exc.message}") from None
    segments = [segment_json(s) for s in result.segments]
    verdict = result.decision
    if verdict.get("label") is None:
        first = next((s["status"] for s in segments), "no segment found")
        raise UploadError(
            422, f"no emotion for this audio: {verdict.get('status')} (first segment: {first})"
        )
    return {
        **decision(predictor.classes, [verdict["probs"][c] for c in predictor.classes]),
        "duration": float(result.duration),
        "status": "ok",
        "segments": segments,
    }


def segment_json(segment: Any) -> dict[str, Any]:
    """One :class:`serkit.segment_result.Segment` as JSON: ``start, end, label, probs,
    status`` (an unanalysable one has ``label`` and ``probs`` null)."""
    out = segment.to_dict()
    if out["label"] is None:
        out["probs"] = None
    return out
