"""The processes of one run: a single process, or the ranks that ``torchrun`` started.

:func:`join` is called once per run by the runner. Under ``torchrun`` (which sets ``RANK``,
``WORLD_SIZE`` and the rendezvous variables) it joins the process group through
:func:`serkit.models.distributed.init_distributed` (gloo on CPU, nccl with CUDA); without it, or
with one process, it returns :data:`SOLO` without importing torch, so classic runs stay light.

The returned :class:`Group` is all the runner needs: ``writer`` (rank 0 writes every file),
``barrier()``, ``agree(value)`` (rank 0's decision on every rank) and ``leave()``.

Example::

    group = join()
    try:
        done = group.agree(finished_folds() if group.writer else None)
        ...
    finally:
        group.leave()
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import Any

#: the longest one rank waits for the others in a collective: rank 0 alone extracts the
#: features (minutes to hours for SSL extractors on a CPU) while the others wait
WAIT = datetime.timedelta(hours=6)


@dataclass(frozen=True)
class Group:
    """This process's place in the run.

    Attributes:
        rank: 0 .. world - 1.
        world: number of processes (1: no process group).
        owned: :func:`join` created the process group (so :meth:`leave` destroys it).
    """

    rank: int = 0
    world: int = 1
    owned: bool = False

    @property
    def writer(self) -> bool:
        """Rank 0: the one process that writes files and logs."""
        return self.rank == 0

    def barrier(self) -> None:
        """Wait until every rank got here (no-op in one process)."""
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier()

    def agree(self, value: Any) -> Any:
        """Rank 0's ``value`` (picklable) on every rank; the others pass anything (``None``)."""
        if self.world == 1:
            return value
        import torch.distributed as dist

        box = [value if self.writer else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def leave(self) -> None:
        """Destroy the process group if :func:`join` created it."""
        if self.owned:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()


SOLO = Group()


def join() -> Group:
    """Join the process group ``torchrun`` describes, or return :data:`SOLO` outside it.

    An already initialised group (the caller called ``init_distributed``) is used as it is and
    left to the caller.
    """
    if int(os.environ.get("WORLD_SIZE") or 1) <= 1:  # not under torchrun: no torch import
        return SOLO
    import torch.distributed as dist

    from serkit.models.distributed import init_distributed

    owned = not dist.is_initialized()
    rank, world = init_distributed(timeout=WAIT)
    return Group(rank=rank, world=world, owned=owned and world > 1)
