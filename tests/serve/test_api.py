"""The REST API over real HTTP: a uvicorn server on 127.0.0.1, the same numbers as Predictor."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest

from ._server import demo_signal, long_signal, wav_bytes


def _reference(predictor, tmp_path, signal, rate=16000):
    """What ``Predictor.predict_files`` says about ``signal`` written to a file."""
    import soundfile as sf

    path = tmp_path / "ref.wav"
    sf.write(path, signal, rate, subtype="FLOAT")
    row = predictor.predict_files([path]).iloc[0]
    return row["label"], {c: row[f"prob_{c}"] for c in predictor.classes}


def test_health_and_model_info(live, predictor):
    with live(workers=2) as server:
        health = httpx.get(f"{server.url}/health").json()
        info = httpx.get(f"{server.url}/model").json()
    assert health["status"] == "ok" and health["workers"] == 2
    assert info["classes"] == predictor.classes
    assert info["sample_rate"] == 16000 and info["input_level"] == "utterance"
    assert info["token_required"] is False
    assert info["limits"]["max_bytes"] > 0 and "mfcc" in info["frontend"]
    assert set(info["segment_methods"]) == {"none", "window", "vad"}


def test_predict_file_upload_matches_predictor(live, predictor, tmp_path):
    signal = demo_signal(5, "angry")
    label, probs = _reference(predictor, tmp_path, signal)
    with live() as server:
        response = httpx.post(
            f"{server.url}/predict",
            files={"file": ("clip.wav", wav_bytes(signal, subtype="FLOAT"), "audio/wav")},
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["label"] == label and body["status"] == "ok"
    assert body["duration"] == pytest.approx(len(signal) / 16000)
    np.testing.assert_allclose(
        [body["probs"][c] for c in predictor.classes],
        [probs[c] for c in predictor.classes],
        atol=1e-6,
    )


def test_raw_bodies_file_and_pcm_agree(live, predictor, tmp_path):
    """A FLAC body, int16 PCM and float32 PCM (at 22.05 kHz, resampled) of one utterance."""
    from serkit.audio import resample

    signal = demo_signal(6, "sad")
    pcm16 = np.round(np.clip(signal, -1, 1) * 32767).astype("<i2")
    label, probs = _reference(predictor, tmp_path, signal)
    other_rate = resample(signal, 16000, 22050)
    with live() as server:
        flac = httpx.post(
            f"{server.url}/predict",
            content=wav_bytes(signal, fmt="FLAC"),
            headers={"Content-Type": "audio/flac"},
        ).json()
        as_int16 = httpx.post(
            f"{server.url}/predict?sample_rate=16000",
            content=pcm16.tobytes(),
            headers={"Content-Type": "audio/pcm"},
        ).json()
        as_f32 = httpx.post(
            f"{server.url}/predict?sample_rate=22050&dtype=float32",
            content=other_rate.astype("<f4").tobytes(),
            headers={"Content-Type": "audio/pcm"},
        ).json()
        stereo = np.stack([pcm16, pcm16], axis=1)
        as_stereo = httpx.post(
            f"{server.url}/predict?sample_rate=16000&channels=2",
            content=stereo.tobytes(),
            headers={"Content-Type": "audio/pcm"},
        ).json()
    for body in (flac, as_int16, as_stereo):
        assert body["label"] == label
        np.testing.assert_allclose(
            [body["probs"][c] for c in predictor.classes],
            [probs[c] for c in predictor.classes],
            atol=2e-3,
        )
    assert as_f32["status"] == "ok" and set(as_f32["probs"]) == set(predictor.classes)
    assert as_f32["duration"] == pytest.approx(len(other_rate) / 22050)


def test_segments_match_predict_long(live, predictor):
    from serkit.segmentation import SegmentConfig, predict_long

    signal = long_signal(8.0)
    expected = predict_long(
        predictor, signal, SegmentConfig("window", window_s=2.0, hop_s=1.0), sample_rate=16000
    )
    with live() as server:
        response = httpx.post(
            f"{server.url}/predict?segment=window&window_s=2&hop_s=1",
            files={"file": ("long.wav", wav_bytes(signal, subtype="FLOAT"), "audio/wav")},
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["segments"]) == len(expected.segments) >= 6
    for got, want in zip(body["segments"], expected.segments, strict=True):
        assert got["start"] == pytest.approx(want.start) and got["end"] == pytest.approx(want.end)
        assert got["label"] == want.label and got["status"] == want.status
        if want.label is not None:
            np.testing.assert_allclose(
                [got["probs"][c] for c in predictor.classes],
                [want.probs[c] for c in predictor.classes],
                atol=1e-6,
            )
    assert body["label"] == expected.decision["label"]
    assert body["duration"] == pytest.approx(len(signal) / 16000)


def test_the_page_and_its_files_are_served_and_fetch_nothing_from_outside(live):
    from serkit.serve.app import STATIC

    with live() as server:
        page = httpx.get(f"{server.url}/")
        assets = {
            name: httpx.get(f"{server.url}/static/{name}") for name in ("app.js", "style.css")
        }
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert 'id="file"' in page.text and 'id="record"' in page.text
    assert all(r.status_code == 200 for r in assets.values())
    for path in STATIC.iterdir():
        text = path.read_text()
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, path


class _Gate:
    """Wraps a model: every ``predict_proba`` meets another one at a barrier of ``parties``
    (so the test fails unless that many run at once) and the peak concurrency is recorded."""

    def __init__(self, model, parties: int) -> None:
        self.model = model
        self.classes_ = model.classes_
        self.input_level = "utterance"
        self.barrier = threading.Barrier(parties, timeout=20)
        self.lock = threading.Lock()
        self.now = self.peak = self.calls = 0

    def predict_proba(self, X):
        with self.lock:
            self.now += 1
            self.calls += 1
            self.peak = max(self.peak, self.now)
        try:
            self.barrier.wait()
            return self.model.predict_proba(X)
        finally:
            with self.lock:
                self.now -= 1


def test_worker_pool_runs_at_most_workers_at_once(live, predictor):
    from serkit.inference import Predictor

    gate = _Gate(predictor.model, parties=2)
    gated = Predictor(gate, predictor.frontend, predictor.meta)
    body = wav_bytes(demo_signal(4, "happy"))
    with live(gated, workers=2, warmup=False) as server:
        with ThreadPoolExecutor(8) as pool:
            codes = list(
                pool.map(
                    lambda _: (
                        httpx.post(
                            f"{server.url}/predict",
                            content=body,
                            headers={"Content-Type": "audio/wav"},
                            timeout=60,
                        ).status_code
                    ),
                    range(8),
                )
            )
    assert codes == [200] * 8
    assert gate.calls == 8 and gate.peak == 2  # two at a time (the barrier), never more


def test_full_queue_is_answered_503_and_the_rest_completes(live, predictor):
    from serkit.inference import Predictor
    from serkit.serve import Limits

    release = threading.Event()

    class Blocked:
        classes_ = predictor.model.classes_
        input_level = "utterance"

        def predict_proba(self, X):
            assert release.wait(30)
            return predictor.model.predict_proba(X)

    blocked = Predictor(Blocked(), predictor.frontend, predictor.meta)
    body = wav_bytes(demo_signal(4, "neutral"))
    post = {"content": body, "headers": {"Content-Type": "audio/wav"}, "timeout": 60}
    with live(blocked, workers=1, limits=Limits(max_queue=1), warmup=False) as server:
        with ThreadPoolExecutor(2) as pool:
            first = [pool.submit(httpx.post, f"{server.url}/predict", **post) for _ in range(2)]
            for _ in range(500):  # until one runs and one waits
                if httpx.get(f"{server.url}/health").json()["in_flight"] == 2:
                    break
                threading.Event().wait(0.02)
            refused = httpx.post(f"{server.url}/predict", **post)
            release.set()
            done = [f.result() for f in first]
    assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
    assert "busy" in refused.json()["detail"]
    assert [r.status_code for r in done] == [200, 200]


def test_serves_an_exported_onnx_model(live, tmp_path):
    """``serkit export`` output served as is: the numbers of the torch package it came from."""
    import warnings

    from serkit.export import export
    from serkit.features import get_extractor
    from serkit.features.frontend import Frontend
    from serkit.inference import Predictor
    from serkit.models import get_model
    from serkit.models.package import save_model

    from ._server import EMOTIONS

    frontend = Frontend(get_extractor("mfcc"))
    X, y, groups = [], [], []
    for actor in (1, 2):
        for emotion in EMOTIONS:
            X.append(frontend.compute(demo_signal(actor, emotion), 16000))
            y.append(emotion)
            groups.append(str(actor))
    model = get_model("neural", net="cnn-attn", epochs=2, batch_size=8)
    model.fit(X, np.array(y), np.array(groups))
    save_model(model, tmp_path / "run" / "model", extra={"frontend": frontend.to_dict()})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        onnx = export(tmp_path / "run", tmp_path / "model.onnx").path
    signal = demo_signal(5, "sad")
    label, probs = _reference(Predictor.from_path(tmp_path / "run"), tmp_path, signal)
    with live(Predictor.from_path(onnx)) as server:
        info = httpx.get(f"{server.url}/model").json()
        body = httpx.post(
            f"{server.url}/predict",
            content=wav_bytes(signal, subtype="FLOAT"),
            headers={"Content-Type": "audio/wav"},
        ).json()
    assert info["input_level"] == "frame" and info["classes"] == sorted(EMOTIONS)
    assert body["label"] == label
    np.testing.assert_allclose(
        [body["probs"][c] for c in sorted(EMOTIONS)],
        [probs[c] for c in sorted(EMOTIONS)],
        atol=1e-4,
    )
