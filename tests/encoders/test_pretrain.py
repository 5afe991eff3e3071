"""``serkit pretrain`` -> ``serkit train`` with ``features: {name: encoder}`` on the demo corpus,
with the example configs of ``configs/pretrain/`` (a VAE for every fold: transductive; one
GE2E encoder per fold: speaker-disjoint), and the pretrain run folder it writes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.faults._cli import serkit

from serkit.encoders.config import load_pretrain_config
from serkit.encoders.package import encoder_folders, load_encoder

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "pretrain"


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    from serkit.corpora import prepare
    from serkit.demo import make_corpus

    root = tmp_path_factory.mktemp("pretrain")
    make_corpus(root / "demo" / "corpus", speakers=4, sentences=1, seed=0)
    prepare("ravdess", root / "demo" / "corpus", output=root / "demo" / "manifests")
    for path in CONFIGS.glob("*.yaml"):
        shutil.copy(path, root / path.name)
    return root


def test_the_pretrain_configs_validate():
    for path in sorted(CONFIGS.glob("demo_*.yaml")):
        if "probe" not in path.stem:
            assert load_pretrain_config(path)["name"] == path.stem


def test_vae_pretrain_then_linear_probe(project, capsys, monkeypatch):
    monkeypatch.chdir(project)
    code, out, err = serkit(["pretrain", "demo_vae.yaml", "training.epochs=2"], capsys, monkeypatch)
    assert code == 0, err
    run = project / "runs" / "demo_vae"
    assert "epoch 2/2" in out and f"run folder: {Path('runs') / 'demo_vae'}" in out
    pkg = load_encoder(run)
    manifest = pd.read_parquet(project / "demo" / "manifests" / "ravdess.parquet")
    assert pkg.family == "vae" and not pkg.uses_labels and pkg.classes == []
    assert pkg.speakers == set(manifest["speaker"]) and len(pkg.ids) == len(manifest)
    history = json.loads((run / "history.json").read_text())
    assert [h["epoch"] for h in history[0]["history"]] == [1, 2]
    report = (run / "report.md").read_text()
    assert "## Loss curves" in report and (run / "plots" / "loss_kl.png").is_file()
    assert not (run / "checkpoints").exists()

    code, out, err = serkit(["train", "demo_probe_vae.yaml"], capsys, monkeypatch)
    assert code == 0, err
    probe = project / "runs" / "demo_probe_vae"
    cert = json.loads((probe / "dataset.json").read_text())["certification"]
    assert cert["encoder"]["status"] == "transductive" and cert["transductive"] is True
    assert "TRANSDUCTIVE encoder: 'vae'" in (probe / "report.md").read_text()
    features = json.loads((probe / "dataset.json").read_text())["features"]
    assert features["frontend"]["extractor"]["params"]["package_key"] == pkg.key()
    assert features["dim"] == pkg.params["latent"]

    # the same command again: encoder kept (nothing retrained), probe cached
    code, out, err = serkit(["pretrain", "demo_vae.yaml", "training.epochs=2"], capsys, monkeypatch)
    assert code == 0 and "encoder already written" in out and "epoch 1/2" not in out


def test_per_fold_ge2e_encoders_give_each_fold_its_own(project, capsys, monkeypatch):
    monkeypatch.chdir(project)
    args = ["pretrain", "demo_ge2e_folds.yaml", "training.epochs=2", "latent_plots=[]"]
    code, out, err = serkit(args, capsys, monkeypatch)
    assert code == 0, err
    folders = encoder_folders(project / "runs" / "demo_ge2e_folds")
    assert list(folders) == ["fold0", "fold1"]
    packages = {name: load_encoder(folder) for name, folder in folders.items()}
    assert all(p.uses_labels and p.family == "ge2e" for p in packages.values())
    assert packages["fold0"].speakers.isdisjoint(packages["fold1"].speakers)

    code, out, err = serkit(["train", "demo_probe_ge2e_folds.yaml"], capsys, monkeypatch)
    assert code == 0, err
    probe = project / "runs" / "demo_probe_ge2e_folds"
    cert = json.loads((probe / "dataset.json").read_text())["certification"]
    assert cert["encoder"]["status"] == "speaker-disjoint"
    assert cert["encoder"]["assignment"] == {"fold0": "fold0", "fold1": "fold1"}
    folds = pd.read_csv(probe / "folds.csv")
    manifest = pd.read_parquet(project / "demo" / "manifests" / "ravdess.parquet")
    speaker = dict(zip(manifest["id"], manifest["speaker"], strict=True))
    for name, pkg in packages.items():
        rows = folds[(folds["fold"] == name) & (folds["role"] == "test")]["id"]
        test = {speaker[i] for i in rows}
        assert test and test.isdisjoint(pkg.speakers)
    assert "fold fold1: features of the encoder trained for fold fold1" in out

    # one package for every fold: a labelled encoder that heard test speakers is refused
    code, out, err = serkit(
        ["train", "demo_probe_ge2e_folds.yaml", "features.params.fold=fold0", "name=leaky"],
        capsys,
        monkeypatch,
    )
    assert code != 0 and "WITH labels on test speaker(s)" in err
    assert not (project / "runs" / "leaky" / "predictions.parquet").exists()


def test_vae_pretrain_with_validation_speakers_keeps_the_best_epoch(project, capsys, monkeypatch):
    import torch

    from serkit.experiment.data import load_features
    from serkit.models.data import Normalizer

    monkeypatch.chdir(project)
    held = "ravdess/Actor_02"
    common = ["latent_plots=[]", "training.lr=0.01", f"training.validation={{speakers: [{held}]}}"]
    args = ["pretrain", "demo_vae.yaml", "name=vae_val", "training.epochs=8", "training.patience=2"]
    code, out, err = serkit([*args, *common], capsys, monkeypatch)
    assert code == 0, err
    assert f"validation on 18 rows of 1 speaker(s) ({held})" in out and "val_loss" in out
    run = project / "runs" / "vae_val"
    meta = json.loads((run / "encoder" / "encoder.json").read_text())
    val, history = meta["extra"]["validation"], meta["history"]
    losses = [h["val_loss"] for h in history]
    assert val["speakers"] == [held] and val["rows"] == 18 and val["patience"] == 2
    assert val["best_epoch"] == 1 + int(np.argmin(losses)) and val["best_val_loss"] == min(losses)
    assert val["epochs_run"] == len(history) and len(history) <= 8
    assert val["stopped_early"] == (len(history) < 8)
    if val["stopped_early"]:
        assert len(history) == val["best_epoch"] + 2
    assert f"keeping the weights of epoch {val['best_epoch']}" in out
    # the validation speaker was heard: in the package's speakers (what the certificate reads)
    manifest = pd.read_parquet(project / "demo" / "manifests" / "ravdess.parquet")
    held_ids = sorted(manifest[manifest["speaker"] == held]["id"])
    assert meta["validation_ids"] == held_ids and meta["validation_speakers"] == [held]
    assert set(meta["ids"]) == set(manifest["id"]) and held in meta["speakers"]
    # the input normalisation is the training rows' only
    cfg = load_pretrain_config(project / "demo_vae.yaml")
    df, _, fs = load_features(manifest, {**cfg["features"], "store": str(project / "features")})
    train = [np.asarray(f) for f, s in zip(fs.frames, df["speaker"], strict=True) if s != held]
    mean = Normalizer().fit(train).to_dict()["mean"]
    np.testing.assert_allclose(meta["norm"]["mean"], mean, rtol=1e-5, atol=1e-5)
    report = (run / "report.md").read_text()
    assert "best epoch" in report and held in report and "leakage certificate" in report
    history_json = json.loads((run / "history.json").read_text())
    assert history_json[0]["validation"]["best_epoch"] == val["best_epoch"]

    # the package holds the best epoch's weights: those of the same run stopped there
    best = val["best_epoch"]
    ref = ["pretrain", "demo_vae.yaml", "name=vae_ref", f"training.epochs={best}", *common]
    assert serkit(ref, capsys, monkeypatch)[0] == 0
    got = torch.load(run / "encoder" / "weights.pt", weights_only=True)
    want = torch.load(project / "runs" / "vae_ref" / "encoder" / "weights.pt", weights_only=True)
    assert got.keys() == want.keys()
    for key in want:
        torch.testing.assert_close(got[key], want[key], rtol=0, atol=0)

    # the finished (possibly early-stopped) run again: kept, nothing retrained
    code, out, err = serkit([*args, *common], capsys, monkeypatch)
    assert code == 0 and "encoder already written" in out and "epoch 1/" not in out


def test_per_fold_labelled_encoders_validate_on_labelled_rows(project, capsys, monkeypatch):
    monkeypatch.chdir(project)
    args = ["pretrain", "demo_ge2e_folds.yaml", "name=ge2e_val", "training.epochs=2"]
    # leave one speaker out: 3 training speakers per fold (the holdout rule keeps two)
    args += ["latent_plots=[]", "folds.protocol={name: loso}"]
    args += ["training.validation={fraction: 0.2, seed: 0}"]
    code, out, err = serkit(args, capsys, monkeypatch)
    assert code == 0, err
    folders = encoder_folders(project / "runs" / "ge2e_val")
    # fold names are speaker ids ("corpus/speaker"): one folder level each, read back whole
    assert sorted(folders) == [f"ravdess/Actor_0{i}" for i in range(1, 5)]
    assert all(f.parent == project / "runs" / "ge2e_val" / "encoder" for f in folders.values())
    for folder in folders.values():
        meta = json.loads((folder / "encoder.json").read_text())
        held = meta["validation_speakers"]
        assert len(held) == 1 and held[0] in meta["speakers"] and len(meta["speakers"]) == 3
        assert all(np.isfinite(h["val_loss"]) for h in meta["history"])
        assert meta["extra"]["validation"]["best_epoch"] in (1, 2)
    # a named speaker that is a test speaker of one fold is not among its training speakers
    bad = [*args[:2], "name=ge2e_bad", "training.validation={speakers: [ravdess/Actor_01]}"]
    code, out, err = serkit(bad, capsys, monkeypatch)
    assert code != 0 and "ravdess/Actor_01 not among the training speakers of fold" in err


def test_serkit_list_encoders_names_every_family(capsys, monkeypatch):
    from serkit.encoders import list_encoders

    code, out, err = serkit(["list", "encoders"], capsys, monkeypatch)
    assert code == 0 and out.split() == list_encoders() and "vae" in out.split()


def test_cola_pretrain_then_dcnn_blstmwa_from_its_alexnet(project, capsys, monkeypatch):
    """Label-free AlexNet pretraining -> DCNN-BLSTMwA starting from it: the run's certificate
    says transductive (the package heard every demo speaker), and an AlexNet of another layout
    is refused before any fold trains, naming the setting."""
    monkeypatch.chdir(project)
    shutil.copy(CONFIGS.parent / "demo_dcnn.yaml", project / "demo_dcnn.yaml")
    code, out, err = serkit(["pretrain", "demo_cola.yaml"], capsys, monkeypatch)
    assert code == 0, err
    assert "epoch 3/3" in out and "accuracy" in out
    assert load_encoder(project / "runs" / "demo_cola").family == "cola-alexnet"
    args = ["train", "demo_dcnn.yaml", "model.params.net_params.pretrained_path=runs/demo_cola"]
    code, out, err = serkit([*args, "name=dcnn_cola", "final_model=false"], capsys, monkeypatch)
    assert code == 0, err
    info = json.loads((project / "runs" / "dcnn_cola" / "dataset.json").read_text())
    assert "transductive" in info["certification"]["statement"].lower()
    bad = [*args, "name=dcnn_bn", "model.params.net_params.alexnet_params.batch_norm=true"]
    code, out, err = serkit(bad, capsys, monkeypatch)
    assert code != 0 and "batch_norm: package False, net True" in err
