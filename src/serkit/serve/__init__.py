"""Serve a trained model: a FastAPI app (REST + WebSocket) and a web page, run by uvicorn.

``create_app(predictor, token=None, limits=Limits(), workers=1)`` builds the app
(:mod:`serkit.serve.app`); :func:`serkit.serve.server.serve` binds it (loopback by default; any
other address only with a token, :mod:`serkit.serve.security`). The page in ``static/`` is
plain HTML/JS shipped in the package: nothing is fetched from the internet.

Needs the ``serve`` extra (``pip install "serkit[serve]"``: fastapi, uvicorn, websockets,
python-multipart).
"""

from __future__ import annotations

from serkit.serve.limits import Limits, UploadError

__all__ = ["Limits", "UploadError", "create_app"]


def create_app(*args, **kwargs):  # noqa: ANN002, ANN003 -- see serkit.serve.app.create_app
    """:func:`serkit.serve.app.create_app` (imported on first use: fastapi is an extra)."""
    from serkit.serve.app import create_app as build

    return build(*args, **kwargs)
