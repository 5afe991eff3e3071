"""The synthetic demo corpus: synthesiser math, layout, determinism, RAVDESS reading, emotions."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal as sps

from serkit.corpora import prepare
from serkit.corpora.ravdess import parse_name
from serkit.demo import make_corpus, synth
from serkit.demo.corpus import file_name, utterance_plan

SR = 16000

# ----------------------------------------------------------------------------- synth.py


@settings(max_examples=60, deadline=None)
@given(
    phase=st.floats(0.0, 0.999999),
    oq=st.floats(0.1, 0.9),
    skew=st.floats(0.3, 0.9),
)
def test_rosenberg_flow_is_bounded_and_closed_after_open_phase(phase, oq, skew):
    value = float(synth.rosenberg_flow(np.array([phase]), oq, skew)[0])
    assert 0.0 <= value <= 1.0 + 1e-12
    if phase >= oq:
        assert value == 0.0


def test_rosenberg_flow_peaks_at_end_of_opening():
    phase = np.linspace(0, 1, 10001, endpoint=False)
    flow = synth.rosenberg_flow(phase, 0.6, 0.7)
    assert phase[np.argmax(flow)] == pytest.approx(0.42, abs=1e-3)
    assert flow.max() == pytest.approx(1.0, abs=1e-6)
    assert np.max(np.abs(np.diff(flow))) < 0.01  # continuous, no jumps
    with pytest.raises(ValueError, match="open_quotient"):
        synth.rosenberg_flow(phase, 1.2)


def test_glottal_source_is_periodic_at_f0_and_silent_when_unvoiced():
    f0 = np.full(SR // 2, 125.0)
    f0[:1000] = 0.0
    out = synth.glottal_source(f0, SR, open_quotient=0.6)
    assert np.all(out[:1000] == 0.0)
    voiced = out[2000:]
    ac = np.correlate(voiced, voiced, mode="full")[len(voiced) - 1 :]
    lag = 40 + int(np.argmax(ac[40:400]))
    assert lag == SR // 125  # period of 128 samples


def test_glottal_source_jitter_varies_periods_and_needs_rng():
    f0 = np.full(SR, 100.0)
    with pytest.raises(ValueError, match="rng"):
        synth.glottal_source(f0, SR, jitter=0.02)

    def periods(x):
        closures = np.flatnonzero((x[1:] < -0.5 * np.abs(x).max()) & (x[:-1] >= x[1:]))
        starts = closures[np.insert(np.diff(closures) > 20, 0, True)]
        return np.diff(starts)

    steady = periods(synth.glottal_source(f0, SR))
    shaky = periods(synth.glottal_source(f0, SR, jitter=0.03, rng=np.random.default_rng(0)))
    assert np.std(steady) < 1.0
    assert np.std(shaky) > 2.0


def test_spectral_tilt_keeps_dc_and_removes_highs():
    x = np.ones(4000)
    assert synth.spectral_tilt(x, 0.9)[-1] == pytest.approx(1.0, abs=1e-6)
    noise = np.random.default_rng(1).standard_normal(SR)
    np.testing.assert_array_equal(synth.spectral_tilt(noise, 0.0), noise)

    def high_share(y):
        spec = np.abs(np.fft.rfft(y)) ** 2
        return spec[len(spec) // 2 :].sum() / spec.sum()

    assert high_share(synth.spectral_tilt(noise, 0.9)) < high_share(synth.spectral_tilt(noise, 0.5))
    with pytest.raises(ValueError):
        synth.spectral_tilt(noise, 1.0)


def test_resonator_has_unity_dc_gain_and_peaks_at_its_frequency():
    b, a = synth.resonator(700.0, 80.0, SR)
    freqs, response = sps.freqz(b, a, worN=4096, fs=SR)
    assert abs(response[0]) == pytest.approx(1.0, rel=1e-9)
    assert freqs[np.argmax(np.abs(response))] == pytest.approx(700.0, abs=10.0)


def test_formant_filter_with_constant_formants_equals_one_static_filter():
    x = np.random.default_rng(2).standard_normal(3000)
    formants = np.tile([500.0, 1500.0, 2500.0], (40, 1))
    out = synth.formant_filter(x, formants, np.array([60.0, 90.0, 120.0]), SR, hop=80)
    b, a = np.array([1.0]), np.array([1.0])
    for freq, bw in zip(formants[0], (60.0, 90.0, 120.0), strict=True):
        rb, ra = synth.resonator(freq, bw, SR)
        b, a = np.convolve(b, rb), np.convolve(a, ra)
    np.testing.assert_allclose(out, sps.lfilter(b, a, x), rtol=1e-7, atol=1e-9)


def test_formant_filter_puts_spectral_peaks_at_formants_and_checks_frames():
    x = np.random.default_rng(3).standard_normal(SR)
    out = synth.formant_filter(x, np.tile([400.0, 2000.0], (200, 1)), [50.0, 50.0], SR, hop=80)
    freqs, power = sps.welch(out, fs=SR, nperseg=1024)
    assert freqs[np.argmax(power)] == pytest.approx(400.0, abs=40.0)
    high = (freqs > 1000) & (freqs < 3000)
    assert freqs[high][np.argmax(power[high])] == pytest.approx(2000.0, abs=60.0)
    with pytest.raises(ValueError, match="formant frames"):
        synth.formant_filter(x, np.tile([400.0], (3, 1)), [50.0], SR, hop=80)


def test_envelope_ramps_and_holds():
    env = synth.envelope(1000, 100, 200)
    assert env.shape == (1000,)
    assert env[0] < 0.01 and env[-1] < 0.01
    assert np.all(env[100:800] == 1.0)
    assert np.all(np.diff(env[:100]) > 0) and np.all(np.diff(env[800:]) < 0)
    short = synth.envelope(10, 100, 100)
    assert short.shape == (10,) and short.max() <= 1.0


def test_f0_contour_declines_and_accents_raise_pitch():
    flat = synth.f0_contour(200, [], base_hz=100.0, range_st=4.0, declination_st=2.0)
    assert flat[0] == pytest.approx(100.0)
    assert flat[-1] == pytest.approx(100.0 * 2 ** (-2 / 12))
    assert np.all(np.diff(flat) < 0)
    accented = synth.f0_contour(
        200, [(50, 100, 1.0)], base_hz=100.0, range_st=4.0, declination_st=0
    )
    peak = int(np.argmax(accented))
    assert 55 <= peak <= 75
    assert accented[peak] == pytest.approx(100.0 * 2 ** (4 / 12), rel=0.01)


def test_noise_burst_has_unit_rms_and_energy_in_band():
    burst = synth.noise_burst(8000, (4000.0, 7000.0), SR, np.random.default_rng(4))
    assert np.sqrt(np.mean(burst**2)) == pytest.approx(1.0)
    freqs, power = sps.welch(burst, fs=SR, nperseg=512)
    band = (freqs >= 4000) & (freqs <= 7000)
    assert power[band].sum() / power.sum() > 0.9
    assert synth.noise_burst(0, (100.0, 200.0), SR, np.random.default_rng(0)).size == 0


def test_semitones_and_frames_to_samples():
    assert synth.semitones(12.0) == pytest.approx(2.0)
    assert synth.semitones(-12.0) == pytest.approx(0.5)
    out = synth.frames_to_samples(np.array([1.0, 3.0]), hop=10, n_samples=20)
    assert out.shape == (20,)
    assert out[0] == 1.0 and out[-1] == 3.0 and out[10] == pytest.approx(2.0)


# ----------------------------------------------------------------------------- corpus.py


def test_file_names_follow_ravdess_and_parse_back():
    rel = file_name(7, "angry", "02", "01", 2)
    assert rel == "Actor_07/03-01-05-02-01-02-07.wav"
    fields = parse_name(rel.split("/")[1][:-4])
    assert fields["emotion"] == "angry" and fields["gender"] == "male"
    assert parse_name(file_name(8, "sad", "01", "02", 1).split("/")[1][:-4])["gender"] == "female"


def test_utterance_plan_counts_neutral_once_per_intensity():
    plan = utterance_plan(3, 2, 2, ("neutral", "happy", "sad"))
    # per speaker: neutral 2 sentences x 2 reps, others x 2 intensities
    assert len(plan) == 3 * (4 + 2 * 8)
    assert {p[2] for p in plan if p[1] == "neutral"} == {"01"}
    assert len(set(plan)) == len(plan)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"speakers": 0}, "speakers"),
        ({"sentences": 4}, "sentences"),
        ({"repetitions": 0}, "repetitions"),
        ({"emotions": ("angry", "bored")}, "bored"),
        ({"emotions": ("angry", "angry")}, "repeat"),
        ({"sample_rate": 4000}, "sample_rate"),
    ],
)
def test_make_corpus_rejects_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_corpus(tmp_path / "c", **kwargs)
    assert not (tmp_path / "c").exists()


def test_same_arguments_give_byte_identical_files(tmp_path):
    args = dict(speakers=2, sentences=1, repetitions=1, emotions=("angry", "sad"), seed=3)
    first = make_corpus(tmp_path / "a", **args)
    second = make_corpus(tmp_path / "b", **args)
    other = make_corpus(tmp_path / "c", **{**args, "seed": 4})
    assert len(first.files) == 2 * 4
    for a, b, c in zip(first.files, second.files, other.files, strict=True):
        assert a.relative_to(tmp_path / "a") == b.relative_to(tmp_path / "b")
        assert a.read_bytes() == b.read_bytes()
        assert a.read_bytes() != c.read_bytes()
    readme = (tmp_path / "a" / "README.txt").read_bytes()
    assert readme == (tmp_path / "b" / "README.txt").read_bytes()
    assert b"seed=3" in readme


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    return make_corpus(root, speakers=2, sentences=2, repetitions=1)


def test_corpus_is_read_by_the_ravdess_recipe(corpus):
    df = prepare("ravdess", corpus.root)
    # per speaker: neutral 2 sentences; 4 emotions x 2 intensities x 2 sentences
    assert len(df) == len(corpus.files) == 2 * (2 + 16)
    assert df["emotion"].value_counts().to_dict() == {
        "happy": 8,
        "sad": 8,
        "angry": 8,
        "fearful": 8,
        "neutral": 4,
    }
    assert set(df["speaker"]) == {"ravdess/Actor_01", "ravdess/Actor_02"}
    assert df.set_index("speaker")["gender"].groupby(level=0).first().to_dict() == {
        "ravdess/Actor_01": "male",
        "ravdess/Actor_02": "female",
    }
    assert df.attrs["stray"] == [] and df.attrs["skipped"] == []
    assert df["duration"].between(1.2, 3.0).all()
    assert (corpus.root / "README.txt").read_text().startswith("serkit synthetic demo corpus")


def _median_f0(x: np.ndarray, sr: int) -> float:
    import pyworld

    f0, t = pyworld.dio(x.astype(np.float64), sr, f0_floor=60.0, f0_ceil=600.0)
    f0 = f0[f0 > 0]
    return float(np.median(f0)) if f0.size else 0.0


def test_angry_is_higher_louder_and_faster_than_sad(corpus):
    stats = {}
    for path in corpus.files:
        fields = parse_name(path.stem)
        x, sr = sf.read(path)
        assert sr == SR and np.abs(x).max() < 1.0
        rms = float(np.sqrt(np.mean(x**2)))
        key = (fields["actor"], fields["emotion"])
        stats.setdefault(key, []).append((_median_f0(x, sr), rms, len(x) / sr))
    for actor in ("01", "02"):
        angry = np.array(stats[(actor, "angry")])
        sad = np.array(stats[(actor, "sad")])
        assert angry[:, 0].min() > sad[:, 0].max(), "angry F0 above sad F0"
        assert np.median(angry[:, 1]) > 2.0 * np.median(sad[:, 1]), "angry louder than sad"
        assert np.median(angry[:, 2]) < np.median(sad[:, 2]), "angry faster than sad"
        neutral = np.array(stats[(actor, "neutral")])
        assert np.median(sad[:, 0]) < np.median(neutral[:, 0]) < np.median(angry[:, 0])
    male = np.median([s[0] for s in stats[("01", "neutral")]])
    female = np.median([s[0] for s in stats[("02", "neutral")]])
    assert female > 1.4 * male
