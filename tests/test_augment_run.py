"""Per-fold augmentation inside the runner (config ``augment``) on the demo corpus.

A tiny augmenter registered here (``test-shift``: every source vector moved from the source
mean to each class mean of the training rows) stands in for the CycleGAN, so these runs take
seconds; ``test_cyclegan_end_to_end`` runs the real one with its ``test_params()``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from serkit import experiment, manifest
from serkit.augment import register_augmenter
from serkit.augment.base import Augmenter, Synthetic
from serkit.errors import ConfigError, ProtocolError
from serkit.models import register_model
from serkit.models.classic import LogRegClassifier


@register_augmenter("test-shift")
class ShiftAugmenter(Augmenter):
    """Source vectors shifted from the source mean to each training class mean."""

    def __init__(self, scale: float = 1.0, seen: str = "") -> None:
        self.scale = scale
        self.seen = seen  # a file that records the ids-free shape of every fit

    def fit(self, X, y, X_source, *, groups=None, seed=0):
        self.classes_ = sorted(set(map(str, y)))
        self.means_ = {c: X[y == c].mean(axis=0) for c in self.classes_}
        self.source_mean_ = X_source.mean(axis=0)
        if self.seen:
            with open(self.seen, "a") as handle:
                handle.write(json.dumps({"n": len(y), "sum": float(X.sum())}) + "\n")
        self.fit_summary_ = {"classes": self.classes_}
        return self

    def generate(self, X_source):
        m = len(X_source)
        parts = [X_source - self.source_mean_ + self.scale * self.means_[c] for c in self.classes_]
        return Synthetic(
            np.concatenate(parts).astype(np.float32),
            np.repeat(self.classes_, m),
            np.tile(np.arange(m), len(self.classes_)),
        )


@register_augmenter("test-copy")
class CopyAugmenter(Augmenter):
    """Source vectors unchanged, labelled with the first training class (a leak detector)."""

    def fit(self, X, y, X_source, *, groups=None, seed=0):
        self.label_ = sorted(set(map(str, y)))[0]
        return self

    def generate(self, X_source):
        m = len(X_source)
        return Synthetic(X_source.astype(np.float32), np.repeat(self.label_, m), np.arange(m))


@register_model("test-sized-logreg")
class SizedLogReg(LogRegClassifier):
    """Logistic regression that appends its training set's size and labels to ``counter``."""

    def __init__(self, C=1.0, class_weight="balanced", max_iter=2000, seed=0, counter=""):
        super().__init__(C=C, class_weight=class_weight, max_iter=max_iter, seed=seed)
        self.counter = counter

    def fit(self, X, y, groups=None):
        if self.counter:
            with open(self.counter, "a") as handle:
                handle.write(json.dumps({"n": len(y), "groups": sorted(set(groups))}) + "\n")
        return super().fit(X, y, groups)


@pytest.fixture(scope="module")
def corpora(tmp_path_factory) -> dict[str, Path]:
    """The demo corpus (4 speakers, 4 emotions) and a source corpus (another demo corpus
    prepared with the ``folder`` recipe: corpus ``folder``, labels unused)."""
    from serkit.corpora import prepare
    from serkit.demo import make_corpus

    root = tmp_path_factory.mktemp("augment")
    emotions = ("neutral", "happy", "sad", "angry")
    make_corpus(root / "data", speakers=4, sentences=1, repetitions=1, emotions=emotions)
    prepare("ravdess", root / "data", output=root / "manifests")
    make_corpus(root / "source", speakers=2, sentences=1, repetitions=1, emotions=emotions, seed=7)
    prepare("folder", root / "source", output=root / "manifests")
    return {
        "data": root / "manifests" / "ravdess.parquet",
        "source": root / "manifests" / "folder.parquet",
        "store": root / "features",
    }


