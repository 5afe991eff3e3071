"""``WS /stream``: audio blocks in, per-window emotions out as soon as each window is complete.

The protocol (JSON text messages, audio as binary messages)::

    client: {"type": "start", "sample_rate": 16000, "dtype": "int16",       # or "float32"
             "segment": "window", "window_s": 3.0, "hop_s": 1.5,            # optional
             "token": "..."}                       # when the server needs one and the client
                                                    # cannot send an Authorization header
    server: {"type": "ready", "classes": [...], "sample_rate": 16000}
    client: <binary: little-endian mono PCM samples>  ... as many as it likes
    server: {"type": "segment", "start", "end", "label", "probs", "status"}  ... as they come
    client: {"type": "end"}
    server: the last segments, then {"type": "final", "label", "probs", "duration"}; closes

The numbers are those of ``POST /predict?segment=...`` on the same audio
(:class:`serkit.segmentation.StreamingPredictor`). A problem is answered with
``{"type": "error", "status": <as HTTP>, "detail": "..."}`` and the socket closed: 1008 for
the token, 1003 for a bad message, 1009 for a stream longer than ``max_duration_s``, 1013
when the server is busy.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

from serkit.errors import AudioError, ConfigError
from serkit.inference import Predictor
from serkit.serve.decode import PCM_DTYPES
from serkit.serve.limits import Limits, UploadError
from serkit.serve.pool import BusyError, WorkerPool
from serkit.serve.predict import decision, segment_config, segment_json
from serkit.serve.security import AuthError, TokenGuard

#: WebSocket close codes (RFC 6455) per kind of refusal
CLOSE_CODES = {401: 1008, 403: 1008, 413: 1009, 503: 1013, 501: 1011}


class StreamError(Exception):
    """A refusal on the socket: ``status`` as its HTTP twin would answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def add_stream(
    app: FastAPI, predictor: Predictor, pool: WorkerPool, limits: Limits, guard: TokenGuard
) -> None:
    """Add ``WS /stream`` to ``app``."""

    @app.websocket("/stream")
    async def stream(ws: WebSocket) -> None:
        await ws.accept()
        try:
            await _session(ws, predictor, pool, limits, guard)
        except WebSocketDisconnect:
            return
        except (StreamError, UploadError, AuthError) as exc:
            status = exc.status
            await _refuse(ws, status, exc.message)
        except BusyError as exc:
            await _refuse(ws, 503, str(exc))


async def _session(
    ws: WebSocket, predictor: Predictor, pool: WorkerPool, limits: Limits, guard: TokenGuard
) -> None:
    start = await _receive_start(ws)
    if ws.headers.get("authorization"):
        guard.check(ws.headers.get("authorization"))
    else:
        guard.check_token(start.get("token"))
    rate = _rate(start.get("sample_rate"))
    dtype = str(start.get("dtype") or "int16")
    if dtype not in PCM_DTYPES:
        raise StreamError(422, f"dtype {dtype!r}: expected one of {', '.join(PCM_DTYPES)}")
    method = str(start.get("segment") or "window")
    if method == "none":
        raise StreamError(422, "segment='none' cannot stream; use 'window' or 'vad'")
    config = segment_config(method, start.get("window_s"), start.get("hop_s"))
    from serkit.segmentation import StreamingPredictor

    try:
        streamer = StreamingPredictor(predictor, config, sample_rate=rate)
    except ConfigError as exc:
        raise StreamError(422, exc.message) from None
    await ws.send_json({"type": "ready", "classes": predictor.classes, "sample_rate": rate})
    itemsize = np.dtype(PCM_DTYPES[dtype]).itemsize
    samples = sent = 0
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        if message.get("bytes") is not None:
            data = message["bytes"]
            if len(data) % itemsize:
                raise StreamError(422, f"a block of {len(data)} bytes is not whole {dtype} samples")
            samples += len(data) // itemsize
            limits.check_duration(samples / rate)
            block = np.frombuffer(data, dtype=PCM_DTYPES[dtype]).astype(np.float32)
            if dtype == "int16":
                block /= 32768.0
            if not np.all(np.isfinite(block)):
                raise StreamError(422, "a block contains NaN or infinite samples")
            for segment in await pool.run(_feed, streamer, block):
                await ws.send_json({"type": "segment", **segment})
                sent += 1
            continue
        text = _json(message.get("text"))
        if text.get("type") != "end":
            raise StreamError(422, f"expected audio or {{'type': 'end'}}; got {text!r:.80}")
        segments, final = await pool.run(_finish, streamer, predictor.classes, sent)
        for segment in segments:
            await ws.send_json({"type": "segment", **segment})
        await ws.send_json({"type": "final", **final})
        await ws.close(1000)
        return


def _feed(streamer: Any, block: np.ndarray) -> list[dict[str, Any]]:
    return [segment_json(s) for s in streamer.feed(block)]


def _finish(streamer: Any, classes: list[str], sent: int) -> tuple[list, dict[str, Any]]:
    """The segments not sent yet and the decision (``label``/``probs`` null and a status that
    says why when no segment was analysable)."""
    try:
        final = streamer.finish()
    except AudioError as exc:
        raise StreamError(422, exc.message) from None
    segments = [segment_json(s) for s in final.segments[sent:]]
    verdict = final.decision
    if verdict.get("label") is None:
        out = {"label": None, "probs": None, "status": verdict.get("status")}
    else:
        out = {**decision(classes, [verdict["probs"][c] for c in classes]), "status": "ok"}
    return segments, {**out, "duration": float(final.duration)}


async def _receive_start(ws: WebSocket) -> dict[str, Any]:
    message = await ws.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    start = _json(message.get("text"))
    if start.get("type") != "start":
        raise StreamError(
            422, "the first message must be {'type': 'start', 'sample_rate': N, ...} as text"
        )
    return start


def _json(text: str | None) -> dict[str, Any]:
    if text is None:
        raise StreamError(422, "expected a JSON text message, got binary data")
    try:
        value = json.loads(text)
    except ValueError:
        raise StreamError(422, f"not JSON: {text!r:.80}") from None
    if not isinstance(value, dict):
        raise StreamError(422, f"expected a JSON object, got {text!r:.80}")
    return value


def _rate(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1000 <= value <= 384000:
        raise StreamError(
            422, f"sample_rate {value!r}: expected a whole number from 1000 to 384000"
        )
    return value


async def _refuse(ws: WebSocket, status: int, message: str) -> None:
    try:
        await ws.send_json({"type": "error", "status": status, "detail": message})
        await ws.close(CLOSE_CODES.get(status, 1003))
    except (WebSocketDisconnect, RuntimeError):  # the client went away first
        pass
