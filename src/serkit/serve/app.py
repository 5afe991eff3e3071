"""The FastAPI app: the page, health, model info, ``POST /predict`` and the ``/stream`` WebSocket.

``create_app(predictor)`` wraps one loaded :class:`serkit.inference.Predictor` (loaded once,
shared by every request). Decoding and inference run on a :class:`WorkerPool` thread, never on
the event loop. Endpoints:

* ``GET /`` -- the page (``static/``), served without a token;
* ``GET /health`` -- ``{"status": "ok", "workers", "running", "in_flight"}``;
* ``GET /model`` -- classes, model, front end, sample rate, limits, segmentation methods;
* ``POST /predict`` -- an audio file as the form field ``file`` (``multipart/form-data``) or
  as the body (``audio/wav``, ``audio/flac``, ``audio/ogg``, ``audio/mpeg``), or raw
  little-endian PCM (``audio/pcm`` with ``?sample_rate=N&dtype=int16|float32&channels=1``);
  ``?segment=window|vad`` (``&window_s=&hop_s=``) adds per-segment emotions with timestamps.
  Answers ``{"label", "probs", "duration", "status", ["segments"]}``; refusals are
  ``{"detail": "<what was wrong>"}`` with 401/403 (token), 413 (too large or too long),
  415 (content type), 422 (empty, corrupt, silent, missing field), 503 (busy);
* ``WS /stream`` -- see :mod:`serkit.serve.stream`.

Example:
    >>> app = create_app(Predictor.from_path("runs/demo"))   # doctest: +SKIP
    >>> uvicorn.run(app, host="127.0.0.1", port=8000)         # doctest: +SKIP
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import UploadFile

from serkit.inference import Predictor
from serkit.serve.decode import decode_file, decode_pcm
from serkit.serve.limits import (
    FILE_TYPES,
    FORM_TYPE,
    PCM_TYPES,
    Limits,
    UploadError,
    check_type,
    media_type,
)
from serkit.serve.pool import BusyError, WorkerPool
from serkit.serve.predict import (
    SEGMENT_METHODS,
    check_servable,
    predict_segments,
    predict_signal,
    segment_config,
)
from serkit.serve.security import AuthError, TokenGuard

STATIC = Path(__file__).resolve().parent / "static"


def create_app(
    predictor: Predictor,
    *,
    token: str | None = None,
    limits: Limits | None = None,
    workers: int = 1,
    warmup: bool = True,
) -> FastAPI:
    """The app serving ``predictor``.

    Args:
        predictor: the loaded model (shared by every request).
        token: the secret every API request must carry (``None``: no token; only for a
            loopback server, see :func:`serkit.serve.security.check_bind`).
        limits: upload size, duration and queue limits.
        workers: inference threads (the pool's bound).
        warmup: predict one synthetic second at start-up, so the first request does not pay
            for lazy loading and a broken model fails before any request.

    Raises:
        ConfigError: the model cannot predict single clips, or a bad ``workers``/``limits``.
    """
    limits = limits or Limits()
    check_servable(predictor)
    guard = TokenGuard(token)
    pool = WorkerPool(workers, limits.max_queue)
    if warmup:
        _warm(predictor)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        pool.close()

    app = FastAPI(
        title="serkit",
        summary="Speech emotion recognition: one trained serkit model over HTTP",
        lifespan=lifespan,
        docs_url=None,  # the docs page fetches its scripts from a CDN: nothing from outside
        redoc_url=None,
    )
    app.state.predictor = predictor
    app.state.pool = pool
    app.state.limits = limits
    app.state.guard = guard

    async def authorised(request: Request) -> None:
        guard.check(request.headers.get("authorization"))

    api = [Depends(authorised)]

    @app.exception_handler(UploadError)
    async def _upload_error(_request: Request, exc: UploadError) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.status)

    @app.exception_handler(AuthError)
    async def _auth_error(_request: Request, exc: AuthError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse({"detail": exc.message}, status_code=exc.status, headers=headers)

    @app.exception_handler(BusyError)
    async def _busy(_request: Request, exc: BusyError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": "1"})

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/health", dependencies=api)
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "workers": pool.workers,
            "running": pool.running,
            "in_flight": pool.in_flight,
        }

    @app.get("/model", dependencies=api)
    async def model_info() -> dict[str, Any]:
        return describe(predictor, limits, token_required=guard.required)

    @app.post("/predict", dependencies=api)
    async def predict(request: Request) -> dict[str, Any]:
        job = await upload_job(request, limits)
        return await pool.run(run_job, predictor, limits, job)

    from serkit.serve.stream import add_stream

    add_stream(app, predictor, pool, limits, guard)
    return app


def describe(predictor: Predictor, limits: Limits, *, token_required: bool) -> dict[str, Any]:
    """What ``GET /model`` answers."""
    from serkit import __version__

    meta = predictor.meta or {}
    try:
        import serkit.segmentation  # noqa: F401

        methods = list(SEGMENT_METHODS)
    except ModuleNotFoundError:
        methods = ["none"]
    return {
        "classes": predictor.classes,
        "model": meta.get("name") or type(predictor.model).__name__,
        "params": meta.get("params") or {},
        "created": meta.get("created"),
        "frontend": predictor.frontend.describe(),
        "sample_rate": predictor.frontend.sample_rate,
        "input_level": predictor.input_level,
        "limits": limits.to_dict(),
        "segment_methods": methods,
        "token_required": token_required,
        "serkit": __version__,
    }


async def upload_job(request: Request, limits: Limits) -> dict[str, Any]:
    """Read and check a ``POST /predict`` body (size and type; decoding is the worker's).

    Returns:
        ``{"kind": "file"|"pcm", "data", "name", "query", ...}`` for :func:`run_job`.

    Raises:
        UploadError: 413 / 415 / 422 as the module docstring lists.
    """
    content_type = request.headers.get("content-type")
    kind = media_type(content_type)
    query = dict(request.query_params)
    if kind == FORM_TYPE:
        body = await read_body(request, limits, form=True)
        field, fields = await _form_file(request, body)
        check_type(field.content_type or "application/octet-stream", FILE_TYPES)
        data = await field.read()
        limits.check_size(len(data))
        name = field.filename or "upload"
        return {"kind": "file", "data": data, "name": name, "query": {**fields, **query}}
    kind = check_type(content_type, FILE_TYPES + PCM_TYPES)
    body = await read_body(request, limits, form=False)
    return {
        "kind": "pcm" if kind in PCM_TYPES else "file",
        "data": body,
        "name": "upload",
        "query": query,
    }


def run_job(predictor: Predictor, limits: Limits, job: dict[str, Any]) -> dict[str, Any]:
    """Decode and predict one upload (on a worker thread)."""
    query = job["query"]
    config = None
    method = query.get("segment") or "none"
    if method != "none" or query.get("window_s") or query.get("hop_s"):
        config = segment_config(method, query.get("window_s"), query.get("hop_s"))
    if job["kind"] == "pcm":
        signal, rate = decode_pcm(
            job["data"],
            limits,
            sample_rate=query.get("sample_rate"),
            dtype=query.get("dtype") or "int16",
            channels=query.get("channels") or 1,
            name=job["name"],
        )
    else:
        signal, rate = decode_file(job["data"], limits, name=job["name"])
    if config is None:
        return predict_signal(predictor, signal, rate)
    return predict_segments(predictor, signal, rate, config)


async def read_body(request: Request, limits: Limits, *, form: bool) -> bytes:
    """The request body, refused (413) as soon as it passes the size limit: a declared
    ``Content-Length`` before anything is read, a chunked body while it arrives."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise UploadError(422, f"Content-Length {declared!r} is not a number") from None
        limits.check_size(size, form=form)
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        limits.check_size(total, form=form)
        chunks.append(chunk)
    return b"".join(chunks)


async def _form_file(request: Request, body: bytes) -> tuple[UploadFile, dict[str, str]]:
    """The ``file`` field of a multipart body already read (and its text fields)."""
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form(max_files=1, max_fields=16)
    except Exception as exc:  # starlette's MultiPartException and parser errors
        raise UploadError(
            422, f"malformed multipart form ({exc}); send the audio as the field 'file'"
        ) from None
    field = form.get("file")
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if field is None:
        raise UploadError(
            422,
            "missing form field 'file': send the audio as the multipart field 'file' "
            f"(found {', '.join(repr(k) for k in form.keys()) or 'no fields'})",
        )
    if not isinstance(field, UploadFile):
        raise UploadError(422, "form field 'file' is text; it must be an uploaded audio file")
    return field, fields


def _warm(predictor: Predictor) -> None:
    """Predict one second of a synthetic vowel-like signal (lazy imports, extractor set-up)."""
    import numpy as np

    rate = predictor.frontend.sample_rate
    t = np.arange(rate) / rate
    signal = 0.3 * np.sin(2 * np.pi * 140 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    signal = signal + 0.01 * np.random.default_rng(0).standard_normal(rate)
    try:
        predict_signal(predictor, signal.astype(np.float32), rate)
    except UploadError:  # a VAD that finds no speech in a tone is no broken model
        pass
