"""Checkpoint every epoch and resume after a SIGKILL: no epoch is redone, same final weights."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from serkit.errors import ConfigError
from serkit.models.checkpoints import read_progress
from serkit.models.data import SequenceDataset
from serkit.models.ddp_smoke import synthetic
from serkit.models.nets import build_net
from serkit.models.training import seed_everything, train_module

from ._synth import frames

EPOCHS = 6
SCRIPT = """
import json, sys, time
from pathlib import Path
import torch
torch.set_num_threads(1)
from serkit.models.data import PadCollate, SequenceDataset
from serkit.models.ddp_smoke import synthetic
from serkit.models.nets import build_net
from serkit.models.training import seed_everything, train_module

ckpt, out, tag, pause = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], float(sys.argv[4])
x, y = synthetic(24, 8, 0)
vx, vy = synthetic(8, 8, 1)
seed_everything(0)
net = build_net("cnn-attn", 8, 2, channels=8, blocks=2, attention_dim=4, dropout=0.3)

def on_epoch(entry):
    with open(out / f"epochs-{tag}.txt", "a") as handle:
        handle.write(f"{entry['epoch']}\\n")
    time.sleep(pause)

result = train_module(
    net, SequenceDataset(x, y), SequenceDataset(vx, vy), epochs=int(sys.argv[5]), batch_size=4,
    patience=None, scheduler="plateau", lr=3e-3, device="cpu",
    collate_fn=PadCollate(16, train=True, seed=0), checkpoint_dir=ckpt, on_epoch=on_epoch,
)
torch.save(net.state_dict(), out / f"final-{tag}.pt")
(out / f"result-{tag}.json").write_text(json.dumps(
    {"history": result.history, "resumed_from": result.resumed_from}))
