"""Long audio and streaming: windows and hop, VAD segments, streaming == offline, block reading,
output formats, and the ``serkit predict --segment`` verb."""

from __future__ import annotations

import json
import math
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from serkit.audio import read
from serkit.errors import ConfigError
from serkit.features import get_extractor
from serkit.features.frontend import Frontend
from serkit.inference import Predictor
from serkit.models import get_model
from serkit.segment_result import LongResult, Segment, decide, srt_time
from serkit.segment_vad import SpeechTracker
from serkit.segmentation import SegmentConfig, StreamingPredictor, iter_blocks, predict_long

SR = 16000
GAP_S = 1.5


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """Demo utterances (2 speakers x 2 emotions) and a predictor trained on them."""
    from serkit.demo.corpus import make_corpus

    root = tmp_path_factory.mktemp("demo")
    make_corpus(root, speakers=2, sentences=1, repetitions=1, emotions=("neutral", "angry"))
    files = sorted(root.rglob("*.wav"))
    ex = get_extractor("mfcc-stats")
    feats, labels = [], []
    for path in files:
        signal, rate = read(path, sample_rate=SR)
        feats.append(ex(signal, rate))
        labels.append(path.name.split("-")[2])
    model = get_model("logreg").fit(np.stack(feats), np.array(labels))
    return files, Predictor(model, Frontend(ex))


@pytest.fixture(scope="module")
def talk(demo, tmp_path_factory):
    """A clip: 1 s silence, then three utterances each followed by GAP_S of silence.

    Returns ``(path, signal, [(start_s, end_s) of each utterance])``.
    """
    files, _ = demo
    pieces, spans, t = [np.zeros(SR, np.float32)], [], 1.0
    for path in files[:3]:
        signal, _ = read(path, sample_rate=SR)
        pieces += [signal, np.zeros(int(GAP_S * SR), np.float32)]
        spans.append((t, t + len(signal) / SR))
        t += len(signal) / SR + GAP_S
    signal = np.concatenate(pieces)
    path = tmp_path_factory.mktemp("talk") / "talk.wav"
    sf.write(str(path), signal, SR, subtype="FLOAT")
    return path, signal, spans


def _tone(seconds: float, rate: int = SR) -> np.ndarray:
    t = np.arange(int(round(seconds * rate))) / rate
    return (0.3 * np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))).astype(
        np.float32
    )


def _stream(predictor, signal, config, rate=SR, seed=0) -> LongResult:
    """Feed ``signal`` in blocks of random sizes (1 sample to 0.6 s)."""
    stream = StreamingPredictor(predictor, config, rate)
    rng, i, fed = np.random.default_rng(seed), 0, []
    while i < len(signal):
        n = int(rng.integers(1, int(0.6 * rate)))
        fed += stream.feed(signal[i : i + n])
        i += n
    result = stream.finish()
    assert [s.start for s in fed] == [s.start for s in result.segments[: len(fed)]]
    return result


def _same(a: LongResult, b: LongResult) -> None:
    assert [(s.start, s.end, s.status, s.label) for s in a.segments] == [
        (s.start, s.end, s.status, s.label) for s in b.segments
    ]
    pa, pb = (r.to_frame(decision=True).filter(like="prob_").to_numpy() for r in (a, b))
    np.testing.assert_allclose(pa, pb, atol=1e-6, rtol=0)
    assert a.decision["label"] == b.decision["label"]


# -- windows -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (10.0, [(0, 3), (1.5, 4.5), (3, 6), (4.5, 7.5), (6, 9), (7.5, 10)]),
        (9.0, [(0, 3), (1.5, 4.5), (3, 6), (4.5, 7.5), (6, 9)]),  # the last fits exactly
        (3.0, [(0, 3)]),
        (2.0, [(0, 2)]),  # shorter than the window: one segment, the whole audio
    ],
)
def test_windows_cover_the_audio_and_stop_at_the_first_that_reaches_the_end(
    demo, seconds, expected
):
    _, predictor = demo
    config = SegmentConfig("window", window_s=3.0, hop_s=1.5, speech_check=False)
    result = predict_long(predictor, _tone(seconds), config, sample_rate=SR, block_s=0.7)
    got = [(s.start, s.end) for s in result.segments]
    assert np.allclose(got, expected) and len(got) == len(expected), got
    assert all(s.status == "ok" and s.label in predictor.classes for s in result.segments)
    assert result.duration == pytest.approx(seconds)


