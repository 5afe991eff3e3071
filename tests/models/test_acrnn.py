"""3-D ACRNN: the net (shapes, presets, padding, attention) and the segment estimator."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone

from serkit.errors import ConfigError
from serkit.models import get_model, list_models
from serkit.models.nets import get_net, list_nets
from serkit.models.nets.acrnn import MaskedBiLSTM, count_parameters, reverse_within_length
from serkit.models.package import load_model, save_model
from serkit.models.segmented import PooledForward, SegmentCollate

from . import _synth as synth


def frames(n=36, seed=0, min_frames=10, max_frames=40):
    """3-channel x 12-bin sequences; class c raises bins 4c..4c+3 (one pooled freq band)."""
    return synth.frames(
        n,
        36,
        seed=seed,
        min_frames=min_frames,
        max_frames=max_frames,
        channels=3,
        band=4,
        step=4,
        shift=1.5,
    )


TINY = get_net("acrnn").test_params() if "acrnn" in list_nets() else {}


def test_registered_as_net_and_model():
    assert "acrnn" in list_nets()
    assert "acrnn" in list_models()


def test_forward_shapes_and_padding_invariance():
    torch.manual_seed(0)
    net = get_net("acrnn")(3 * 8, 5, **TINY).eval()
    x = torch.randn(3, 41, 24)
    lengths = torch.tensor([41, 23, 3])
    for i, n in enumerate(lengths.tolist()):
        x[i, n:] = 0
    out = net(x, lengths)
    assert out.shape == (3, 5)
    for i, n in enumerate(lengths.tolist()):
        alone = net(x[i : i + 1, :n], lengths[i : i + 1])
        torch.testing.assert_close(alone[0], out[i], atol=1e-5, rtol=1e-5)
    assert net(torch.randn(1, 1, 24), torch.tensor([1])).shape == (1, 5)  # shorter than pool


def test_presets_follow_the_paper_sizes():
    paper = get_net("acrnn")(120, 4, preset="paper")
    convs = [m for m in paper.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 6
    assert [c.out_channels for c in convs] == [128] + [256] * 5
    assert all(c.kernel_size == (5, 3) for c in convs)
    assert paper.projection.in_features == 256 * 10 and paper.projection.out_features == 768
    assert paper.blstm.output_size == 256 and paper.head[0].out_features == 64
    cpu = get_net("acrnn")(120, 4)
    assert count_parameters(cpu) < count_parameters(paper) / 10
    with pytest.raises(ConfigError, match="no parameter"):
        get_net("acrnn")(120, 4, channel=3)
    with pytest.raises(ConfigError, match="multiple"):
        get_net("acrnn")(121, 4)
    with pytest.raises(ConfigError, match="preset"):
        get_net("acrnn")(120, 4, preset="huge")


def test_masked_bilstm_matches_packed_sequences():
    torch.manual_seed(0)
    bi = MaskedBiLSTM(4, 3)
    ref = torch.nn.LSTM(4, 3, batch_first=True, bidirectional=True)
    with torch.no_grad():  # same weights in torch's bidirectional LSTM
        for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
            getattr(ref, name).copy_(getattr(bi.forward_lstms[0], name))
            getattr(ref, name + "_reverse").copy_(getattr(bi.backward_lstms[0], name))
    x = torch.randn(2, 7, 4)
    lengths = torch.tensor([7, 4])
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True)
    expected, _ = torch.nn.utils.rnn.pad_packed_sequence(ref(packed)[0], batch_first=True)
    got = bi(x, lengths)
    torch.testing.assert_close(got[1, :4], expected[1, :4])
    torch.testing.assert_close(got[0], expected[0])
    y = reverse_within_length(x, lengths)
    torch.testing.assert_close(reverse_within_length(y, lengths), x)
    torch.testing.assert_close(y[1, :4], x[1, :4].flip(0))


def test_segment_collate_and_pooled_forward():
    items = [(np.ones((50, 6), np.float32), 1), (np.ones((12, 6), np.float32), 0)]
    train = SegmentCollate(20, 10, train=True)(items)
    assert train["x"].shape == (5, 20, 6) and train["y"].tolist() == [1, 1, 1, 1, 0]
    assert train["lengths"].tolist() == [20, 20, 20, 20, 12]
    rand = SegmentCollate(20, 10, train=True, mode="random", crops=2)(items)
    assert rand["x"].shape == (4, 20, 6) and rand["y"].tolist() == [1, 1, 0, 0]
    ev = SegmentCollate(20, 10, train=False)(items)
    assert ev["owner"].tolist() == [0, 0, 0, 0, 1] and ev["y"].tolist() == [1, 0]

    class Fixed(torch.nn.Module):
        def forward(self, x, lengths):
            return torch.tensor([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0], [0.0, 0.0], [0.0, 5.0]])

    pooled = PooledForward("max")(Fixed(), ev)
    torch.testing.assert_close(pooled, torch.tensor([[3.0, 2.0], [0.0, 5.0]]))
    mean = PooledForward("mean")(Fixed(), ev)
    torch.testing.assert_close(mean, torch.tensor([[1.0, 0.5], [0.0, 5.0]]))
    with pytest.raises(ConfigError):
        PooledForward("median")


def _model(**params):
    base = {
        **get_model("acrnn").test_params(),
        "epochs": 12,
        "lr": 3e-3,
        "device": "cpu",
        "patience": None,
    }
    return get_model("acrnn", **{**base, **params})


def test_learns_saves_and_clones(tmp_path):
    X, y, groups = frames()
    model = _model().fit(X, y, groups)
    assert (model.predict(X) == y).mean() >= 0.8
    assert model.val_split_.startswith("speaker-disjoint")
    assert np.isfinite(model.history_[-1]["val_uar"])
    assert model.norm_mean_.shape == (36,)  # per channel, per mel bin
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    save_model(model, tmp_path / "pkg")
    loaded, meta = load_model(tmp_path / "pkg")
    assert meta["name"] == "acrnn"
    np.testing.assert_allclose(loaded.predict_proba(X), proba, atol=1e-6)
    twin = clone(model)
    assert twin.get_params()["pooling"] == "max" and not hasattr(twin, "module_")


def test_mean_pooling_and_random_crops_with_augment():
    X, y, groups = frames(n=24)
    model = _model(
        epochs=2, pooling="mean", pool_on="posteriors", train_segments="random", augment=True
    ).fit(X, y, groups)
    assert model.predict_proba(X).shape == (24, 3)
    with pytest.raises(ConfigError):
        _model(epochs=1, train_segments="every").fit(X, y, groups)
