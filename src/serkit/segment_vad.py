"""Streaming voice activity: silero-vad chunk by chunk, and speech ranges as they close.

:class:`SileroStream` runs its own silero-vad model (one per stream: the model is recurrent,
so two streams must not share one) over consecutive chunks of 512 samples at 16 kHz (256 at
8 kHz), keeping the remainder of each block for the next; the last partial chunk is
zero-padded, as ``silero_vad.get_speech_timestamps`` does. The chunk probabilities depend only
on the audio, never on how it was cut into blocks.

:class:`SpeechTracker` turns those probabilities into speech ranges with silero's hysteresis
rule: speech starts at a chunk whose probability reaches ``threshold`` and ends where it stays
below ``threshold - 0.15`` for ``min_silence`` samples; ranges shorter than ``min_speech`` are
dropped, ranges longer than ``max_len`` are cut there, and each range is padded by ``pad``
samples on both sides (never overlapping the previous range, never past the audio seen).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from serkit.errors import ConfigError

#: samples per silero chunk at each supported rate
CHUNK = {16000: 512, 8000: 256}
#: silero's hysteresis: speech ends below ``threshold - NEG_OFFSET``
NEG_OFFSET = 0.15


def check_rate(sample_rate: int, *, what: str) -> int:
    """The silero chunk size at ``sample_rate``.

    Raises:
        ConfigError: silero-vad runs at 8 or 16 kHz only.
    """
    if sample_rate not in CHUNK:
        raise ConfigError(
            f"{what} runs silero-vad on the model's audio, which must be 8000 or 16000 Hz; this "
            f"model reads {sample_rate} Hz. Use fixed windows without the speech check "
            "(method='window', speech_check=False)"
        )
    return CHUNK[sample_rate]


class SileroStream:
    """silero-vad speech probabilities of consecutive chunks of a stream.

    Args:
        sample_rate: 8000 or 16000.
    """

    def __init__(self, sample_rate: int) -> None:
        from silero_vad import load_silero_vad

        self.chunk = check_rate(sample_rate, what="voice activity detection")
        self.sample_rate = sample_rate
        self._model = load_silero_vad(onnx=False)  # own recurrent state
        self._model.reset_states()
        self._pending = np.zeros(0, dtype=np.float32)
        self.done = 0  # chunks processed

    def feed(self, samples: np.ndarray) -> np.ndarray:
        """Probabilities ``(chunks,)`` of the chunks completed by ``samples`` ``(n,)``."""
        data = np.concatenate([self._pending, np.asarray(samples, dtype=np.float32)])
        whole = len(data) // self.chunk * self.chunk
        self._pending = data[whole:]
        return self._run(data[:whole])

    def finish(self) -> np.ndarray:
        """The probability of the last, zero-padded partial chunk (empty if none is left)."""
        if not len(self._pending):
            return np.zeros(0, dtype=np.float32)
        last = np.zeros(self.chunk, dtype=np.float32)
        last[: len(self._pending)] = self._pending
        self._pending = np.zeros(0, dtype=np.float32)
        return self._run(last)

    def _run(self, data: np.ndarray) -> np.ndarray:
        import torch

        probs = np.zeros(len(data) // self.chunk, dtype=np.float32)
        with torch.no_grad():
            for i in range(len(probs)):
                chunk = torch.from_numpy(data[i * self.chunk : (i + 1) * self.chunk].copy())
                probs[i] = float(self._model(chunk, self.sample_rate).item())
        self.done += len(probs)
        return probs


@dataclass
class SpeechTracker:
    """Speech ranges (sample indices) from chunk probabilities, emitted as they close.

    Attributes:
        chunk: samples per chunk.
        threshold: speech probability threshold (0-1).
        min_speech: shortest range kept, in samples.
        min_silence: silence that ends a range, in samples.
        pad: padding on both sides, in samples.
        max_len: longest range; longer speech is cut into pieces of this length.
    """

    chunk: int
    threshold: float
    min_speech: int
    min_silence: int
    pad: int
    max_len: int
    index: int = 0  # chunks seen
    start: int | None = None  # start of the open range (None: no speech now)
    silence_from: int | None = None  # where the current silence inside a range began
    last_end: int = 0  # padded end of the last emitted range
    _cut: bool = field(default=False, repr=False)

    @property
    def keep_from(self) -> int:
        """The earliest sample a later range can still start at (with its padding)."""
        first = self.start if self.start is not None else self.index * self.chunk
        return max(0, self.last_end, first - (0 if self._cut else self.pad))

    def push(self, probs: np.ndarray) -> list[tuple[int, int]]:
        """Ranges ``(start, end)`` closed by the next chunks' probabilities ``(chunks,)``."""
        out: list[tuple[int, int]] = []
        low = self.threshold - NEG_OFFSET
        for p in probs:
            pos, end = self.index * self.chunk, (self.index + 1) * self.chunk
            self.index += 1
            if p >= self.threshold:
                self.silence_from = None
                if self.start is None:
                    self.start, self._cut = pos, False
            elif p < low and self.start is not None:
                if self.silence_from is None:
                    self.silence_from = pos
                if end - self.silence_from >= self.min_silence:
                    self._close(self.silence_from, end, out)
                    continue
            if self.start is not None and end - self.start >= self.max_len:
                self._close(end, end, out, cut=True)
                self.start, self._cut = end, True
        return out

    def finish(self, n_samples: int) -> list[tuple[int, int]]:
        """The range still open at the end of ``n_samples`` samples (if any)."""
        out: list[tuple[int, int]] = []
        if self.start is not None:
            end = self.silence_from if self.silence_from is not None else n_samples
            self._close(min(end, n_samples), n_samples, out)
        return out

    def _close(self, end: int, seen: int, out: list, *, cut: bool = False) -> None:
        start = self.start
        self.start, self.silence_from = None, None
        if start is None or end - start < self.min_speech:
            self._cut = False
            return
        first = start if self._cut else max(0, start - self.pad)
        first = max(first, self.last_end)
        last = end if cut else min(end + self.pad, seen)
        self._cut = False
        if last > first:
            out.append((first, last))
            self.last_end = last
