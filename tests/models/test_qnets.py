"""Quaternion AlexNet / ResNet-50 / VGG16, their real twins and the ``rhemo-cnn`` model.

(The registry-driven contract suite covers shape, padding invariance, tiny overfit and the
package round trip of every net and model; this file adds what is specific to them.)
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from serkit.errors import ConfigError
from serkit.models import get_model
from serkit.models.nets import build_net, get_net, net_test_params
from serkit.models.nets.acrnn import count_parameters
from serkit.models.nets.quaternion_nets import QUATERNION_NETS, REAL_TWINS

from . import _synth as synth

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.mark.parametrize("qnet", QUATERNION_NETS)
def test_paper_quaternion_net_has_a_quarter_of_its_twins_parameters(qnet):
    """Same widths, same 64 x 64 input: ~1/4 (the real first conv reads 1 channel where the
    quaternion one reads 1 quaternion = 4, the last layer is real in both)."""
    q = build_net(qnet, 4 * 64 * 64, 8, preset="paper")
    r = build_net(REAL_TWINS[qnet], 64, 8, preset="paper", window=64)
    ratio = count_parameters(q) / count_parameters(r)
    assert 0.24 < ratio < 0.27, ratio


def test_paper_sizes_follow_section_3_6():
    alex = build_net("qalexnet", 16384, 4, preset="paper").backbone
    assert alex.classifier[1].in_features == 9216 and alex.classifier[4].out_features == 4096
    vgg_q = build_net("qvgg16", 16384, 4, preset="paper").backbone
    vgg_r = build_net("rvgg16", 128, 4, preset="paper").backbone
    assert vgg_q.classifier[0].in_features == 2048  # 512 x 2 x 2
    assert vgg_r.classifier[0].in_features == 32768  # 512 x 16 x 4 on 512 x 128
    res = build_net("qresnet50", 16384, 4, preset="paper").backbone
    assert res.fc.in_features == 2048 and len(res.stages) == 16  # 3 + 4 + 6 + 3 bottlenecks
    for name in ("qalexnet", "qvgg16", "qresnet50"):  # the last classifier layer is real
        last = [m for m in build_net(name, 16384, 4).modules() if hasattr(m, "weight")][-1]
        assert type(last) is torch.nn.Linear
    # the cpu preset is the default and much smaller
    assert count_parameters(build_net("qresnet50", 16384, 4)) < count_parameters(res) / 10


def test_real_twin_cpu_preset_pools_windows_to_the_latent_size():
    net = build_net("rresnet50", 128, 4)
    assert net.window == 512 and net.image_shape == (1, 64, 64)
    assert build_net("rresnet50", 128, 4, preset="paper").image_shape == (1, 512, 128)


@pytest.mark.parametrize(
    "name,dim,params,message",
    [
        (
            "qresnet50",
            1000,
            {},
            r"map_shape \[4, 64, 64\] has 16384 values but the features have 1000",
        ),
        ("qresnet50", 16384, {"window": 8}, "window is a parameter of the real twins"),
        ("rvgg16", 128, {"map_shape": [4, 8, 8]}, "map_shape is a parameter of the quaternion"),
        ("qvgg16", 16384, {"blocks": [1, 1, 1, 1]}, "blocks not used by vgg16"),
        ("qalexnet", 16384, {"preset": "huge"}, "unknown preset 'huge'; known: cpu, paper"),
        ("qresnet50", 6 * 8 * 8, {"map_shape": [6, 8, 8]}, "channels multiple of 4"),
        (
            "qresnet50",
            16384,
            {"widths": [6, 8, 8, 8]},
            r"QuaternionConv2d: out_channels .* found 6",
        ),
        ("qalexnet", 4 * 16 * 16, {"map_shape": [4, 16, 16]}, r"input \(4, 16, 16\) is too small"),
    ],
)
def test_bad_sizes_get_helpful_errors(name, dim, params, message):
    with pytest.raises(ConfigError, match=message):
        build_net(name, dim, 4, **params)


def test_windows_of_a_real_twin_are_scored_separately_and_averaged():
    torch.manual_seed(0)
    net = build_net("rresnet50", 32, 3, **net_test_params("rresnet50")).eval()
    x = torch.randn(1, 70, 32)  # windows of 32 frames: [0, 32), [32, 64), [64, 70) + padding
    with torch.no_grad():
        whole = net(x, torch.tensor([70]))
        parts = [net(x[:, a : a + 32], torch.tensor([min(32, 70 - a)])) for a in (0, 32, 64)]
    torch.testing.assert_close(whole, torch.stack(parts).mean(0), atol=1e-5, rtol=1e-5)


# ------------------------------------------------------------------------------- the model


def _maps(n=18, side=32, seed=0):
    return synth.frames(
        n, 4 * side * side, seed=seed, min_frames=1, max_frames=3, band=64, shift=2.0
    )


def test_rhemo_cnn_trains_on_map_rows_with_one_window_per_segment():
    X, y, groups = _maps()
    model = get_model(
        "rhemo-cnn", **{**get_model("rhemo-cnn").test_params(), "epochs": 2, "device": "cpu"}
    )
    assert model.segment_frames == 1 and model.segment_hop == 1
    assert model.segment_tail_after is None
    model.fit(X, y, groups)
    proba = model.predict_proba(X)
    assert proba.shape == (18, 3) and np.allclose(proba.sum(1), 1, atol=1e-6)


def test_rhemo_cnn_real_twin_cuts_windows_as_rhemo_does():
    from serkit.models.rhemo_cnn import RHEmoWindows

    collate = RHEmoWindows(8, 8, train=False, tail_after=16)
    items = [(np.ones((12, 2)), 0), (np.ones((20, 2)), 1), (np.ones((5, 2)), 0)]
    batch = collate(items)
    # 12 frames: one window (no tail below two windows); 20: [0, 8), [8, 16), [12, 20); 5: one
    assert batch["owner"].tolist() == [0, 1, 1, 1, 2]
    model = get_model("rhemo-cnn", net="rvgg16", window_frames=64)
    assert (model.segment_frames, model.segment_hop, model.segment_tail_after) == (64, 64, 128)


@pytest.mark.parametrize(
    "params,message",
    [
        ({"net": "acrnn"}, "net must be one of qalexnet"),
        ({"net": "rvgg16", "encoder": "x"}, "real twin"),
        ({"finetune": True}, "finetune=True needs encoder"),
        ({"encoder": "x", "normalize": "global"}, "normalize must be 'none'"),
        ({"net": "rvgg16", "net_params": {"window": 8}}, "differs from window_frames=512"),
    ],
)
def test_rhemo_cnn_bad_options_are_refused_before_training(params, message):
    with pytest.raises(ConfigError, match=message):
        get_model("rhemo-cnn", **params).check_params()


# ------------------------------------------------------------------------------- ONNX


@pytest.mark.parametrize("name", QUATERNION_NETS)
def test_quaternion_net_onnx_export_matches_torch(name, tmp_path):
    from serkit.export import OnnxClassifier, export_net

    cls = get_net(name)
    torch.manual_seed(0)
    net = cls(cls.test_input_dim, 4, **cls.test_params()).eval()
    path = export_net(net, tmp_path / f"{name}.onnx", cls.test_input_dim, example_frames=1)
    clf = OnnxClassifier(path, threads=1)
    rng = np.random.default_rng(0)
    for batch in (1, 5):  # one window per row, as rhemo-cnn feeds them
        x = rng.normal(size=(batch, 1, cls.test_input_dim)).astype(np.float32)
        n = np.ones(batch, dtype=np.int64)
        with torch.no_grad():
            ref = net(torch.from_numpy(x), torch.from_numpy(n)).numpy()
        assert np.abs(clf.logits(x, n) - ref).max() < 1e-4


@pytest.mark.parametrize("net", ["qresnet50", "ralexnet"])
def test_fitted_rhemo_cnn_export_reproduces_predict_proba(net, tmp_path):
    from serkit.export import OnnxClassifier, export
    from serkit.models.package import save_model

    if net.startswith("q"):
        X, y, groups = _maps(side=32)
        extra = {}
    else:  # 24-frame windows; lengths below one, between one and two, and above two windows
        X, y, groups = synth.frames(18, 24, min_frames=10, max_frames=70, band=3)
        extra = {"window_frames": 24, "normalize": "global"}  # the z-score is in the graph
    params = {"net": net, "net_params": net_test_params(net), "epochs": 1, "device": "cpu"}
    params["net_params"].pop("window", None)
    model = get_model("rhemo-cnn", **params, **extra).fit(X, y, groups)
    save_model(model, tmp_path / "run" / "model")
    result = export(tmp_path / "run", tmp_path / "m.onnx")
    assert result.max_abs_diff < 1e-4
    onnx_proba = OnnxClassifier(tmp_path / "m.onnx", threads=1).predict_proba(X)
    np.testing.assert_allclose(onnx_proba, model.predict_proba(X), atol=1e-5)


# ------------------------------------------------------------------------------- encoder path


def _rhemo_package(folder, window=32, bins=16):
    from serkit.encoders import get_encoder_class
    from serkit.encoders.package import save_encoder
    from serkit.features import get_extractor
    from serkit.features.frontend import Frontend

    torch.manual_seed(0)
    net = get_encoder_class("rhemo")(
        bins, num_classes=3, window_frames=window, bins=bins, hidden=8, beta=1.0, beta_vad=1.0
    )
    net.fit_input([np.full((4, bins), 3.0)])
    return save_encoder(
        net,
        folder,
        frontend=Frontend(get_extractor("spectrogram", preset="rhemo", n_bins=bins)),
        input_dim=bins,
        ids=["x/1"],
        speakers=["x/s"],
        classes=["c0", "c1", "c2"],
    )


def _tiny_q():
    """The tiny qresnet50 sizes without map_shape (taken from the package's latent)."""
    return {k: v for k, v in net_test_params("qresnet50").items() if k != "map_shape"}


def _spectra(n=18, bins=16, seed=0):
    X, y, groups = synth.frames(n, bins, seed=seed, min_frames=20, max_frames=80, band=3)
    return [np.abs(x) for x in X], y, groups


def test_encoded_net_gives_the_map_layer_rows(tmp_path):
    from serkit.encoders.package import load_encoder
    from serkit.models.rhemo_front import EncodedNet

    path = _rhemo_package(tmp_path / "enc")
    net = EncodedNet.build(str(path), "qresnet50", 16, 3, _tiny_q(), window=32, finetune=False)
    assert net.net.image_shape == (4, 4, 8)
    pkg = load_encoder(path)
    x = torch.from_numpy(_spectra(1)[0][0][:32][None])  # one full window
    with torch.no_grad():
        ref = pkg.net.embed(x, torch.tensor([32]), layer="map")[:, 0]
        torch.testing.assert_close(net.maps(x, torch.tensor([32])), ref)


@pytest.mark.parametrize("finetune", [False, True])
def test_rhemo_cnn_with_an_encoder_freezes_or_finetunes_it(finetune, tmp_path):
    from serkit.encoders.package import load_encoder
    from serkit.models.package import load_model, save_model

    path = _rhemo_package(tmp_path / "enc")
    before = {k: v.clone() for k, v in load_encoder(path).net.encoder.state_dict().items()}
    X, y, groups = _spectra()
    model = get_model(
        "rhemo-cnn",
        net="qresnet50",
        net_params=_tiny_q(),
        encoder=str(path),
        finetune=finetune,
        normalize="none",
        window_frames=32,
        epochs=2,
        batch_size=8,
        device="cpu",
    ).fit(X, y, groups)
    after = model.module_.encoder.encoder.state_dict()
    changed = any(not torch.equal(before[k], after[k]) for k in before)
    assert changed == finetune
    folder = save_model(model, tmp_path / "run" / "model")
    loaded, _ = load_model(folder)
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), atol=1e-6)
    if finetune:  # the encoder is part of the exported graph
        from serkit.export import OnnxClassifier, export

        assert export(tmp_path / "run", tmp_path / "m.onnx").max_abs_diff < 1e-4
        onnx_proba = OnnxClassifier(tmp_path / "m.onnx", threads=1).predict_proba(X)
        np.testing.assert_allclose(onnx_proba, model.predict_proba(X), atol=1e-5)


