"""Speakers, emotion profiles and sentences of the synthetic demo corpus (data + one renderer).

An utterance is rendered from three parts: a :class:`Speaker` (base F0, vocal-tract length
factor, rate, breathiness), an :class:`Voice` profile (pitch level and range, speaking rate,
loudness, voice quality) obtained by moving the speaker's neutral voice towards an emotion's
:data:`PROFILES` entry, and a sentence (a fixed sequence of CV syllables, :data:`SENTENCES`).
Per-utterance random variation (seeded) blurs the emotions so that they overlap, as acted
emotions do.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from serkit.demo import synth

# Adult male vowel formants F1-F3 in Hz (Peterson & Barney 1952 averages, rounded); F4, F5 fixed.
VOWELS: dict[str, tuple[float, float, float]] = {
    "i": (270, 2290, 3010),
    "I": (390, 1990, 2550),
    "E": (530, 1840, 2480),
    "ae": (660, 1720, 2410),
    "a": (730, 1090, 2440),
    "O": (570, 840, 2410),
    "U": (440, 1020, 2240),
    "u": (300, 870, 2240),
    "V": (640, 1190, 2390),
    "3": (490, 1350, 1690),
}
HIGH_FORMANTS = (3300.0, 3750.0)
BANDWIDTHS = np.array([60.0, 90.0, 120.0, 180.0, 250.0])


@dataclass(frozen=True)
class Consonant:
    """A voiceless consonant: optional closure (silence) then a band-pass noise burst."""

    closure_ms: float
    burst_ms: float
    band: tuple[float, float]
    level: float


CONSONANTS: dict[str, Consonant] = {
    "k": Consonant(50, 18, (1500, 4000), 0.35),
    "t": Consonant(45, 14, (3000, 7000), 0.35),
    "d": Consonant(35, 10, (2500, 6000), 0.25),
    "b": Consonant(45, 8, (300, 2500), 0.25),
    "s": Consonant(0, 110, (4000, 7800), 0.25),
    "z": Consonant(0, 80, (3500, 7500), 0.12),
    "dh": Consonant(0, 40, (1500, 6000), 0.08),
    "h": Consonant(0, 60, (500, 5000), 0.08),
}


@dataclass(frozen=True)
class Syllable:
    """Onset consonant ('' for none), vowel targets (1 or 2 for a diphthong), stress in [0, 1]."""

    onset: str
    vowels: tuple[str, ...]
    stress: float
    coda: str = ""
    phrase_break: bool = False


def _syl(onset: str, vowels: str, stress: float, coda: str = "", brk: bool = False) -> Syllable:
    return Syllable(onset, tuple(vowels.split(">")), stress, coda, brk)


# The two RAVDESS statements as syllable plans (approximate American English vowels).
SENTENCES: dict[str, tuple[Syllable, ...]] = {
    "01": (  # "Kids are talking by the door"
        _syl("k", "I", 1.0, "z"),
        _syl("", "a", 0.2, brk=True),
        _syl("t", "O", 0.9),
        _syl("k", "I", 0.2),
        _syl("b", "a>I", 0.5),
        _syl("dh", "V", 0.1),
        _syl("d", "O>3", 0.8),
    ),
    "02": (  # "Dogs are sitting by the door"
        _syl("d", "O", 1.0, "z"),
        _syl("", "a", 0.2, brk=True),
        _syl("s", "I", 0.9),
        _syl("t", "I", 0.2),
        _syl("b", "a>I", 0.5),
        _syl("dh", "V", 0.1),
        _syl("d", "O>3", 0.8),
    ),
}


@dataclass(frozen=True)
class Speaker:
    """Speaker identity: fixed for all of a speaker's utterances."""

    actor: int
    gender: str
    f0_hz: float
    vtl: float  # formant scale factor (shorter vocal tract -> higher formants)
    rate: float
    loudness_db: float
    breathiness: float
    tilt: float
    expressiveness: float


@dataclass(frozen=True)
class Voice:
    """Prosody and voice quality of one utterance (relative to the speaker where noted)."""

    f0_st: float  # pitch level, semitones above the speaker's base
    range_st: float  # accent height, semitones
    rate: float  # speaking-rate factor (>1 = faster, shorter syllables)
    loudness_db: float  # level relative to neutral
    tilt: float  # one-pole low-pass coefficient (larger = steeper tilt, softer voice)
    breathiness: float  # aspiration noise relative to the glottal pulses
    jitter: float
    shimmer: float
    open_quotient: float
    pause: float  # phrase-break pause factor
    declination_st: float


