"""Long audio and streams: per-segment emotions with timestamps, in memory flat in the length.

:class:`StreamingPredictor` takes audio blocks of any size and returns each
:class:`~serkit.segment_result.Segment` as soon as it is complete; :func:`predict_long` feeds
it a file read block by block (``soundfile``, ``block_s`` seconds at a time), so the two give
the same numbers on the same audio, and a one-hour file never sits in memory whole: the
predictor holds at most one segment (``window_s``, or ``max_s`` of speech) plus one block.

Segmentation (:class:`SegmentConfig`):

* ``method="vad"``: speech ranges from silero-vad run chunk by chunk
  (:mod:`serkit.segment_vad`), padded, longer speech cut at ``max_s``; silence gets no segment.
* ``method="window"``: fixed windows ``[k * hop_s, k * hop_s + window_s)`` until the first one
  that reaches the end of the audio (that one may be shorter; audio shorter than the window is
  one segment). With ``speech_check`` (default) a window in which silero-vad finds speech in
  less than ``min_speech_ratio`` of its chunks is not given to the model: its status says
  ``unanalysable: no speech ...``, never a label from silence.
* ``method="none"``: the whole audio as one segment (held in memory: short clips only).

Every segment then goes through the predictor's own front end (its VAD trimming and
analysable thresholds, see :class:`~serkit.features.frontend.Frontend`); a segment shorter than
``min_s`` or refused by the front end gets an ``unanalysable`` status. A model trained on
per-speaker (or per-corpus) normalised features is refused: one recording gives no speaker
(corpus) statistics that match training. Audio at another rate than the model's is resampled
block by block with soxr's streaming resampler, whose output equals resampling the whole
signal at once.

Example:
    >>> from serkit.pretrained import default_predictor
    >>> config = SegmentConfig("vad")
    >>> result = predict_long(default_predictor(), "talk.wav", config)  # doctest: +SKIP
    >>> print(result.to_srt())  # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from serkit.errors import AudioError, ConfigError
from serkit.segment_result import LongResult, Segment, decide

__all__ = [
    "LongResult",
    "Segment",
    "SegmentConfig",
    "StreamingPredictor",
    "iter_blocks",
    "predict_long",
]
METHODS = ("vad", "window", "none")


@dataclass(frozen=True)
class SegmentConfig:
    """How long audio is cut into segments (see the module docstring).

    Attributes:
        method: ``"vad"``, ``"window"`` or ``"none"``.
        window_s: window length (``window``).
        hop_s: window step; ``0 < hop_s <= window_s`` (``window``).
        min_s: segments shorter than this are not given to the model (capped at
            ``window_s`` for windows, at ``max_s`` for speech segments: see :attr:`shortest`).
        max_s: longest speech segment; longer speech is cut (``vad``).
        threshold: silero-vad speech probability threshold.
        min_speech_ms: shorter speech is dropped (``vad``).
        min_silence_ms: a silence this long ends a speech segment (``vad``).
        pad_ms: padding on both sides of a speech segment (``vad``).
        speech_check: refuse windows without speech (``window``).
        min_speech_ratio: the share of a window's VAD chunks that must be speech.
    """

    method: str = "vad"
    window_s: float = 3.0
    hop_s: float = 1.5
    min_s: float = 0.5
    max_s: float = 10.0
    threshold: float = 0.5
    min_speech_ms: float = 250.0
    min_silence_ms: float = 300.0
    pad_ms: float = 100.0
    speech_check: bool = True
    min_speech_ratio: float = 0.1

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(f"method {self.method!r}: expected one of {', '.join(METHODS)}")
        for name in ("window_s", "hop_s", "max_s"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ConfigError(f"SegmentConfig {name} must be a number > 0; found {value!r}")
        if self.hop_s > self.window_s:
            raise ConfigError(
                f"SegmentConfig hop_s={self.hop_s} is longer than window_s={self.window_s}: the "
                "audio between windows would never be analysed; use hop_s <= window_s"
            )
        if not (isinstance(self.min_s, (int, float)) and self.min_s >= 0):
            raise ConfigError(f"SegmentConfig min_s must be a number >= 0; found {self.min_s!r}")
        if not 0.0 < self.threshold < 1.0 or not 0.0 <= self.min_speech_ratio <= 1.0:
            raise ConfigError(
                f"SegmentConfig threshold must be in (0, 1) and min_speech_ratio in [0, 1]; "
                f"found {self.threshold}, {self.min_speech_ratio}"
            )
        if min(self.min_speech_ms, self.min_silence_ms, self.pad_ms) < 0:
            raise ConfigError("SegmentConfig min_speech_ms, min_silence_ms, pad_ms must be >= 0")

    @property
    def shortest(self) -> float:
        """The shortest segment given to the model, in seconds: ``min_s``, capped at the
        longest segment the method makes (so short windows are still analysed)."""
        return min(self.min_s, self.window_s if self.method == "window" else self.max_s)

    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-ready mapping."""
        return asdict(self)


