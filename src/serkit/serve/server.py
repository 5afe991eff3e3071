"""Bind the app with uvicorn: the token rule first, then serve until stopped."""

from __future__ import annotations

import socket
from typing import Any

from serkit.inference import Predictor
from serkit.serve.limits import Limits
from serkit.serve.security import check_bind


def serve(
    predictor: Predictor,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    token: str | None = None,
    limits: Limits | None = None,
    workers: int = 1,
    log_level: str = "info",
    sock: socket.socket | None = None,
) -> None:
    """Serve ``predictor`` on ``host:port`` until interrupted (Ctrl-C / SIGTERM).

    Args:
        predictor: the loaded model.
        host: address to bind; anything but loopback needs ``token``.
        port: TCP port.
        token: the secret every request must carry.
        limits: upload limits.
        workers: inference threads.
        log_level: uvicorn's log level.
        sock: an already bound socket to serve on instead of ``host:port``.

    Raises:
        ConfigError: a non-loopback ``host`` without ``token``.
    """
    import uvicorn

    from serkit.serve.app import create_app

    check_bind(host, token)
    app = create_app(predictor, token=token, limits=limits, workers=workers)
    server = uvicorn.Server(config(app, host=host, port=port, log_level=log_level))
    server.run(sockets=[sock] if sock is not None else None)


def config(app: Any, *, host: str, port: int, log_level: str = "info") -> Any:
    """The uvicorn config serkit serves with (one process; the app has its worker pool)."""
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=log_level == "debug",
        server_header=False,
        ws_max_size=4 * 1024 * 1024,
        timeout_graceful_shutdown=5,
    )