def test_window_property_no_gap_no_contained_window(demo):
    """Random lengths, windows and hops: windows start at k*hop, leave no gap, all but the
    last have the full length, the last ends at the end, and none lies inside another."""
    _, predictor = demo
    rng = np.random.default_rng(1)
    for _ in range(6):
        window = float(rng.uniform(0.5, 1.5))
        hop = float(rng.uniform(0.1, 1.0)) * window
        seconds = float(rng.uniform(0.6, 4.0))
        config = SegmentConfig("window", window_s=window, hop_s=hop, speech_check=False, min_s=0)
        segs = predict_long(predictor, _tone(seconds), config, sample_rate=SR).segments
        n, w, h = int(round(seconds * SR)), int(round(window * SR)), int(round(hop * SR))
        starts = [int(round(s.start * SR)) for s in segs]
        ends = [int(round(s.end * SR)) for s in segs]
        assert starts == [k * h for k in range(len(segs))]
        assert ends[-1] == n and all(e < n for e in ends[:-1])
        assert all(e - s == w for s, e in zip(starts[:-1], ends[:-1], strict=True))
        assert all(b <= a for a, b in zip(ends[:-1], starts[1:], strict=True))  # no gap
        assert all(e2 > e1 for e1, e2 in zip(ends[:-1], ends[1:], strict=True))


def test_short_last_window_below_min_s_gets_a_status_not_a_label(demo):
    _, predictor = demo
    config = SegmentConfig("window", window_s=2.0, hop_s=2.0, min_s=0.5, speech_check=False)
    segs = predict_long(predictor, _tone(4.2), config, sample_rate=SR).segments
    assert [s.status for s in segs[:2]] == ["ok", "ok"]
    assert segs[2].label is None and segs[2].status.startswith("unanalysable: segment 0.200 s")
    assert all(math.isnan(v) for v in segs[2].probs.values())


def test_windows_in_silence_are_unanalysable_never_labelled(demo, talk):
    _, predictor = demo
    path, _, spans = talk
    config = SegmentConfig("window", window_s=0.5, hop_s=0.5)
    segs = predict_long(predictor, path, config).segments
    silent = [s for s in segs if all(s.end <= a or s.start >= b for a, b in spans)]
    assert len(silent) >= 6  # 1 s of leading silence and three 1.5 s gaps
    for s in silent:
        assert s.label is None and s.status.startswith("unanalysable: no speech"), s
    inside = [s for s in segs if any(a <= s.start and s.end <= b for a, b in spans)]
    assert inside and all(s.status == "ok" and s.label is not None for s in inside)


# -- voice activity ----------------------------------------------------------------------------
def test_vad_segments_find_each_utterance_and_no_silence(demo, talk):
    _, predictor = demo
    path, _, spans = talk
    config = SegmentConfig("vad")
    result = predict_long(predictor, path, config, block_s=0.5)
    assert len(result.segments) == len(spans)
    slack = config.pad_ms / 1000 + 0.05
    for seg, (a, b) in zip(result.segments, spans, strict=True):
        assert a - slack <= seg.start < seg.end <= b + slack, (seg, a, b)
        assert seg.end - seg.start > 0.5 * (b - a)  # most of the utterance
        assert seg.status == "ok" and seg.label in predictor.classes
    # the decision is the duration-weighted mean of the segment probabilities
    w = np.array([s.duration for s in result.segments])
    mean = {
        c: float(np.dot(w, [s.probs[c] for s in result.segments]) / w.sum())
        for c in predictor.classes
    }
    assert result.decision["probs"] == pytest.approx(mean)
    assert result.decision["label"] == max(mean, key=mean.get)
    assert result.source == str(path)


def test_vad_on_silence_gives_no_segment_and_no_decision(demo):
    _, predictor = demo
    result = predict_long(
        predictor, np.zeros(3 * SR, np.float32), SegmentConfig("vad"), sample_rate=SR
    )
    assert result.segments == []
    assert result.decision["label"] is None and result.decision["status"].startswith("unanalysable")


def test_speech_tracker_rules():
    """chunk = 10 samples: hysteresis, short speech dropped, padding, cut at max_len."""
    tracker = SpeechTracker(
        chunk=10, threshold=0.5, min_speech=30, min_silence=20, pad=5, max_len=80
    )
    probs = np.array([0, 1, 1, 1, 1, 0.4, 1, 0, 0, 0, 1, 1, 0, 0, 0] + [1] * 13 + [0, 0])
    ranges = tracker.push(probs) + tracker.finish(len(probs) * 10)
    # speech 10..70 (0.4 is above threshold - 0.15: no silence) ends after 20 samples of
    # silence -> padded 5..75; 100..120 is too short (dropped); 150..280 is cut at max_len 80
    # (no padding at the cut), the rest 230..280 is padded at its end only
    assert ranges == [(5, 75), (145, 230), (230, 285)]
    assert tracker.finish(300) == []


