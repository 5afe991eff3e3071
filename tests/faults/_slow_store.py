"""A slow test extractor and a command line that runs ``features.extract`` with it.

The fault tests start this file as a script in subprocesses (two writers on one store, kills):
``python _slow_store.py MANIFEST STORE --level utterance --delay 0.02 --chunk-size 2``. The
delay is read from the environment (``SLOW_STORE_DELAY``, so worker processes see it too), not
a config field, so that a fast and a slow writer share one store folder (one extractor key).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time

import numpy as np

from serkit.errors import SerkitError
from serkit.features.base import Extractor, ExtractorConfig


def _delay() -> float:
    """Seconds each compute() sleeps (0 unless ``SLOW_STORE_DELAY`` is set)."""
    return float(os.environ.get("SLOW_STORE_DELAY", "0"))


@dataclasses.dataclass(frozen=True)
class SlowConfig(ExtractorConfig):
    """No parameters besides the sample rate."""


class SlowStats(Extractor):
    """Utterance level: ``[mean, std, samples, max]`` of the signal, after a sleep."""

    name = "slow-stats-test"
    level = "utterance"
    Config = SlowConfig

    def compute(self, signal: np.ndarray) -> np.ndarray:
        time.sleep(_delay())
        return np.array([signal.mean(), signal.std(), len(signal), signal.max()], np.float32)


class SlowFrames(Extractor):
    """Frame level: 10 ms frames of ``[rms, peak]``, after a sleep."""

    name = "slow-frames-test"
    level = "frame"
    Config = SlowConfig

    def compute(self, signal: np.ndarray) -> np.ndarray:
        time.sleep(_delay())
        hop = self.sample_rate // 100
        count = max(1, len(signal) // hop)
        frames = np.resize(signal, count * hop).reshape(count, hop)
        return np.stack([np.sqrt((frames**2).mean(1)), np.abs(frames).max(1)], 1).astype(np.float32)


EXTRACTORS = {"utterance": SlowStats, "frame": SlowFrames}


def main(argv: list[str] | None = None) -> int:
    """Extract the manifest's features into the store; prints the summary."""
    from serkit import features
    from serkit import manifest as mf

    parser = argparse.ArgumentParser()
    parser.add_argument("manifest")
    parser.add_argument("store")
    parser.add_argument("--level", default="utterance", choices=sorted(EXTRACTORS))
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--chunk-size", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--go", help="wait until this file exists before extracting")
    args = parser.parse_args(argv)
    os.environ["SLOW_STORE_DELAY"] = str(args.delay)
    manifest = mf.read(args.manifest)
    if args.go:
        print("ready", flush=True)
        while not os.path.exists(args.go):
            time.sleep(0.01)
    try:
        summary = features.extract(
            manifest,
            EXTRACTORS[args.level](),
            args.store,
            workers=args.workers,
            chunk_size=args.chunk_size,
            progress=False,
        )
    except SerkitError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 2
    print(summary.format(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