def test_rhemo_cnn_refuses_an_encoder_of_another_window(tmp_path):
    path = _rhemo_package(tmp_path / "enc")
    model = get_model("rhemo-cnn", encoder=str(path), normalize="none", window_frames=64)
    model.check_params(16)  # the package is read when training starts, not at validation
    with pytest.raises(ConfigError, match="trained on 32-frame windows; set window_frames: 32"):
        model.fit(*_spectra()[:2])


def test_the_leakage_certificate_covers_the_models_encoder(tmp_path):
    """An RH-emo package (trained with labels) that heard a test speaker is refused, whether
    its features come through the encoder extractor or the model runs it."""
    import pandas as pd

    from serkit.encoders.leakage import EncoderCertificate, certify_encoder
    from serkit.protocols import Fold, certify

    path = _rhemo_package(tmp_path / "enc")  # trained on speaker x/s
    df = pd.DataFrame({"id": ["a", "b", "c", "d"], "speaker": ["x/s", "x/s", "y/t", "y/t"]})
    folds = [
        Fold("f1", np.array([2, 3]), np.array([0, 1])),
        Fold("f2", np.array([0, 1]), np.array([2, 3])),
    ]
    base = certify(df, folds, ("speaker",), complete=True, protocol="t")
    cfg = {"features": {"name": "spectrogram"}, "model": {"params": {"encoder": str(path)}}}
    with pytest.raises(ConfigError, match=r"WITH labels .* fold f1: x/s"):
        certify_encoder(cfg, df, folds, base)
    cert = certify_encoder({**cfg, "allow_speaker_dependent": True}, df, folds, base)
    assert isinstance(cert, EncoderCertificate) and cert.encoder["status"] == "speaker-dependent"
    disjoint = certify_encoder(cfg, df.assign(speaker=["z/1", "z/1", "y/t", "y/t"]), folds, base)
    assert disjoint.encoder["status"] == "speaker-disjoint"
