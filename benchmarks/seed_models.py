"""Speed of the two seed classifiers (3-D ACRNN, DCNN-BLSTMwA): torch vs ONNX Runtime.

For each model (CPU presets by default, ``--preset paper`` for the papers' sizes) it prints

* training throughput in utterances/s: one optimiser step (forward + backward + Adam) on a
  batch of 3-s utterances (300 frames at a 10-ms hop): ACRNN trains on one 3-s segment per
  utterance; DCNN-BLSTMwA stage 1 on the windows of each utterance (``--window``, default
  128/64 frames as in configs/ravdess_dcnn_blstmwa.yaml: 3 per 3-s clip; the seed's 64/32: 8),
  stage 2 on whole utterances (AlexNet trainable and frozen);
* inference latency per 3-s clip (batch 1) and per clip in a batch of 16, torch eager vs ONNX
  Runtime on the same exported graph, with the ratio torch / ORT (> 1: ORT faster), and the
  largest logit difference between the two;

as Markdown tables, written to ``--out`` as well (the figures beside it as ``.json``).

Usage (from the repository root; about a minute)::

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/seed_models.py --threads 1 --out seed_models.md

All figures are medians over ``--repeats`` timed runs after one warm-up run, measured in this
process; nothing is assumed.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from serkit.export import OnnxClassifier, export_net  # noqa: E402
from serkit.models.nets import build_net  # noqa: E402
from serkit.models.nets.alexnet import AlexNetClassifier  # noqa: E402

FRAMES = 300  # 3 s at a 10-ms hop
CLASSES = 8


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``fn`` over ``repeats`` runs after one warm-up."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def train_rate(net: torch.nn.Module, x: torch.Tensor, lengths: torch.Tensor, repeats: int):
    """Utterances (rows of ``x``) per second of one Adam step."""
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=1e-4)
    y = torch.arange(len(x)) % CLASSES
    net.train()

    def step() -> None:
        loss = torch.nn.functional.cross_entropy(net(x, lengths), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return len(x) / median_seconds(step, repeats)


def latency(net: torch.nn.Module, dim: int, batch: int, repeats: int, threads: int):
    """``(torch s/clip, ORT s/clip, max |diff|)`` for ``batch`` 3-s clips."""
    net.eval()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch, FRAMES, dim)).astype(np.float32)
    lengths = np.full(batch, FRAMES, dtype=np.int64)
    xt, lt = torch.from_numpy(x), torch.from_numpy(lengths)
    with tempfile.TemporaryDirectory() as tmp:
        path = export_net(net, Path(tmp) / "net.onnx", dim, example_frames=FRAMES)
        ort = OnnxClassifier(path, threads=threads)

        def run_torch() -> np.ndarray:
            with torch.no_grad():
                return net(xt, lt).numpy()

        t_torch = median_seconds(run_torch, repeats) / batch
        t_ort = median_seconds(lambda: ort.logits(x, lengths), repeats) / batch
        diff = float(np.abs(run_torch() - ort.logits(x, lengths)).max())
    return t_torch, t_ort, diff


def tables(settings: str, training: list[dict], latencies: list[dict]) -> str:
    """The two Markdown tables (training throughput, inference latency) under ``settings``."""
    from _report import md_table

    train = md_table(
        ["model", "utterances/s"], [[r["model"], f"{r['utterances_per_s']:.1f}"] for r in training]
    )
    infer = md_table(
        ["model", "batch", "torch ms", "ORT ms", "torch / ORT", "max abs logit diff"],
        [
            [
                r["model"],
                r["batch"],
                f"{1e3 * r['torch_s']:.2f}",
                f"{1e3 * r['ort_s']:.2f}",
                f"{r['torch_s'] / r['ort_s']:.2f}",
                f"{r['max_diff']:.1e}",
            ]
            for r in latencies
        ],
    )
    return (
        f"{settings}\n\nTraining throughput (one Adam step)\n\n{train}\n\n"
        f"Inference latency per 3-s clip: torch eager vs ONNX Runtime\n\n{infer}"
    )


def _parser() -> argparse.ArgumentParser:
    from _report import add_out_option

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="cpu", choices=["cpu", "paper"])
    parser.add_argument("--threads", type=int, default=1, help="torch and ORT threads")
    parser.add_argument("--batch", type=int, default=16, help="training batch (utterances)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--alexnet-batch-norm",
        choices=["on", "off"],
        default="on",
        help="AlexNet batch norm (on: as configs/ravdess_dcnn_blstmwa.yaml; off: the seed)",
    )
    parser.add_argument(
        "--window",
        default="128/64",
        help="DCNN window/hop in frames (128/64: configs/ravdess_dcnn_blstmwa.yaml; 64/32: seed)",
    )
    add_out_option(parser, "seed_models.md")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Print the throughput and latency tables and write them to ``--out``; exit status."""
    args = _parser().parse_args(argv)
    from _report import write_table

    window, hop = (int(v) for v in args.window.split("/"))
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    given = " ".join(sys.argv[1:] if argv is None else argv)
    settings = (
        f"Preset {args.preset}, {args.threads} thread(s), 3-s clips ({FRAMES} frames), "
        f"training batch {args.batch}, median of {args.repeats} runs, AlexNet batch norm "
        f"{args.alexnet_batch_norm}, DCNN windows {window}/{hop} frames "
        f"(`python benchmarks/seed_models.py {given}`)"
    )
    print("measuring (about a minute at 5 repeats) ...", flush=True)
    alexnet = {"batch_norm": args.alexnet_batch_norm == "on"}
    windows = {"segment_frames": window, "segment_hop": hop}

    acrnn = build_net("acrnn", 120, CLASSES, preset=args.preset)
    dcnn = build_net(
        "dcnn-blstmwa", 192, CLASSES, preset=args.preset, alexnet_params=alexnet, **windows
    )
    frozen = build_net(
        "dcnn-blstmwa",
        192,
        CLASSES,
        preset=args.preset,
        alexnet_params=alexnet,
        freeze_dcnn=True,
        **windows,
    )
    stage1 = AlexNetClassifier(192, CLASSES, normalize=False, **dcnn.alexnet_hp)
    n_win = int(dcnn.segment_images(torch.zeros(1, FRAMES, 192), torch.tensor([FRAMES]))[1])

    b = args.batch
    full = torch.full((b,), FRAMES)
    training = [
        {
            "model": "acrnn (3-s segments)",
            "utterances_per_s": train_rate(acrnn, torch.randn(b, FRAMES, 120), full, args.repeats),
        },
        {
            "model": f"dcnn stage 1 (AlexNet, {n_win} windows/clip)",
            "utterances_per_s": train_rate(
                stage1,
                torch.randn(b * n_win, window, 192),
                torch.full((b * n_win,), window),
                args.repeats,
            )
            / n_win,
        },
        {
            "model": "dcnn stage 2 (AlexNet trainable)",
            "utterances_per_s": train_rate(dcnn, torch.randn(b, FRAMES, 192), full, args.repeats),
        },
        {
            "model": "dcnn stage 2 (AlexNet frozen)",
            "utterances_per_s": train_rate(frozen, torch.randn(b, FRAMES, 192), full, args.repeats),
        },
    ]
    latencies = []
    for name, net, dim in (("acrnn", acrnn, 120), ("dcnn-blstmwa", dcnn, 192)):
        for batch in (1, 16):
            t_torch, t_ort, diff = latency(net, dim, batch, args.repeats, args.threads)
            times = {"torch_s": t_torch, "ort_s": t_ort, "max_diff": diff}
            latencies.append({"model": name, "batch": batch, **times})
    text = tables(settings, training, latencies)
    print("\n" + text)
    figures = {"settings": vars(args), "training": training, "latency": latencies}
    write_table(args.out, text, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
