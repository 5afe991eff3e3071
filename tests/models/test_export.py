"""ONNX export of every seed net and of fitted models; onnxruntime must match torch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from serkit.errors import ConfigError
from serkit.export import OnnxClassifier, export, export_net
from serkit.inference import resolve_model_dir
from serkit.models import get_model
from serkit.models.nets import get_net
from serkit.models.package import save_model

from . import _synth as synth

pytestmark = pytest.mark.filterwarnings("ignore")


def _batch(dim, lengths, seed=0):
    rng = np.random.default_rng(seed)
    lengths = np.asarray(lengths, dtype=np.int64)
    x = rng.normal(size=(len(lengths), int(lengths.max()), dim)).astype(np.float32)
    for i, n in enumerate(lengths):
        x[i, n:] = 0
    return x, lengths


@pytest.mark.parametrize(
    "name,vote",
    [("acrnn", False), ("dcnn-blstmwa", False), ("dcnn-blstmwa", True), ("alexnet", False)],
)
def test_net_export_matches_torch_with_dynamic_axes(name, vote, tmp_path):
    torch.manual_seed(0)
    cls = get_net(name)
    net = cls(24, 4, **cls.test_params()).eval()
    if vote:  # DCNN-BLSTMwA deciding by its segment posteriors
        net.use_segment_vote(True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = export_net(
            net,
            tmp_path / f"{name}.onnx",
            24,
            example_frames=40,
            metadata={"classes": ["a", "b", "c", "d"]},
        )
    clf = OnnxClassifier(path, threads=1)
    assert list(clf.classes_) == ["a", "b", "c", "d"]
    for lengths in ([40, 40], [97, 33, 5], [12]):  # other batch sizes and lengths than traced
        x, n = _batch(24, lengths)
        with torch.no_grad():
            ref = net(torch.from_numpy(x), torch.from_numpy(n)).numpy()
        got = clf.logits(x, n)
        assert got.shape == ref.shape
        assert np.abs(got - ref).max() < 1e-4


def _frames(n=18, seed=0):
    """24-dim sequences; class c raises dimension 2c."""
    return synth.frames(n, 24, seed=seed, min_frames=12, max_frames=49, step=2, shift=3.0)


@pytest.mark.parametrize("name", ["acrnn", "dcnn-blstmwa"])
def test_fitted_model_export_reproduces_predict_proba(name, tmp_path):
    X, y, groups = _frames()
    params = {**get_model(name).test_params(), "epochs": 2, "device": "cpu"}
    if name == "dcnn-blstmwa":
        params["stage1_epochs"] = 1
    model = get_model(name, **params).fit(X, y, groups)
    save_model(model, tmp_path / "run" / "model", extra={"label_set": "demo"})
    assert resolve_model_dir(tmp_path / "run") == tmp_path / "run" / "model"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = export(tmp_path / "run", tmp_path / "model.onnx")
    assert result.max_abs_diff < 1e-4 and result.model == name
    clf = OnnxClassifier(result.path)
    assert clf.meta["label_set"] == "demo"
    np.testing.assert_allclose(clf.predict_proba(X), model.predict_proba(X), atol=1e-4)
    assert (clf.predict(X) == model.predict(X)).all()
    if name == "acrnn":
        assert clf.meta["segments"]["pooling"] == "max"


def test_cli_export_and_errors(tmp_path):
    from serkit.cli import app

    X, y, groups = _frames(n=12)
    model = get_model("acrnn", **{**get_model("acrnn").test_params(), "epochs": 1})
    save_model(model.fit(X, y, groups), tmp_path / "pkg")
    result = CliRunner().invoke(app, ["export", str(tmp_path / "pkg"), str(tmp_path / "m.onnx")])
    assert result.exit_code == 0, result.output
    assert "max |torch - onnxruntime|" in result.output and (tmp_path / "m.onnx").is_file()
    with pytest.raises(ConfigError, match="no such run or model folder"):
        resolve_model_dir(tmp_path / "nowhere")
    with pytest.raises(ConfigError, match="no such ONNX"):
        OnnxClassifier(tmp_path / "missing.onnx")
    svm = get_model("svm").fit(np.random.default_rng(0).normal(size=(12, 4)), y)
    save_model(svm, tmp_path / "svm")
    with pytest.raises(ConfigError, match="only neural models"):
        export(tmp_path / "svm", tmp_path / "svm.onnx")
