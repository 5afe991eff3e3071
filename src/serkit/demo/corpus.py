"""The synthetic demo corpus: RAVDESS-named files of synthesised emotional speech.

Layout ``DIR/Actor_NN/03-01-EE-II-SS-RR-AA.wav`` (audio-only, speech) so that
``serkit prepare ravdess DIR`` reads it; odd actors are male, even ones female. Neutral has
normal intensity only (as in RAVDESS). Every file is a pure function of the arguments and the
seed: the same call writes byte-identical files.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from serkit import audio
from serkit.demo import voice as voices

DEFAULT_EMOTIONS: tuple[str, ...] = ("neutral", "happy", "sad", "angry", "fearful")
INTENSITY_STRENGTH: dict[str, float] = {"01": 1.0, "02": 1.5}


@dataclass
class DemoCorpus:
    """What :func:`make_corpus` wrote.

    Attributes:
        root: the corpus folder.
        files: written audio files (sorted).
        per_emotion: file count per emotion.
        speakers: number of speakers (actors).
        hours: total audio duration in hours.
        seconds: wall time of the generation.
    """

    root: Path
    files: list[Path] = field(default_factory=list)
    per_emotion: dict[str, int] = field(default_factory=dict)
    speakers: int = 0
    hours: float = 0.0
    seconds: float = 0.0

    def format(self) -> str:
        """Human-readable summary."""
        emotions = ", ".join(f"{name} {count}" for name, count in self.per_emotion.items())
        return (
            f"wrote {len(self.files)} files ({self.hours * 60:.1f} min of audio, "
            f"{self.speakers} speakers; {emotions}) to {self.root} in {self.seconds:.1f} s"
        )


def file_name(actor: int, emotion: str, intensity: str, statement: str, repetition: int) -> str:
    """The RAVDESS-style relative path of one utterance (``Actor_NN/03-01-...-AA.wav``)."""
    code = voices.EMOTION_CODES[emotion]
    stem = f"03-01-{code}-{intensity}-{statement}-{repetition:02d}-{actor:02d}"
    return f"Actor_{actor:02d}/{stem}.wav"


def utterance_plan(
    speakers: int, sentences: int, repetitions: int, emotions: tuple[str, ...]
) -> list[tuple[int, str, str, str, int]]:
    """Every ``(actor, emotion, intensity, statement, repetition)`` of the corpus, in order."""
    plan = []
    for actor in range(1, speakers + 1):
        for emotion in emotions:
            intensities = ("01",) if emotion == "neutral" else ("01", "02")
            for intensity in intensities:
                for statement in range(1, sentences + 1):
                    for repetition in range(1, repetitions + 1):
                        plan.append((actor, emotion, intensity, f"{statement:02d}", repetition))
    return plan


def synthesize(
    actor: int,
    emotion: str,
    intensity: str,
    statement: str,
    repetition: int,
    *,
    sample_rate: int = 16000,
    seed: int = 0,
) -> np.ndarray:
    """Synthesise one utterance of the demo corpus.

    Returns:
        ``(samples,)`` float32 signal in [-1, 1].
    """
    speaker = voices.make_speaker(actor, np.random.default_rng([seed, actor]))
    code = int(voices.EMOTION_CODES[emotion])
    rng = np.random.default_rng([seed, actor, code, int(intensity), int(statement), repetition])
    voice = voices.voice_for(emotion, INTENSITY_STRENGTH[intensity], speaker, rng)
    signal = voices.render(voices.SENTENCES[statement], speaker, voice, sample_rate, rng)
    return signal.astype(np.float32)


README = """\
serkit synthetic demo corpus
============================

Synthetic emotional speech made by serkit.demo (a source-filter synthesiser: Rosenberg glottal
pulses on a smooth F0 contour with jitter and shimmer, aspiration noise, spectral tilt, a
cascade of formant resonators over a fixed CV syllable sequence per sentence, and voiceless
noise bursts). No recording is involved; it exists to try serkit end to end without
downloading a corpus. It is NOT human speech and results on it say nothing about real data.

