"""``serkit pretrain`` (configs/pretrain/speechflow_demo.yaml) -> ``serkit study decomposition``
on two small synthetic corpora, then ``serkit explain`` and ``serkit decompose``.

SpeechFlow is pretrained on the second corpus only, so the inside-corpus cells (first corpus,
speaker folds) are certified speaker-disjoint and the across cells (train on the first, test on
the second) TRANSDUCTIVE: the leakage certificate covers the ``speechflow`` extractor.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml
from tests.faults._cli import serkit

ROOT = Path(__file__).resolve().parents[2]
EMOTIONS = ("neutral", "angry", "sad")


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    pytest.importorskip("serkit.encoders.speechflow")
    from serkit.corpora import prepare
    from serkit.demo import make_corpus

    root = tmp_path_factory.mktemp("study")
    small = {"sentences": 1, "repetitions": 1, "emotions": EMOTIONS}
    make_corpus(root / "demo" / "corpus", speakers=4, seed=0, **small)
    prepare("ravdess", root / "demo" / "corpus", output=root / "demo" / "manifests")
    other = make_corpus(root / "other_src", speakers=2, seed=7, **small)
    src = prepare("ravdess", other.root)
    for path, emotion, speaker in zip(src["path"], src["emotion"], src["speaker"], strict=True):
        target = root / "other" / emotion / speaker.split("/")[-1] / Path(path).name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(other.root / path, target)
    prepare("folder", root / "other", output=root / "demo" / "manifests", name="other")
    pretrain = yaml.safe_load((ROOT / "configs" / "pretrain" / "speechflow_demo.yaml").read_text())
    pretrain["data"] = {"manifests": ["demo/manifests/other.parquet"]}
    pretrain["training"]["epochs"] = 1
    (root / "pretrain.yaml").write_text(yaml.safe_dump(pretrain))
    study = yaml.safe_load((ROOT / "configs" / "studies" / "decomposition_demo.yaml").read_text())
    study.update(
        encoder="runs/speechflow_demo",
        conditions=["REC", "NR"],
        corpora={
            "ravdess": ["demo/manifests/ravdess.parquet"],
            "other": ["demo/manifests/other.parquet"],
        },
        inside=[{"corpus": "ravdess", "protocol": {"name": "speaker-kfold", "params": {"k": 2}}}],
        across=[{"train": "ravdess", "test": "other"}],
        explain={"limit": 3},
        bootstrap={"reps": 50},
    )
    study["model"]["params"].update(epochs=1, segment_frames=16, segment_hop=8)
    (root / "study.yaml").write_text(yaml.safe_dump(study))
    return root


def test_pretrain_then_study_then_explain_and_decompose(project, capsys, monkeypatch):
    monkeypatch.chdir(project)
    code, out, err = serkit(["pretrain", "pretrain.yaml"], capsys, monkeypatch)
    assert code == 0, err

    code, out, err = serkit(["study", "decomposition", "study.yaml"], capsys, monkeypatch)
    assert code == 0, err
    folder = project / "runs" / "decomposition_demo"
    table = pd.read_csv(folder / "table.csv")
    scopes = {"ravdess": "speaker-disjoint", "ravdess_to_other": "transductive"}
    assert sorted(table["scope"].unique()) == sorted(scopes)
    for scope, status in scopes.items():
        part = table[table["scope"] == scope]
        assert part["condition"].tolist() == ["REC", "NR", "RAW"]
        assert set(part["certificate"]) == {status}
        assert part["delta_rec"].iloc[0] == 0.0
        assert np.allclose(part["uar"] - part["uar"].iloc[0], part["delta_rec"])
    across = table[table["scope"] == "ravdess_to_other"]
    assert {frozenset(c.split(",")) for c in across["classes"]} == {frozenset(EMOTIONS)}
    assert (
        across["n_test"] == len(pd.read_parquet(project / "demo/manifests/other.parquet"))
    ).all()
    for run in table["run"]:  # every cell is an ordinary run with its certificate
        ds = json.loads((Path(run) / "dataset.json").read_text())
        assert ds["features"]["frontend"]["extractor"]["name"] == "speechflow"
        assert ds["certification"]["encoder"]["family"] == "speechflow"
    report = (folder / "report.md").read_text()
    assert "TRANSDUCTIVE encoder: 'speechflow'" in report
    assert "ravdess_to_other (across)" in report and "NR (rhythm)" in report
    assert (folder / "uar.png").stat().st_size > 1000
    assert "<img alt='UAR per condition'" in (folder / "report.html").read_text()
    explained = pd.read_csv(folder / "explain" / "ravdess_to_other.csv")
    assert len(explained) == 3 and explained["id"].str.startswith("other/").all()
    assert {"delta_NR", "delta_NF", "delta_NC", "delta_NU"} <= set(explained.columns)

    code, out, err = serkit(["study", "decomposition", "study.yaml"], capsys, monkeypatch)
    assert code == 0, err  # a second start: every fold and final model read back, not refitted
    assert "(cached)" in out and " s)" not in out.replace("(cached)", "")
    assert "refitted" not in out

    rec = folder / "runs" / "decomposition_demo.ravdess.REC"
    wavs = sorted((project / "other").rglob("*.wav"))[:2]
    code, out, err = serkit(
        ["explain", rec, *wavs, "-c", "NR,NRF", "-o", "exp"], capsys, monkeypatch
    )
    assert code == 0, err
    result = pd.read_csv(project / "exp" / "explain.csv")
    assert len(result) == 2 and {"p_REC", "p_NR", "delta_NRF", "pred_NR"} <= set(result.columns)
    assert np.allclose(result["p_NR"] - result["p_REC"], result["delta_NR"])
    assert result["p_REC"].between(0, 1).all()

    args = ["decompose", "runs/speechflow_demo", wavs[0], "-c", "REC,NR", "-o", "dc"]
    code, out, err = serkit(
        [*args, "--swap", "timbre", "--swap-with", wavs[1]], capsys, monkeypatch
    )
    assert code == 0, err
    index = json.loads((project / "dc" / "decompose.json").read_text())
    renders = index["files"][0]["renders"]
    assert [r["kind"] for r in renders] == ["input", "REC", "NR"]
    mels = [np.load(project / "dc" / r["npy"]) for r in renders]
    assert all(m.shape == (renders[0]["frames"], 80) for m in mels)
    wave, rate = sf.read(project / "dc" / renders[2]["wav"])
    assert rate == 16000 and wave.ndim == 1 and np.abs(wave).max() > 0
