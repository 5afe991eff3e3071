"""A small source-filter speech synthesiser: pure numpy/scipy functions.

The model: a glottal flow pulse train (Rosenberg pulses on a smooth F0 contour, with
cycle-to-cycle jitter and shimmer) plus aspiration noise, differentiated (lip radiation),
shaped by a spectral-tilt low-pass and a cascade of time-varying formant resonators; voiceless
consonants are band-pass noise bursts. Every function is deterministic given its ``rng``.

Signals are float64 arrays of shape ``(samples,)``; contours given per frame have shape
``(frames,)`` or ``(frames, k)`` with one frame every ``hop`` samples.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import signal as sps


def semitones(value: float | np.ndarray) -> float | np.ndarray:
    """Frequency ratio of ``value`` semitones (12 semitones = factor 2)."""
    return 2.0 ** (np.asarray(value, dtype=np.float64) / 12.0)


def rosenberg_flow(phase: np.ndarray, open_quotient: float = 0.6, skew: float = 0.7) -> np.ndarray:
    """Rosenberg glottal flow pulse evaluated at cycle phases.

    Args:
        phase: position inside the glottal cycle in [0, 1), any shape.
        open_quotient: fraction of the cycle the glottis is open (0 < oq < 1); small values
            give a pressed/tense voice, large values a lax/breathy one.
        skew: fraction of the open phase spent opening (the rest is the faster closing).

    Returns:
        Flow in [0, 1], same shape as ``phase``: ``0.5 (1 - cos(pi t / Tp))`` while opening,
        ``cos(pi/2 (t - Tp) / Tn)`` while closing, 0 when closed.
    """
    if not 0.0 < open_quotient < 1.0:
        raise ValueError(f"open_quotient must be in (0, 1), got {open_quotient}")
    phase = np.asarray(phase, dtype=np.float64)
    t_open = open_quotient * skew
    t_close = open_quotient - t_open
    flow = np.zeros_like(phase)
    rising = phase < t_open
    falling = (phase >= t_open) & (phase < open_quotient)
    flow[rising] = 0.5 * (1.0 - np.cos(np.pi * phase[rising] / t_open))
    flow[falling] = np.cos(0.5 * np.pi * (phase[falling] - t_open) / t_close)
    return flow


def glottal_source(
    f0: np.ndarray,
    sample_rate: int,
    *,
    open_quotient: float = 0.6,
    jitter: float = 0.0,
    shimmer: float = 0.0,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Glottal flow derivative driven by a per-sample F0 contour.

    Args:
        f0: ``(samples,)`` fundamental frequency in Hz; 0 marks unvoiced samples.
        sample_rate: Hz.
        open_quotient: see :func:`rosenberg_flow`.
        jitter: relative standard deviation of the period from cycle to cycle (0.01 = 1 %).
        shimmer: relative standard deviation of the amplitude from cycle to cycle.
        rng: random generator for jitter and shimmer (required when either is non-zero).

    Returns:
        ``(samples,)`` flow derivative (lip radiation applied), zero where ``f0`` is 0, scaled
        so that a steady vowel has a peak magnitude near 1.
    """
    f0 = np.asarray(f0, dtype=np.float64)
    voiced = f0 > 0
    safe = np.where(voiced, f0, 0.0)
    phase = np.cumsum(safe) / sample_rate
    if jitter > 0 or shimmer > 0:
        if rng is None:
            raise ValueError("rng is required when jitter or shimmer is non-zero")
        cycles = int(phase[-1]) + 2 if phase.size else 1
        period_noise = 1.0 + jitter * rng.standard_normal(cycles)
        gains = np.clip(1.0 + shimmer * rng.standard_normal(cycles), 0.2, None)
        safe = safe / np.clip(period_noise, 0.5, 1.5)[phase.astype(int)]
        phase = np.cumsum(safe) / sample_rate
        amplitude = gains[np.minimum(phase.astype(int), cycles - 1)]
    else:
        amplitude = np.ones_like(phase)
    flow = rosenberg_flow(np.mod(phase, 1.0), open_quotient) * amplitude * voiced
    derivative = np.diff(flow, prepend=0.0)
    # the derivative's peak scales with f0 / sample_rate; undo that so loudness is set elsewhere
    scale = np.where(voiced, sample_rate / np.maximum(safe, 1.0), 0.0) * open_quotient * 0.3
    return derivative * scale