Layout (RAVDESS naming, so `serkit prepare ravdess DIR` reads it):
  Actor_NN/03-01-EE-II-SS-RR-AA.wav
  EE emotion {codes}; II intensity 01 normal, 02 strong (neutral: 01 only);
  SS statement 01 "Kids are talking by the door", 02 "Dogs are sitting by the door"
  (as syllable plans); RR repetition; AA actor (odd = male, even = female).

Emotions differ the way acted emotions do: pitch level and range, speaking rate, loudness and
voice quality (spectral tilt, breathiness, open quotient, jitter/shimmer); every speaker has
its own base pitch, vocal-tract length, rate and expressiveness, and every utterance gets
seeded random variation, so the classes overlap.

Generated with: speakers={speakers} sentences={sentences} repetitions={repetitions}
emotions={emotions} sample_rate={sample_rate} seed={seed}
Files: {files}
"""


def make_corpus(
    root: str | os.PathLike,
    *,
    speakers: int = 6,
    sentences: int = 2,
    repetitions: int = 2,
    emotions: tuple[str, ...] | list[str] = DEFAULT_EMOTIONS,
    seed: int = 0,
    sample_rate: int = 16000,
) -> DemoCorpus:
    """Write the synthetic demo corpus under ``root``.

    Args:
        root: output folder (created; existing files of the same names are replaced).
        speakers: number of actors, 1-99 (odd = male, even = female).
        sentences: number of statements, 1 or 2 (RAVDESS names know two).
        repetitions: repetitions per emotion, intensity and statement, 1-99.
        emotions: emotion names from ``neutral, calm, happy, sad, angry, fearful``.
        seed: random seed; the same arguments give byte-identical files.
        sample_rate: Hz (8000 or more).

    Returns:
        A :class:`DemoCorpus` describing what was written.

    Raises:
        ValueError: an argument outside its range, naming it and the allowed values.
    """
    _check(speakers, sentences, repetitions, emotions, sample_rate)
    started = time.perf_counter()
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    emotions = tuple(emotions)
    result = DemoCorpus(root=root, speakers=speakers, per_emotion={e: 0 for e in emotions})
    samples = 0
    for actor, emotion, intensity, statement, repetition in utterance_plan(
        speakers, sentences, repetitions, emotions
    ):
        signal = synthesize(
            actor, emotion, intensity, statement, repetition, sample_rate=sample_rate, seed=seed
        )
        path = root / file_name(actor, emotion, intensity, statement, repetition)
        audio.write(path, signal, sample_rate)
        result.files.append(path)
        result.per_emotion[emotion] += 1
        samples += len(signal)
    codes = ", ".join(f"{voices.EMOTION_CODES[e]} {e}" for e in emotions)
    (root / "README.txt").write_text(
        README.format(
            codes=codes,
            speakers=speakers,
            sentences=sentences,
            repetitions=repetitions,
            emotions=",".join(emotions),
            sample_rate=sample_rate,
            seed=seed,
            files=len(result.files),
        )
    )
    result.files.sort()
    result.hours = samples / sample_rate / 3600.0
    result.seconds = time.perf_counter() - started
    return result


def _check(
    speakers: int,
    sentences: int,
    repetitions: int,
    emotions: tuple[str, ...] | list[str],
    sample_rate: int,
) -> None:
    if not 1 <= speakers <= 99:
        raise ValueError(f"speakers must be 1-99 (two-digit RAVDESS actor ids), got {speakers}")
    if sentences not in (1, 2):
        raise ValueError(
            f"sentences must be 1 or 2 (RAVDESS names know statements 01 and 02), got {sentences}"
        )
    if not 1 <= repetitions <= 99:
        raise ValueError(f"repetitions must be 1-99, got {repetitions}")
    unknown = [e for e in emotions if e not in voices.PROFILES]
    if unknown or not emotions:
        raise ValueError(
            f"unknown emotion(s) {', '.join(unknown) or '(none given)'}; "
            f"expected some of {', '.join(voices.PROFILES)}"
        )
    if len(set(emotions)) != len(tuple(emotions)):
        raise ValueError(f"emotions must not repeat, got {', '.join(emotions)}")
    if sample_rate < 8000:
        raise ValueError(f"sample_rate must be at least 8000 Hz, got {sample_rate}")
