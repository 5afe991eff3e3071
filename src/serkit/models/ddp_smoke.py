"""DDP smoke test: train ``cnn-attn`` on tiny synthetic sequences under ``torchrun``.

Usage::

    torchrun --standalone --nproc_per_node=2 -m serkit.models.ddp_smoke --out /tmp/ddp

Every rank writes ``rank<r>.pt`` (its final ``state_dict``) and ``rank<r>.json`` (world size and
history) into ``--out``; rank 0 also writes the checkpoints in ``--out/ckpt``. All ranks must
end with identical weights (``tests/models/test_ddp.py`` checks this).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch


def synthetic(n: int, dim: int, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    """``n`` sequences ``(frames_i, dim)`` of two classes that differ by a mean shift."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = [
        (rng.normal(size=(int(rng.integers(12, 30)), dim)) + 1.5 * label).astype(np.float32)
        for label in y
    ]
    return x, y


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, join the process group, train, write per-rank results."""
    from serkit.models.data import SequenceDataset
    from serkit.models.distributed import init_distributed
    from serkit.models.nets import build_net
    from serkit.models.training import train_module

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--n", type=int, default=24)
    args = parser.parse_args(argv)

    torch.set_num_threads(1)
    rank, world = init_distributed("gloo")
    x, y = synthetic(args.n, 8, seed=0)
    vx, vy = synthetic(8, 8, seed=1)
    torch.manual_seed(rank)  # different init per rank: DDP must broadcast rank 0's weights
    net = build_net("cnn-attn", 8, 2, channels=8, blocks=2, attention_dim=4)
    result = train_module(
        net,
        SequenceDataset(x, y),
        SequenceDataset(vx, vy),
        epochs=args.epochs,
        batch_size=4,
        device="cpu",
        patience=None,
        checkpoint_dir=args.out / "ckpt",
    )
    args.out.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), args.out / f"rank{rank}.pt")
    info = {"rank": rank, "world": world, "history": result.history}
    (args.out / f"rank{rank}.json").write_text(json.dumps(info))
    if world > 1:
        import torch.distributed as dist

        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
