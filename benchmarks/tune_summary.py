"""Variants of ``tune_seed_models.py --dev-test`` over seeds: mean, spread and paired gain.

Reads the figure files (``.json``) that ``tune_seed_models.py`` wrote, one or more variants
per file and one seed per record, groups the records by variant name and prints, per variant,
the dev-test UAR of every seed, their mean ± std, and the mean paired difference to the
``--reference`` variant over the seeds both have (the same seed draws the same validation
speakers, initialisation and batches; every record must hold the same dev-test speakers).

Usage::

    python benchmarks/tune_summary.py /tmp/devtest/*.json --reference sel --out devtest.md
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np


def collect(records: list[dict[str, dict[str, Any]]]) -> dict[str, dict[int, dict[str, Any]]]:
    """``{variant: {seed: record}}`` from the contents of several figure files.

    Raises:
        SystemExit: a record without dev-test scores, two records of one variant and seed,
            or records scored on different dev-test speakers.
    """
    grouped: dict[str, dict[int, dict[str, Any]]] = {}
    speakers = None
    for figures in records:
        for name, record in figures.items():
            if "dev_test_uar" not in record:
                raise SystemExit(f"variant {name!r}: no dev-test scores (run with --dev-test N)")
            seed = int(record["seed"])
            if seed in grouped.setdefault(name, {}):
                raise SystemExit(f"variant {name!r} seed {seed} is recorded twice")
            if speakers is not None and record["dev_test_speakers"] != speakers:
                raise SystemExit(
                    f"variant {name!r} seed {seed}: dev-test speakers "
                    f"{record['dev_test_speakers']} differ from {speakers}"
                )
            speakers = record["dev_test_speakers"]
            grouped[name][seed] = record
    return grouped


def table(grouped: dict[str, dict[int, dict[str, Any]]], reference: str) -> str:
    """Markdown table: per-seed dev-test UAR, mean ± std and the paired gain."""
    if reference not in grouped:
        raise SystemExit(f"--reference {reference!r} is not among {sorted(grouped)}")
    from _report import md_table

    ref = grouped[reference]
    header = [
        "variant",
        "dev-test UAR % per seed",
        "mean ± std",
        f"paired gain over {reference} (seeds)",
        "overrides",
    ]
    body = []
    for name, by_seed in grouped.items():
        seeds = sorted(by_seed)
        uar = np.array([100 * by_seed[s]["dev_test_uar"] for s in seeds])
        std = f"{uar.std(ddof=1):.1f}" if len(uar) > 1 else "-"
        common = [s for s in seeds if s in ref]
        gain = "-"
        if name != reference and common:
            diff = [100 * (by_seed[s]["dev_test_uar"] - ref[s]["dev_test_uar"]) for s in common]
            gain = f"{np.mean(diff):+.1f} ({len(common)})"
        per_seed = ", ".join(f"{s}: {v:.1f}" for s, v in zip(seeds, uar, strict=True))
        overrides = ",".join(by_seed[seeds[0]]["overrides"]) or "(the config as it is)"
        body.append([name, per_seed, f"{uar.mean():.1f} ± {std}", gain, f"`{overrides}`"])
    return md_table(header, body)


def _parser() -> argparse.ArgumentParser:
    from _report import add_out_option

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("figures", nargs="*", type=Path, help="tune_seed_models .json files")
    parser.add_argument("--reference", default="sel", help="variant the gains are paired with")
    add_out_option(parser, "tune_summary.md")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Print and write the summary table; returns the exit status."""
    args = _parser().parse_args(argv)
    from _report import read_figures, write_table

    if not args.figures:
        print("no figure files given")
        return 1
    grouped = collect([read_figures(path) or {} for path in args.figures])
    first = next(iter(next(iter(grouped.values())).values()))
    text = (
        f"{table(grouped, args.reference)}\n\nDev fold {first['dev_fold']} without its test "
        f"speakers; dev-test speakers (held out before every fit): "
        f"{', '.join(first['dev_test_speakers'])}."
    )
    print(text)
    write_table(args.out, text, {k: list(v.values()) for k, v in grouped.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
