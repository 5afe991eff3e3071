"""Batch audio tools over a folder tree: resample and normalise (the seed-002 tools).

``resample_tree`` and ``normalize_tree`` walk a source folder recursively, process every audio
file (by extension) and write it under the destination folder with the same relative layout and
file name (the extension follows ``fmt``). A single source file works too. Each output is written
atomically (:func:`serkit.audio.write`), so an interrupted run never leaves a half-written file,
and ``skip_existing`` resumes it. Bad inputs (corrupt, empty, zero-length, non-audio content,
silent files for normalisation) raise :class:`~serkit.errors.AudioError` naming the file, or,
with ``skip_bad``, are listed in :attr:`TreeResult.skipped`.

Channels are kept unless ``mono`` is set; normalisation scales all channels by one gain.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from serkit import audio
from serkit.errors import SKIP_BAD, AudioError, ConfigError

FORMATS: tuple[str, ...] = ("wav", "flac", "same")
_WRITABLE = {".wav", ".flac", ".ogg", ".aiff", ".aif", ".au", ".mp3"}


@dataclass
class TreeResult:
    """What a tree operation did.

    Attributes:
        src: the source file or folder.
        dst: the destination file or folder.
        written: output files written, in source order.
        kept: outputs that already existed and were kept (``skip_existing``).
        skipped: ``"<file>: <reason>"`` for each bad input skipped (``skip_bad``).
        ignored: source files without an audio extension (relative paths), left alone.
        seconds: wall time of the whole operation.
    """

    src: Path
    dst: Path
    written: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def format(self) -> str:
        """One human-readable summary line."""
        parts = [f"wrote {len(self.written)} file(s) to {self.dst}"]
        if self.kept:
            parts.append(f"kept {len(self.kept)} existing")
        if self.skipped:
            parts.append(f"skipped {len(self.skipped)} bad")
        if self.ignored:
            parts.append(f"ignored {len(self.ignored)} non-audio")
        return ", ".join(parts) + f" in {self.seconds:.1f} s"


def output_suffix(src: Path, fmt: str) -> str:
    """The output extension for ``src`` under format ``fmt`` (``wav``, ``flac`` or ``same``)."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown output format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if fmt == "same":
        suffix = src.suffix.lower()
        return suffix if suffix in _WRITABLE else ".wav"
    return f".{fmt}"


def plan(
    src: str | os.PathLike, dst: str | os.PathLike, fmt: str = "same"
) -> tuple[list[tuple[Path, Path]], list[str]]:
    """Pair each source audio file with its output path.

    Args:
        src: an audio file or a folder (walked recursively, hidden entries skipped).
        dst: for a folder source, the output folder; for a file source, an output file when it
            has an audio extension, else a folder that receives the file under its own name.
        fmt: output format, ``wav``, ``flac`` or ``same`` (keep the source's extension).

    Returns:
        ``(pairs, ignored)``: sorted ``(source, output)`` pairs and the relative paths of
        source files without an audio extension.

    Raises:
        AudioError: the source does not exist, or the destination lies inside the source folder.
        ConfigError: the source is a folder and the destination an existing file.
    """
    src, dst = Path(src), Path(dst)
    if not src.exists():
        raise AudioError(f"{src}: no such file or folder")
    if src.is_dir() and dst.exists() and not dst.is_dir():
        raise ConfigError(
            f"{dst}: is a file; the output of the source folder {src} must be a folder"
        )
    if src.is_file():
        if audio.is_audio(dst) and not dst.is_dir():
            out = dst
        else:
            out = dst / (src.stem + output_suffix(src, fmt))
        _check_not_same(src, out)
        return [(src, out)], []
    src_abs, dst_abs = src.resolve(), dst.resolve()
    if dst_abs == src_abs or src_abs in dst_abs.parents:
        raise AudioError(
            f"{dst}: the output folder must not be the source folder {src} or lie inside it; "
            "choose a separate folder"
        )
    pairs: list[tuple[Path, Path]] = []
    ignored: list[str] = []
    for folder, dirs, files in os.walk(src):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = Path(folder, name)
            rel = path.relative_to(src)
            if not audio.is_audio(name):
                ignored.append(rel.as_posix())
                continue
            pairs.append((path, dst / rel.with_suffix(output_suffix(path, fmt))))
    return pairs, ignored


