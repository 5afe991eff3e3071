"""Listening to an encoder: reconstructions and latent traversals rendered back to audio.

The path back from features to sound inverts the front end the encoder consumes, exactly as it
was computed (:mod:`serkit.features.spectral`): undo the log (``db``, ``ln``, ``log10``,
``speechsplit`` or ``none``, with the config's floor / offset), take the static channel (deltas
are dropped), map the mel bands back to STFT bins with non-negative least squares on the same
mel basis (:func:`serkit.features.functional.mel_filterbank`: sample rate, ``n_fft``, bands,
``fmin``/``fmax``, scale, norm), turn power into magnitude, and run Griffin-Lim (``librosa``)
with the same ``n_fft``, window, ``win_length``, hop, centring and padding; pre-emphasis is
undone by its inverse filter. A high-pass (``highpass``) cannot be undone (that band is empty);
per-utterance normalisation (``normalize``) and per-speaker z-scores lose the level, so such
front ends are refused.

:func:`listen` writes, per input file, the input's own features rendered back
(``original.wav``: what Griffin-Lim makes of an unchanged spectrogram, the reference to compare
against), the encoder's reconstruction, and optionally a traversal (one latent dimension, or a
direction such as the difference of two emotions' mean latents, moved in steps), each WAV with
its spectrogram PNG beside it and a ``listen.json`` index.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from serkit.errors import ConfigError

if TYPE_CHECKING:
    from serkit.features.frontend import Frontend

INVERTIBLE = ("logmel", "spectrogram")


def _config_of(frontend: Frontend) -> Any:
    """The extractor config of an invertible front end (refuses the others, saying why)."""
    name = frontend.extractor.name
    if name not in INVERTIBLE:
        raise ConfigError(
            f"cannot render {name} features back to audio: only {', '.join(INVERTIBLE)} "
            "front ends are inverted (Griffin-Lim needs a spectrogram)"
        )
    cfg = frontend.extractor.config
    if frontend.normalize != "none" or getattr(cfg, "normalize", "none") != "none":
        what = frontend.normalize if frontend.normalize != "none" else cfg.normalize
        raise ConfigError(
            f"cannot render these {name} features back to audio: the front end normalises them "
            f"({what}), which loses the levels the spectrogram needs; use a front end without "
            "normalisation for listening"
        )
    return cfg


def _unlog(values: np.ndarray, cfg: Any) -> np.ndarray:
    """Inverse of :func:`serkit.features.functional.log_compress` (values >= 0)."""
    x = np.asarray(values, dtype=np.float64)
    if cfg.log == "db":
        out = 10.0 ** (x * cfg.power / 20.0)
    elif cfg.log == "ln":
        out = np.exp(x) - cfg.log_eps
    elif cfg.log == "log10":
        out = 10.0**x - cfg.log_eps
    elif cfg.log == "speechsplit":  # (20 log10 M - 16 + 100) / 100
        out = 10.0 ** ((x * 100.0 - 100.0 + 16.0) / 20.0)
    elif cfg.log == "none":
        out = x
    else:  # pragma: no cover - the extractor config refuses other values
        raise ConfigError(f"unknown log {cfg.log!r}")
    return np.maximum(out, 0.0)


def features_to_spectrogram(features: np.ndarray, frontend: Frontend) -> np.ndarray:
    """The STFT magnitude that front-end features stand for.

    Args:
        features: ``(frames, dim)`` as the front end computes them (deltas allowed: the static
            channel is used).
        frontend: the front end they come from (``logmel`` or ``spectrogram``).

    Returns:
        ``(n_fft // 2 + 1, frames)`` float32 magnitude, librosa's orientation.

    Raises:
        ConfigError: a front end that cannot be inverted, or features of the wrong width.
    """
    from serkit.features import functional as F
    from serkit.features import signal as S

    cfg = _config_of(frontend)
    x = np.asarray(features, dtype=np.float64)
    n_bins = cfg.n_fft // 2 + 1
    if frontend.extractor.name == "logmel":
        width, channels = cfg.n_mels, 1 + cfg.deltas
    else:
        width, channels = (cfg.n_bins or n_bins), 1
    if x.ndim != 2 or x.shape[1] != width * channels:
        raise ConfigError(
            f"features of shape {x.shape} do not match the {frontend.extractor.name} front end "
            f"((frames, {width * channels}))"
        )
    spec = _unlog(x[:, :width], cfg)
    if frontend.extractor.name == "logmel":
        import librosa

        fb = F.mel_filterbank(
            int(cfg.sample_rate),
            int(cfg.n_fft),
            int(cfg.n_mels),
            float(cfg.fmin),
            cfg.fmax or None,
            cfg.mel_scale == "htk",
            None if cfg.mel_norm == "none" else cfg.mel_norm,
        )
        linear = librosa.util.nnls(fb.astype(np.float64), spec.T)  # (bins, frames)
    else:
        linear = np.zeros((n_bins, spec.shape[0]))
        linear[:width] = spec.T
        if cfg.normalized:
            win = S.window(cfg.window, int(cfg.win_length or cfg.n_fft), int(cfg.n_fft))
            linear *= float(win.sum()) ** cfg.power
    magnitude = np.power(np.maximum(linear, 0.0), 1.0 / cfg.power)
    return magnitude.astype(np.float32)


def features_to_audio(
    features: np.ndarray, frontend: Frontend, *, n_iter: int = 64, seed: int = 0
) -> np.ndarray:
    """Render front-end features back to a waveform with Griffin-Lim.

    Args:
        features: ``(frames, dim)`` as the front end computes them.
        frontend: their front end (see :func:`features_to_spectrogram`).
        n_iter: Griffin-Lim iterations.
        seed: seed of its random initial phase (same seed, same audio).

    Returns:
        ``(samples,)`` float32 at the front end's sample rate, peak at most 0.99.
    """
    import librosa

    from serkit.features import signal as S

    cfg = frontend.extractor.config
    magnitude = features_to_spectrogram(features, frontend)
    win = np.asarray(S.window(cfg.window, int(cfg.win_length or cfg.n_fft), int(cfg.n_fft)))
    wave = librosa.griffinlim(
        magnitude,
        n_iter=int(n_iter),
        hop_length=int(cfg.hop_length),
        win_length=int(cfg.n_fft),
        n_fft=int(cfg.n_fft),
        window=win,
        center=bool(cfg.center),
        pad_mode=cfg.pad_mode,
        random_state=int(seed),
    )
    if getattr(cfg, "pre_emphasis", 0.0):
        from scipy.signal import lfilter

        wave = lfilter([1.0], [1.0, -float(cfg.pre_emphasis)], wave)
    peak = float(np.max(np.abs(wave))) if wave.size else 0.0
    if peak > 0.99:
        wave = wave * (0.99 / peak)
    return np.asarray(wave, dtype=np.float32)


def _static_width(frontend: Frontend, features: np.ndarray) -> int:
    """Columns of the static channel (log-mel bands, or spectrogram bins)."""
    cfg = frontend.extractor.config
    if frontend.extractor.name == "logmel":
        return int(cfg.n_mels)
    return int(cfg.n_bins or np.shape(features)[1])


def spectrogram_png(
    features: np.ndarray,
    frontend: Frontend,
    path: str | os.PathLike,
    title: str = "",
    *,
    limits: tuple[float, float] | None = None,
) -> Path:
    """Write the static channel of ``features`` ``(frames, dim)`` as an image (time x band);
    ``limits``: the colour range (e.g. the input's, so that its renders compare by eye)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from serkit.atomic import atomic_path

    cfg = frontend.extractor.config
    width = _static_width(frontend, features)
    static = np.asarray(features)[:, :width]
    seconds = static.shape[0] * cfg.hop_length / cfg.sample_rate
    fig, ax = plt.subplots(figsize=(6.0, 3.0), dpi=100)
    try:
        image = ax.imshow(
            static.T,
            origin="lower",
            aspect="auto",
            extent=(0.0, seconds, 0, width),
            cmap="magma",
            vmin=None if limits is None else limits[0],
            vmax=None if limits is None else limits[1],
        )
        ax.set_xlabel("time (s)")
        ax.set_ylabel("mel band" if frontend.extractor.name == "logmel" else "bin")
        ax.set_title(title, fontsize=9)
        fig.colorbar(image, ax=ax, label=cfg.log)
        fig.tight_layout()
        with atomic_path(path, keep_suffix=True) as tmp:
            fig.savefig(tmp, format="png")
    finally:
        plt.close(fig)
    return Path(path)


# -- through the encoder -------------------------------------------------------------------------


@dataclass
class _Inputs:
    """One signal ready for the net: front-end ``features`` (front-end units), ``normalised``
    (what the net consumes) and the conditioning vector ``cond`` ``(1, cond_dim)`` or ``None``."""

    features: np.ndarray
    normalised: np.ndarray
    cond: Any


def _inputs(package: Any, signal: np.ndarray, sample_rate: int) -> _Inputs:
    import torch

    from serkit.encoders.base import Reconstructs

    if not isinstance(package.net, Reconstructs):
        raise ConfigError(
            f"the encoder family {package.family!r} does not reconstruct its input (it is not "
            "an autoencoder), so there is nothing to listen to; the VAE / conv-AE families do"
        )
    features = np.asarray(package.frontend.compute(signal, sample_rate), dtype=np.float32)
    cond = package.condition_vector(signal, sample_rate)
    cond_t = None if cond is None else torch.as_tensor(np.asarray(cond, np.float32))[None]
    return _Inputs(features, package.normalise(features), cond_t)


def _chunks(frames: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``(chunks, size, dim)`` consecutive edge-padded pieces of ``frames`` and their valid
    lengths."""
    total = frames.shape[0]
    count = max(1, math.ceil(total / size))
    padded = np.pad(frames, ((0, count * size - total), (0, 0)), mode="edge")
    lengths = np.array([min(size, total - i * size) for i in range(count)], dtype=np.int64)
    return padded.reshape(count, size, frames.shape[1]), lengths


def reconstruct(
    package: Any, signal: np.ndarray, sample_rate: int
) -> tuple[np.ndarray, np.ndarray]:
    """The encoder's reconstruction of one signal's features.

    Args:
        package: an encoder package (:func:`serkit.encoders.package.load_encoder`) whose net
            has the :class:`~serkit.encoders.base.Reconstructs` mixin.
        signal: ``(samples,)``.
        sample_rate: its rate.

    Returns:
        ``(features, reconstruction)``, both ``(frames, input_dim)`` in front-end units (the
        package's input normalisation undone).
    """
    import torch

    inputs = _inputs(package, signal, sample_rate)
    x = torch.as_tensor(inputs.normalised)[None]
    with torch.no_grad():
        out = package.net.reconstruct(x, torch.tensor([x.shape[1]]), inputs.cond)
    recon = out[0].detach().cpu().numpy().astype(np.float32)
    return inputs.features, package.denormalise(recon)


def latent(package: Any, signal: np.ndarray, sample_rate: int) -> np.ndarray:
    """The utterance's code in the decoder's space (the default layer of ``embed``): ``(dim,)``."""
    inputs = _inputs(package, signal, sample_rate)
    cond = None if inputs.cond is None else inputs.cond[0].numpy()
    return package.embed_frames(inputs.normalised, cond)


def traverse(
    package: Any,
    signal: np.ndarray,
    sample_rate: int,
    *,
    dim: int | None = None,
    direction: np.ndarray | None = None,
    steps: int = 5,
    span: float = 2.0,
) -> list[tuple[float, np.ndarray]]:
    """Decode one signal's latent codes moved along a dimension or a direction.

    The utterance is cut into consecutive crops of the family's ``segment_frames`` (one crop
    when it has none); each crop's code ``z`` (the default layer of ``embed``, which is the
    decoder's input) becomes ``z + t * v`` for ``t`` in ``linspace(-span, span, steps)``, where
    ``v`` is the unit vector of ``dim`` or the given ``direction`` (not rescaled: with the
    difference of two emotions' mean latents, ``t = 1`` moves by that difference); the decoded
    crops are joined back to the utterance's length.

    Returns:
        ``[(t, features (frames, input_dim)), ...]`` of ``steps`` entries, front-end units.

    Raises:
        ConfigError: neither or both of ``dim`` / ``direction``, a dimension out of range, a
            direction of the wrong size, or a frame-level default layer.
    """
    import torch

    if (dim is None) == (direction is None):
        raise ConfigError("traverse: give exactly one of dim (a latent index) or direction")
    if steps < 1 or span < 0:
        raise ConfigError(f"traverse: steps must be >= 1 and span >= 0, got {steps}, {span}")
    inputs = _inputs(package, signal, sample_rate)
    net, total = package.net, len(inputs.features)
    size = int(getattr(net, "segment_frames", None) or total)
    chunks, lengths = _chunks(inputs.normalised, size)
    cond = None if inputs.cond is None else inputs.cond.expand(len(chunks), -1)
    with torch.no_grad():
        z = net.embed(torch.as_tensor(chunks), torch.as_tensor(lengths), cond)
        if z.ndim != 2:
            raise ConfigError(
                f"the default layer of {package.family!r} is frame-level ({tuple(z.shape)}); a "
                "traversal needs an utterance-level latent code"
            )
        width = z.shape[1]
        if direction is None:
            if not 0 <= int(dim) < width:
                raise ConfigError(f"traverse: dim {dim} is outside the latent's 0..{width - 1}")
            vector = torch.zeros(width)
            vector[int(dim)] = 1.0
        else:
            vector = torch.as_tensor(np.asarray(direction, dtype=np.float32)).reshape(-1)
            if vector.numel() != width:
                raise ConfigError(
                    f"traverse: direction has {vector.numel()} values, the latent {width}"
                )
        out = []
        for t in np.linspace(-span, span, steps) if steps > 1 else [0.0]:
            decoded = net.decode(z + float(t) * vector, cond, frames=size)
            frames = decoded.detach().cpu().numpy().astype(np.float32)
            frames = frames.reshape(-1, frames.shape[-1])[:total]
            out.append((float(t), package.denormalise(frames)))
    return out


def emotion_direction(
    package: Any, signals: dict[str, list[tuple[np.ndarray, int]]], source: str, target: str
) -> np.ndarray:
    """Mean latent of ``target`` minus mean latent of ``source``: ``(latent_dim,)``.

    Args:
        signals: per emotion, ``(signal, rate)`` pairs (e.g. read from manifest rows).
    """
    for name in (source, target):
        if not signals.get(name):
            raise ConfigError(f"emotion direction: no utterance of {name!r} given")
    mean = {
        name: np.mean([latent(package, s, sr) for s, sr in signals[name]], axis=0)
        for name in (source, target)
    }
    return (mean[target] - mean[source]).astype(np.float32)


def manifest_direction(
    package: Any, manifest: Any, source: str, target: str, *, limit: int = 32
) -> np.ndarray:
    """:func:`emotion_direction` from manifest rows (column ``emotion``; the first ``limit``
    rows of each emotion, so a large corpus does not cost the whole pass)."""
    from serkit import audio
    from serkit import manifest as mf

    if "emotion" not in manifest.columns:
        raise ConfigError("emotion direction: the manifest has no emotion column")
    signals: dict[str, list[tuple[np.ndarray, int]]] = {}
    for name in (source, target):
        rows = manifest[manifest["emotion"].astype("string") == name].head(int(limit))
        if rows.empty:
            found = ", ".join(sorted(manifest["emotion"].dropna().astype(str).unique()))
            raise ConfigError(
                f"emotion direction: the manifest has no row of emotion {name!r}; it has "
                f"{found or 'none'}"
            )
        signals[name] = [
            audio.read(path, sample_rate=package.frontend.sample_rate)
            for path in mf.audio_paths(rows)
        ]
    return emotion_direction(package, signals, source, target)


@dataclass
class ListenResult:
    """What :func:`listen` wrote: ``files`` (WAV and PNG paths) and ``index`` (listen.json)."""

    out_dir: Path
    files: list[Path] = field(default_factory=list)
    index: Path | None = None


def listen(
    package: Any,
    audio_files: list[str | os.PathLike],
    out_dir: str | os.PathLike,
    *,
    dim: int | None = None,
    direction: np.ndarray | None = None,
    direction_name: str = "direction",
    steps: int = 5,
    span: float = 2.0,
    n_iter: int = 64,
    seed: int = 0,
) -> ListenResult:
    """Render each file's features, its reconstruction and (optionally) a traversal to WAV.

    Per input ``<stem>`` under ``out_dir/<stem>/``: ``original.wav`` (its own features through
    Griffin-Lim), ``reconstruction.wav``, and with ``dim`` or ``direction``
    ``traverse_<dimN|name>_<t>.wav`` per step; a spectrogram PNG beside every WAV; and
    ``out_dir/listen.json`` listing them.

    Args:
        package: an encoder package with a reconstructing net.
        audio_files: input audio files (read at the front end's rate).
        out_dir: output folder.
        dim, direction, steps, span: the traversal (see :func:`traverse`); none by default.
        direction_name: how a ``direction`` is named in file names (e.g. ``neutral-angry``).
        n_iter, seed: Griffin-Lim iterations and phase seed.
    """
    from serkit import audio
    from serkit.atomic import atomic_write_json

    frontend = package.frontend
    _config_of(frontend)  # refuse before any work
    for file in audio_files:
        audio.info(file)  # an unreadable input stops here, before anything is written
    out_dir = Path(out_dir)
    result = ListenResult(out_dir=out_dir)
    entries = []
    stems = [Path(f).stem for f in audio_files]
    for file, stem in zip(audio_files, stems, strict=True):
        name = stem if stems.count(stem) == 1 else f"{stem}_{len(entries)}"
        signal, sr = audio.read(file, sample_rate=frontend.sample_rate)
        features, recon = reconstruct(package, signal, sr)
        renders = [("original", "input features", features), ("reconstruction", "", recon)]
        if dim is not None or direction is not None:
            label = f"dim{dim}" if direction is None else direction_name
            for t, decoded in traverse(
                package, signal, sr, dim=dim, direction=direction, steps=steps, span=span
            ):
                renders.append((f"traverse_{label}_{t:+.2f}", "", decoded))
        entry: dict[str, Any] = {"input": str(file), "renders": []}
        static = features[:, : _static_width(frontend, features)]
        limits = (float(static.min()), float(static.max()))
        for kind, note, frames in renders:
            wav = out_dir / name / f"{kind}.wav"
            wave = features_to_audio(frames, frontend, n_iter=n_iter, seed=seed)
            audio.write(wav, wave, frontend.sample_rate)
            title = f"{stem}: {kind} {note}".strip()
            png = spectrogram_png(frames, frontend, wav.with_suffix(".png"), title, limits=limits)
            result.files += [wav, png]
            entry["renders"].append({"kind": kind, "wav": str(wav.relative_to(out_dir))})
        entries.append(entry)
    result.index = atomic_write_json(
        out_dir / "listen.json",
        {"family": getattr(package, "family", None), "n_iter": n_iter, "files": entries},
    )
    return result
