"""Helpers of the server tests: a small trained model, demo clips, a live uvicorn server.

The server is the real app served by uvicorn on a free port of 127.0.0.1 in a thread, so the
tests talk HTTP and WebSocket to it as any client does.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from pathlib import Path

import numpy as np

EMOTIONS = ("angry", "happy", "neutral", "sad")


def demo_signal(actor: int, emotion: str, statement: str = "01", repetition: int = 1) -> np.ndarray:
    """One utterance of the synthetic demo corpus, ``(samples,)`` float32 at 16 kHz."""
    from serkit.demo import synthesize

    return synthesize(actor, emotion, "01", statement, repetition)


def train_model(folder: Path) -> Path:
    """A logistic regression on MFCC statistics of 16 demo utterances, saved as a package."""
    from serkit.features import get_extractor
    from serkit.features.frontend import Frontend
    from serkit.models import get_model
    from serkit.models.package import save_model

    frontend = Frontend(get_extractor("mfcc-stats"))
    feats, labels = [], []
    for actor in (1, 2):
        for emotion in EMOTIONS:
            for statement in ("01", "02"):
                feats.append(frontend.compute(demo_signal(actor, emotion, statement), 16000))
                labels.append(emotion)
    model = get_model("logreg").fit(np.stack(feats), np.array(labels))
    save_model(model, folder / "model", extra={"frontend": frontend.to_dict()})
    return folder


def wav_bytes(
    signal: np.ndarray, rate: int = 16000, fmt: str = "WAV", subtype: str | None = None
) -> bytes:
    """``signal`` encoded as an audio file in memory."""
    import soundfile as sf

    buffer = io.BytesIO()
    sf.write(buffer, signal, rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


def long_signal(seconds: float = 8.0) -> np.ndarray:
    """Demo utterances of several emotions one after the other, with short pauses."""
    parts = []
    for k, emotion in enumerate(EMOTIONS * 3):
        parts += [demo_signal(3, emotion, repetition=k + 1), np.zeros(4000, np.float32)]
    signal = np.concatenate(parts)
    return signal[: int(seconds * 16000)]


class LiveServer:
    """``app`` served by uvicorn on a free port of 127.0.0.1 (a context manager).

    Attributes:
        url: ``http://127.0.0.1:<port>``.
        ws_url: ``ws://127.0.0.1:<port>``.
    """

    def __init__(self, app) -> None:
        import uvicorn

        from serkit.serve.server import config

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}"
        self.app = app
        self.server = uvicorn.Server(config(app, host="127.0.0.1", port=port, log_level="warning"))
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        self.sock.close()
