"""End to end: the README's main job (quickstart) on the synthetic demo corpus."""

from __future__ import annotations

import json

import pandas as pd

from serkit.quickstart import quickstart


def test_quickstart_runs_every_stage(tmp_path):
    lines: list[str] = []
    result = quickstart(
        tmp_path / "demo",
        features={"name": "mfcc-stats", "params": {}},
        model={"name": "logreg", "params": {}},
        log=lines.append,
    )
    assert result.manifest.exists()
    for name in ("config.yaml", "folds.csv", "predictions.parquet", "metrics.json", "report.html"):
        assert (result.run / name).exists(), name
    assert (result.run / "model").is_dir()
    metrics = json.loads((result.run / "metrics.json").read_text())
    assert metrics["n_folds"] == 6  # leave one of the six demo speakers out
    assert metrics["pooled"]["uar"] > 0.4  # five classes: chance is 0.2
    predicted = pd.read_csv(result.predictions)
    assert len(predicted) == 9 and set(predicted["label"]) <= set(metrics["classes"])
    assert any("report:" in line for line in lines)
