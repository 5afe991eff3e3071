"""The seed's log-mel settings (seed 001, §1.2) as params of serkit's ``logmel`` extractor.

Neither includes the seed's preprocessing in front of the mel (resampling to 16 kHz happens in
the extractor; WebRTC-VAD trimming and peak normalisation do not: give the front end a VAD).
"""

from __future__ import annotations

from typing import Any

#: the seed's "transform" log-mel (Tacotron / WaveGlow style, the one its README says inverts
#: best): STFT 1024 / hop 256 / win 1024, 80 mels 0-8000 Hz, natural log of the magnitude
#: (serkit's "ln" adds ``log_eps`` where the seed clamps at 1e-5; the same above 1e-5), at
#: the seed's 16 kHz. Used by ``vae``, ``beta-vae`` and ``conv-ae``.
TRANSFORM_LOGMEL: dict[str, Any] = {
    "sample_rate": 16000,
    "n_mels": 80,
    "n_fft": 1024,
    "win_length": 1024,
    "hop_length": 256,
    "window": "hann",
    "center": True,
    "pad_mode": "reflect",
    "power": 1.0,
    "fmin": 0.0,
    "fmax": 8000.0,
    "mel_scale": "slaney",
    "mel_norm": "slaney",
    "log": "ln",
    "log_eps": 1e-5,
}

#: the seed's "simple_40mels" (librosa power mel, n_fft = win = 400, hop 160, 40 bands, then
#: ``power_to_db``; librosa's default ``top_db=80`` clipping has no serkit equivalent and is
#: not applied), which is Resemblyzer's mel (25 ms / 10 ms, 40 bands) in dB. Used by ``ge2e``.
SIMPLE_40_LOGMEL: dict[str, Any] = {
    "sample_rate": 16000,
    "n_mels": 40,
    "n_fft": 400,
    "win_length": 400,
    "hop_length": 160,
    "window": "hann",
    "center": True,
    "pad_mode": "constant",
    "power": 2.0,
    "fmin": 0.0,
    "fmax": 0.0,
    "mel_scale": "slaney",
    "mel_norm": "slaney",
    "log": "db",
    "log_eps": 1e-10,
}
