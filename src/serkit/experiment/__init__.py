"""Experiments: a config (data x features x model x protocol x seeds) -> a run folder.

``run(config, output)`` writes ``<output>/<name>/`` with ``config.yaml`` (resolved config with
versions, git revision and command line), ``folds.csv``, ``predictions.parquet`` (the primary
artifact), ``metrics.json`` (a pure function of the predictions: ``evaluate(run_dir)``
recomputes it), ``dataset.json``, ``report.md``, ``report.html`` and ``model/``. ``compare``
puts several runs side by side.
"""

from __future__ import annotations

from serkit.experiment.config import fingerprint, load_config, validate_config
from serkit.experiment.plan import plan
from serkit.experiment.runner import run
from serkit.experiment.runs import compare, evaluate, format_compare

__all__ = [
    "compare",
    "evaluate",
    "fingerprint",
    "format_compare",
    "load_config",
    "plan",
    "run",
    "validate_config",
]
