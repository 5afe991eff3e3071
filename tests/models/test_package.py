"""Self-describing packages: model.json + weights, atomic writes, round trips."""

from __future__ import annotations

import json

import numpy as np
import pytest

from serkit.errors import ConfigError
from serkit.models import get_model
from serkit.models.package import load_model, read_meta, save_model

from ._synth import frames, utterances

EXTRA = {"extractor": {"name": "mfcc-stats", "params": {"sample_rate": 16000}}, "label_set": "x"}


@pytest.mark.parametrize("name", ["logreg", "svm"])
def test_classic_round_trip(tmp_path, name):
    X, y, _ = utterances()
    model = get_model(name, C=2.0).fit(X, y)
    folder = save_model(model, tmp_path / "pkg", extra=EXTRA)
    meta = json.loads((folder / "model.json").read_text())
    assert meta["name"] == name and meta["params"]["C"] == 2.0
    assert meta["classes"] == ["c0", "c1", "c2"] and meta["input_level"] == "utterance"
    assert meta["extra"] == EXTRA and {"serkit", "torch", "scikit-learn"} <= set(meta["versions"])
    loaded, meta2 = load_model(folder)
    assert meta2 == meta and type(loaded) is type(model)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.classes_, model.classes_)


def test_neural_round_trip_keeps_normalisation_and_history(tmp_path):
    X, y, groups = frames(n=18)
    X = [x * 10 + 3 for x in X]
    model = get_model(
        "neural",
        epochs=2,
        batch_size=6,
        device="cpu",
        net_params={"channels": 6, "blocks": 1, "attention_dim": 4},
    ).fit(X, y, groups)
    folder = save_model(model, tmp_path / "pkg", extra=EXTRA)
    assert sorted(p.name for p in folder.iterdir()) == ["model.json", "weights.pt"]
    loaded, meta = load_model(folder)
    assert meta["params"]["net_params"] == {"channels": 6, "blocks": 1, "attention_dim": 4}
    assert len(meta["history"]) == 2 and meta["input_level"] == "frame"
    np.testing.assert_allclose(loaded.norm_mean_, model.norm_mean_)
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), atol=1e-6)


def test_save_replaces_atomically_and_leaves_no_temp(tmp_path):
    X, y, _ = utterances()
    save_model(get_model("logreg").fit(X, y), tmp_path / "pkg")
    save_model(get_model("rf", n_estimators=5).fit(X, y), tmp_path / "pkg")
    assert read_meta(tmp_path / "pkg")["name"] == "rf"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pkg"]


def test_errors(tmp_path):
    with pytest.raises(ConfigError, match="not a model package"):
        load_model(tmp_path)
    with pytest.raises(ConfigError, match="not fitted"):
        save_model(get_model("logreg"), tmp_path / "x")
    X, y, _ = utterances()
    folder = save_model(get_model("logreg").fit(X, y), tmp_path / "pkg")
    (folder / "pipeline.skops").unlink()
    with pytest.raises(ConfigError, match="missing"):
        load_model(folder)
    (folder / "model.json").write_text("{")
    with pytest.raises(ConfigError, match="invalid JSON"):
        load_model(folder)


def test_format_1_neural_package_still_loads(tmp_path):
    """Packages written before checksums (format 1) load unchecked when their weights are
    safe (torch, weights_only) and predict as before."""
    X, y, groups = frames(n=12)
    params = {"channels": 4, "blocks": 1, "attention_dim": 4}
    model = get_model("neural", epochs=1, batch_size=6, device="cpu", net_params=params)
    model.fit(X, y, groups)
    folder = save_model(model, tmp_path / "pkg")
    meta = json.loads((folder / "model.json").read_text())
    for key in ("checksums", "digests", "input"):
        del meta[key]
    meta["format_version"] = 1
    (folder / "model.json").write_text(json.dumps(meta))
    loaded, got = load_model(folder)
    assert got["format_version"] == 1
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
