"""Feature extraction speed and memory, measured in one process; prints its figures.

Usage::

    nice -n 10 python benchmarks/features.py --limit 40 --scale-files 200

Corpus: the shared RAVDESS (``../shared/data/ravdess``, prepared with the ``ravdess`` recipe)
or, when it is absent, the synthetic demo corpus (``serkit demo-corpus``) in a temporary folder.
It prints:

1. throughput (seconds of audio per second, one thread) of every registered extractor on
   ``--limit`` files (extractors that need a resource such as a model folder are listed as
   skipped);
2. our log-mel (``serkit.features.functional.mel_spectrogram``) against
   ``librosa.feature.melspectrogram`` with the same settings, on the same signals (ratio);
3. ``extract`` with 1 vs 2 worker processes on ``--scale-files`` files (egemaps, a costly
   extractor, and log-mel, a cheap one; fresh stores; imports paid before timing), as totals
   and per-file rates, with the one-off cost of spawning the workers measured separately;
4. a cold vs a warm store (second run = cache hits only) for the same two extractors on
   ``--scale-files`` files, in this process and (4b, egemaps) through ``serkit features``
   processes, where Python start-up and imports are part of both runs;
5. the peak traced memory of ``extract`` for two corpus sizes (frame-level log-mel), which
   should not grow with the corpus because rows are committed in chunks.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "ravdess"


def corpus(limit: int, workdir: Path) -> tuple[pd.DataFrame, str]:
    """A manifest of ``limit`` files (spread over speakers) and a description."""
    from serkit.corpora import prepare

    if SHARED.is_dir():
        df, name = prepare("ravdess", SHARED), f"RAVDESS ({SHARED})"
    else:
        from serkit.demo import make_corpus

        root = workdir / "demo"
        make_corpus(root, speakers=4)
        df, name = prepare("ravdess", root), "demo corpus (synthetic)"
    attrs = dict(df.attrs)
    out = df.sample(frac=1.0, random_state=0).reset_index(drop=True)
    out.attrs = attrs
    return out, name


def subset(df: pd.DataFrame, n: int) -> pd.DataFrame:
    out = df.iloc[:n].reset_index(drop=True)
    out.attrs = dict(df.attrs)
    return out


def signals(df: pd.DataFrame) -> list[np.ndarray]:
    from serkit import audio
    from serkit import manifest as mf

    return [audio.read(path, sample_rate=16000)[0] for path in mf.audio_paths(df)]


def throughput(sigs: list[np.ndarray], audio_seconds: float) -> list[tuple[str, str]]:
    """Seconds of audio per second for every registered extractor (after one warm-up call)."""
    from serkit import features

    rows = []
    for name in features.list_extractors():
        try:
            ex = features.get_extractor(name)
            ex(sigs[0], 16000)  # warm-up: imports, model loading, numba compilation
        except Exception as exc:  # report, do not stop the benchmark
            rows.append((name, f"skipped ({type(exc).__name__}: {str(exc)[:70]})"))
            continue
        started = time.perf_counter()
        for x in sigs:
            ex(x, 16000)
        elapsed = time.perf_counter() - started
        rows.append((name, f"{audio_seconds / elapsed:9.1f} s/s  ({ex.level})"))
    return rows


def logmel_vs_librosa(sigs: list[np.ndarray], repeat: int = 3) -> tuple[float, float]:
    """Seconds for all signals: ours vs librosa, 64 mels, n_fft 512, win 400, hop 160."""
    import librosa

    from serkit.features import functional as F

    kwargs = dict(n_fft=512, hop_length=160, win_length=400, n_mels=64)
    for x in sigs[:2]:  # warm-up and equality check
        ours = F.mel_spectrogram(x, 16000, **kwargs)
        theirs = librosa.feature.melspectrogram(y=x, sr=16000, **kwargs).T
        assert np.allclose(ours, theirs, rtol=1e-3, atol=1e-6 * theirs.max())
    timings = []
    for fn in (
        lambda x: F.mel_spectrogram(x, 16000, **kwargs),
        lambda x: librosa.feature.melspectrogram(y=x, sr=16000, **kwargs),
    ):
        best = float("inf")
        for _ in range(repeat):
            started = time.perf_counter()
            for x in sigs:
                fn(x)
            best = min(best, time.perf_counter() - started)
        timings.append(best)
    return timings[0], timings[1]


def timed_extract(df, ex, store, **kwargs) -> tuple[float, object]:
    from serkit import features

    started = time.perf_counter()
    summary = features.extract(df, ex, store, progress=False, **kwargs)
    return time.perf_counter() - started, summary


def cli_extract(manifest_path: Path, extractor: str, store: Path, merge_only: bool = False):
    """Wall seconds of one ``serkit features`` process (1 thread per library)."""
    main = "from serkit.cli import main; main()"
    cmd = [sys.executable, "-c", main, "features", str(manifest_path), "-e", extractor]
    cmd += ["--store", str(store), "--no-progress"] + (["--merge"] if merge_only else [])
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    started = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, capture_output=True)
    return time.perf_counter() - started


def peak_memory(df, ex, store) -> float:
    """Peak traced memory (MiB) of one cold extract."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    timed_extract(df, ex, store, chunk_size=32)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=40, help="files for the throughput runs")
    parser.add_argument("--memory-sizes", type=int, nargs=2, default=(50, 200))
    parser.add_argument(
        "--scale-files", type=int, default=200, help="files for sections 3 and 4 (workers, cache)"
    )
    parser.add_argument(
        "--no-cli", dest="cli", action="store_false", help="skip the CLI cold/warm run (4b)"
    )
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    import soundfile as sf

    from serkit import features
    from serkit import manifest as mf

    print(f"load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="serkit-bench-") as tmp:
        work = Path(tmp)
        full, name = corpus(max(args.limit, args.scale_files, *args.memory_sizes), work)
        df = subset(full, args.limit)
        sigs = signals(df)
        seconds = sum(len(x) for x in sigs) / 16000
        print(f"corpus: {name}; {len(df)} files, {seconds:.1f} s of audio; 1 thread per process")

        print("\n1. throughput per extractor (seconds of audio per second, one core)")
        for extractor, text in throughput(sigs, seconds):
            print(f"   {extractor:16s} {text}")

        ours, theirs = logmel_vs_librosa(sigs)
        print("\n2. log-mel (64 mels, n_fft 512, win 400, hop 160) on the same signals")
        print(f"   serkit   {ours:.3f} s  ({seconds / ours:.0f} s/s)")
        print(f"   librosa  {theirs:.3f} s  ({seconds / theirs:.0f} s/s)")
        print(f"   ratio    {theirs / ours:.2f}x faster")

        scaled = subset(full, args.scale_files)
        scaled_seconds = sum(sf.info(str(path)).duration for path in mf.audio_paths(scaled))
        print(
            f"\n3. extract into a fresh store, 1 vs 2 worker processes: {len(scaled)} files, "
            f"{scaled_seconds:.0f} s of audio"
        )
        print("   (imports and first calls are paid before timing in this process; the 2-worker")
        print(f"   total includes spawning the workers once; {os.cpu_count()} cores)")
        cold = {}
        for label, extractor_name, params in (
            ("egemaps", "egemaps", {}),
            ("logmel:dcnn", "logmel", {"preset": "dcnn"}),
        ):
            try:
                bench_ex = features.get_extractor(extractor_name, **params)
                timed_extract(subset(full, 2), bench_ex, work / f"warmup-{extractor_name}")
            except Exception as exc:  # an optional package may be missing
                print(f"   {label}: skipped ({type(exc).__name__}: {exc})")
                continue
            start_up, _ = timed_extract(
                subset(full, 2), bench_ex, work / f"spawn-{extractor_name}", workers=2
            )
            one, _ = timed_extract(scaled, bench_ex, work / f"{extractor_name}-1", workers=1)
            two, _ = timed_extract(scaled, bench_ex, work / f"{extractor_name}-2", workers=2)
            cold[label] = (bench_ex, one)
            n = len(scaled)
            print(f"   {label}")
            for workers, total in ((1, one), (2, two)):
                print(
                    f"     {workers} worker{'s' if workers > 1 else ' '} {total:7.2f} s total  "
                    f"{n / total:7.1f} files/s  {1000 * total / n:6.1f} ms/file  "
                    f"{scaled_seconds / total:6.0f} s audio/s"
                )
            # start-up: a 2-worker run on 2 files minus the in-process cost of computing them
            overhead = max(0.0, start_up - 2 * one / n)
            steady = two - overhead
            without = f"{one / steady:.2f}x" if steady > 0.2 * two else "n/a (start-up dominates)"
            print(
                f"     speed-up {one / two:.2f}x total; spawning 2 workers ~{overhead:.2f} s, "
                f"{without} without it"
            )

        print(f"\n4. cold vs warm store ({len(scaled)} files, 1 worker, in this process)")
        for label, (bench_ex, one) in cold.items():
            store = work / f"{bench_ex.name}-1"
            warm, summary = timed_extract(scaled, bench_ex, store)
            assert summary.computed == 0 and summary.cached == len(scaled)
            started = time.perf_counter()
            loaded = features.load(scaled, bench_ex, store)
            load_s = time.perf_counter() - started
            assert len(loaded) == len(scaled)
            print(
                f"   {label:12s} cold {one:7.3f} s  warm {warm:6.3f} s  ratio {one / warm:6.1f}x"
                f"   (load {load_s:.3f} s; cold / (warm + load) {one / (warm + load_s):.1f}x)"
            )
        if args.cli and "egemaps" in cold:
            print(
                f"\n4b. the same through the CLI (`serkit features`, egemaps, {len(scaled)} "
                "files, 1 worker;"
            )
            print("    each a fresh process: Python start-up and imports included)")
            manifest_path = mf.write(scaled, work / "scaled.parquet")
            cli_cold = cli_extract(manifest_path, "egemaps", work / "cli-store")
            cli_warm = cli_extract(manifest_path, "egemaps", work / "cli-store")
            idle = cli_extract(manifest_path, "egemaps", work / "cli-store", merge_only=True)
            print(
                f"    cold {cli_cold:.2f} s  warm {cli_warm:.2f} s  "
                f"ratio {cli_cold / cli_warm:.1f}x   (a no-op `--merge` process: {idle:.2f} s)"
            )

        small, large = args.memory_sizes
        mem_ex = features.get_extractor("logmel")
        peaks = [peak_memory(subset(full, n), mem_ex, work / f"m{n}") for n in (small, large)]
        print("\n5. peak traced memory of a cold extract (logmel, chunk 32)")
        for n, peak in zip((small, large), peaks, strict=True):
            print(f"   {n:5d} files  {peak:7.1f} MiB")
        print(f"   ratio {peaks[1] / peaks[0]:.2f} for {large / small:.0f}x the files")
    print(f"\nload average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
