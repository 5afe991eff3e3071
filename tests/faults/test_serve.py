"""Fault cases of the server: every kind of bad upload gets a 4xx that says what was wrong
(never a 500 and never a label), bad streams are refused, a client that goes away mid-upload
does not hurt the server, and ``serkit serve`` refuses what it cannot serve safely."""

from __future__ import annotations

import json
import socket

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the serve extra (fastapi, uvicorn) is not installed")
httpx = pytest.importorskip("httpx")

from serve._server import LiveServer, demo_signal, train_model, wav_bytes  # noqa: E402

from ._cli import one_error, serkit  # noqa: E402


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return train_model(tmp_path_factory.mktemp("serve-faults-model"))


@pytest.fixture(scope="module")
def server(model_dir):
    """A live server with small limits: 200 kB uploads, 4 s of audio."""
    from serkit.inference import Predictor
    from serkit.serve import Limits, create_app

    app = create_app(
        Predictor.from_path(model_dir), limits=Limits(max_bytes=200_000, max_duration_s=4.0)
    )
    with LiveServer(app) as live:
        yield live


def _post(server, body=None, content_type="audio/wav", query="", **kwargs):
    headers = {"Content-Type": content_type} if content_type else {}
    return httpx.post(
        f"{server.url}/predict{query}", content=body, headers=headers, timeout=30, **kwargs
    )


def _refused(response, status, *words):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"detail"} and "label" not in body  # a reason, never a label
    for word in words:
        assert word in body["detail"], body["detail"]
    return body["detail"]


SPEECH = demo_signal(1, "happy")


def test_too_big_declared(server):
    _refused(_post(server, b"\0" * 300_000), 413, "too large", "200000 bytes")


def test_too_big_chunked_without_length(server):
    def chunks():
        for _ in range(40):
            yield b"\0" * 10_000

    _refused(_post(server, chunks()), 413, "too large")


def test_too_big_form(server):
    response = httpx.post(
        f"{server.url}/predict", files={"file": ("big.wav", b"\0" * 300_000, "audio/wav")}
    )
    _refused(response, 413, "too large")


def test_too_long_file_and_pcm(server):
    five_s = np.tile(SPEECH, 4)[: 5 * 16000]
    _refused(_post(server, wav_bytes(five_s[::2], rate=8000)), 413, "too long", "5.0 s", "4 s")
    pcm = (five_s * 20000).astype("<i2").tobytes()[:160_000]
    _refused(_post(server, pcm, "audio/pcm", "?sample_rate=16000"), 413, "too long")


@pytest.mark.parametrize(
    "content_type, found",
    [
        ("text/plain", "'text/plain'"),
        ("audio/webm", "'audio/webm'"),
        (None, "no Content-Type"),
        ("image/png", "'image/png'"),
    ],
)
def test_wrong_content_type(server, content_type, found):
    detail = _refused(_post(server, wav_bytes(SPEECH), content_type), 415, found)
    assert "audio/pcm" in detail and "multipart/form-data" in detail


def test_wrong_part_type_in_form(server):
    response = httpx.post(
        f"{server.url}/predict", files={"file": ("a.png", wav_bytes(SPEECH), "image/png")}
    )
    _refused(response, 415, "'image/png'")


@pytest.mark.parametrize(
    "body, words",
    [
        (b"RIFF\x10\0\0\0WAVEgarbage-garbage", ["not a readable audio file"]),
        (bytes(range(256)) * 20, ["not a readable audio file"]),
        (b"", ["empty upload"]),
    ],
    ids=["bad-wav-header", "random-bytes", "empty"],
)
def test_corrupt_or_empty_file(server, body, words):
    detail = _refused(_post(server, body), 422, *words)
    assert "BytesIO" not in detail