@pytest.mark.parametrize("normalize", ["speaker", "corpus"])
def test_speaker_or_corpus_normalised_model_is_refused(demo, normalize):
    _, predictor = demo
    grouped = Predictor(predictor.model, Frontend(predictor.extractor, normalize=normalize))
    with pytest.raises(ConfigError, match=f"per-{normalize} z-scored.*normalize: {normalize}"):
        predict_long(grouped, _tone(2.0), SegmentConfig("window"), sample_rate=SR)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"hop_s": 4.0}, "hop_s=4.0 is longer than window_s"),
        ({"hop_s": 0}, "hop_s must be a number > 0"),
        ({"window_s": -1}, "window_s must be a number > 0"),
        ({"method": "speech"}, "expected one of vad, window, none"),
        ({"min_s": -1.0}, "min_s must be a number >= 0"),
    ],
)
def test_bad_settings_are_refused(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        SegmentConfig(**kwargs)


# -- streaming == offline ----------------------------------------------------------------------
@pytest.mark.parametrize("method", ["vad", "window", "none"])
def test_streaming_gives_the_offline_numbers(demo, talk, method):
    _, predictor = demo
    path, signal, _ = talk
    config = SegmentConfig(method, window_s=1.0, hop_s=0.5)
    offline = predict_long(predictor, path, config, block_s=2.0)
    assert offline.segments
    for seed in (0, 1):
        _same(offline, _stream(predictor, signal, config, seed=seed))


def test_streaming_at_another_rate_gives_the_offline_numbers(demo, talk, tmp_path):
    """A 22.05 kHz file: predict_long resamples its blocks, the stream resamples its own
    (different) blocks, and both equal resampling the whole file at once."""
    from serkit.audio import resample

    _, predictor = demo
    _, signal, _ = talk
    high = resample(signal, SR, 22050)
    path = tmp_path / "talk22.wav"
    sf.write(str(path), high, 22050, subtype="FLOAT")
    config = SegmentConfig("vad")
    offline = predict_long(predictor, path, config, block_s=1.3)
    _same(offline, _stream(predictor, high, config, rate=22050))
    whole = predict_long(predictor, resample(high, 22050, SR), config, sample_rate=SR)
    _same(offline, whole)


def test_stream_refuses_feeding_after_finish_and_empty_streams(demo):
    _, predictor = demo
    stream = StreamingPredictor(predictor, SegmentConfig("window", speech_check=False), SR)
    from serkit.errors import AudioError

    with pytest.raises(AudioError, match="no audio"):
        stream.finish()
    with pytest.raises(ConfigError, match="finished"):
        stream.feed(np.zeros(10, np.float32))
    bad = StreamingPredictor(predictor, SegmentConfig("window", speech_check=False), SR)
    with pytest.raises(AudioError, match="NaN"):
        bad.feed(np.array([0.0, np.nan], np.float32))


# -- memory: the file is read in blocks --------------------------------------------------------
@pytest.fixture(scope="module")
def long_file(tmp_path_factory):
    """A 90 s tone file, written block by block."""
    path = tmp_path_factory.mktemp("long") / "long.wav"
    block = _tone(1.0)
    with sf.SoundFile(str(path), "w", SR, 1, subtype="PCM_16") as handle:
        for _ in range(90):
            handle.write(block)
    return path


def test_reader_yields_bounded_blocks_that_add_up_to_the_file(long_file):
    sizes = [len(block) for block, rate in iter_blocks(long_file, 8000)]
    assert max(sizes) == 8000 and sum(sizes) == 90 * SR
    assert len(sizes) == 90 * SR // 8000


def test_long_file_is_never_loaded_whole(demo, long_file, monkeypatch):
    """predict_long never calls the whole-file readers, and holds at most a window plus a
    block of samples at any time."""
    import serkit.audio

    _, predictor = demo

    def whole(*args, **kwargs):
        raise AssertionError("the whole file was read")

    monkeypatch.setattr(serkit.audio, "read", whole)
    monkeypatch.setattr(sf, "read", whole)
    config = SegmentConfig("window", window_s=3.0, hop_s=3.0, speech_check=False)
    result = predict_long(predictor, long_file, config, block_s=1.0)
    assert len(result.segments) == 30 and result.duration == pytest.approx(90.0)
    assert result.peak_samples <= (3.0 + 1.0) * SR
    assert result.peak_samples < 0.05 * 90 * SR


# -- formats -----------------------------------------------------------------------------------
def _result() -> LongResult:
    classes = ["angry", "sad"]
    segs = [
        Segment(0.0, 1.5, "sad", {"angry": 0.2, "sad": 0.8}),
        Segment(1.5, 2.0, None, {c: math.nan for c in classes}, "unanalysable: no speech"),
        Segment(3661.5, 3662.0, "angry", {"angry": 0.9, "sad": 0.1}),
    ]
    return LongResult(segs, decide(segs, classes), 3662.0, classes, source="x.wav")


def test_decision_is_the_duration_weighted_mean_of_analysable_segments():
    d = _result().decision
    assert d["probs"] == pytest.approx({"angry": (1.5 * 0.2 + 0.5 * 0.9) / 2.0, "sad": 0.625})
    assert d["label"] == "sad" and d["segments_used"] == 2


def test_csv_json_and_srt():
    result = _result()
    df = pd.read_csv(StringIO(result.to_csv()))
    assert list(df["segment"]) == ["0", "1", "2", "file"]
    assert df["label"].isna().tolist() == [False, True, False, False]
    assert df.loc[3, "prob_sad"] == pytest.approx(0.625)
    data = json.loads(result.to_json())
    assert data["segments"][1]["probs"] == {"angry": None, "sad": None}
    assert data["decision"]["label"] == "sad" and data["source"] == "x.wav"
    cues = result.to_srt().strip().split("\n\n")
    assert cues[0] == "1\n00:00:00,000 --> 00:00:01,500\nsad (0.80)"
    assert cues[1] == "2\n00:00:01,500 --> 00:00:02,000\n[unanalysable: no speech]"
    assert cues[2].startswith("3\n01:01:01,500 --> 01:01:02,000\nangry")
    assert srt_time(0.0006) == "00:00:00,001" and srt_time(59.9994) == "00:00:59,999"
    with pytest.raises(ConfigError, match="expected one of csv, json, srt"):
        result.render("xml")


# -- the CLI -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def model_dir(demo, tmp_path_factory):
    from serkit.models.package import save_model

    _, predictor = demo
    folder = tmp_path_factory.mktemp("run") / "model"
    save_model(predictor.model, folder, extra={"frontend": predictor.frontend.to_dict()})
    return folder


def test_cli_segments_to_json_srt_and_csv(model_dir, talk, tmp_path, capsys, monkeypatch):
    from faults._cli import serkit

    path, _, spans = talk
    out = tmp_path / "out.json"
    code, _, err = serkit(
        ["predict", model_dir, path, "--segment", "vad", "--format", "json", "-o", out],
        capsys,
        monkeypatch,
    )
    assert code == 0, err
    data = json.loads(out.read_text())
    assert len(data["segments"]) == len(spans) and data["decision"]["label"] is not None
    code, srt, err = serkit(
        [
            "predict",
            model_dir,
            path,
            "--segment",
            "window",
            "--window",
            "1",
            "--hop",
            "0.5",
            "--format",
            "srt",
        ],
        capsys,
        monkeypatch,
    )
    assert code == 0, err
    assert "00:00:00,000 --> 00:00:01,000\n[unanalysable: no speech" in srt
    code, csv, err = serkit(
        ["predict", model_dir, path, "--segment", "vad", "--format", "csv"], capsys, monkeypatch
    )
    df = pd.read_csv(StringIO(csv))
    assert code == 0 and list(df["segment"]) == ["0", "1", "2", "file"]
    assert set(df["path"]) == {str(path)}


def test_cli_without_segment_keeps_one_row_per_file(model_dir, talk, capsys, monkeypatch):
    from faults._cli import serkit

    path, _, _ = talk
    code, out, err = serkit(
        ["predict", model_dir, path, "--format", "csv", "--no-progress"], capsys, monkeypatch
    )
    df = pd.read_csv(StringIO(out))
    assert code == 0 and list(df.columns[:3]) == ["path", "label", "status"] and len(df) == 1
    code, _, err = serkit(["predict", model_dir, path, "--format", "srt"], capsys, monkeypatch)
    assert code != 0 and "--format srt needs --segment" in err


def test_model_folder_vs_audio_argument(model_dir, talk):
    from serkit.cli._predict_long import is_model

    path, _, _ = talk
    assert is_model(model_dir) and is_model(model_dir.parent) and is_model(Path("x.onnx"))
    assert not is_model(path) and not is_model(path.parent)


def test_min_s_is_capped_at_the_window(demo):
    """Windows shorter than min_s are still analysed (min_s is capped at window_s); only the
    short last window is refused."""
    _, predictor = demo
    config = SegmentConfig("window", window_s=0.3, hop_s=0.3, speech_check=False)
    assert config.shortest == pytest.approx(0.3)
    segs = predict_long(predictor, _tone(1.0), config, sample_rate=SR).segments
    assert [s.status for s in segs[:3]] == ["ok"] * 3
    assert segs[3].status.startswith("unanalysable: segment 0.100 s < min_s 0.3 s")
