"""Listening to a decomposition: re-synthesised mels and audio of files (``serkit decompose``).

For every input file and condition, the SpeechFlow package's mel with the condition's
components removed (:func:`serkit.features.speechflow.decompose_signal`) is written as
``<stem>/<condition>.npy`` (``(frames, 80)`` float32, the section 0.2 scale), a spectrogram
``.png`` and a Griffin-Lim ``.wav``; ``<stem>/input.*`` is the file's own SpeechFlow mel
rendered the same way (what Griffin-Lim makes of an unchanged mel: the reference to listen
against). The mel is inverted with the ``logmel`` ``speechsplit`` scale of section 0.2
(1024-point STFT, hop 256, 80 Slaney bands 90-7600 Hz, ``(20 log10 M - 16 + 100) / 100``)
through :mod:`serkit.encoders.listen` (mel basis by non-negative least squares, then
``librosa.griffinlim``). ``decompose.json`` lists everything written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from serkit.errors import ConfigError


def inversion_frontend(pkg: Any) -> Any:
    """The ``logmel`` front end of a package's mel, which :mod:`serkit.encoders.listen` inverts
    (:func:`serkit.features.speechflow_input.mel_frontend`)."""
    from serkit.features.speechflow_input import mel_frontend

    return mel_frontend()


@dataclass
class DecomposeResult:
    """What :func:`decompose_files` wrote: ``files`` (npy, PNG, WAV) and ``index``."""

    out_dir: Path
    files: list[Path] = field(default_factory=list)
    index: Path | None = None


def decompose_files(
    encoder: str | os.PathLike,
    audio_files: list[str | os.PathLike],
    out_dir: str | os.PathLike,
    *,
    conditions: tuple[str, ...] | list[str] = ("REC",),
    swap: str = "",
    swap_with: str | os.PathLike | None = None,
    fold: str = "",
    n_iter: int = 64,
    seed: int = 0,
) -> DecomposeResult:
    """Write each file's decomposed mels and their audio.

    Args:
        encoder: a ``speechflow`` package folder or its pretrain run folder.
        audio_files: the inputs.
        out_dir: output folder.
        conditions: removal conditions (several at once).
        swap: component(s) fed from ``swap_with`` (``rhythm``, ``pitch``, ``content``,
            ``timbre``, joined with ``+``).
        swap_with: the audio file they come from.
        fold: which package of a per-fold pretrain run.
        n_iter, seed: Griffin-Lim iterations and phase seed.

    Raises:
        ConfigError: not a speechflow package, an unknown condition or component, ``swap``
            without ``swap_with`` (or the reverse).
        AudioError: an unreadable input (before anything is written).
    """
    from serkit import audio
    from serkit.atomic import atomic_save_npy, atomic_write_json
    from serkit.encoders.listen import features_to_audio, spectrogram_png
    from serkit.features.encoder import cached_package
    from serkit.features.speechflow import (
        RAW,
        check_condition,
        check_family,
        decompose_signal,
        parse_swap,
    )

    pkg = cached_package(str(encoder), fold)
    check_family(pkg, str(encoder))
    conditions = list(dict.fromkeys(conditions))
    if not conditions:
        raise ConfigError("decompose: no condition given (e.g. REC, NR)")
    for condition in conditions:
        check_condition(condition)
    parts = parse_swap(swap)
    if bool(parts) != bool(swap_with):
        raise ConfigError(
            "decompose: swap (the component(s)) and swap_with (the audio they come from) go "
            f"together; found swap={swap!r}, swap_with={swap_with!r}"
        )
    rate = pkg.frontend.sample_rate
    for file in [*audio_files, *([swap_with] if swap_with else [])]:
        audio.info(file)  # an unreadable input stops here, before anything is written
    other = None
    if parts:
        signal, sr = audio.read(swap_with, sample_rate=rate)
        other = {name: (signal, sr) for name in parts}
    inversion = inversion_frontend(pkg)
    out_dir = Path(out_dir)
    result = DecomposeResult(out_dir)
    stems = [Path(f).stem for f in audio_files]
    entries = []
    for i, (file, stem) in enumerate(zip(audio_files, stems, strict=True)):
        name = stem if stems.count(stem) == 1 else f"{stem}_{i}"
        signal, sr = audio.read(file, sample_rate=rate)
        renders = [("input", decompose_signal(pkg, signal, sr, RAW))]
        renders += [(c, decompose_signal(pkg, signal, sr, c, other)) for c in conditions]
        limits = (float(renders[0][1].min()), float(renders[0][1].max()))
        entry: dict[str, Any] = {"input": str(file), "renders": []}
        for kind, mel in renders:
            base = out_dir / name / kind
            npy = atomic_save_npy(base.with_suffix(".npy"), np.asarray(mel, np.float32))
            wave = features_to_audio(np.clip(mel, 0.0, None), inversion, n_iter=n_iter, seed=seed)
            wav = audio.write(base.with_suffix(".wav"), wave, inversion.sample_rate)
            title = f"{stem}: {kind}" + (
                f" (swap {swap} from {Path(swap_with).name})" if parts and kind != "input" else ""
            )
            png = spectrogram_png(mel, inversion, base.with_suffix(".png"), title, limits=limits)
            result.files += [npy, wav, png]
            entry["renders"].append(
                {
                    "kind": kind,
                    "frames": int(mel.shape[0]),
                    "npy": f"{name}/{kind}.npy",
                    "wav": f"{name}/{kind}.wav",
                    "png": f"{name}/{kind}.png",
                }
            )
        entries.append(entry)
    result.index = atomic_write_json(
        out_dir / "decompose.json",
        {
            "encoder": str(encoder),
            "package_key": pkg.key(),
            "conditions": conditions,
            "swap": list(parts),
            "swap_with": None if swap_with is None else str(swap_with),
            "n_iter": n_iter,
            "files": entries,
        },
    )
    return result