def config(corpora: dict[str, Path], tmp: Path, **augment) -> dict:
    cfg = {
        "name": "aug",
        "data": {"manifests": [str(corpora["data"])], "label_set": "four_class"},
        "features": {"name": "mfcc-stats", "params": {"n_mfcc": 8}, "store": str(corpora["store"])},
        "model": {"name": "logreg"},
        "protocol": {"name": "loso"},
        "bootstrap": {"reps": 20},
        "final_model": False,
        "output": str(tmp / "runs"),
    }
    cfg["augment"] = {"name": "test-shift", "source": [str(corpora["source"])], **augment}
    return cfg


def _json(path: Path):
    return json.loads(path.read_text())


def test_augmented_run_records_and_certifies_synthetic_rows(corpora, tmp_path):
    lines = []
    run_dir = experiment.run(config(corpora, tmp_path), log=lines.append)
    source = manifest.read(corpora["source"])
    data = manifest.read(corpora["data"])
    preds = pd.read_parquet(run_dir / "predictions.parquet")
    # predictions only on real test rows: every data row once, no source id
    assert sorted(preds["id"]) == sorted(data["id"])
    assert not set(preds["id"]) & set(source["id"])

    ds = _json(run_dir / "dataset.json")
    classes = ds["classes"]
    assert ds["augment"]["source_corpora"] == ["folder"]
    assert ds["augment"]["source_rows"] == len(source)
    assert ds["augment"]["train_on"] == "real+syn"
    assert "shares no speaker with the test rows" in ds["certification"]["statement"]
    assert any("shares no speaker" in line for line in lines)
    folds_csv = pd.read_csv(run_dir / "folds.csv")
    index = _json(run_dir / "synthetic" / "index.json")
    assert len(index) == len(ds["folds"]) == 4
    for fold, entry in zip(ds["folds"], index, strict=True):
        assert fold["synthetic"]["per_class"] == {c: len(source) for c in classes}
        assert entry["per_class"] == fold["synthetic"]["per_class"]
        assert entry["augment"]["name"] == "test-shift"
        saved = np.load(run_dir / "synthetic" / entry["file"])
        assert saved["X"].dtype == np.float32 and saved["X"].shape[0] == len(source) * 4
        assert set(saved["source_id"]) == set(source["id"])
        roles = folds_csv[(folds_csv["fold"] == entry["fold"]) & (folds_csv["seed"] == 0)]
        assert sorted(saved["train_id"]) == sorted(roles.loc[roles["role"] == "train", "id"])
        assert not set(saved["train_id"]) & set(roles.loc[roles["role"] == "test", "id"])
    report = (run_dir / "report.md").read_text()
    assert "## Augmentation" in report and "test-shift" in report
    assert f"| {classes[0]} | " in report.split("## Augmentation")[1]
    assert "Augmentation" in (run_dir / "report.html").read_text()


def test_train_on_variants_fit_the_right_rows(corpora, tmp_path):
    n_source = len(manifest.read(corpora["source"]))
    seen = {}
    for train_on in ("real", "syn", "real+syn"):
        counter = tmp_path / f"{train_on}.jsonl"
        cfg = config(corpora, tmp_path, train_on=train_on)
        cfg["name"] = f"aug-{train_on.replace('+', '-')}"
        cfg["model"] = {"name": "test-sized-logreg", "params": {"counter": str(counter)}}
        experiment.run(cfg)
        seen[train_on] = [json.loads(line) for line in counter.read_text().splitlines()]
    real_n = [f["n"] for f in seen["real"]]
    assert [f["n"] for f in seen["syn"]] == [4 * n_source] * 4
    assert [f["n"] for f in seen["real+syn"]] == [n + 4 * n_source for n in real_n]
    # a synthetic row keeps its source speaker (the groups of the fit)
    assert all(f["groups"] == ["folder/unknown"] for f in seen["syn"])
    assert all("folder/unknown" not in f["groups"] for f in seen["real"])


