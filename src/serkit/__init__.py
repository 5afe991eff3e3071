"""serkit: speech emotion recognition toolkit.

The public API follows the one-way data flow of the toolkit::

    corpus folder --prepare--> manifest --features--> feature store
        --train (protocol x model)--> run/ --predict | export--> labels
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("serkit")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
