"""DDP under torchrun: two CPU processes (gloo) end with identical weights; rank 0 checkpoints."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import torch


def test_two_process_ddp_gives_identical_weights(tmp_path):
    out = tmp_path / "ddp"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "serkit.models.ddp_smoke",
        "--out",
        str(out),
        "--epochs",
        "2",
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    info = [json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [i["world"] for i in info] == [2, 2]
    assert info[0]["history"] == [
        {**e, "seconds": info[0]["history"][k]["seconds"]} for k, e in enumerate(info[1]["history"])
    ]
    a = torch.load(out / "rank0.pt")
    b = torch.load(out / "rank1.pt")
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    # the ranks started from different random weights (ddp_smoke seeds by rank), so equality
    # shows DDP synchronised them; only rank 0 wrote the checkpoint
    saved = torch.load(out / "ckpt" / "last.pt", weights_only=True)
    assert saved["epoch"] == 2 and saved["done"]
    assert sorted(p.name for p in (out / "ckpt").iterdir()) == ["last.pt", "progress.json"]
