"""``kill -9`` of ``serkit train`` mid-epoch, then the same command again.

The re-run reads the finished fold back, resumes the unfinished fold from its checkpoint
folder (``<run>/checkpoints/<seed>-<fold>/``) after the last finished epoch, and ends with the
predictions of an uninterrupted run.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from tests.faults._cli import read_progress, serkit_process, sigkill_when

EPOCHS = 20
CONFIG = f"""\
name: victim
data: {{manifests: [demo/manifests/ravdess.parquet], label_set: null, filter: {{mode: speech}}}}
features: {{name: logmel, params: {{preset: acrnn}}, store: features/}}
model:
  name: neural
  params:
    net: cnn-attn
    net_params: {{channels: 8, blocks: 2, attention_dim: 8, dropout: 0.2}}
    epochs: {EPOCHS}
    batch_size: 16
    lr: 0.003
    patience: null
    num_threads: 1
    device: cpu
protocol: {{name: speaker-kfold, params: {{k: 2, seed: 0}}, disjoint: [speaker]}}
bootstrap: {{reps: 50}}
final_model: false
"""


@pytest.fixture
def project(tmp_path) -> Path:
    from serkit.corpora import prepare
    from serkit.demo import make_corpus

    make_corpus(tmp_path / "demo" / "corpus", speakers=4, sentences=1, seed=0)
    prepare("ravdess", tmp_path / "demo" / "corpus", output=tmp_path / "demo" / "manifests")
    (tmp_path / "exp.yaml").write_text(CONFIG)
    return tmp_path


def _train(project: Path, *overrides: str) -> subprocess.Popen:
    return serkit_process(project, "train", "exp.yaml", *overrides)


def test_sigkill_mid_fold_resumes_at_last_epoch_and_matches_uninterrupted(project):
    from serkit import features, manifest

    # the features once, so that the two runs below only read the store
    rows = manifest.read(project / "demo" / "manifests" / "ravdess.parquet")
    logmel = features.get_extractor("logmel", preset="acrnn")
    features.extract(rows, logmel, project / "features", progress=False)
    reference = _train(project, "name=reference")
    victim = _train(project)
    folder = project / "runs" / "victim" / "checkpoints" / "0-fold1"  # the second fold

    def mid_fold() -> bool:
        progress = read_progress(folder)
        return progress is not None and progress["epoch"] >= 1 and not progress["done"]

    sigkill_when(victim, mid_fold)
    killed_after = read_progress(folder)["epoch"]
    assert 1 <= killed_after < EPOCHS
    # the checkpoint itself (progress.json is written just after it)
    saved_epoch = torch.load(folder / "last.pt", weights_only=True)["epoch"]
    assert saved_epoch in (killed_after, killed_after + 1)
    run = project / "runs" / "victim"
    assert not (run / "predictions.parquet").exists()
    assert (run / "partial" / "seed0__0000.parquet").exists()  # fold 0 was finished
    assert not (run / "checkpoints" / "0-fold0").exists()  # and its checkpoints deleted

    resumed = _train(project)
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err[-3000:]
    assert "fold fold0" in out and "(cached)" in out
    assert f"fold fold1: resuming from {Path('runs/victim/checkpoints/0-fold1')}" in out
    assert f"after epoch {killed_after}" in out
    # it trained only the epochs after the checkpoint, in the resumed process
    info = json.loads((run / "partial" / "seed0__0001.json").read_text())
    assert info["resumed_from"] == saved_epoch
    ref_out, ref_err = reference.communicate(timeout=300)
    assert reference.returncode == 0, ref_err[-3000:]
    assert "resuming" not in ref_out
    ref_info = project / "runs" / "reference" / "partial" / "seed0__0001.json"
    assert json.loads(ref_info.read_text())["resumed_from"] is None
    assert not (run / "checkpoints").exists()

    got = pd.read_parquet(run / "predictions.parquet")
    want = pd.read_parquet(project / "runs" / "reference" / "predictions.parquet")
    assert got[["id", "fold", "true", "pred"]].equals(want[["id", "fold", "true", "pred"]])
    probs = [c for c in want.columns if c.startswith("prob_")]
    np.testing.assert_allclose(got[probs].to_numpy(), want[probs].to_numpy(), atol=1e-6)
    history = json.loads((run / "history.json").read_text())
    assert [len(h["history"]) for h in history] == [EPOCHS, EPOCHS]
