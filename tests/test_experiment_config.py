"""Experiment config: the bootstrap keys (reps, seed, method) and the resume fingerprint."""

from __future__ import annotations

import pytest

from serkit import experiment
from serkit.errors import ConfigError

BASE = {
    "name": "x",
    "data": {"manifests": ["m.parquet"]},
    "features": {"name": "egemaps"},
    "model": {"name": "svm"},
}


def test_bootstrap_defaults_to_speakers():
    cfg = experiment.validate_config(BASE)
    assert cfg["bootstrap"] == {"reps": 1000, "seed": 0, "method": "speaker"}
    row = experiment.validate_config({**BASE, "bootstrap": {"method": "row", "reps": 50}})
    assert row["bootstrap"] == {"reps": 50, "seed": 0, "method": "row"}


@pytest.mark.parametrize(
    ("bootstrap", "message"),
    [
        ({"method": "speakers"}, r"bootstrap.method .*found 'speakers' \(did you mean speaker\?\)"),
        ({"method": "cluster"}, r"bootstrap.method must be one of speaker, row"),
        ({"metod": "row"}, r"bootstrap.metod \(did you mean bootstrap.method\?\)"),
        ({"reps": 5}, r"bootstrap.reps must be >= 10"),
    ],
)
def test_bootstrap_errors_name_the_key(bootstrap, message):
    with pytest.raises(ConfigError, match=message):
        experiment.validate_config({**BASE, "bootstrap": bootstrap})


def test_bootstrap_method_keeps_the_fingerprint():
    """The method changes no prediction, so finished folds stay valid (a cache hit)."""
    base = experiment.fingerprint(experiment.validate_config(BASE))
    for bootstrap in ({"method": "row"}, {"method": "speaker", "reps": 99, "seed": 3}):
        cfg = experiment.validate_config({**BASE, "bootstrap": bootstrap})
        assert experiment.fingerprint(cfg) == base
    other = experiment.validate_config({**BASE, "model": {"name": "svm", "params": {"C": 2}}})
    assert experiment.fingerprint(other) != base  # the fingerprint does see real changes
