"""The RAVDESS example configs of the representation seed (configs/pretrain/ravdess_*.yaml)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from serkit.encoders import get_encoder_class
from serkit.encoders.config import load_pretrain_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "pretrain"
PRETRAIN = sorted(p for p in CONFIGS.glob("ravdess_*.yaml") if "probe" not in p.stem)


def test_every_seed_family_has_a_ravdess_config():
    families = {load_pretrain_config(p)["encoder"]["name"] for p in PRETRAIN}
    assert families == {"vae", "beta-vae", "conv-ae", "ge2e"}


@pytest.mark.parametrize("path", PRETRAIN, ids=lambda p: p.name)
def test_pretrain_config_and_its_probe_share_the_folds(path):
    cfg = load_pretrain_config(path)
    assert cfg["name"] == path.stem
    family = get_encoder_class(cfg["encoder"]["name"])
    assert cfg["features"]["params"] == family.default_frontend["params"]
    assert cfg["folds"] is not None  # one encoder per fold: none hears its test speakers
    # (the probe's encoder path is checked when the experiment loads it: read it as YAML here)
    probe_path = CONFIGS / f"ravdess_probe_{path.stem[len('ravdess_'):]}.yaml"
    probe = yaml.safe_load(probe_path.read_text())
    assert probe["name"] == probe_path.stem
    assert probe["features"]["name"] == "encoder"
    assert probe["features"]["params"]["path"] == f"runs/{path.stem}"
    assert probe["protocol"]["name"] == cfg["folds"]["protocol"]["name"]
    assert probe["protocol"]["params"] == cfg["folds"]["protocol"]["params"]
    assert probe["data"]["label_set"] == cfg["data"]["label_set"] == "ravdess8"