def test_truncated_flac(server):
    data = wav_bytes(SPEECH, fmt="FLAC")
    response = _post(server, data[: len(data) // 3], "audio/flac")
    if response.status_code == 200:  # libsndfile may decode the frames that are whole
        assert response.json()["duration"] < len(SPEECH) / 16000
    else:
        _refused(response, 422, "damaged")


@pytest.mark.parametrize(
    "signal, words",
    [
        (np.zeros(16000, np.float32), ["digital silence"]),
        (np.full(16000, 1e-5, np.float32), ["dBFS"]),
        (SPEECH[:800], ["minimum duration"]),
    ],
    ids=["silence", "near-silence", "too-short"],
)
def test_silent_or_too_short_gets_no_label(server, signal, words):
    _refused(_post(server, wav_bytes(signal, subtype="FLOAT")), 422, "no emotion", *words)


def test_silent_long_audio_with_segments_gets_no_label(server):
    response = _post(server, wav_bytes(np.zeros(3 * 16000, np.float32)), query="?segment=window")
    _refused(response, 422, "no emotion")


def test_non_finite_samples(server):
    signal = SPEECH.copy()
    signal[100] = np.nan
    body = signal.astype("<f4").tobytes()
    _refused(_post(server, body, "audio/pcm", "?sample_rate=16000&dtype=float32"), 422, "NaN")


def test_empty_form_file_and_missing_or_text_field(server):
    empty = httpx.post(f"{server.url}/predict", files={"file": ("a.wav", b"", "audio/wav")})
    _refused(empty, 422, "a.wav", "empty upload")
    missing = httpx.post(
        f"{server.url}/predict", files={"audio": ("a.wav", wav_bytes(SPEECH), "audio/wav")}
    )
    _refused(missing, 422, "missing form field 'file'", "'audio'")
    text = httpx.post(
        f"{server.url}/predict",
        data={"file": "not a file"},
        files={"other": ("x", b"x", "audio/wav")},
    )
    _refused(text, 422, "'file' is text")


@pytest.mark.parametrize(
    "query, body, words",
    [
        ("", b"\0\0" * 8000, ["sample_rate"]),
        ("?sample_rate=fast", b"\0\0" * 8000, ["whole number"]),
        ("?sample_rate=16000", b"\0" * 16001, ["16001 bytes", "int16"]),
        ("?sample_rate=16000&dtype=int8", b"\0" * 16000, ["int8"]),
        ("?sample_rate=50", b"\0\0" * 8000, ["1000 to 384000"]),
        ("?sample_rate=16000&channels=0", b"\0\0" * 8000, ["channels"]),
        ("?sample_rate=16000", b"", ["empty upload"]),
    ],
    ids=["no-rate", "bad-rate", "odd-bytes", "bad-dtype", "low-rate", "bad-channels", "empty"],
)
def test_bad_raw_pcm(server, query, body, words):
    _refused(_post(server, body, "audio/pcm", query), 422, *words)


@pytest.mark.parametrize(
    "query, words",
    [
        ("?segment=sentences", ["segment='sentences'", "window"]),
        ("?segment=window&window_s=-1", ["window_s"]),
        ("?segment=window&window_s=1&hop_s=2", ["hop_s"]),
    ],
)
def test_bad_segmentation_parameters(server, query, words):
    _refused(_post(server, wav_bytes(SPEECH), query=query), 422, *words)


def test_bad_content_length(server):
    with socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1]))) as sock:
        sock.sendall(
            b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: audio/wav\r\n"
            b"Content-Length: lots\r\n\r\n"
        )
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 4"), reply[:80]
    assert httpx.get(f"{server.url}/health").status_code == 200


def test_client_that_goes_away_mid_upload_does_not_hurt_the_server(server):
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1]))) as sock:
            sock.sendall(
                b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: audio/wav\r\n"
                b"Content-Length: 150000\r\n\r\n" + wav_bytes(SPEECH)[:5000]
            )
    ok = _post(server, wav_bytes(SPEECH))
    assert ok.status_code == 200 and ok.json()["status"] == "ok"
    assert httpx.get(f"{server.url}/health").json()["in_flight"] == 0


def test_unknown_path_and_method(server):
    assert httpx.get(f"{server.url}/nothing").status_code == 404
    assert httpx.get(f"{server.url}/predict").status_code == 405


# -- the WebSocket --------------------------------------------------------------------------
ws_client = pytest.importorskip("websockets.sync.client")


def _ws(server, first, *more):
    """Send ``first`` then ``more`` (text or bytes) and return the messages and close code."""
    got = []
    with ws_client.connect(f"{server.ws_url}/stream") as ws:
        ws.send(first)
        for message in more:
            try:
                ws.send(message)
            except Exception:  # the server already closed
                break
        try:
            while True:
                got.append(json.loads(ws.recv(timeout=30)))
        except Exception:
            pass
        code = ws.close_code
    return got, code


START = json.dumps({"type": "start", "sample_rate": 16000, "segment": "window"})


