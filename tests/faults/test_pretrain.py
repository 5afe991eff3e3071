"""Fault cases of ``serkit pretrain`` and of experiments on encoder features: a kill mid-epoch
resumes after the last finished epoch with the weights of an uninterrupted run; bad configs,
folders of another config, damaged packages and leaky encoders end in one error paragraph."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import torch
from tests.faults._cli import one_error, serkit, serkit_process, sigkill_after_epoch

EPOCHS = 40
CONFIG = f"""\
name: victim
data: {{manifests: [demo/manifests/ravdess.parquet], label_set: null, filter: {{mode: speech}}}}
features: {{store: features/}}
encoder:
  name: vae
  params: {{channels: [8, 8], hidden: 16, latent: 4, segment_frames: 16, crop_step: 8}}
training: {{epochs: {EPOCHS}, batch_size: 8, lr: 0.001, seed: 0, num_threads: 1}}
latent_plots: []
"""
PROBE = """\
name: probe
data: {manifests: [demo/manifests/ravdess.parquet], label_set: null, filter: {mode: speech}}
features: {name: encoder, params: {path: runs/victim}, store: features/}
model: {name: logreg}
protocol: {name: speaker-kfold, params: {k: 2}}
bootstrap: {reps: 20}
final_model: false
"""


@pytest.fixture
def project(tmp_path) -> Path:
    from serkit.corpora import prepare
    from serkit.demo import make_corpus

    make_corpus(tmp_path / "demo" / "corpus", speakers=4, sentences=1, seed=0)
    prepare("ravdess", tmp_path / "demo" / "corpus", output=tmp_path / "demo" / "manifests")
    (tmp_path / "pre.yaml").write_text(CONFIG)
    (tmp_path / "probe.yaml").write_text(PROBE)
    return tmp_path


def _pretrain(project: Path, *overrides: str) -> subprocess.Popen:
    return serkit_process(project, "pretrain", "pre.yaml", *overrides)


def test_sigkill_mid_pretrain_resumes_and_matches_uninterrupted(project):
    out, err = _pretrain(project, "name=reference").communicate(timeout=300)
    assert "epoch 1/" in out, err[-2000:]
    victim = _pretrain(project)
    folder = project / "runs" / "victim" / "checkpoints" / "all"
    killed_after = sigkill_after_epoch(victim, folder, 2)
    assert 2 <= killed_after < EPOCHS
    assert not (project / "runs" / "victim" / "encoder").exists()  # no half package

    out, err = _pretrain(project).communicate(timeout=300)
    assert "resuming after epoch" in out, err[-2000:]
    assert "epoch 1/" not in out  # only the epochs after the checkpoint
    assert not folder.exists()
    got = torch.load(project / "runs/victim/encoder/weights.pt", weights_only=True)
    want = torch.load(project / "runs/reference/encoder/weights.pt", weights_only=True)
    assert got.keys() == want.keys()
    for key in want:
        torch.testing.assert_close(got[key], want[key], rtol=0, atol=1e-6)
    meta = json.loads((project / "runs/victim/encoder/encoder.json").read_text())
    assert [h["epoch"] for h in meta["history"]] == list(range(1, EPOCHS + 1))


def test_stopped_pretrain_resumes_in_process(project, monkeypatch):
    from serkit.encoders.config import load_pretrain_config
    from serkit.encoders.pretrain import pretrain

    monkeypatch.chdir(project)
    cfg = load_pretrain_config("pre.yaml", ["training.epochs=3"])
    lines: list[str] = []
    run = pretrain(cfg, log=lines.append, stop_after_epochs=2)
    assert not (run / "encoder").exists() and (run / "checkpoints" / "all" / "last.pt").exists()
    pretrain(cfg, log=lines.append)
    assert any("resuming after epoch 2" in line for line in lines)
    assert (run / "encoder" / "encoder.json").is_file() and (run / "report.md").is_file()


def test_stopped_early_stopping_pretrain_resumes_to_the_uninterrupted_result(project, monkeypatch):
    from serkit.encoders.config import load_pretrain_config
    from serkit.encoders.pretrain import pretrain

    monkeypatch.chdir(project)
    over = ["training.epochs=8", "training.patience=2", "training.lr=0.1"]
    over += ["training.validation={fraction: 0.25, seed: 1}"]
    want = pretrain(load_pretrain_config("pre.yaml", [*over, "name=whole"]))
    cfg = load_pretrain_config("pre.yaml", over)
    lines: list[str] = []
    run = pretrain(cfg, log=lines.append, stop_after_epochs=2)
    state = torch.load(run / "checkpoints" / "all" / "last.pt", weights_only=True)
    assert {"best_state", "best_epoch", "bad_epochs", "stopped_early"} <= set(state)
    run = pretrain(cfg, log=lines.append, stop_after_epochs=1)
    run = pretrain(cfg, log=lines.append)
    assert any("resuming after epoch 3" in line for line in lines)
    got_meta = json.loads((run / "encoder" / "encoder.json").read_text())
    want_meta = json.loads((want / "encoder" / "encoder.json").read_text())
    drop = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]  # noqa: E731
    assert drop(got_meta["history"]) == drop(want_meta["history"])
    assert got_meta["validation_speakers"] == want_meta["validation_speakers"]
    for key in ("best_epoch", "epochs_run", "stopped_early", "speakers", "best_val_loss"):
        assert got_meta["extra"]["validation"][key] == want_meta["extra"]["validation"][key]
    val = got_meta["extra"]["validation"]  # this run stops early, after the interruptions
    assert val["stopped_early"] and 3 < val["epochs_run"] < 8 and val["best_epoch"] > 2
    got = torch.load(run / "encoder" / "weights.pt", weights_only=True)
    ref = torch.load(want / "encoder" / "weights.pt", weights_only=True)
    for key in ref:
        torch.testing.assert_close(got[key], ref[key], rtol=0, atol=0)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["training.patience=5"], "training.patience needs training.validation"),
        (["training.validation={fraction: 2}"], r"fraction must be a number in (0, 1)"),
        (
            ["training.validation={speakers: [ravdess/Actor_09]}"],
            "ravdess/Actor_09 not among the training speakers of the training rows "
            "(ravdess/Actor_01, ravdess/Actor_02, ravdess/Actor_03, ravdess/Actor_04)",
        ),
        (["training.validation={speakers: [ravdess/Actor_01], sed: 1}"], "did you mean"),
        (["data.exclude_speakers=[ravdess/Actor_9]"], "ravdess/Actor_9 not among the rows"),
        (["features.name=egemaps"], "encoders train on frame-level features"),
        (["encoder.name=ge2e", "condition=speaker"], "cannot be conditioned on 'speaker'"),
        (["training.epoch=3"], "did you mean training.epochs"),
        (["training.lr=0"], "training.lr must be > 0"),
        (["encoder.preset=huge"], "has no preset 'huge'"),
        (
            ["folds={protocol: {name: speaker-kfold, params: {k: 9}}}"],
            "folds.protocol: protocol 'speaker-kfold' with k=9 needs 2 <= k <= number of "
            "speakers (4); lower folds.protocol.params.k",
        ),
        (["condition=face"], "condition must be null or one of speaker"),
    ],
)
def test_bad_pretrain_configs_are_refused_before_training(
    project, capsys, monkeypatch, overrides, expected
):
    monkeypatch.chdir(project)
    code, out, err = serkit(["pretrain", "pre.yaml", *overrides], capsys, monkeypatch)
    message = one_error(code, out, err)
    assert expected in message
    assert not (project / "runs" / "victim" / "encoder").exists()


def test_dry_run_writes_nothing(project, capsys, monkeypatch):
    monkeypatch.chdir(project)
    code, out, err = serkit(["pretrain", "pre.yaml", "--dry-run"], capsys, monkeypatch)
    assert code == 0 and "encoder all: 72 rows, 4 speakers" in out, err
    assert not (project / "runs").exists() and not (project / "features").exists()


def test_another_config_in_the_same_run_folder_is_refused(project, capsys, monkeypatch):
    monkeypatch.chdir(project)
    assert serkit(["pretrain", "pre.yaml", "training.epochs=1"], capsys, monkeypatch)[0] == 0
    code, out, err = serkit(["pretrain", "pre.yaml", "training.epochs=2"], capsys, monkeypatch)
    assert "holds an encoder of a different pretrain config" in one_error(code, out, err)
    assert "--overwrite" in err
    args = ["pretrain", "pre.yaml", "training.epochs=2", "--overwrite"]
    assert serkit(args, capsys, monkeypatch)[0] == 0


def test_experiments_refuse_damaged_or_missing_packages(project, capsys, monkeypatch):
    monkeypatch.chdir(project)
    code, out, err = serkit(["train", "probe.yaml"], capsys, monkeypatch)
    assert "not an encoder package" in one_error(code, out, err)
    assert serkit(["pretrain", "pre.yaml", "training.epochs=1"], capsys, monkeypatch)[0] == 0
    weights = project / "runs" / "victim" / "encoder" / "weights.pt"
    weights.write_bytes(weights.read_bytes()[:-100])  # truncated
    code, out, err = serkit(["train", "probe.yaml"], capsys, monkeypatch)
    message = one_error(code, out, err)
    assert "weights.pt: SHA-256" in message and "does not match" in message