NEUTRAL = Voice(0.0, 3.0, 1.0, 0.0, 0.80, 0.06, 0.008, 0.04, 0.60, 1.0, 2.5)

PROFILES: dict[str, Voice] = {
    "neutral": NEUTRAL,
    "calm": Voice(-1.0, 2.0, 0.9, -3.0, 0.84, 0.09, 0.007, 0.04, 0.64, 1.3, 2.0),
    "happy": Voice(3.5, 7.0, 1.08, 4.0, 0.70, 0.05, 0.010, 0.05, 0.55, 0.8, 1.5),
    "sad": Voice(-2.5, 1.2, 0.78, -6.0, 0.88, 0.16, 0.014, 0.07, 0.72, 1.8, 3.5),
    "angry": Voice(4.0, 6.0, 1.15, 8.0, 0.50, 0.03, 0.012, 0.05, 0.42, 0.6, 1.5),
    "fearful": Voice(5.5, 3.0, 1.22, 1.5, 0.74, 0.10, 0.030, 0.10, 0.58, 0.7, 0.5),
}

# RAVDESS emotion codes of the profiles
EMOTION_CODES: dict[str, str] = {
    "neutral": "01",
    "calm": "02",
    "happy": "03",
    "sad": "04",
    "angry": "05",
    "fearful": "06",
}

# per-utterance standard deviations (random variation around the emotion's voice)
VARIATION = Voice(1.2, 0.30, 0.07, 2.0, 0.04, 0.30, 0.30, 0.25, 0.04, 0.3, 0.8)
_LOG_FIELDS = {"range_st", "rate", "breathiness", "jitter", "shimmer", "pause"}


def make_speaker(actor: int, rng: np.random.Generator) -> Speaker:
    """Draw a speaker; odd actors are male, even ones female (as in RAVDESS)."""
    male = actor % 2 == 1
    return Speaker(
        actor=actor,
        gender="male" if male else "female",
        f0_hz=float(rng.uniform(95, 135) if male else rng.uniform(180, 235)),
        vtl=float(rng.uniform(0.95, 1.05) if male else rng.uniform(1.12, 1.22)),
        rate=float(rng.uniform(0.9, 1.1)),
        loudness_db=float(rng.uniform(-2.0, 2.0)),
        breathiness=float(rng.uniform(0.7, 1.1) if male else rng.uniform(0.9, 1.4)),
        tilt=float(rng.uniform(-0.04, 0.04)),
        expressiveness=float(rng.uniform(0.65, 1.2)),
    )


def voice_for(emotion: str, strength: float, speaker: Speaker, rng: np.random.Generator) -> Voice:
    """The voice of one utterance: neutral moved ``strength`` of the way to the emotion.

    Args:
        emotion: a key of :data:`PROFILES`.
        strength: 1.0 for normal intensity, larger for strong (scaled by the speaker's
            expressiveness).
        speaker: the speaker.
        rng: random generator for the per-utterance variation.
    """
    target = PROFILES[emotion]
    k = strength * speaker.expressiveness
    values = {}
    for field in fields(Voice):
        base, goal = getattr(NEUTRAL, field.name), getattr(target, field.name)
        spread = getattr(VARIATION, field.name)
        if field.name in _LOG_FIELDS:
            value = np.exp(np.log(base) + k * (np.log(goal) - np.log(base)))
            value *= np.exp(spread * rng.standard_normal())
        else:
            value = base + k * (goal - base) + spread * rng.standard_normal()
        values[field.name] = float(value)
    voice = Voice(**values)
    return replace(
        voice,
        rate=voice.rate * speaker.rate,
        tilt=float(np.clip(voice.tilt + speaker.tilt, 0.2, 0.95)),
        breathiness=voice.breathiness * speaker.breathiness,
        open_quotient=float(np.clip(voice.open_quotient, 0.3, 0.85)),
        range_st=max(voice.range_st, 0.3),
    )