def _check_not_same(src: Path, out: Path) -> None:
    if out.exists() and out.resolve() == src.resolve():
        raise AudioError(f"{out}: output would overwrite its own source; choose another path")


def read_channels(path: Path) -> tuple[np.ndarray, int]:
    """Read every channel of an audio file.

    Returns:
        ``(data, rate)`` with ``data`` float32 of shape ``(samples, channels)``.

    Raises:
        AudioError: naming the file, for missing, empty, zero-length, undecodable or
            non-finite audio.
    """
    import soundfile as sf

    header = audio.info(path)
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile raises LibsndfileError / RuntimeError
        raise AudioError(f"{path}: failed to decode audio ({exc}); re-encode or remove it") from exc
    if data.shape[0] == 0:
        raise AudioError(f"{path}: audio has zero samples; remove it")
    if not np.all(np.isfinite(data)):
        raise AudioError(f"{path}: audio contains NaN or inf samples")
    return data, int(rate or header.sample_rate)


def resample_channels(data: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Resample ``(samples, channels)`` with soxr (HQ); returns float32 of the same layout."""
    import soxr

    if rate_in == rate_out:
        return data.astype(np.float32)
    out = soxr.resample(np.ascontiguousarray(data, dtype=np.float32), rate_in, rate_out, "HQ")
    return np.asarray(out, dtype=np.float32).reshape(-1, data.shape[1])


def _finish(data: np.ndarray, mono: bool) -> np.ndarray:
    data = audio.to_mono(data) if mono else data
    return data[:, 0] if data.ndim == 2 and data.shape[1] == 1 else data


def _run(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    transform: Callable[[np.ndarray, int, Path], tuple[np.ndarray, int]],
    *,
    fmt: str,
    skip_bad: bool,
    skip_existing: bool,
    workers: int,
    progress: bool,
    desc: str,
) -> TreeResult:
    started = time.perf_counter()
    pairs, ignored = plan(src, dst, fmt)
    result = TreeResult(src=Path(src), dst=Path(dst), ignored=ignored)
    todo = []
    for source, out in pairs:
        if skip_existing and out.exists() and out.stat().st_mtime >= source.stat().st_mtime:
            result.kept.append(out)
        else:
            todo.append((source, out))

    def work(pair: tuple[Path, Path]) -> tuple[Path, str | None]:
        source, out = pair
        try:
            data, rate = read_channels(source)
            data, rate = transform(data, rate, source)
            audio.write(out, data, rate)
        except AudioError as exc:
            return out, exc.message
        except Exception as exc:  # an unexpected failure is still reported by file name
            return out, f"{source}: {type(exc).__name__}: {exc}"
        return out, None

    outcomes = _progress(_map(work, todo, workers), len(todo), progress, desc)
    try:
        for out, error in outcomes:
            if error is None:
                result.written.append(out)
            elif skip_bad:
                result.skipped.append(error)
            else:
                raise AudioError(error, hint=SKIP_BAD)
    finally:
        outcomes.close()  # closes the progress bar and waits for running workers
    result.seconds = time.perf_counter() - started
    return result


def _map(work: Callable, items: list, workers: int) -> Iterator:
    if workers <= 1 or len(items) <= 1:
        yield from map(work, items)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(work, items)


def _progress(items: Iterator, total: int, enabled: bool, desc: str) -> Iterator:
    if not enabled:
        yield from items
        return
    from tqdm import tqdm

    # disable=None: no bar when stderr is not a terminal (logs stay clean)
    with tqdm(total=total, desc=desc, unit="file", leave=False, disable=None) as bar:
        for item in items:
            bar.update(1)
            yield item


def resample_tree(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    sample_rate: int,
    *,
    fmt: str = "same",
    mono: bool = False,
    skip_bad: bool = False,
    skip_existing: bool = False,
    workers: int = 1,
    progress: bool = False,
) -> TreeResult:
    """Resample every audio file under ``src`` to ``sample_rate`` into ``dst``.

    Args:
        src: an audio file or a folder (recursive; layout and file names are kept).
        dst: the output folder (or output file for a single source file).
        sample_rate: the target rate in Hz (soxr, high quality).
        fmt: output format: ``wav``, ``flac`` or ``same``.
        mono: mix channels down to one.
        skip_bad: skip unreadable files (listed in ``result.skipped``) instead of raising.
        skip_existing: keep outputs newer than their source (resume an interrupted run).
        workers: threads processing files in parallel.
        progress: show a tqdm progress bar on stderr.

    Returns:
        A :class:`TreeResult`.

    Raises:
        AudioError: naming the first bad file (without ``skip_bad``); files written before it
            are complete.
        ConfigError: a ``sample_rate`` or ``fmt`` out of range.
    """
    if int(sample_rate) <= 0:
        raise ConfigError(f"sample_rate must be a positive number of Hz, got {sample_rate}")

    def transform(data: np.ndarray, rate: int, source: Path) -> tuple[np.ndarray, int]:
        return _finish(resample_channels(data, rate, int(sample_rate)), mono), int(sample_rate)

    return _run(
        src,
        dst,
        transform,
        fmt=fmt,
        skip_bad=skip_bad,
        skip_existing=skip_existing,
        workers=workers,
        progress=progress,
        desc=f"resample {sample_rate} Hz",
    )


def normalize_tree(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    *,
    method: str = "peak",
    level: float | None = None,
    sample_rate: int | None = None,
    fmt: str = "same",
    mono: bool = False,
    skip_bad: bool = False,
    skip_existing: bool = False,
    workers: int = 1,
    progress: bool = False,
) -> TreeResult:
    """Normalise the amplitude of every audio file under ``src`` into ``dst``.

    Args:
        src: an audio file or a folder (recursive; layout and file names are kept).
        dst: the output folder (or output file for a single source file).
        method: ``peak`` (max |x| = level, default 1.0) or ``rms`` (RMS = level, default 0.1,
            then clipped to [-1, 1]).
        level: the target level (linear amplitude); ``None`` uses the method's default.
        sample_rate: optionally resample too (Hz).
        fmt: output format: ``wav``, ``flac`` or ``same``.
        mono: mix channels down to one.
        skip_bad: skip bad files (also silent ones) instead of raising.
        skip_existing: keep outputs newer than their source (resume an interrupted run).
        workers: threads processing files in parallel.
        progress: show a tqdm progress bar on stderr.

    Returns:
        A :class:`TreeResult`.

    Raises:
        AudioError: naming the first bad or silent file (without ``skip_bad``).
        ConfigError: a ``method``, ``level``, ``sample_rate`` or ``fmt`` out of range.
    """
    if method not in ("peak", "rms"):
        raise ConfigError(f"unknown normalisation method {method!r}; expected 'peak' or 'rms'")
    if level is not None and not 0 < level <= 1:
        raise ConfigError(f"level must be in (0, 1], got {level}")
    if sample_rate is not None and int(sample_rate) <= 0:
        raise ConfigError(f"sample_rate must be a positive number of Hz, got {sample_rate}")

    def transform(data: np.ndarray, rate: int, source: Path) -> tuple[np.ndarray, int]:
        if sample_rate is not None and sample_rate != rate:
            data, rate = resample_channels(data, rate, int(sample_rate)), int(sample_rate)
        data = _finish(data, mono)
        if not np.any(data):
            raise AudioError(f"{source}: audio is silent (all samples zero); cannot normalise it")
        return audio.normalize_signal(data, method, level), rate

    return _run(
        src,
        dst,
        transform,
        fmt=fmt,
        skip_bad=skip_bad,
        skip_existing=skip_existing,
        workers=workers,
        progress=progress,
        desc=f"normalize {method}",
    )
