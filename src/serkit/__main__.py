"""``python -m serkit``: the ``serkit`` command, also as a module for launchers.

``torchrun`` starts modules, not console scripts, so a distributed run is::

    torchrun --standalone --nproc_per_node=2 -m serkit train CONFIG

(see :mod:`serkit.experiment.runner` for what each rank does).
"""

from __future__ import annotations

from serkit.cli import main

if __name__ == "__main__":
    main()
