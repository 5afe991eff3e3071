"""``benchmarks/cyclegan.py``: the v2 runs pin the cpu preset's training amount, the unsuffixed
runs the earlier one, and the MLP variants take the paper's §4.5 regime parameters."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest

from serkit.augment.cyclegan import MIN_STEPS_CPU, CycleGANAugmenter
from serkit.models.neural_mlp import regime_params


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2] / "benchmarks"))
    sys.modules.pop("cyclegan", None)
    return importlib.import_module("cyclegan")


def test_v2_pins_the_cpu_preset_and_v1_the_earlier_amount(bench):
    cpu = CycleGANAugmenter().resolved_params()
    v2 = bench.variant_overrides("inner4", "syn_v2")
    assert f"augment.params.min_steps={MIN_STEPS_CPU}" in v2
    assert f"augment.params.epoch_size={cpu['epoch_size']}" in v2
    assert "augment.params.min_steps=0" in bench.variant_overrides("inner4", "syn")
    assert bench.run_name("inner4", "real+syn_v2") == "cyclegan_inner4_real-syn_v2"


def test_mlp_variants_take_the_regime_of_the_setting(bench):
    inner = bench.variant_overrides("inner4", "plain_mlp")
    assert "augment=null" in inner and "model.name=neural-mlp" in inner
    assert f"model.params={json.dumps(regime_params('inner-real'), separators=(',', ':'))}" in inner
    cross = bench.variant_overrides("urdu", "real+syn_v2_mlp")
    params = json.loads(next(o for o in cross if o.startswith("model.params="))[13:])
    assert params == regime_params("cross-real+syn")


def test_a_run_made_before_the_pin_is_not_resumed(bench, tmp_path):
    run = tmp_path / "cyclegan_inner8_syn"
    (run / "partial").mkdir(parents=True)
    (run / "config.yaml").write_text("augment: {params: {preset: cpu, n_per_class: 200}}\n")
    assert not bench._pinned(run)
    (run / "config.yaml").write_text("augment: {params: {preset: cpu, min_steps: 0}}\n")
    assert bench._pinned(run)
