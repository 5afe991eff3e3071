"""DCNN-BLSTMwA: our AlexNet, the log-mel image preprocessing, the utterance net and the
two-stage estimator."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from serkit.errors import ConfigError
from serkit.models import get_model, list_models
from serkit.models.nets import get_net, list_nets
from serkit.models.nets.alexnet import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    AlexNet,
    minmax_imagenet,
    resize_images,
)
from serkit.models.nets.dcnn_blstm import segment_windows, valid_segments
from serkit.models.package import load_model, save_model

from . import _synth as synth


def frames(n=24, seed=0, min_frames=20, max_frames=60):
    """3-channel x 8-bin sequences; class c raises bin 2c (survives per-channel min-max)."""
    return synth.frames(
        n,
        24,
        seed=seed,
        min_frames=min_frames,
        max_frames=max_frames,
        channels=3,
        step=2,
        shift=3.0,
    )


def dcnn(**changes):
    """The ``dcnn-blstmwa`` estimator at its test sizes, with ``changes``."""
    return get_model("dcnn-blstmwa", **{**get_model("dcnn-blstmwa").test_params(), **changes})


def test_registered():
    assert {"alexnet", "dcnn-blstmwa"} <= set(list_nets())
    assert "dcnn-blstmwa" in list_models()


@pytest.mark.parametrize("shape,size", [((64, 64), 227), ((64, 64), 64), ((40, 300), 96)])
def test_resize_matches_torch_antialiased_bilinear(shape, size):
    img = torch.randn(2, 3, *shape)
    ref = F.interpolate(img, size=(size, size), mode="bilinear", antialias=True)
    torch.testing.assert_close(resize_images(img, size), ref, atol=1e-5, rtol=1e-5)
    # with lengths: only the real frames are resized
    lengths = torch.tensor([shape[1], shape[1] // 2])
    out = resize_images(img, size, lengths)
    half = F.interpolate(
        img[1:, :, :, : shape[1] // 2], size=(size, size), mode="bilinear", antialias=True
    )
    torch.testing.assert_close(out[1:], half, atol=1e-5, rtol=1e-5)


def test_minmax_imagenet_per_channel_over_real_frames():
    x = torch.randn(2, 10, 3 * 4) * 5
    lengths = torch.tensor([10, 6])
    img = minmax_imagenet(x, lengths)
    assert img.shape == (2, 3, 4, 10)
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    unit = img[1, :, :, :6] * std + mean  # back to [0, 1]
    torch.testing.assert_close(unit.amin(dim=(1, 2)), torch.zeros(3), atol=1e-6, rtol=0)
    torch.testing.assert_close(unit.amax(dim=(1, 2)), torch.ones(3), atol=1e-6, rtol=0)
    assert (img[1, :, :, 6:] == 0).all()
    with pytest.raises(ConfigError):
        minmax_imagenet(torch.randn(1, 5, 8))


def test_alexnet_layout_presets_and_pretrained(tmp_path):
    paper = AlexNet(1000, input_size=227)  # torchvision's shapes
    shapes = {k: tuple(v.shape) for k, v in paper.state_dict().items()}
    assert shapes["features.0.weight"] == (64, 3, 11, 11)
    assert shapes["classifier.1.weight"] == (4096, 9216)
    assert shapes["classifier.4.weight"] == (4096, 4096)
    assert shapes["classifier.6.weight"] == (1000, 4096)
    assert paper.embed(torch.randn(1, 3, 227, 227)).shape == (1, 4096)
    # a torchvision-format state dict (ImageNet head of 1000 classes) loads, head skipped
    torch.save(paper.state_dict(), tmp_path / "alexnet.pth")
    net = get_net("dcnn-blstmwa")(
        192, 8, preset="paper", pretrained_path=str(tmp_path / "alexnet.pth")
    )
    torch.testing.assert_close(net.dcnn.features[0].weight, paper.features[0].weight)
    torch.testing.assert_close(net.dcnn.classifier[4].weight, paper.classifier[4].weight)
    assert net.dcnn.classifier[6].weight.shape == (8, 4096)
    with pytest.raises(ConfigError, match="preset='paper'"):
        get_net("alexnet")(192, 8, pretrained_path=str(tmp_path / "alexnet.pth"))
    with pytest.raises(ConfigError, match="does not exist"):
        get_net("alexnet")(192, 8, pretrained_path=str(tmp_path / "missing.pth"))


def test_windows_and_valid_counts():
    idx = segment_windows(300, 64, 32)
    assert idx.shape == (8, 64) and idx[-1, -1].item() == 287  # only full windows (seed: 8)
    assert segment_windows(401, 64, 32).shape[0] == 11
    assert segment_windows(20, 64, 32).shape[0] == 1
    assert valid_segments(torch.tensor([300, 64, 63, 1]), 64, 32).tolist() == [8, 1, 1, 1]


def test_utterance_net_padding_invariance_and_freeze():
    torch.manual_seed(0)
    params = get_net("dcnn-blstmwa").test_params()
    net = get_net("dcnn-blstmwa")(24, 3, **params).eval()
    x = torch.randn(3, 50, 24)
    lengths = torch.tensor([50, 29, 7])
    for i, n in enumerate(lengths.tolist()):
        x[i, n:] = 0
    out = net(x, lengths)
    assert out.shape == (3, 3)
    for i, n in enumerate(lengths.tolist()):
        torch.testing.assert_close(
            net(x[i : i + 1, :n], lengths[i : i + 1])[0], out[i], atol=1e-5, rtol=1e-5
        )
    frozen = get_net("dcnn-blstmwa")(24, 3, freeze_dcnn=True, **params).train()
    assert not any(p.requires_grad for p in frozen.dcnn.parameters())
    assert not frozen.dcnn.training and frozen.blstm.training
    paper = get_net("dcnn-blstmwa")(192, 4, preset="paper")
    assert paper.input_size == 227 and paper.dcnn.feature_dim == 4096
    assert paper.blstm.output_size == 256
    assert [m.out_features for m in paper.dnn if isinstance(m, torch.nn.Linear)] == [512, 256, 4]


def test_two_stage_fit_learns_and_round_trips(tmp_path):
    X, y, groups = frames()
    model = dcnn(
        epochs=10,
        stage1_epochs=6,
        lr=3e-3,
        stage1_lr=3e-3,
        device="cpu",
        patience=None,
        stage1_patience=None,
    )
    model.fit(X, y, groups)
    assert len(model.stage1_history_) == 6 and len(model.history_) == 10
    assert model.stage1_history_[-1]["train_loss"] < model.stage1_history_[0]["train_loss"]
    assert (model.predict(X) == y).mean() >= 0.8
    save_model(model, tmp_path / "pkg")
    loaded, _ = load_model(tmp_path / "pkg")
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), atol=1e-6)


def test_stage1_weights_reach_stage2(monkeypatch):
    """Stage 2 starts training with the AlexNet weights stage 1 returned."""
    X, y, groups = frames(n=12)
    seen = {}
    from serkit.models import dcnn as seeds
    from serkit.models import training

    fit_stage1 = seeds.DCNNBLSTMwAClassifier._fit_stage1
    train_module = training.train_module

    def stage1_spy(self, *args, **kwargs):
        seen["state"] = {k: v.clone() for k, v in fit_stage1(self, *args, **kwargs).items()}
        return seen["state"]

    def train_spy(module, *args, **kwargs):
        if hasattr(module, "dcnn"):  # the stage-2 utterance net, before its first step
            seen["module"] = {k: v.clone() for k, v in module.dcnn.state_dict().items()}
        return train_module(module, *args, **kwargs)

    monkeypatch.setattr(seeds.DCNNBLSTMwAClassifier, "_fit_stage1", stage1_spy)
    monkeypatch.setattr(training, "train_module", train_spy)
    dcnn(epochs=1, stage1_epochs=1, stage1_crops=2, augment=True).fit(X, y, groups)
    assert seen["state"].keys() == seen["module"].keys()
    for key, value in seen["state"].items():
        torch.testing.assert_close(seen["module"][key], value)


def test_frozen_alexnet_trains_on_cached_features_and_matches_full_path(tmp_path):
    X, y, groups = frames()
    base = get_model("dcnn-blstmwa").test_params()
    model = dcnn(
        net_params={**base["net_params"], "freeze_dcnn": True},
        epochs=12,
        stage1_epochs=4,
        lr=3e-3,
        stage1_lr=3e-3,
        patience=None,
        stage1_patience=None,
    ).fit(X, y, groups)
    assert not any(name.startswith("_") for name in vars(model))  # no state kept in flags
    assert (model.predict(X) == y).mean() >= 0.7
    # cached-feature predictions equal the full net on raw frames
    with torch.no_grad():
        full = [model.module_(torch.from_numpy(x)[None], torch.tensor([len(x)]))[0] for x in X]
    full = torch.softmax(torch.stack(full), dim=1).numpy()
    np.testing.assert_allclose(model.predict_proba(X), full, atol=1e-5)
    save_model(model, tmp_path / "pkg")
    loaded, _ = load_model(tmp_path / "pkg")
    np.testing.assert_allclose(loaded.predict_proba(X), full, atol=1e-5)


def test_segment_vote_is_the_mean_of_the_alexnet_window_posteriors():
    torch.manual_seed(0)
    params = get_net("dcnn-blstmwa").test_params()
    net = get_net("dcnn-blstmwa")(24, 3, **params).eval()
    x = torch.randn(2, 50, 24)
    lengths = torch.tensor([50, 20])
    x[1, 20:] = 0
    blstm = net(x, lengths)
    net.use_segment_vote(True)
    vote = net(x, lengths)
    assert not torch.allclose(vote, blstm)
    images, counts = net.segment_images(x, lengths)
    for i in range(2):
        windows = images[i, : counts[i]].reshape(-1, 3, net.input_size, net.input_size)
        expected = torch.softmax(net.dcnn(windows), dim=1).mean(dim=0)
        torch.testing.assert_close(vote[i].exp(), expected, atol=1e-5, rtol=1e-5)
    # the choice is a buffer: saved with the weights
    assert bool(net.state_dict()["segment_vote"])


@pytest.mark.parametrize("decision", ["segments", "auto"])
def test_decision_heads_fit_predict_and_round_trip(tmp_path, decision):
    X, y, groups = frames(n=30)
    model = dcnn(
        epochs=4,
        stage1_epochs=12,
        stage1_lr=3e-3,
        stage1_patience=None,
        decision=decision,
        val_fraction=0.2,
    ).fit(X, y, groups)
    if decision == "segments":
        assert model.history_ == [] and model.decision_scores_ == {}
        assert model.decision_ == "segments"
        assert (model.predict(X) == y).mean() >= 0.8  # stage 1 alone separates the classes
    else:
        assert set(model.decision_scores_) == {"blstm", "segments"}
        best = max(model.decision_scores_.values())
        assert model.decision_scores_[model.decision_] == best
    assert bool(model.module_.segment_vote) == (model.decision_ == "segments")
    assert model.fit_summary_["decision"] == model.decision_
    assert len(model.fit_summary_["stage1_history"]) == 12
    save_model(model, tmp_path / "pkg")
    loaded, _ = load_model(tmp_path / "pkg")
    assert loaded.decision_ == model.decision_
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), atol=1e-6)


def test_decision_errors_name_the_fix():
    X, y, groups = frames(n=12)
    with pytest.raises(ConfigError, match="decision must be one of blstm, segments, auto"):
        dcnn(decision="vote").fit(X, y, groups)
    with pytest.raises(ConfigError, match="stage1_epochs > 0"):
        dcnn(decision="auto", stage1_epochs=0).fit(X, y, groups)


def test_alexnet_batch_norm_option():
    net = AlexNet(
        4,
        widths=(8, 16, 16, 16, 16),
        fc=32,
        input_size=40,
        stem_stride=2,
        pool_size=1,
        batch_norm=True,
    )
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in net.features) == 5
    assert net.embed(torch.randn(3, 3, 40, 40)).shape == (3, 32)
    with pytest.raises(ConfigError, match="does not exist"):
        net.load_pretrained("/nonexistent.pth")
    with tempfile.TemporaryDirectory() as tmp:  # a torchvision file does not fit batch norm
        torch.save({}, Path(tmp) / "w.pth")
        with pytest.raises(ConfigError, match="batch_norm: false"):
            net.load_pretrained(Path(tmp) / "w.pth")
    dcnn = get_net("dcnn-blstmwa")(24, 3, alexnet_params={"batch_norm": True})
    assert dcnn.dcnn.batch_norm and not get_net("dcnn-blstmwa")(24, 3).dcnn.batch_norm


def test_fit_is_reproducible_whatever_the_global_random_state():
    X, y, groups = frames(n=12)
    probas = []
    for state in (1, 2):
        torch.manual_seed(state)  # a different global state before each fit
        np.random.seed(state)
        probas.append(dcnn(epochs=1, stage1_epochs=1).fit(X, y, groups).predict_proba(X))
    np.testing.assert_array_equal(probas[0], probas[1])


def test_each_stage_checkpoints_in_its_own_folder_and_resumes(tmp_path):
    X, y, groups = frames(n=18)
    params = {"device": "cpu", "epochs": 2, "stage1_epochs": 2, "checkpoint_dir": str(tmp_path)}
    first = dcnn(**params).fit(X, y, groups)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stage1", "stage2"]
    for stage in ("stage1", "stage2"):
        assert sorted(p.name for p in (tmp_path / stage).iterdir()) == ["last.pt", "progress.json"]
    # a second fit finds both stages finished: nothing retrains, same model
    again = dcnn(**params).fit(X, y, groups)
    assert again.stage1_history_ == first.stage1_history_ and again.history_ == first.history_
    np.testing.assert_allclose(again.predict_proba(X), first.predict_proba(X), atol=1e-6)
