"""``features.normalize: speaker`` through the runner on the tiny synthetic corpus."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from serkit import experiment
from serkit.errors import ConfigError
from serkit.experiment.data import load_features, load_rows
from test_experiment import demo_manifest, make_config  # noqa: F401  (fixture + helper)


def _per_speaker_stats(values: np.ndarray, speakers: np.ndarray) -> tuple[float, float]:
    worst_mean, worst_std = 0.0, 0.0
    for speaker in np.unique(speakers):
        rows = values[speakers == speaker]
        worst_mean = max(worst_mean, float(np.abs(rows.mean(axis=0)).max()))
        worst_std = max(worst_std, float(np.abs(rows.std(axis=0) - 1.0).max()))
    return worst_mean, worst_std


@pytest.mark.parametrize("extractor", ["test-tone-stats", "test-tone-frames"])
def test_load_features_normalises_per_speaker(demo_manifest, tmp_path, extractor):  # noqa: F811
    cfg = experiment.validate_config(
        make_config(
            demo_manifest, tmp_path, **{"features.name": extractor, "features.normalize": "speaker"}
        )
    )
    rows = load_rows(cfg["data"])
    df, _, fs = load_features(rows, cfg["features"])
    speakers = df["speaker"].astype(str).to_numpy()
    if fs.level == "frame":
        values = np.concatenate(fs.frames)
        speakers = np.repeat(speakers, [len(f) for f in fs.frames])
    else:
        values = fs.X
    worst_mean, worst_std = _per_speaker_stats(values.astype(np.float64), speakers)
    assert worst_mean < 1e-4 and worst_std < 1e-3
    # without the option the raw features are far from per-speaker z-scores
    raw_cfg = {k: v for k, v in cfg["features"].items() if k != "normalize"}
    _, _, raw = load_features(rows, raw_cfg)
    raw_values = np.concatenate(raw.frames) if raw.level == "frame" else raw.X
    assert max(_per_speaker_stats(raw_values.astype(np.float64), speakers)) > 1e-2


def test_run_records_speaker_normalisation(demo_manifest, tmp_path):  # noqa: F811
    lines: list[str] = []
    run_dir = experiment.run(
        make_config(demo_manifest, tmp_path, **{"features.normalize": "speaker"}),
        log=lines.append,
    )
    assert any("z-scored per speaker" in line for line in lines)
    cfg = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert cfg["features"]["normalize"] == "speaker"
    assert "z-scored per speaker" in (run_dir / "report.md").read_text()
    preds = pd.read_parquet(run_dir / "predictions.parquet")
    assert len(preds) == 56 and (preds["fold"] == preds["speaker"]).all()
    from serkit.inference import Predictor

    predictor = Predictor.from_path(run_dir)
    assert predictor.meta["extra"]["frontend"]["normalize"] == "speaker"
    assert predictor.frontend.needs_speakers  # predict refuses inputs without speakers


def test_unknown_normalize_value_names_the_key(demo_manifest, tmp_path):  # noqa: F811
    with pytest.raises(ConfigError, match="features.normalize"):
        experiment.run(make_config(demo_manifest, tmp_path, **{"features.normalize": "utterance"}))