def spectral_tilt(x: np.ndarray, coefficient: float) -> np.ndarray:
    """One-pole low-pass ``y[n] = (1 - c) x[n] + c y[n-1]``, unity gain at DC.

    Args:
        x: ``(samples,)`` signal.
        coefficient: ``c`` in [0, 1); larger values give a steeper spectral tilt (a softer,
            laxer voice), 0 leaves the signal unchanged.
    """
    if not 0.0 <= coefficient < 1.0:
        raise ValueError(f"tilt coefficient must be in [0, 1), got {coefficient}")
    return sps.lfilter([1.0 - coefficient], [1.0, -coefficient], x)


def resonator(frequency: float, bandwidth: float, sample_rate: int) -> tuple[np.ndarray, ...]:
    """Second-order (Klatt) resonator coefficients with unity gain at DC.

    Args:
        frequency: centre frequency in Hz (below Nyquist).
        bandwidth: -3 dB bandwidth in Hz.
        sample_rate: Hz.

    Returns:
        ``(b, a)``: numerator of shape ``(1,)`` and denominator of shape ``(3,)``.
    """
    radius = np.exp(-np.pi * bandwidth / sample_rate)
    theta = 2.0 * np.pi * frequency / sample_rate
    a = np.array([1.0, -2.0 * radius * np.cos(theta), radius * radius])
    return np.array([a.sum()]), a


