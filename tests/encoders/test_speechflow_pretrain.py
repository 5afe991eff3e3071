"""``serkit pretrain`` of the ``speechflow`` family on the demo corpus with the micro config
(configs/pretrain/speechflow_demo.yaml), and what STUDY builds on: the package's frames on the
front end's own scale, its speaker vector, decompose under every condition and with a swap."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from tests.faults._cli import serkit

from serkit.encoders.config import load_pretrain_config
from serkit.encoders.package import load_encoder
from serkit.encoders.speechflow import CONDITIONS

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "pretrain"


@pytest.mark.parametrize(
    "name",
    [
        "speechflow_demo",
        "speechflow_cpu",
        "speechflow_paper",
        "speechflow_cpu_aligned",
    ],
)
def test_the_speechflow_configs_validate(name):
    cfg = load_pretrain_config(CONFIGS / f"{name}.yaml")
    assert cfg["name"] == name and cfg["encoder"]["name"] == "speechflow"
    assert cfg["features"]["name"] == "speechflow-input" and cfg["condition"] == "speaker"
    if name != "speechflow_demo":  # speakers disjoint from RAVDESS (the study's test corpus)
        assert not any("ravdess" in m for m in cfg["data"]["manifests"])


def test_the_continuation_config_warm_starts_the_cpu_package_on_its_rows():
    more = (CONFIGS / "speechflow_cpu_more.yaml").read_text()
    assert "init: runs/speechflow_cpu}" in more
    base = load_pretrain_config(CONFIGS / "speechflow_cpu.yaml")
    cfg = load_pretrain_config(CONFIGS / "speechflow_cpu_more.yaml", ["encoder.init=null"])
    for key in ("data", "features", "condition"):
        assert cfg[key] == base[key]
    assert cfg["encoder"]["params"] == base["encoder"]["params"]


def test_the_two_stage_configs_split_the_cpu_budget_and_only_stage_1_is_aligned():
    base = load_pretrain_config(CONFIGS / "speechflow_cpu.yaml")
    stage1 = load_pretrain_config(CONFIGS / "speechflow_cpu_aligned.yaml")
    stage2 = load_pretrain_config(CONFIGS / "speechflow_cpu_staged.yaml", ["encoder.init=null"])
    text = (CONFIGS / "speechflow_cpu_staged.yaml").read_text()
    assert "init: runs/speechflow_cpu_aligned}" in text
    for key in ("data", "features", "condition"):
        assert stage1[key] == base[key] == stage2[key]
    assert stage1["encoder"]["params"] == {**base["encoder"]["params"], "resample_scales": [1, 1]}
    assert stage2["encoder"]["params"] == base["encoder"]["params"]  # section 0.3 resampling
    assert stage1["training"]["epochs"] + stage2["training"]["epochs"] == base["training"]["epochs"]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    from serkit.corpora import prepare
    from serkit.demo import make_corpus

    root = tmp_path_factory.mktemp("speechflow")
    make_corpus(root / "demo" / "corpus", speakers=3, sentences=1, seed=0)
    prepare("ravdess", root / "demo" / "corpus", output=root / "demo" / "manifests")
    shutil.copy(CONFIGS / "speechflow_demo.yaml", root / "speechflow_demo.yaml")
    return root


def test_pretrain_writes_a_package_that_decomposes(run, capsys, monkeypatch):
    monkeypatch.chdir(run)
    code, out, err = serkit(["pretrain", "speechflow_demo.yaml"], capsys, monkeypatch)
    assert code == 0, out + err
    assert "epoch 2/2" in out
    pkg = load_encoder(run / "runs" / "speechflow_demo")
    assert pkg.family == "speechflow" and pkg.condition == "speaker"
    assert pkg.mean is None and pkg.std is None  # frames are not z-scored
    from serkit import audio
    from serkit.manifest import audio_paths, read

    paths = audio_paths(read(run / "demo" / "manifests" / "ravdess.parquet"))[:2]
    signals = [audio.read(p, sample_rate=16000)[0] for p in paths]
    frames = [pkg.frames(s, 16000) for s in signals]
    assert frames[0].shape[1] == 81 and 0.0 <= frames[0][:, :80].min() <= frames[0][:, :80].max()
    assert frames[0][:, :80].max() <= 1.0
    cond = np.stack([pkg.condition_vector(s, 16000) for s in signals])
    assert cond.shape == (2, 256)
    n = min(len(f) for f in frames)
    x = torch.from_numpy(np.stack([f[:n] for f in frames]))
    lengths = torch.tensor([n, n])
    c = torch.from_numpy(cond)
    outs = {k: pkg.net.decompose(x, lengths, c, k) for k in CONDITIONS}
    for k, y in outs.items():
        assert y.shape == (2, n, 80) and torch.all(torch.isfinite(y)), k
    assert not torch.allclose(outs["REC"], outs["NRFC"])
    torch.testing.assert_close(pkg.net.reconstruct(x, lengths, c), outs["REC"])
    swapped = pkg.net.decompose(x, lengths, c, swap={"timbre": (x.flip(0), lengths, c.flip(0))})
    torch.testing.assert_close(swapped, pkg.net.decompose(x, lengths, c.flip(0)))
