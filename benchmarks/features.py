"""Feature extraction speed and memory, measured in one process; prints its figures.

Usage::

    nice -n 10 python benchmarks/features.py --limit 40 --scale-files 200 --out features.md
    python benchmarks/features.py --demo --limit 8 --scale-files 16 --memory-sizes 8 16 --no-cli

Corpus: the shared RAVDESS (``../shared/data/ravdess``, prepared with the ``ravdess`` recipe)
or, when it is absent (or with ``--demo``), the synthetic demo corpus (``serkit demo-corpus``)
in a temporary folder. It prints, as Markdown tables that also go to ``--out`` (the figures
beside it as ``.json``):

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


def corpus(limit: int, workdir: Path, demo: bool = False) -> tuple[pd.DataFrame, str]:
    """A manifest of up to ``limit`` files (spread over speakers) and a description."""
    from serkit.corpora import prepare

    if SHARED.is_dir() and not demo:
        df, name = prepare("ravdess", SHARED), f"RAVDESS ({SHARED})"
    else:
        from serkit.demo import make_corpus

        root = workdir / "demo"
        make_corpus(root, speakers=4, repetitions=max(2, -(-limit // 88)))  # 88 files a repetition
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


def throughput(sigs: list[np.ndarray], audio_seconds: float) -> list[dict]:
    """Seconds of audio per second for every registered extractor (after one warm-up call)."""
    from serkit import features

    rows = []
    for name in features.list_extractors():
        try:
            ex = features.get_extractor(name)
            ex(sigs[0], 16000)  # warm-up: imports, model loading, numba compilation
        except Exception as exc:  # report, do not stop the benchmark
            reason = f"{type(exc).__name__}: {str(exc)[:70]}"
            rows.append({"extractor": name, "level": None, "rate": None, "skipped": reason})
            continue
        started = time.perf_counter()
        for x in sigs:
            ex(x, 16000)
        elapsed = time.perf_counter() - started
        rate = audio_seconds / elapsed
        rows.append({"extractor": name, "level": ex.level, "rate": rate, "skipped": None})
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


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def _parser() -> argparse.ArgumentParser:
    from _report import add_out_option

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=40, help="files for the throughput runs")
    parser.add_argument("--memory-sizes", type=int, nargs=2, default=(50, 200))
    parser.add_argument(
        "--scale-files", type=int, default=200, help="files for sections 3 and 4 (workers, cache)"
    )
    parser.add_argument(
        "--no-cli", dest="cli", action="store_false", help="skip the CLI cold/warm run (4b)"
    )
    parser.add_argument(
        "--demo", action="store_true", help="the synthetic demo corpus even when RAVDESS is there"
    )
    add_out_option(parser, "features.md")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Measure, print each section's table as it is done, write them all to ``--out``."""
    args = _parser().parse_args(argv)
    import torch

    torch.set_num_threads(1)
    import soundfile as sf

    from _report import md_table, write_table
    from serkit import features
    from serkit import manifest as mf

    sections: list[str] = []
    figures: dict = {"load_average_start": list(os.getloadavg()), "cores": os.cpu_count()}

    def emit(text: str) -> None:
        print(text + "\n", flush=True)
        sections.append(text)

    given = " ".join(sys.argv[1:] if argv is None else argv)
    with tempfile.TemporaryDirectory(prefix="serkit-bench-") as tmp:
        work = Path(tmp)
        size = max(args.limit, args.scale_files, *args.memory_sizes)
        full, name = corpus(size, work, demo=args.demo)
        df = subset(full, args.limit)
        sigs = signals(df)
        seconds = sum(len(x) for x in sigs) / 16000
        figures["corpus"] = {"name": name, "files": len(df), "audio_seconds": seconds}
        emit(
            f"`python benchmarks/features.py {given}`: corpus {name}; {len(df)} files, "
            f"{seconds:.1f} s of audio; 1 thread per process, {os.cpu_count()} cores; "
            f"load average at start {_load()}"
        )

        rows = throughput(sigs, seconds)
        figures["throughput"] = rows
        body = [
            [r["extractor"], r["level"], f"{r['rate']:.1f}"]
            if r["skipped"] is None
            else [r["extractor"], "-", f"skipped ({r['skipped']})"]
            for r in rows
        ]
        emit(
            "1. Throughput per extractor (seconds of audio per second, one core)\n\n"
            + md_table(["extractor", "level", "s of audio / s"], body)
        )

        ours, theirs = logmel_vs_librosa(sigs)
        figures["logmel_vs_librosa"] = {"serkit_s": ours, "librosa_s": theirs}
        emit(
            "2. Log-mel (64 mels, n_fft 512, win 400, hop 160) on the same signals\n\n"
            + md_table(
                ["implementation", "seconds", "s of audio / s"],
                [
                    ["serkit", f"{ours:.3f}", f"{seconds / ours:.0f}"],
                    ["librosa", f"{theirs:.3f}", f"{seconds / theirs:.0f}"],
                ],
            )
            + f"\n\nserkit is {theirs / ours:.2f}x as fast as librosa."
        )

        scaled = subset(full, args.scale_files)
        n = len(scaled)
        scaled_seconds = sum(sf.info(str(path)).duration for path in mf.audio_paths(scaled))
        cold, scale_rows, notes = {}, [], []
        for label, extractor_name, params in (
            ("egemaps", "egemaps", {}),
            ("logmel:dcnn", "logmel", {"preset": "dcnn"}),
        ):
            try:
                bench_ex = features.get_extractor(extractor_name, **params)
                timed_extract(subset(full, 2), bench_ex, work / f"warmup-{extractor_name}")
            except Exception as exc:  # an optional package may be missing
                notes.append(f"{label}: skipped ({type(exc).__name__}: {exc})")
                continue
            start_up, _ = timed_extract(
                subset(full, 2), bench_ex, work / f"spawn-{extractor_name}", workers=2
            )
            one, _ = timed_extract(scaled, bench_ex, work / f"{extractor_name}-1", workers=1)
            two, _ = timed_extract(scaled, bench_ex, work / f"{extractor_name}-2", workers=2)
            cold[label] = (bench_ex, one)
            for workers, total in ((1, one), (2, two)):
                scale_rows.append(
                    [label, workers, f"{total:.2f}", f"{n / total:.1f}", f"{1000 * total / n:.1f}"]
                    + [f"{scaled_seconds / total:.0f}"]
                )
            # start-up: a 2-worker run on 2 files minus the in-process cost of computing them
            overhead = max(0.0, start_up - 2 * one / n)
            steady = two - overhead
            without = f"{one / steady:.2f}x" if steady > 0.2 * two else "n/a (start-up dominates)"
            figures.setdefault("workers", {})[label] = {
                "one_s": one,
                "two_s": two,
                "spawn_s": overhead,
            }
            notes.append(
                f"{label}: speed-up {one / two:.2f}x in total; spawning 2 workers "
                f"~{overhead:.2f} s, {without} without it"
            )
        figures["scale"] = {"files": n, "audio_seconds": scaled_seconds}
        emit(
            f"3. `extract` into a fresh store, 1 vs 2 worker processes: {n} files, "
            f"{scaled_seconds:.0f} s of audio (imports and first calls paid before timing; the "
            "2-worker total includes spawning the workers once)\n\n"
            + md_table(
                ["extractor", "workers", "total s", "files/s", "ms/file", "s of audio / s"],
                scale_rows,
            )
            + "".join(f"\n\n{note}" for note in notes)
        )

        warm_rows = []
        for label, (bench_ex, one) in cold.items():
            store = work / f"{bench_ex.name}-1"
            warm, summary = timed_extract(scaled, bench_ex, store)
            assert summary.computed == 0 and summary.cached == len(scaled)
            started = time.perf_counter()
            loaded = features.load(scaled, bench_ex, store)
            load_s = time.perf_counter() - started
            assert len(loaded) == len(scaled)
            times = {"cold_s": one, "warm_s": warm, "load_s": load_s}
            figures.setdefault("cache", {})[label] = times
            warm_rows.append(
                [label, f"{one:.3f}", f"{warm:.3f}", f"{one / warm:.1f}x", f"{load_s:.3f}"]
                + [f"{one / (warm + load_s):.1f}x"]
            )
        cache = f"4. Cold vs warm store ({n} files, 1 worker, in this process)\n\n" + md_table(
            ["extractor", "cold s", "warm s", "cold / warm", "load s", "cold / (warm + load)"],
            warm_rows,
        )
        if args.cli and "egemaps" in cold:
            manifest_path = mf.write(scaled, work / "scaled.parquet")
            cli_cold = cli_extract(manifest_path, "egemaps", work / "cli-store")
            cli_warm = cli_extract(manifest_path, "egemaps", work / "cli-store")
            idle = cli_extract(manifest_path, "egemaps", work / "cli-store", merge_only=True)
            figures["cli"] = {"cold_s": cli_cold, "warm_s": cli_warm, "merge_only_s": idle}
            cache += (
                f"\n\n4b. The same through `serkit features` (egemaps, {n} files, 1 worker), each "
                f"a fresh process with Python start-up and imports: cold {cli_cold:.2f} s, warm "
                f"{cli_warm:.2f} s, ratio {cli_cold / cli_warm:.1f}x (a no-op `--merge` process: "
                f"{idle:.2f} s)"
            )
        emit(cache)

        small, large = args.memory_sizes
        mem_ex = features.get_extractor("logmel")
        peaks = [peak_memory(subset(full, k), mem_ex, work / f"m{k}") for k in (small, large)]
        figures["memory_mib"] = dict(zip((small, large), peaks, strict=True))
        emit(
            "5. Peak traced memory of a cold extract (logmel, chunk 32)\n\n"
            + md_table(
                ["files", "peak MiB"],
                [[k, f"{peak:.1f}"] for k, peak in zip((small, large), peaks, strict=True)],
            )
            + f"\n\nratio {peaks[1] / peaks[0]:.2f} for {large / small:.0f}x the files"
        )
    figures["load_average_end"] = list(os.getloadavg())
    emit(f"Load average at end: {_load()}")
    write_table(args.out, "\n\n".join(sections), figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
