"""A SIGKILL in the middle of a ``speechflow`` pretraining: the run resumes after the last
finished epoch and ends with the weights of an uninterrupted run (the family draws its crops
and resampling segments from the torch RNG, which the checkpoint restores)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from tests.faults._cli import serkit_process, sigkill_after_epoch

EPOCHS = 15
CONFIG = f"""\
name: victim
data: {{manifests: [demo/manifests/ravdess.parquet], label_set: null, filter: {{mode: speech}}}}
features: {{store: features/}}
encoder:
  name: speechflow
  params: {{content_channels: 8, pitch_channels: 8, rhythm_channels: 8, group_size: 4,
           decoder_hidden: 8, decoder_layers: 1, pad_frames: 32, crop_min: 8, crop_max: 16,
           min_seg: 4, max_seg: 6, f0_bins: 16, samples_per_epoch: 2}}
condition: null
training: {{epochs: {EPOCHS}, batch_size: 4, lr: 0.002, seed: 0, num_threads: 1}}
latent_plots: []
"""


@pytest.fixture
def project(tmp_path) -> Path:
    from serkit.corpora import prepare
    from serkit.demo import make_corpus

    make_corpus(tmp_path / "demo" / "corpus", speakers=3, sentences=1, seed=0)
    prepare("ravdess", tmp_path / "demo" / "corpus", output=tmp_path / "demo" / "manifests")
    (tmp_path / "pre.yaml").write_text(CONFIG)
    return tmp_path


def test_sigkill_mid_speechflow_pretrain_resumes_and_matches_uninterrupted(project):
    out, err = serkit_process(project, "pretrain", "pre.yaml", "name=reference").communicate(
        timeout=300
    )
    assert f"epoch {EPOCHS}/{EPOCHS}" in out, err[-2000:]
    victim = serkit_process(project, "pretrain", "pre.yaml")
    folder = project / "runs" / "victim" / "checkpoints" / "all"
    killed_after = sigkill_after_epoch(victim, folder, 2)
    assert killed_after is not None and 2 <= killed_after < EPOCHS
    assert not (project / "runs" / "victim" / "encoder").exists()  # no half package

    out, err = serkit_process(project, "pretrain", "pre.yaml").communicate(timeout=300)
    assert "resuming after epoch" in out, err[-2000:]
    assert "epoch 1/" not in out
    got = torch.load(project / "runs/victim/encoder/weights.pt", weights_only=True)
    want = torch.load(project / "runs/reference/encoder/weights.pt", weights_only=True)
    assert got.keys() == want.keys()
    for key in want:
        torch.testing.assert_close(got[key], want[key], rtol=0, atol=1e-6)
    meta = json.loads((project / "runs/victim/encoder/encoder.json").read_text())
    assert [h["epoch"] for h in meta["history"]] == list(range(1, EPOCHS + 1))