def test_train_on_real_predicts_as_the_plain_run(corpora, tmp_path):
    plain = config(corpora, tmp_path)
    del plain["augment"]
    plain["name"] = "plain"
    a = pd.read_parquet(experiment.run(plain) / "predictions.parquet")
    b = pd.read_parquet(
        experiment.run(config(corpora, tmp_path, train_on="real")) / "predictions.parquet"
    )
    pd.testing.assert_frame_equal(a, b)
    syn = config(corpora, tmp_path, train_on="syn")
    syn["name"] = "syn"
    c = pd.read_parquet(experiment.run(syn) / "predictions.parquet")
    assert not np.allclose(a.filter(like="prob_").to_numpy(), c.filter(like="prob_").to_numpy())


def test_augmenter_sees_training_rows_only(corpora, tmp_path):
    seen = tmp_path / "seen.jsonl"
    cfg = config(corpora, tmp_path, params={"seen": str(seen)})
    cfg["validation"] = None
    run_dir = experiment.run(cfg)
    counts = pd.read_csv(run_dir / "folds.csv").query("role == 'train'").groupby("fold").size()
    fits = [json.loads(line)["n"] for line in seen.read_text().splitlines()]
    assert sorted(fits) == sorted(counts.tolist())


def _relabelled(src: Path, out: Path, **columns) -> Path:
    df = manifest.read(src)
    for column, values in columns.items():
        df[column] = values(df) if callable(values) else values
    return manifest.write(df, out)


def test_source_sharing_a_test_speaker_is_refused(corpora, tmp_path):
    shared = _relabelled(corpora["source"], tmp_path / "leaky.parquet", speaker="ravdess/Actor_02")
    cfg = config(corpora, tmp_path)
    cfg["augment"]["source"] = [str(shared)]
    with pytest.raises(ProtocolError, match=r"shares speaker\(s\) ravdess/Actor_02 with the test"):
        experiment.run(cfg)
    assert not list((tmp_path / "runs" / "aug" / "partial").glob("seed*.parquet"))


def test_source_of_the_data_corpus_is_refused(corpora, tmp_path):
    cfg = config(corpora, tmp_path)
    cfg["augment"]["source"] = [str(corpora["data"])]
    with pytest.raises(ConfigError, match="augment.source: .* is also in data.manifests"):
        experiment.validate_config(cfg)
    copy = _relabelled(corpora["data"], tmp_path / "copy.parquet")  # the same rows elsewhere
    cfg["augment"]["source"] = [str(copy)]
    with pytest.raises(ConfigError, match="augment.source: .* row.* also rows of data.manifests"):
        experiment.run(cfg)


def test_synthetic_row_equal_to_a_test_row_is_refused(corpora, tmp_path):
    """A source holding the data's own audio under another corpus and speaker: the copying
    augmenter hands test vectors to training, which the certificate refuses."""
    disguised = _relabelled(
        corpora["data"],
        tmp_path / "disguised.parquet",
        id=lambda df: "other/" + df["id"].str.split("/", n=1).str[1],
        corpus="other",
        speaker="other/x",
    )
    cfg = config(corpora, tmp_path)
    cfg["augment"].update(name="test-copy", source=[str(disguised)])
    with pytest.raises(ProtocolError, match="equal a test row's feature vector"):
        experiment.run(cfg)


