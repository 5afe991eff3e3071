"""``serkit pretrain`` -> ``serkit train`` with ``features: {name: encoder}`` on the demo corpus,
with the example configs of ``configs/pretrain/`` (a VAE for every fold: transductive; one
GE2E encoder per fold: speaker-disjoint), and the pretrain run folder it writes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

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


def test_serkit_list_encoders_names_every_family(capsys, monkeypatch):
    from serkit.encoders import list_encoders

    code, out, err = serkit(["list", "encoders"], capsys, monkeypatch)
    assert code == 0 and out.split() == list_encoders() and "vae" in out.split()