def formant_filter(
    x: np.ndarray,
    formants: np.ndarray,
    bandwidths: np.ndarray,
    sample_rate: int,
    hop: int,
) -> np.ndarray:
    """Cascade of time-varying formant resonators, coefficients held constant per frame.

    The resonators of one frame are multiplied into one all-pole filter (unity gain at DC);
    the filter state carries over from frame to frame.

    Args:
        x: ``(samples,)`` excitation.
        formants: ``(frames, k)`` formant frequencies in Hz, one frame per ``hop`` samples
            (``frames >= ceil(samples / hop)``).
        bandwidths: ``(frames, k)`` or ``(k,)`` bandwidths in Hz.
        sample_rate: Hz.
        hop: samples per frame.

    Returns:
        ``(samples,)`` filtered signal.
    """
    formants = np.atleast_2d(np.asarray(formants, dtype=np.float64))
    bandwidths = np.broadcast_to(np.asarray(bandwidths, dtype=np.float64), formants.shape)
    frames = -(-len(x) // hop)
    if formants.shape[0] < frames:
        raise ValueError(f"need {frames} formant frames for {len(x)} samples, got {len(formants)}")
    freq = np.minimum(formants[:frames], 0.95 * sample_rate / 2.0)
    radius = np.exp(-np.pi * bandwidths[:frames] / sample_rate)
    c1 = -2.0 * radius * np.cos(2.0 * np.pi * freq / sample_rate)
    c2 = radius * radius
    # multiply the k second-order polynomials of every frame at once: (frames, 2k + 1)
    denominators = np.ones((frames, 1))
    for j in range(formants.shape[1]):
        grown = np.zeros((frames, denominators.shape[1] + 2))
        grown[:, :-2] += denominators
        grown[:, 1:-1] += denominators * c1[:, j : j + 1]
        grown[:, 2:] += denominators * c2[:, j : j + 1]
        denominators = grown
    gains = denominators.sum(axis=1)
    state = np.zeros(denominators.shape[1] - 1)
    out = np.empty(len(x), dtype=np.float64)
    for frame in range(frames):
        lo, hi = frame * hop, min((frame + 1) * hop, len(x))
        out[lo:hi], state = sps.lfilter([gains[frame]], denominators[frame], x[lo:hi], zi=state)
    return out


def envelope(n: int, attack: int, release: int) -> np.ndarray:
    """Raised-cosine amplitude envelope of ``n`` samples with the given ramp lengths.

    Returns:
        ``(n,)`` in [0, 1]: rises over ``attack`` samples, holds 1, falls over ``release``.
    """
    env = np.ones(n, dtype=np.float64)
    attack, release = min(attack, n), min(release, n)
    if attack > 0:
        env[:attack] = 0.5 * (1.0 - np.cos(np.pi * (np.arange(attack) + 0.5) / attack))
    if release > 0:
        env[n - release :] *= 0.5 * (1.0 + np.cos(np.pi * (np.arange(release) + 0.5) / release))
    return env


def f0_contour(
    n_frames: int,
    accents: list[tuple[int, int, float]],
    *,
    base_hz: float,
    range_st: float,
    declination_st: float,
    final_fall_st: float = 0.0,
    drift_st: float = 0.0,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Smooth F0 contour in Hz: declining baseline plus one hat-shaped accent per syllable.

    Args:
        n_frames: number of frames.
        accents: ``(start_frame, end_frame, strength)`` per syllable; strength in [0, 1]
            scales ``range_st``.
        base_hz: F0 at the start of the baseline.
        range_st: accent height in semitones for strength 1 (the pitch range).
        declination_st: baseline fall over the whole utterance in semitones.
        final_fall_st: extra fall over the last syllable (statement-final lowering).
        drift_st: standard deviation of a slow random wander in semitones.
        rng: random generator for the drift.

    Returns:
        ``(n_frames,)`` F0 in Hz (every frame voiced; unvoiced masking is done by the caller).
    """
    position = np.linspace(0.0, 1.0, n_frames)
    st = -declination_st * position
    for start, end, strength in accents:
        width = max(end - start, 1)
        centre = start + 0.4 * width
        st += (
            range_st
            * strength
            * np.exp(-0.5 * ((np.arange(n_frames) - centre) / (0.45 * width)) ** 2)
        )
    if final_fall_st and accents:
        start = accents[-1][0]
        tail = np.clip((np.arange(n_frames) - start) / max(n_frames - start, 1), 0.0, 1.0)
        st -= final_fall_st * tail
    if drift_st > 0 and rng is not None and n_frames > 1:
        knots = rng.standard_normal(max(n_frames // 40, 2) + 1) * drift_st
        st += np.interp(position, np.linspace(0, 1, len(knots)), knots)
    return base_hz * semitones(st)


def noise_burst(
    n: int,
    band: tuple[float, float],
    sample_rate: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Band-pass Gaussian noise of ``n`` samples (a fricative or a plosive release).

    Args:
        n: length in samples.
        band: ``(low, high)`` pass band in Hz.
        sample_rate: Hz.
        rng: random generator.

    Returns:
        ``(n,)`` noise with unit RMS (before any envelope).
    """
    if n <= 0:
        return np.zeros(0)
    noise = sps.sosfilt(_bandpass(*band, sample_rate), rng.standard_normal(n + 256))[256:]
    rms = float(np.sqrt(np.mean(noise**2))) or 1.0
    return noise / rms


@functools.lru_cache(maxsize=64)
def _bandpass(low: float, high: float, sample_rate: int) -> np.ndarray:
    nyquist = sample_rate / 2.0
    band = [max(low, 50.0) / nyquist, min(high, 0.95 * nyquist) / nyquist]
    return sps.butter(4, band, btype="bandpass", output="sos")


def frames_to_samples(values: np.ndarray, hop: int, n_samples: int) -> np.ndarray:
    """Linear interpolation of a per-frame contour ``(frames,)`` to ``(n_samples,)``."""
    values = np.asarray(values, dtype=np.float64)
    frame_times = np.arange(len(values)) * hop + hop / 2.0
    return np.interp(np.arange(n_samples), frame_times, values)