def test_changed_source_recomputes_folds_and_resume(corpora, tmp_path):
    source = _relabelled(corpora["source"], tmp_path / "source.parquet")
    cfg = config(corpora, tmp_path)
    cfg["augment"]["source"] = [str(source)]
    run_dir = experiment.run(cfg, stop_after=2)
    assert len(list((run_dir / "partial").glob("seed*.parquet"))) == 2
    assert len(list((run_dir / "synthetic").glob("*.npz"))) == 2
    lines = []
    experiment.run(cfg, log=lines.append)  # resumes: two cached, two computed
    assert sum("(cached)" in line for line in lines) == 2
    first = pd.read_parquet(run_dir / "predictions.parquet")

    uninterrupted = dict(cfg, name="once")
    pd.testing.assert_frame_equal(
        first, pd.read_parquet(experiment.run(uninterrupted) / "predictions.parquet")
    )
    lines.clear()
    experiment.run(cfg, log=lines.append)
    assert sum("(cached)" in line for line in lines) == 4

    df = manifest.read(source)
    manifest.write(df.iloc[1:], source)  # the source corpus changed at the same path
    lines.clear()
    experiment.run(cfg, log=lines.append)
    assert sum("(cached)" in line for line in lines) == 0
    assert sum("cached result not used" in line for line in lines) == 4
    ds = _json(run_dir / "dataset.json")
    assert ds["augment"]["source_rows"] == len(df) - 1


def test_augment_section_enters_the_fingerprint(corpora, tmp_path):
    base = experiment.validate_config(config(corpora, tmp_path))
    other = experiment.validate_config(config(corpora, tmp_path, params={"scale": 0.5}))
    plain = config(corpora, tmp_path)
    del plain["augment"]
    none = experiment.validate_config(plain)
    assert len({experiment.fingerprint(c) for c in (base, other, none)}) == 3
    assert experiment.fingerprint(none) == experiment.fingerprint(
        {k: v for k, v in none.items() if k != "augment"}
    )


def test_a_changed_preset_changes_the_fingerprint(corpora, tmp_path, monkeypatch):
    """The config text is the same, the augmenter's preset values are not: no stale resume;
    a value the config pins explicitly is not affected by the preset."""
    from serkit.augment.cyclegan import CycleGANAugmenter

    def with_cpu(**values):
        cpu = {**CycleGANAugmenter.presets["cpu"], **values}
        monkeypatch.setattr(CycleGANAugmenter, "presets", {**CycleGANAugmenter.presets, "cpu": cpu})

    def cfg_with(params):
        cfg = config(corpora, tmp_path)
        cfg["augment"] = {"name": "cyclegan", "params": params, "source": cfg["augment"]["source"]}
        return experiment.validate_config(cfg)

    default, pinned = cfg_with({}), cfg_with({"min_steps": 7})
    with_cpu(min_steps=3)
    before = experiment.fingerprint(default), experiment.fingerprint(pinned)
    with_cpu(min_steps=9)
    assert experiment.fingerprint(default) != before[0]
    assert experiment.fingerprint(pinned) == before[1]


def test_seeds_mean_std_and_averaged_confusion_in_report(corpora, tmp_path):
    cfg = config(corpora, tmp_path)
    cfg.update(seeds=[0, 1], protocol={"name": "speaker-kfold", "params": {"k": 2}})
    cfg["final_model"] = True
    run_dir = experiment.run(cfg)
    metrics = _json(run_dir / "metrics.json")
    report = (run_dir / "report.md").read_text()
    mean = metrics["seeds"]["uar"]
    assert f"| mean ± std | {100 * mean['mean']:.1f} ± {100 * mean['std']:.1f} |" in report
    assert "mean counts over 2 seeds" in report
    assert (run_dir / "model" / "model.json").exists()
    assert len(_json(run_dir / "synthetic" / "index.json")) == 4


