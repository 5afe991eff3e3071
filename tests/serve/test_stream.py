"""``WS /stream`` on a live server: per-window results as they complete, the same numbers as the
offline segmentation on the same audio."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ._server import long_signal

websockets = pytest.importorskip("websockets.sync.client", reason="websockets not installed")


def _stream(url, signal, start, *, block=8000, headers=None):
    """Send ``start``, then ``signal`` as int16 blocks, then ``end``; every message received."""
    pcm = np.round(np.clip(signal, -1, 1) * 32767).astype("<i2")
    got = []
    with websockets.connect(f"{url}/stream", additional_headers=headers, open_timeout=10) as ws:
        ws.send(json.dumps(start))
        got.append(json.loads(ws.recv(timeout=30)))
        if got[0]["type"] != "ready":
            return got
        for i in range(0, len(pcm), block):
            ws.send(pcm[i : i + block].tobytes())
        ws.send(json.dumps({"type": "end"}))
        while True:
            try:
                got.append(json.loads(ws.recv(timeout=30)))
            except websockets.ConnectionClosedOK:
                break
            if got[-1]["type"] in ("final", "error"):
                break
    return got


def test_stream_gives_the_segments_of_predict_long(live, predictor):
    from serkit.segmentation import SegmentConfig, predict_long

    signal = long_signal(8.0)
    pcm = np.round(np.clip(signal, -1, 1) * 32767).astype("<i2").astype(np.float32) / 32768
    expected = predict_long(
        predictor, pcm, SegmentConfig("window", window_s=2.0, hop_s=1.0), sample_rate=16000
    )
    start = {"type": "start", "sample_rate": 16000, "segment": "window", "window_s": 2, "hop_s": 1}
    with live() as server:
        messages = _stream(server.ws_url, signal, start, block=4000)
    assert messages[0] == {"type": "ready", "classes": predictor.classes, "sample_rate": 16000}
    segments = [m for m in messages if m["type"] == "segment"]
    assert messages[-1]["type"] == "final"
    assert len(segments) == len(expected.segments) >= 6
    for got, want in zip(segments, expected.segments, strict=True):
        assert got["start"] == pytest.approx(want.start) and got["end"] == pytest.approx(want.end)
        assert got["label"] == want.label and got["status"] == want.status
        if want.label is not None:
            np.testing.assert_allclose(
                [got["probs"][c] for c in predictor.classes],
                [want.probs[c] for c in predictor.classes],
                atol=1e-6,
            )
    final = messages[-1]
    assert final["label"] == expected.decision["label"]
    assert final["duration"] == pytest.approx(expected.duration)


def test_stream_sends_segments_before_the_end(live):
    """Windows come back while audio is still being sent (not all at the end)."""
    signal = long_signal(6.0)
    pcm = np.round(signal * 32767).astype("<i2")
    start = {"type": "start", "sample_rate": 16000, "segment": "window", "window_s": 1, "hop_s": 1}
    with live() as server:
        with websockets.connect(f"{server.ws_url}/stream") as ws:
            ws.send(json.dumps(start))
            assert json.loads(ws.recv(timeout=30))["type"] == "ready"
            ws.send(pcm[: 3 * 16000].tobytes())  # three whole windows
            early = [json.loads(ws.recv(timeout=30)) for _ in range(2)]
            ws.send(json.dumps({"type": "end"}))
            rest = []
            while not rest or rest[-1]["type"] != "final":
                rest.append(json.loads(ws.recv(timeout=30)))
    assert [m["type"] for m in early] == ["segment", "segment"]
    assert early[0]["start"] == 0.0 and early[1]["start"] == 1.0
    assert rest[-1]["type"] == "final"


def test_stream_token_in_first_message_or_header(live):
    signal = long_signal(3.0)
    start = {"type": "start", "sample_rate": 16000, "segment": "window"}
    with live(token="s3cret") as server:
        none = _stream(server.ws_url, signal, start)
        wrong = _stream(server.ws_url, signal, {**start, "token": "nope"})
        right = _stream(server.ws_url, signal, {**start, "token": "s3cret"})
        header = _stream(server.ws_url, signal, start, headers={"Authorization": "Bearer s3cret"})
    assert none[0]["type"] == "error" and none[0]["status"] == 401
    assert wrong[0]["type"] == "error" and wrong[0]["status"] == 403
    assert right[0]["type"] == "ready" and right[-1]["type"] == "final"
    assert header[0]["type"] == "ready" and header[-1]["type"] == "final"
