"""Bad ``augment`` sections are refused by ``serkit train --dry-run`` and by ``serkit train``
before any feature is extracted: one ``error:`` naming the config key and the value, a non-zero
exit, and no feature store or run folder created. A source corpus that shares a speaker with a
test fold is refused by both as well.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import numpy as np
import pytest
import yaml

from serkit.augment import AUGMENTERS, register_augmenter
from serkit.augment.base import Augmenter, Synthetic

from ._cli import one_error, serkit

if "test-fault-shift" not in AUGMENTERS:

    @register_augmenter("test-fault-shift")
    class _Shift(Augmenter):
        """Source vectors moved to each class mean (takes one parameter, ``scale``)."""

        def __init__(self, scale: float = 1.0) -> None:
            self.scale = scale

        def fit(self, X, y, X_source, *, groups=None, seed=0):
            self.means_ = {c: X[y == c].mean(axis=0) for c in sorted(set(y))}
            return self

        def generate(self, X_source):
            parts = [X_source + self.scale * m for m in self.means_.values()]
            m = len(X_source)
            return Synthetic(
                np.concatenate(parts), np.repeat(list(self.means_), m), np.tile(np.arange(m), 2)
            )


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> dict[str, Path]:
    """A demo manifest (3 speakers), a source corpus manifest, a good augmented config."""
    from serkit import manifest
    from serkit.corpora import prepare
    from serkit.demo import make_corpus

    root = tmp_path_factory.mktemp("augment_faults")
    small = {"speakers": 3, "sentences": 1, "repetitions": 1, "emotions": ("neutral", "angry")}
    prepare("ravdess", make_corpus(root / "demo", **small).root, output=root / "manifests")
    prepare("folder", make_corpus(root / "src", **small, seed=3).root, output=root / "manifests")
    leaky = manifest.read(root / "manifests" / "folder.parquet")
    leaky["speaker"] = "ravdess/Actor_02"  # another corpus, but a speaker of the data
    manifest.write(leaky, root / "leaky.parquet")
    config = {
        "name": "aug",
        "data": {"manifests": [str(root / "manifests" / "ravdess.parquet")]},
        "features": {"name": "mfcc-stats", "params": {"n_mfcc": 8}, "store": str(root / "f")},
        "model": {"name": "logreg"},
        "protocol": {"name": "loso"},
        "bootstrap": {"reps": 20},
        "output": str(root / "runs"),
        "augment": {
            "name": "test-fault-shift",
            "source": [str(root / "manifests" / "folder.parquet")],
        },
    }
    (root / "exp.yaml").write_text(yaml.safe_dump(config))
    return {"root": root, "exp": root / "exp.yaml", "store": root / "f", "runs": root / "runs"}


def case(case_id: str, overrides: str, *names: str):
    """Overrides of the good config and the texts the one error must contain."""
    return pytest.param(overrides, names, id=case_id)


CASES = [
    case("unknown-name", "augment.name=cyclegn", "augment.name", "unknown augmenter 'cyclegn'"),
    case("name-type", "augment.name=3", "augment.name", "3"),
    case("params-unknown", "augment.params.bogus=1", "augment.params", "bogus"),
    case("params-type", "augment.params=7", "augment.params", "mapping", "7"),
    case("cyclegan-preset", "augment.name=cyclegan augment.params.preset=gpu",
         "augment.params", "preset", "'gpu'"),
    case("cyclegan-value", "augment.name=cyclegan augment.params.n_per_class=0",
         "augment.params", "n_per_class", "0"),
    case("train-on", "augment.train_on=both", "augment.train_on", "real+syn", "'both'"),
    case("save", "augment.save=maybe", "augment.save", "true or false", "maybe"),
    case("source-empty", "augment.source=[]", "augment.source", "manifest paths"),
    case("source-missing", "augment.source=[{root}/none.parquet]", "augment.source",
         "none.parquet", "no such manifest file", "serkit prepare"),
    case("source-is-data", "augment.source=[{root}/manifests/ravdess.parquet]",
         "augment.source", "ravdess.parquet", "also in data.manifests"),
    case("source-speaker", "augment.source=[{root}/leaky.parquet]", "augment.source",
         "ravdess/Actor_02", "test rows of fold"),
    case("frame-level", "features.name=logmel features.params={{}}", "augment",
         "'logmel'", "frame-level", "utterance-level"),
    case("unknown-key", "augment.trainon=real", "augment.trainon", "augment.train_on"),
]  # fmt: skip


@pytest.mark.parametrize("dry", [True, False], ids=["dry-run", "train"])
@pytest.mark.parametrize(("overrides", "names"), CASES)
def test_bad_augment_section_is_one_error_before_any_work(
    ws, capsys, monkeypatch, overrides, names, dry
):
    args = ["train", ws["exp"], *shlex.split(overrides.format(root=ws["root"]))]
    message = one_error(*serkit(args + (["--dry-run"] if dry else []), capsys, monkeypatch))
    for name in names:
        assert name in message, message
    assert not ws["store"].exists(), "features were extracted before the error"
    assert not (ws["runs"] / "aug" / "predictions.parquet").exists()
    assert not list((ws["runs"] / "aug").glob("partial/seed*.parquet"))