def test_cyclegan_end_to_end_cli(tmp_path, capsys, monkeypatch):
    """``serkit train configs/demo_cyclegan.yaml`` as its comment says, with the CycleGAN's
    ``test_params()`` and a small demo corpus, then ``serkit analyze fisher`` on the run."""
    from faults._cli import serkit
    from serkit.augment import AUGMENTERS

    monkeypatch.chdir(tmp_path)
    config = Path(__file__).resolve().parents[1] / "configs" / "demo_cyclegan.yaml"
    small = ["--speakers", "3", "--sentences", "1", "--repetitions", "1"]
    for args in (
        ["demo-corpus", "demo/corpus", *small, "--emotions", "neutral,happy,angry"],
        ["prepare", "ravdess", "demo/corpus", "-o", "demo/manifests"],
        ["demo-corpus", "demo/source", "--speakers", "2", "--seed", "1", *small[2:]],
        ["prepare", "folder", "demo/source", "-o", "demo/manifests"],
    ):
        code, out, err = serkit(args, capsys, monkeypatch)
        assert code == 0, err
    tiny = AUGMENTERS.get("cyclegan").test_params()
    overrides = [f"augment.params.{k}={json.dumps(v)}" for k, v in tiny.items()]
    overrides += ["augment.params.n_per_class=6", "final_model=false", "bootstrap.reps=20"]
    code, out, err = serkit(["train", config, *overrides], capsys, monkeypatch)
    assert code == 0, err
    run_dir = tmp_path / "runs" / "demo_cyclegan"
    ds = _json(run_dir / "dataset.json")
    assert ds["augment"]["name"] == "cyclegan" and ds["augment"]["train_on"] == "real+syn"
    assert [f["synthetic"]["per_class"] for f in ds["folds"]] == [
        {"neutral": 6, "happy": 6, "angry": 6}
    ] * 3
    preds = pd.read_parquet(run_dir / "predictions.parquet")
    assert not preds["id"].str.startswith("folder/").any()
    saved = np.load(run_dir / "synthetic" / "0-fold0.npz")
    assert saved["X"].shape == (18, ds["features"]["dim"])
    assert saved["source_id"].astype(str).tolist()[0].startswith("folder/")
    code, out, err = serkit(["analyze", "fisher", run_dir], capsys, monkeypatch)
    assert code == 0, err
    assert (run_dir / "analysis" / "fisher" / "fisher_summary.md").exists()


def test_benchmark_tables(monkeypatch):
    """``benchmarks/cyclegan.py``: run names, overrides and the table (cost vs the plain run)
    from small made-up rows (nothing measured here)."""
    import importlib
    import sys

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    sys.modules.pop("cyclegan", None)
    bench = importlib.import_module("cyclegan")
    assert bench.run_name("inner4", "real+syn") == "cyclegan_inner4_real-syn"
    extra = bench.overrides("urdu", "plain", [0, 1], 1)
    assert "augment=null" in extra and "seeds=[0,1]" in extra
    row = {"setting": "urdu", "n_seeds": 2, "uar_mean": 0.5, "uar_std": 0.01, "wa_mean": 0.4}
    row |= {"wa_std": 0.02, "n_fits": 2, "synthetic_per_fold": 0}
    plain = {**row, "variant": "plain", "train_seconds": 10.0, "generator_seconds_per_fold": None}
    syn = {**row, "variant": "syn", "train_seconds": 70.0, "generator_seconds_per_fold": 30.0}
    syn["synthetic_per_fold"] = 800
    text = bench.results_table([plain, syn])
    assert "| real (no augment) | 2 | 50.0 ± 1.0 | 40.0 ± 2.0 | 0 | - | 10 s | 1 |" in text
    assert "| syn | 2 | 50.0 ± 1.0 | 40.0 ± 2.0 | 800 | 30.0 s | 70 s | 7x |" in text


def test_augmentation_with_per_fold_encoder_features_is_refused(monkeypatch, tmp_path):
    """The source corpus cannot be encoded by each fold's own encoder: refused, not silently
    encoded by one of them."""
    from serkit.encoders import package
    from serkit.errors import ConfigError
    from serkit.experiment.augmentation import read_source

    monkeypatch.setattr(
        package, "encoder_folders", lambda path: {"f0": tmp_path / "f0", "f1": tmp_path / "f1"}
    )
    cfg = {
        "augment": {"name": "cyclegan", "source": [str(tmp_path / "src.parquet")]},
        "features": {"name": "encoder", "params": {"path": str(tmp_path)}},
    }
    with pytest.raises(ConfigError, match="per-fold encoders"):
        read_source(cfg, pd.DataFrame({"id": []}))
