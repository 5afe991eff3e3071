"""Load on ``serkit serve``: N requests at concurrency C against a local server; errors, latency
percentiles, requests per second and the server's memory before and after.

The server is the real command (``python -m serkit serve MODEL --workers W``) in its own
process on a free port of 127.0.0.1; the model is ``--model`` or, by default, the one
``serkit quickstart`` trains on the synthetic demo corpus (eGeMAPS + SVM, in ``--workdir``).
Every request uploads the same demo clip (``multipart/form-data``, as the page does) to
``POST /predict``; a request counts as an error unless it answers 200 with a label. Latency is
measured per request by the client (a pool of ``--concurrency`` asynchronous httpx clients).
Memory is the server's resident set (``VmRSS`` of ``/proc/<pid>/status``) after start-up and
one warm-up request, and after the load, with its peak (``VmHWM``).

Usage (from the repository root; ~5 min for 10,000 requests on 2 cores)::

    nice -n 10 python benchmarks/serve_load.py --out serve_load.md
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from _report import add_out_option, md_table, write_table

ROOT = Path(__file__).resolve().parents[1]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model",
        type=Path,
        default=None,
        help="run or model folder (default: train the quickstart demo model in --workdir)",
    )
    parser.add_argument("--requests", type=int, default=10_000, help="requests in all")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument("--workers", type=int, default=2, help="the server's inference threads")
    parser.add_argument(
        "--clip",
        type=Path,
        default=None,
        help="audio file to send (default: a quickstart demo clip)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path("/tmp/serve_load"),
        help="where the quickstart model is trained",
    )
    add_out_option(parser, "serve_load.md")
    return parser


def quickstart_model(work: Path) -> tuple[Path, Path]:
    """The quickstart's run folder and one of its unseen demo clips (trained once)."""
    run = work / "qs" / "runs" / "demo_egemaps_svm"
    if not (run / "model" / "model.json").is_file():
        subprocess.run([sys.executable, "-m", "serkit", "quickstart", str(work / "qs")], check=True)
    clip = sorted((work / "qs" / "new_audio").rglob("*.wav"))[0]
    return run, clip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def memory_mb(pid: int) -> dict[str, float]:
    """``{"rss", "peak"}`` of a process in MiB (``VmRSS``, ``VmHWM``)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields["rss" if key == "VmRSS" else "peak"] = int(value.split()[0]) / 1024
    return fields


def start_server(model: Path, port: int, workers: int, queue: int) -> subprocess.Popen:
    import httpx

    command = [
        sys.executable,
        "-m",
        "serkit",
        "serve",
        str(model),
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--queue",
        str(queue),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server stopped: {process.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("the server did not answer /health within 120 s")


async def load(url: str, body: bytes, name: str, total: int, concurrency: int) -> dict:
    """Send ``total`` uploads with ``concurrency`` in flight; latencies and errors."""
    import httpx

    latencies: list[float] = []
    errors: list[str] = []
    issued = 0

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal issued
        while issued < total:
            issued += 1
            began = time.perf_counter()
            try:
                response = await http.post("/predict", files={"file": (name, body, "audio/wav")})
                ok = response.status_code == 200 and response.json().get("label")
                if not ok:
                    errors.append(f"{response.status_code}: {response.text[:200]}")
            except httpx.HTTPError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
            latencies.append(time.perf_counter() - began)

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        began = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(concurrency)))
        wall = time.perf_counter() - began
    return {"latencies": latencies, "errors": errors, "wall": wall}


def main(argv: list[str] | None = None) -> int:
    import httpx
    import soundfile as sf

    args = _parser().parse_args(argv)
    model, clip = args.model, args.clip
    if model is None or clip is None:
        demo_model, demo_clip = quickstart_model(args.workdir)
        model, clip = model or demo_model, clip or demo_clip
    body = clip.read_bytes()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(model, port, args.workers, queue=max(64, 2 * args.concurrency))
    try:
        warm = httpx.post(f"{url}/predict", files={"file": (clip.name, body, "audio/wav")})
        warm.raise_for_status()
        before = memory_mb(server.pid)
        result = asyncio.run(load(url, body, clip.name, args.requests, args.concurrency))
        after = memory_mb(server.pid)
    finally:
        server.terminate()
        server.wait(30)
    ms = np.array(result["latencies"]) * 1000
    figures = {
        "model": str(model),
        "clip": str(clip),
        "clip_s": sf.info(str(clip)).duration,
        "requests": args.requests,
        "concurrency": args.concurrency,
        "workers": args.workers,
        "errors": len(result["errors"]),
        "first_errors": result["errors"][:5],
        "p50_ms": float(np.percentile(ms, 50)),
        "p90_ms": float(np.percentile(ms, 90)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
        "requests_per_s": args.requests / result["wall"],
        "wall_s": result["wall"],
        "rss_before_mb": before["rss"],
        "rss_after_mb": after["rss"],
        "rss_peak_mb": after["peak"],
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
    }
    table = md_table(
        [
            "requests",
            "concurrency",
            "server workers",
            "errors",
            "p50 ms",
            "p99 ms",
            "requests/s",
            "server RSS before -> after (peak), MiB",
        ],
        [
            [
                f"{args.requests:,}",
                args.concurrency,
                args.workers,
                figures["errors"],
                f"{figures['p50_ms']:.1f}",
                f"{figures['p99_ms']:.1f}",
                f"{figures['requests_per_s']:.1f}",
                f"{before['rss']:.0f} -> {after['rss']:.0f} ({after['peak']:.0f})",
            ]
        ],
    )
    text = (
        f"`serkit serve` under load: {clip.name} ({figures['clip_s']:.2f} s) uploaded to "
        f"POST /predict, model {model}; {os.cpu_count()} CPUs, load average after "
        f"{figures['load_average'][0]:.1f}\n\n{table}"
    )
    print(text)
    for error in result["errors"][:5]:
        print("error:", error)
    write_table(args.out, text, figures)
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
