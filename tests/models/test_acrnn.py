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


@pytest.mark.parametrize("bn_steps", ["real", "all"])
def test_training_batch_norm_ignores_padding_only_with_real_steps(bn_steps):
    torch.manual_seed(0)
    net = get_net("acrnn")(3 * 8, 5, **{**TINY, "bn_steps": bn_steps}).train()
    x = torch.randn(2, 20, 24)
    lengths = torch.tensor([20, 8])
    x[1, 8:] = 0
    padded = torch.cat([x, torch.zeros(2, 30, 24)], dim=1)  # 30 more padded frames for both
    same = torch.allclose(net(x, lengths), net(padded, lengths), atol=1e-5)
    assert same is (bn_steps == "real")  # "all": the padded steps enter the batch statistics


def test_bn_steps_changes_nothing_in_evaluation_and_is_checked():
    torch.manual_seed(0)
    real = get_net("acrnn")(3 * 8, 5, **TINY)
    every = get_net("acrnn")(3 * 8, 5, **{**TINY, "bn_steps": "all"})
    every.load_state_dict(real.state_dict())
    x, lengths = torch.randn(3, 30, 24), torch.tensor([30, 12, 5])
    torch.testing.assert_close(real.eval()(x, lengths), every.eval()(x, lengths))
    with pytest.raises(ConfigError, match="bn_steps"):
        get_net("acrnn")(3 * 8, 5, **{**TINY, "bn_steps": "some"})


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


def test_segment_collate_tempo_and_mixup_only_in_training():
    items = [(np.ones((50, 6), np.float32), 1), (np.full((40, 6), 2.0, np.float32), 0)]
    slow = SegmentCollate(20, 10, train=True, tempo=(0.5, 0.5), channels=3)(items)
    assert slow["x"].shape == (16, 20, 6)  # 100 and 80 frames: 9 and 7 windows
    fast = SegmentCollate(20, 10, train=True, tempo=(2.0, 2.0), channels=3)(items)
    assert fast["x"].shape == (3, 20, 6)  # 25 and 20 frames: 2 windows (tail) and 1
    assert float(fast["x"][0, 0, 2]) == pytest.approx(2.0)  # the delta channel doubled
    mixed = SegmentCollate(20, 10, train=True, mixup=0.4, seed=3)(items)
    assert set(mixed) == {"x", "lengths", "y", "y_mix", "mix_weight"}
    assert 0.5 <= mixed["mix_weight"] <= 1.0 and len(mixed["y_mix"]) == len(mixed["y"])
    assert sorted(mixed["y_mix"].tolist()) == sorted(mixed["y"].tolist())  # a permutation
    assert mixed["x"].dtype == torch.float32 and mixed["lengths"].dtype == torch.int64
    ev = SegmentCollate(20, 10, train=False, tempo=(2.0, 2.0), mixup=0.4)(items)
    assert "y_mix" not in ev and ev["x"].shape == (7, 20, 6)  # evaluation untouched
    for bad in ({"tempo": (1.2, 0.8)}, {"tempo": "fast"}, {"mixup": -1.0}, {"mixup": "lots"}):
        with pytest.raises(ConfigError, match="tempo|mixup"):
            SegmentCollate(20, 10, train=True, **bad)


def test_mixup_loss_is_the_blend_of_both_labels_losses():
    from serkit.models.training import train_module

    torch.manual_seed(0)
    net = torch.nn.Linear(4, 2)
    seen = []

    class Mixing:
        def __call__(self, items):
            x = torch.stack([torch.as_tensor(f).float().mean(0) for f, _ in items])
            y = torch.tensor([int(label) for _, label in items])
            return {
                "x": x,
                "lengths": torch.ones(len(items)),
                "y": y,
                "y_mix": 1 - y,
                "mix_weight": 0.75,
            }

    def forward(module, batch):
        logits = module(batch["x"])
        if "y_mix" in batch:
            ce = torch.nn.functional.cross_entropy
            seen.append((0.75 * ce(logits, batch["y"]) + 0.25 * ce(logits, batch["y_mix"])).item())
        return logits

    data = [(np.ones((3, 4), np.float32) * i, i % 2) for i in range(4)]
    result = train_module(
        net,
        data,
        None,
        epochs=1,
        batch_size=4,
        optimizer="sgd",
        lr=1e-3,  # one batch: its loss is taken before the step
        scheduler="none",
        collate_fn=Mixing(),
        forward_fn=forward,
    )
    assert seen and result.history[0]["train_loss"] == pytest.approx(seen[0], rel=1e-6)


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


def test_overfits_with_tempo_and_mixup():
    X, y, groups = frames()
    model = _model(epochs=16, tempo=[0.9, 1.1], mixup=0.4).fit(X, y, groups)
    assert (model.predict(X) == y).mean() >= 0.8
    with pytest.raises(ConfigError, match="tempo"):
        _model(epochs=1, tempo=[1.2]).fit(X, y, groups)
