"""The process group of a ``torchrun`` launch, as :func:`~serkit.models.training.train_module`
sees it: join it once at the entry point (:func:`init_distributed`), ask whether training runs
distributed and as which rank (:func:`dist_info`).
"""

from __future__ import annotations

import datetime
import os

import torch


def init_distributed(
    backend: str | None = None, timeout: datetime.timedelta | None = None
) -> tuple[int, int]:
    """Join the process group that ``torchrun`` describes (call once, at the entry point).

    Reads ``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` set by torchrun; does nothing when they are
    absent or the group already exists. ``backend`` defaults to ``nccl`` with CUDA, else
    ``gloo``; ``timeout`` bounds every collective wait (``None``: torch's default, 30 min for
    gloo), e.g. longer while rank 0 alone extracts features.

    Returns:
        ``(rank, world_size)``.
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return 0, 1
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend=backend, **({"timeout": timeout} if timeout else {}))
    return dist.get_rank(), dist.get_world_size()


def dist_info() -> tuple[bool, int, int]:
    """``(distributed, rank, world_size)``; ``(False, 0, 1)`` outside a process group."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return True, dist.get_rank(), dist.get_world_size()
    return False, 0, 1