def render(
    sentence: tuple[Syllable, ...],
    speaker: Speaker,
    voice: Voice,
    sample_rate: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Synthesise one utterance.

    Returns:
        ``(samples,)`` float64 signal with RMS set by the speaker's and the voice's loudness.
    """
    hop = max(sample_rate // 200, 1)  # 5 ms frames
    ms = sample_rate / 1000.0
    pieces: list[tuple[str, int, int, object]] = []  # (kind, start, end, payload)
    t = int(rng.uniform(150, 250) * ms)
    consonant_scale = voice.rate**-0.5
    for index, syl in enumerate(sentence):
        if syl.onset:
            t = _add_consonant(pieces, CONSONANTS[syl.onset], t, ms * consonant_scale)
        final = index == len(sentence) - 1
        vowel_ms = (90.0 + 70.0 * syl.stress) * (1.5 if final else 1.0)
        vowel_ms *= float(np.exp(0.08 * rng.standard_normal())) / voice.rate
        length = int(vowel_ms * ms)
        pieces.append(("vowel", t, t + length, syl))
        t += length
        if syl.coda:
            t = _add_consonant(pieces, CONSONANTS[syl.coda], t, ms * consonant_scale)
        if syl.phrase_break:
            t += int(max(rng.normal(70.0, 25.0), 0.0) * voice.pause * ms)
    total = t + int(rng.uniform(180, 260) * ms)
    n_frames = -(-total // hop) + 1

    voiced_env = np.zeros(total)
    noise = np.zeros(total)
    accents, knots_t, knots_f = [], [], []
    for kind, start, end, payload in pieces:
        if kind == "vowel":
            syl = payload
            gain = 0.6 + 0.4 * syl.stress
            voiced_env[start:end] = gain * synth.envelope(end - start, int(25 * ms), int(35 * ms))
            accents.append((start // hop, end // hop, syl.stress))
            for share, vowel in zip(_shares(len(syl.vowels)), syl.vowels, strict=True):
                knots_t.append((start + share * (end - start)) / hop)
                knots_f.append(_formants(vowel, speaker.vtl))
        else:
            consonant = payload
            burst = synth.noise_burst(end - start, consonant.band, sample_rate, rng)
            attack = max(int(0.2 * (end - start)), 1)
            noise[start:end] += (
                consonant.level * burst * synth.envelope(end - start, attack, attack)
            )

    f0_frames = synth.f0_contour(
        n_frames,
        accents,
        base_hz=speaker.f0_hz * synth.semitones(voice.f0_st),
        range_st=voice.range_st,
        declination_st=voice.declination_st,
        final_fall_st=0.5 * voice.range_st,
        drift_st=0.4,
        rng=rng,
    )
    f0 = synth.frames_to_samples(f0_frames, hop, total) * (voiced_env > 0)
    source = synth.glottal_source(
        f0,
        sample_rate,
        open_quotient=voice.open_quotient,
        jitter=voice.jitter,
        shimmer=voice.shimmer,
        rng=rng,
    )
    aspiration = voice.breathiness * rng.standard_normal(total) * (voiced_env > 0)
    excitation = (source + aspiration) * voiced_env
    excitation = synth.spectral_tilt(excitation, voice.tilt)
    frames_axis = np.arange(n_frames)
    knots = np.array(knots_f)
    formants = np.stack(
        [np.interp(frames_axis, knots_t, knots[:, j]) for j in range(knots.shape[1])], axis=1
    )
    bandwidths = BANDWIDTHS * (1.0 + 2.0 * voice.breathiness)
    voiced = synth.formant_filter(excitation, formants, bandwidths, sample_rate, hop)
    voiced /= _rms(voiced) or 1.0
    speech = voiced + noise
    level = 0.05 * 10 ** ((voice.loudness_db + speaker.loudness_db) / 20.0)
    speech *= level / (_rms(speech) or 1.0)
    speech += 10 ** (-70 / 20) * rng.standard_normal(total)  # faint recording noise floor
    peak = float(np.max(np.abs(speech)))
    if peak > 0.98:  # keep loud voices unclipped
        speech *= 0.98 / peak
    return speech


def _add_consonant(pieces: list, consonant: Consonant, t: int, ms: float) -> int:
    t += int(consonant.closure_ms * ms)
    length = max(int(consonant.burst_ms * ms), 1)
    pieces.append(("noise", t, t + length, consonant))
    return t + length


def _shares(count: int) -> tuple[float, ...]:
    return (0.5,) if count == 1 else (0.3, 0.85)


def _formants(vowel: str, vtl: float) -> np.ndarray:
    return np.array([*VOWELS[vowel], *HIGH_FORMANTS], dtype=np.float64) * vtl


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) if x.size else 0.0
