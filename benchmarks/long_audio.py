"""Long audio: memory stays flat in the file length, and how fast segmentation runs.

Writes synthetic recordings of the given lengths (demo-corpus utterances separated by 1-3 s of
silence, written block by block), then runs :func:`serkit.segmentation.predict_long` with the
default model on each, in a fresh process per file so that the peak resident memory (``ru_maxrss``)
belongs to that file alone. Prints, per length: segments, real-time factor (audio seconds per
second of processing), the most samples the predictor held at once, and the process's peak
memory. The obvious alternative, reading the file whole, would hold ``length x 16000`` float32
samples (shown for comparison).

Run::

    python benchmarks/long_audio.py --minutes 5 60 --out long_audio.md
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SR = 16000


def write_recording(path: Path, minutes: float, work: Path) -> int:
    """A ``minutes`` long 16 kHz recording of demo utterances and silences; returns samples."""
    import soundfile as sf

    from serkit.audio import read
    from serkit.demo.corpus import make_corpus

    corpus = work / "demo"
    if not corpus.is_dir():
        make_corpus(corpus, speakers=2, sentences=2, repetitions=1)
    clips = [read(p, sample_rate=SR)[0] for p in sorted(corpus.rglob("*.wav"))]
    rng = np.random.default_rng(0)
    total, target = 0, int(minutes * 60 * SR)
    with sf.SoundFile(str(path), "w", SR, 1, subtype="PCM_16") as handle:
        while total < target:
            piece = np.concatenate(
                [clips[int(rng.integers(len(clips)))], np.zeros(int(rng.uniform(1, 3) * SR))]
            )[: target - total]
            handle.write(piece.astype(np.float32))
            total += len(piece)
    return total


def measure(path: Path, method: str, block_s: float) -> dict:
    """Run in this process: predict_long on ``path``; time, segments, peaks."""
    import resource

    from serkit.pretrained import default_predictor
    from serkit.segmentation import SegmentConfig, predict_long

    predictor = default_predictor()
    started = time.perf_counter()
    result = predict_long(predictor, path, SegmentConfig(method), block_s=block_s)
    elapsed = time.perf_counter() - started
    return {
        "seconds": result.duration,
        "segments": len(result.segments),
        "ok": sum(s.status == "ok" for s in result.segments),
        "elapsed_s": elapsed,
        "realtime": result.duration / elapsed,
        "peak_samples": result.peak_samples,
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "decision": result.decision["label"],
    }


def _parser() -> argparse.ArgumentParser:
    from _report import add_out_option

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[5.0, 60.0])
    parser.add_argument("--method", choices=["vad", "window"], default="vad")
    parser.add_argument("--block-s", type=float, default=60.0)
    parser.add_argument("--work", type=Path, default=Path("/tmp/serkit_long_audio"))
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # child process
    add_out_option(parser, "long_audio.md")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Write the recordings, measure each in a child process, print the table."""
    from _report import md_table, write_table

    args = _parser().parse_args(argv)
    if args.measure is not None:
        print(json.dumps(measure(args.measure, args.method, args.block_s)))
        return 0
    args.work.mkdir(parents=True, exist_ok=True)
    rows, figures = [], []
    for minutes in args.minutes:
        path = args.work / f"talk_{minutes:g}min.wav"
        if not path.is_file():
            write_recording(path, minutes, args.work)
        child = [sys.executable, __file__, "--measure", str(path), "--method", args.method]
        child += ["--block-s", str(args.block_s)]
        found = json.loads(subprocess.run(child, check=True, capture_output=True).stdout)
        found["minutes"] = minutes
        figures.append(found)
        whole_mb = found["seconds"] * SR * 4 / 2**20
        rows.append(
            (
                f"{minutes:g} min",
                found["segments"],
                f"{found['realtime']:.1f}x",
                f"{found['peak_samples'] / SR:.1f} s ({found['peak_samples'] * 4 / 2**20:.1f} MB)",
                f"{found['maxrss_mb']:.0f} MB",
                f"{whole_mb:.0f} MB",
            )
        )
        print(f"{minutes:g} min: {found}", file=sys.stderr, flush=True)
    text = (
        f"Long audio, `predict_long` with the default model, `--segment {args.method}`, "
        f"blocks of {args.block_s:g} s (one process per file):\n\n"
        + md_table(
            (
                "recording",
                "segments",
                "speed (audio s per s)",
                "most audio held",
                "peak process memory",
                "the file as float32, whole",
            ),
            rows,
        )
        + "\n"
    )
    print(text)
    write_table(args.out, text, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