@pytest.mark.parametrize(
    "first, more, status, code, words",
    [
        (b"\0\0", [], 422, 1003, "binary"),
        ("not json", [], 422, 1003, "not JSON"),
        (json.dumps({"type": "begin"}), [], 422, 1003, "first message"),
        (json.dumps({"type": "start", "sample_rate": "16k"}), [], 422, 1003, "sample_rate"),
        (
            json.dumps({"type": "start", "sample_rate": 16000, "dtype": "int8"}),
            [],
            422,
            1003,
            "dtype",
        ),
        (
            json.dumps({"type": "start", "sample_rate": 16000, "segment": "none"}),
            [],
            422,
            1003,
            "cannot stream",
        ),
        (START, [b"\0\0\0"], 422, 1003, "whole int16"),
        (START, [json.dumps({"type": "end"})], 422, 1003, "no audio"),
        (START, [b"\0\0" * 16000] * 5, 413, 1009, "too long"),
        (START, ["{}"], 422, 1003, "expected audio"),
    ],
    ids=[
        "binary-first",
        "not-json",
        "no-start",
        "bad-rate",
        "bad-dtype",
        "no-segments",
        "odd-block",
        "empty-stream",
        "too-long",
        "bad-message",
    ],
)
def test_bad_streams_are_refused(server, first, more, status, code, words):
    got, closed = _ws(server, first, *more)
    errors = [m for m in got if m["type"] == "error"]
    assert len(errors) == 1 and errors[0]["status"] == status, got
    assert words in errors[0]["detail"]
    assert closed == code and not any(m["type"] == "final" for m in got)


def test_stream_of_silence_ends_without_a_label(server):
    got, closed = _ws(server, START, b"\0\0" * 16000 * 3, json.dumps({"type": "end"}))
    final = got[-1]
    assert final["type"] == "final" and final["label"] is None and final["probs"] is None
    assert "unanalysable" in final["status"] and closed == 1000
    assert all(m["label"] is None for m in got if m["type"] == "segment")


# -- what cannot be served ------------------------------------------------------------------
@pytest.mark.parametrize("normalize", ["speaker", "corpus"])
def test_a_per_speaker_or_per_corpus_normalised_model_is_refused(model_dir, normalize):
    from dataclasses import replace

    from serkit.errors import ConfigError
    from serkit.inference import Predictor
    from serkit.serve import create_app

    plain = Predictor.from_path(model_dir)
    grouped = Predictor(plain.model, replace(plain.frontend, normalize=normalize), plain.meta)
    with pytest.raises(
        ConfigError, match=f"per-{normalize} z-scored features .features.normalize: {normalize}"
    ):
        create_app(grouped)


def test_cli_refuses_a_public_address_without_token(model_dir, capsys, monkeypatch):
    monkeypatch.delenv("SERKIT_TOKEN", raising=False)
    message = one_error(*serkit(["serve", model_dir, "--host", "0.0.0.0"], capsys, monkeypatch))
    assert "--token" in message and "SERKIT_TOKEN" in message and "0.0.0.0" in message


def test_cli_takes_the_token_from_the_environment(model_dir, capsys, monkeypatch):
    import serkit.serve.server as server_module

    seen = {}
    monkeypatch.setattr(server_module, "serve", lambda predictor, **kw: seen.update(kw))
    monkeypatch.setenv("SERKIT_TOKEN", "env-secret")
    code, _, err = serkit(
        ["serve", model_dir, "--host", "0.0.0.0", "--port", "9"], capsys, monkeypatch
    )
    assert code == 0, err
    assert seen["token"] == "env-secret" and seen["host"] == "0.0.0.0" and seen["port"] == 9
    assert "token required" in err
    monkeypatch.setenv("SERKIT_TOKEN", "")
    message = one_error(*serkit(["serve", model_dir, "--host", "0.0.0.0"], capsys, monkeypatch))
    assert "--token" in message


def test_cli_names_a_missing_model(tmp_path, capsys, monkeypatch):
    message = one_error(*serkit(["serve", tmp_path / "nope"], capsys, monkeypatch))
    assert "nope" in message and "no such run or model folder" in message


def test_cli_without_a_model_uses_the_default_or_says_there_is_none(capsys, monkeypatch):
    import importlib.util

    import serkit.serve.server as server_module

    seen = {}
    monkeypatch.setattr(server_module, "serve", lambda predictor, **kw: seen.update(p=predictor))
    result = serkit(["serve"], capsys, monkeypatch)
    if importlib.util.find_spec("serkit.pretrained") is None:
        assert "no default model" in one_error(*result)
    else:
        assert result[0] == 0, result[2]
        assert seen["p"].classes