"""


def _run(script: Path, ckpt: Path, out: Path, tag: str, pause: float) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    args = [sys.executable, str(script), str(ckpt), str(out), tag, str(pause), str(EPOCHS)]
    return subprocess.Popen(args, env=env, stderr=subprocess.PIPE)


def _epochs(out: Path, tag: str) -> list[int]:
    path = out / f"epochs-{tag}.txt"
    return [int(v) for v in path.read_text().split()] if path.exists() else []


def test_sigkill_then_resume_continues_and_matches_uninterrupted(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    out = tmp_path / "out"
    out.mkdir()
    # an uninterrupted reference run, and beside it the victim: slow epochs, killed once
    # epoch 2's checkpoint exists
    reference_run = _run(script, tmp_path / "ckpt-a", out, "a", pause=0.0)
    victim = _run(script, tmp_path / "ckpt-b", out, "b1", pause=1.0)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        progress = read_progress(tmp_path / "ckpt-b")
        if progress is not None and progress["epoch"] >= 2 or victim.poll() is not None:
            break
        time.sleep(0.05)
    assert victim.poll() is None, victim.stderr.read().decode()[-2000:]
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert not (out / "final-b1.pt").exists()
    killed_after = read_progress(tmp_path / "ckpt-b")["epoch"]
    assert 2 <= killed_after < EPOCHS
    # resume with the same checkpoint folder
    resumed_run = _run(script, tmp_path / "ckpt-b", out, "b2", pause=0.0)
    for proc in (reference_run, resumed_run):
        assert proc.wait(timeout=300) == 0, proc.stderr.read().decode()[-2000:]
    assert _epochs(out, "b2") == list(range(killed_after + 1, EPOCHS + 1))
    resumed = json.loads((out / "result-b2.json").read_text())
    reference = json.loads((out / "result-a.json").read_text())
    assert resumed["resumed_from"] == killed_after and reference["resumed_from"] is None
    assert [e["epoch"] for e in resumed["history"]] == list(range(1, EPOCHS + 1))
    for got, want in zip(resumed["history"], reference["history"], strict=True):
        assert got["train_loss"] == pytest.approx(want["train_loss"], rel=1e-6)
        assert got["val_loss"] == pytest.approx(want["val_loss"], rel=1e-6)
    a = torch.load(out / "final-a.pt")
    b = torch.load(out / "final-b2.pt")
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=1e-6, atol=1e-7)


def _tiny_training(tmp_path: Path, **kwargs):
    x, y = synthetic(12, 4, 0)
    seed_everything(0)
    net = build_net("cnn-attn", 4, 2, channels=4, blocks=1, attention_dim=4)
    seen: list[int] = []
    result = train_module(
        net,
        SequenceDataset(x, y),
        SequenceDataset(x[:4], y[:4]),
        batch_size=4,
        device="cpu",
        checkpoint_dir=tmp_path / "ckpt",
        on_epoch=lambda e: seen.append(e["epoch"]),
        **{"epochs": 2, **kwargs},
    )
    return net, result, seen


def test_finished_run_is_not_retrained_and_extending_epochs_continues(tmp_path):
    net1, first, seen1 = _tiny_training(tmp_path)
    assert seen1 == [1, 2] and read_progress(tmp_path / "ckpt") == {"epoch": 2, "done": True}
    net2, again, seen2 = _tiny_training(tmp_path)
    assert seen2 == [] and again.resumed_from == 2 and again.history == first.history
    for key, value in net1.state_dict().items():
        torch.testing.assert_close(net2.state_dict()[key], value)
    _, fresh, seen3 = _tiny_training(tmp_path, resume=False)
    assert seen3 == [1, 2] and fresh.resumed_from is None


def test_checkpoint_of_another_training_is_refused(tmp_path):
    _tiny_training(tmp_path)
    x, y = synthetic(10, 4, 0)
    net = build_net("cnn-attn", 4, 2, channels=4, blocks=1, attention_dim=4)
    with pytest.raises(ConfigError, match="different training"):
        train_module(net, SequenceDataset(x, y), None, epochs=2, checkpoint_dir=tmp_path / "ckpt")


def test_neural_classifier_resumes_from_its_checkpoint_dir(tmp_path):
    from serkit.models import get_model

    X, y, groups = frames(n=18)
    params = {
        "epochs": 2,
        "batch_size": 6,
        "device": "cpu",
        "checkpoint_dir": str(tmp_path / "c"),
        "net_params": {"channels": 4, "blocks": 1, "attention_dim": 4},
    }
    first = get_model("neural", **params).fit(X, y, groups)
    assert (tmp_path / "c" / "last.pt").exists()
    second = get_model("neural", **params).fit(X, y, groups)
    assert second.history_ == first.history_
    np.testing.assert_allclose(second.predict_proba(X), first.predict_proba(X), atol=1e-6)


def test_checkpoint_of_other_items_of_the_same_size_is_refused(tmp_path):
    """The fingerprint hashes the items: another fold of the same size cannot resume it."""
    _tiny_training(tmp_path)
    x, y = synthetic(12, 4, 1)  # same count and shapes as _tiny_training's, other values
    net = build_net("cnn-attn", 4, 2, channels=4, blocks=1, attention_dim=4)
    with pytest.raises(ConfigError, match="other training/validation items"):
        train_module(
            net,
            SequenceDataset(x, y),
            SequenceDataset(x[:4], y[:4]),
            epochs=2,
            batch_size=4,
            checkpoint_dir=tmp_path / "ckpt",
        )


def test_data_digest_depends_on_items_labels_and_order():
    from serkit.models.checkpoints import data_digest

    x, y = synthetic(6, 4, 0)
    base = data_digest(SequenceDataset(x, y))
    assert base == data_digest(SequenceDataset([a.copy() for a in x], y.copy()))
    assert base != data_digest(SequenceDataset(x, 1 - y))
    assert base != data_digest(SequenceDataset(x[::-1], y[::-1]))
    assert base != data_digest(SequenceDataset(x[:5], y[:5]))

    class Items(torch.utils.data.Dataset):  # no frames/labels attributes: hashed from items
        def __init__(self, labels):
            self.y = labels

        def __len__(self):
            return len(x)

        def __getitem__(self, i):
            return torch.from_numpy(x[i]), int(self.y[i])

    # the same items give the same digest by either path; other labels another
    assert data_digest(Items(y)) == base != data_digest(Items(1 - y))