class StreamingPredictor:
    """Feed audio blocks, get segments as soon as they are complete.

    Args:
        predictor: a :class:`~serkit.inference.Predictor`.
        config: the segmentation.
        sample_rate: the rate of the blocks fed (resampled to the model's rate if it differs).

    Raises:
        ConfigError: the model normalises per speaker or per corpus, or silero-vad cannot
            run at its rate.
    """

    def __init__(self, predictor: Any, config: SegmentConfig, sample_rate: int = 16000) -> None:
        from serkit.segment_vad import SileroStream, SpeechTracker

        group = predictor.frontend.group_column
        if group is not None:
            raise ConfigError(
                f"this model was trained on per-{group} z-scored features "
                f"(features.normalize: {predictor.frontend.normalize}); the segments of one "
                "recording cannot be normalised like its training data. Use a model trained "
                "with normalize: none (such as the default model) for long audio and streams"
            )
        if int(sample_rate) <= 0:
            raise ConfigError(f"sample_rate must be > 0; found {sample_rate}")
        self.predictor, self.config = predictor, config
        self.rate = predictor.frontend.sample_rate
        self.input_rate = int(sample_rate)
        self._resampler = None
        if self.input_rate != self.rate:
            import soxr

            self._resampler = soxr.ResampleStream(
                self.input_rate, self.rate, 1, dtype="float32", quality="HQ"
            )
        uses_vad = config.method == "vad" or (config.method == "window" and config.speech_check)
        self._vad = SileroStream(self.rate) if uses_vad else None
        chunk = self._vad.chunk if self._vad else 1
        ms = self.rate / 1000.0
        self._tracker = (
            SpeechTracker(
                chunk=chunk,
                threshold=config.threshold,
                min_speech=int(round(config.min_speech_ms * ms)),
                min_silence=int(round(config.min_silence_ms * ms)),
                pad=int(round(config.pad_ms * ms)),
                max_len=max(chunk, int(round(config.max_s * self.rate))),
            )
            if config.method == "vad"
            else None
        )
        self._window = int(round(config.window_s * self.rate))
        self._hop = max(1, int(round(config.hop_s * self.rate)))
        self._next = 0  # next window index
        self._last_end = 0  # end of the last window emitted
        self._done = False  # finish() was called
        self._buf = np.zeros(0, dtype=np.float32)
        self._buf_start = 0  # absolute index of _buf[0]
        self._probs = np.zeros(0, dtype=np.float32)  # speech probability per VAD chunk
        self._probs_start = 0  # chunk index of _probs[0]
        self.segments: list[Segment] = []
        self.peak_buffered = 0  # most samples held at once (memory check)
        self._checked = False

    @property
    def received(self) -> int:
        """Samples seen so far at the model's rate."""
        return self._buf_start + len(self._buf)

    def feed(self, block: np.ndarray) -> list[Segment]:
        """Add a block ``(samples,)`` (or ``(samples, channels)``, mixed to mono).

        Returns:
            The segments completed by this block, in time order.

        Raises:
            AudioError: the block holds NaN or inf samples.
            ConfigError: after :meth:`finish`.
        """
        if self._done:
            raise ConfigError("this stream is finished; start a new StreamingPredictor")
        return self._add(block, last=False)

    def finish(self) -> LongResult:
        """End the stream: the remaining segments and the whole-file decision.

        Raises:
            AudioError: the stream held no audio at all.
        """
        if self._done:
            raise ConfigError("finish() was called already on this stream")
        self._add(np.zeros(0, dtype=np.float32), last=True)
        self._done = True
        if self.received == 0:
            raise AudioError("no audio: the stream ended before any sample arrived")
        classes = self.predictor.classes
        return LongResult(
            segments=list(self.segments),
            decision=decide(self.segments, classes),
            duration=self.received / self.rate,
            classes=classes,
            config=self.config.to_dict(),
            peak_samples=self.peak_buffered,
        )

    # -- internals ---------------------------------------------------------------------------
    def _add(self, block: np.ndarray, *, last: bool) -> list[Segment]:
        from serkit.audio import to_mono

        data = to_mono(np.asarray(block, dtype=np.float32))
        if data.size and not np.all(np.isfinite(data)):
            raise AudioError("audio block contains NaN or inf samples")
        if self._resampler is not None:
            data = np.asarray(self._resampler.resample_chunk(data, last=last), dtype=np.float32)
        self._buf = np.concatenate([self._buf, data]) if len(self._buf) else data.copy()
        self.peak_buffered = max(self.peak_buffered, len(self._buf))
        if self._vad is not None:
            new = self._vad.feed(data)
            if last:
                new = np.concatenate([new, self._vad.finish()])
            self._probs = np.concatenate([self._probs, new])
        ranges = self._ranges(last)
        out = [self._analyse(a, b, status) for a, b, status in ranges]
        self.segments.extend(out)
        self._trim()
        return out

    def _ranges(self, last: bool) -> list[tuple[int, int, str | None]]:
        """Sample ranges that are complete now, with a status when they must not be analysed."""
        method = self.config.method
        if method == "none":
            return [(0, self.received, None)] if last and self.received else []
        if method == "vad":
            tracker = self._tracker
            fresh = self._probs[tracker.index - self._probs_start :]
            ranges = tracker.push(fresh)
            if last:
                ranges += tracker.finish(self.received)
            return [(a, b, None) for a, b in ranges]
        out: list[tuple[int, int, str | None]] = []
        vad = self._vad
        while True:  # the full windows whose audio (and VAD chunks) have arrived
            start = self._next * self._hop
            end = start + self._window
            if end > self.received or (vad is not None and vad.done * vad.chunk < end):
                break
            out.append((start, end, self._speech_status(start, end)))
            self._next, self._last_end = self._next + 1, end
        while last:  # then windows cut at the end, until one reaches it
            start, n = self._next * self._hop, self.received
            if (self._next and self._last_end >= n) or start >= n:
                break
            end = min(start + self._window, n)
            out.append((start, end, self._speech_status(start, end)))
            self._next, self._last_end = self._next + 1, end
        return out

    def _speech_status(self, start: int, end: int) -> str | None:
        """``None``, or why the window ``[start, end)`` has too little speech."""
        if self._vad is None:
            return None
        chunk = self._vad.chunk
        first, stop = -(-start // chunk), -(-end // chunk)  # chunks starting in [start, end)
        probs = self._probs[first - self._probs_start : stop - self._probs_start]
        share = float(np.mean(probs >= self.config.threshold)) if len(probs) else 0.0
        if share >= self.config.min_speech_ratio and share > 0:
            return None
        return (
            f"unanalysable: no speech (silero-vad finds speech in {100 * share:.0f} % of the "
            f"window, < min_speech_ratio {self.config.min_speech_ratio:g})"
        )

    def _analyse(self, start: int, end: int, status: str | None) -> Segment:
        from serkit.features.analysable import UnanalysableError
        from serkit.features.base import FeatureError

        classes = self.predictor.classes
        times = (start / self.rate, end / self.rate)
        nan = {c: math.nan for c in classes}
        if status is None and end - start < round(self.config.shortest * self.rate):
            status = (
                f"unanalysable: segment {(end - start) / self.rate:.3f} s < min_s "
                f"{self.config.shortest:g} s"
            )
        if status is not None:
            return Segment(*times, None, nan, status)
        signal = self._buf[start - self._buf_start : end - self._buf_start]
        try:
            views = self.predictor.signal_views(signal, self.rate)
        except UnanalysableError as exc:
            return Segment(*times, None, nan, exc.reason)
        except FeatureError as exc:
            return Segment(*times, None, nan, f"unanalysable: {exc.message}")
        if not self._checked:
            self.predictor.check_input(views[0], f"segment {times[0]:.3f}-{times[1]:.3f} s")
            self._checked = True
        p = self.predictor.predict_views([views])[0]
        probs = {c: float(v) for c, v in zip(classes, p, strict=True)}
        return Segment(*times, classes[int(np.argmax(p))], probs, "ok")

    def _trim(self) -> None:
        """Drop the samples (and VAD chunks) no later segment can need."""
        method = self.config.method
        if method == "none":
            return
        if method == "vad":
            keep = self._tracker.keep_from
        else:
            keep = self._next * self._hop
        keep = min(max(keep, self._buf_start), self.received)
        self._buf = self._buf[keep - self._buf_start :]
        self._buf_start = keep
        if self._vad is not None:
            first = self._tracker.index if method == "vad" else keep // self._vad.chunk
            drop = max(0, first - self._probs_start)
            self._probs = self._probs[drop:]
            self._probs_start += drop


def iter_blocks(path: str | os.PathLike, block_frames: int) -> Iterator[tuple[np.ndarray, int]]:
    """Read ``path`` as mono float32 blocks of at most ``block_frames`` samples.

    Yields:
        ``(block (samples,), file sample rate)``.

    Raises:
        AudioError: the file is missing, empty, not audio, or fails to decode (naming it).
    """
    import soundfile as sf

    from serkit.audio import info, to_mono

    if block_frames <= 0:
        raise ConfigError(f"block size must be > 0 samples; found {block_frames}")
    header = info(path)  # missing, empty, unreadable, zero samples: clear AudioErrors
    try:
        with sf.SoundFile(str(path)) as handle:
            while True:
                data = handle.read(frames=block_frames, dtype="float32", always_2d=True)
                if not len(data):
                    return
                block = to_mono(data)
                if not np.all(np.isfinite(block)):
                    raise AudioError(f"{path}: audio contains NaN or inf samples")
                yield block, header.sample_rate
    except AudioError:
        raise
    except Exception as exc:  # soundfile's decoding errors mid-file
        raise AudioError(f"{path}: failed to decode audio ({exc}); re-encode or remove it") from exc


def predict_long(
    predictor: Any,
    source: str | os.PathLike | np.ndarray,
    config: SegmentConfig | None = None,
    *,
    sample_rate: int | None = None,
    block_s: float = 60.0,
) -> LongResult:
    """Segment ``source`` and predict every segment (see the module docstring).

    Args:
        predictor: a :class:`~serkit.inference.Predictor`.
        source: an audio file, or a ``(samples,)`` signal (then give ``sample_rate``).
        config: the segmentation (default: ``SegmentConfig()``, voice activity).
        sample_rate: the signal's rate (a file's own rate is used for a file).
        block_s: seconds read (or fed) per block.

    Raises:
        AudioError: unreadable, empty or corrupt audio (naming the file).
        ConfigError: bad settings, or a model that normalises per speaker or per corpus.
    """
    config = config or SegmentConfig()
    if not (isinstance(block_s, (int, float)) and block_s > 0):
        raise ConfigError(f"block_s must be > 0 seconds; found {block_s!r}")
    if isinstance(source, np.ndarray):
        if sample_rate is None:
            raise ConfigError("predict_long: a signal needs its sample_rate=")
        step = max(1, int(round(block_s * sample_rate)))
        stream = StreamingPredictor(predictor, config, sample_rate)
        for i in range(0, len(source), step):
            stream.feed(source[i : i + step])
        result = stream.finish()
        return result
    path = Path(source)
    from serkit.audio import info

    rate = info(path).sample_rate
    stream = StreamingPredictor(predictor, config, rate)
    for block, _ in iter_blocks(path, max(1, int(round(block_s * rate)))):
        stream.feed(block)
    result = stream.finish()
    result.source = str(path)
    return result
