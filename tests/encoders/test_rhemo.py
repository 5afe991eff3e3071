"""The ``rhemo`` family: §3.2 windows and scaling, §3.3 shapes, §3.4 loss terms and ablations,
the ``map`` layer of notes/api13.md, a tiny overfit and stage-2 initialisation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from serkit.encoders import get_encoder_class
from serkit.encoders.package import save_encoder
from serkit.encoders.pretrain import initialise
from serkit.features import get_extractor
from serkit.features.frontend import Frontend

RHEmo = get_encoder_class("rhemo")
T, F, DIM = 16, 8, 9  # tiny windows; one more input bin than used (as 129 -> 128)


def _net(seed: int = 0, classes: int = 3, **params):
    torch.manual_seed(seed)
    return RHEmo(DIM, num_classes=classes, **{**RHEmo.test_params(), **params})


def _batch(n: int = 6, frames: int = 40, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, frames, DIM, generator=g)
    y = torch.arange(n) % 3
    t = torch.stack([(y == 0).float(), (y != 1).float(), (y == 2).float()], 1)
    return x, torch.full((n,), frames), y, t


def test_paper_sizes_give_the_4_x_64_x_64_latent_and_a_4096_wide_head():
    net = RHEmo(129, num_classes=5, **RHEmo.presets["paper"])
    assert net.get_config()["hidden"] == 4096
    assert net.emotion_head[0].in_features == 64 * 64 and net.emotion_head[-1].out_features == 5
    with torch.no_grad():
        net.eval()
        win = net.prepare_windows(torch.rand(700, 129))
        assert win.shape == (1, 1, 512, 128)
        assert net.encode_map(win).shape == (1, 4, 64, 64)
        assert net.decode_map(net.encode_map(win)).shape == (1, 1, 512, 128)


@pytest.mark.parametrize(
    ("frames", "starts"),
    [(5, [0]), (T, [0]), (int(1.5 * T), [0]), (2 * T, [0, T]), (int(2.5 * T), [0, T, 24])],
)
def test_windows_are_non_overlapping_with_an_end_window_only_beyond_two(frames, starts):
    net = _net()
    x = torch.arange(frames * DIM, dtype=torch.float32).reshape(frames, DIM) + 1
    win = net.prepare_windows(x)
    assert win.shape == (len(starts), 1, T, F)
    for w, s in enumerate(starts):
        real = min(T, frames - s)
        torch.testing.assert_close(win[w, 0, :real], x[s : s + real, :F])
        assert torch.all(win[w, 0, real:] == 0)  # zero-padded to the window


def test_fit_input_keeps_the_training_maximum_and_windows_are_divided_by_it():
    net = _net()
    frames = [np.full((10, DIM), 2.0, np.float32), np.full((30, DIM), 5.0, np.float32)]
    frames[0][0, F] = 99.0  # a dropped bin does not count
    net.fit_input(frames)
    assert float(net.scale) == 5.0 and "scale" in net.state_dict()
    assert float(net.prepare_windows(torch.from_numpy(frames[1])).max()) == 1.0
    with pytest.raises(ValueError, match="all zero"):
        net.fit_input([np.zeros((4, DIM), np.float32)])


def test_map_rows_are_the_windows_latents_flattened_in_c_order():
    net = _net().eval()
    x, lengths, _, _ = _batch(n=2, frames=2 * T)
    lengths = torch.tensor([2 * T, 5])
    with torch.no_grad():
        out = net.embed(x, lengths, layer="map")
        z = net.encode_map(net.prepare_windows(x[0]))
        pooled = net.embed(x, lengths, layer="pooled")
    assert out.shape == (2, 2, 4 * (T // 8) * (F // 2))
    torch.testing.assert_close(out[0], z.reshape(2, -1))
    assert torch.all(out[1, 1] == 0)  # the one-window row is padded with a zero row
    torch.testing.assert_close(pooled[0], z.mean(dim=2).flatten(1).mean(0))


def test_heads_read_one_latent_channel_each():
    net = _net().eval()
    z = torch.randn(3, 4, T // 8, F // 2)
    base = net.head_logits(z)
    assert base["emotion"].shape == (3, 3) and base["valence"].shape == (3,)
    moved = z.clone()
    moved[:, 2] += 1.0  # channel 2 is arousal's
    after = net.head_logits(moved)
    for name in ("emotion", "valence", "dominance"):
        torch.testing.assert_close(after[name], base[name])
    assert not torch.allclose(after["arousal"], base["arousal"])


@pytest.mark.parametrize(
    ("params", "parts"),
    [
        ({}, {"recon", "ce", "bce_valence", "bce_arousal", "bce_dominance"}),
        ({"beta": 0.0}, {"recon"}),
        ({"recon": False}, {"ce", "bce_valence", "bce_arousal", "bce_dominance"}),
        ({"heads": "discrete"}, {"recon", "ce"}),
        ({"heads": "vad"}, {"recon", "bce_valence", "bce_arousal", "bce_dominance"}),
        ({"decoder": "real"}, {"recon", "ce", "bce_valence", "bce_arousal", "bce_dominance"}),
    ],
)
def test_ablations_switch_the_loss_terms(params, parts):
    net = _net(**params)
    x, lengths, y, t = _batch()
    loss, got = net.loss(x, lengths, labels=y, targets=t)
    assert {k for k in got if not k.startswith("acc")} == parts
    weights = {"recon": net.alpha, "ce": net.beta}
    expected = sum(got[k] * weights.get(k, net.beta * net.beta_vad) for k in parts)
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_missing_vad_targets_are_left_out_of_their_term():
    net = _net()
    x, lengths, y, t = _batch()
    t_missing = t.clone()
    t_missing[:, 2] = float("nan")
    t_missing[0, 0] = float("nan")
    t_flipped = t_missing.clone()
    t_flipped[0, 0] = 1.0 - t[0, 0]  # a known value would change valence's term
    torch.manual_seed(0)
    _, a = net.loss(x, lengths, labels=y, targets=t_missing)
    torch.manual_seed(0)
    _, b = net.loss(x, lengths, labels=y, targets=t_flipped)
    assert a["bce_dominance"] == 0.0 and "acc_dominance" not in a
    assert a["bce_valence"] != pytest.approx(b["bce_valence"])


def test_a_tiny_overfit_lowers_every_term():
    net = _net()
    x, lengths, y, t = _batch()
    net.fit_input(list(x.numpy()))
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    net.train()
    first = last = None
    for step in range(60):
        torch.manual_seed(step)
        loss, parts = net.loss(x, lengths, labels=y, targets=t)
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = first or parts
        last = parts
    for key in ("recon", "ce", "bce_valence", "bce_arousal", "bce_dominance"):
        assert last[key] < first[key], (key, first[key], last[key])


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"recon": False, "beta": 0.0}, "nothing to train"),
        ({"bins": 16}, "fewer than bins=16"),
        ({"window_frames": 12}, "multiple of 8"),
        ({"decoder": "complex"}, "decoder 'complex'"),
        ({"heads": "both"}, "heads 'both'"),
        ({"magnitude": "db"}, "magnitude 'db'"),
        ({"dynamic_range_db": 0.0}, "dynamic_range_db must be > 0"),
    ],
)
def test_bad_parameters_are_refused_by_name(params, match):
    with pytest.raises(ValueError, match=match):
        _net(**params)


def test_log_magnitude_compresses_into_0_1_and_inverts():
    net = _net(magnitude="log", dynamic_range_db=80.0)
    net.scale.fill_(4.0)
    x = torch.tensor([[0.0, 4e-4, 4e-2, 4.0]])
    y = net.compress(x)
    # log1p(1e4 * x / scale) / log1p(1e4): 0 -> 0, the maximum -> 1, -40 dB -> about 0.5
    torch.testing.assert_close(y[0, [0, 3]], torch.tensor([0.0, 1.0]))
    assert 0.07 < float(y[0, 1]) < 0.08 and 0.49 < float(y[0, 2]) < 0.51
    torch.testing.assert_close(net.expand(y), x, rtol=1e-4, atol=1e-6)
    linear = _net()
    linear.scale.fill_(4.0)
    torch.testing.assert_close(linear.compress(x), x / 4.0)  # the seed's max-scaling
    assert RHEmo.presets["cpu"]["magnitude"] == "log"
    assert RHEmo.presets["paper"]["magnitude"] == "linear"


def test_reconstruct_gives_front_end_frames():
    net = _net().eval()
    net.scale.fill_(4.0)
    x, lengths, _, _ = _batch(n=2, frames=2 * T + 3)
    with torch.no_grad():
        out = net.reconstruct(x, lengths)
    assert out.shape == x.shape
    assert torch.all(out[..., F:] == 0) and 0 < float(out.max()) <= 4.0  # x scale, top bin 0


def _package(net, folder, classes):
    frontend = Frontend(get_extractor("spectrogram", preset="rhemo"))
    return save_encoder(
        net,
        folder,
        frontend=frontend,
        input_dim=DIM,
        ids=["c/1"],
        speakers=["c/s"],
        classes=classes,
    )


def test_stage_two_starts_from_the_stage_one_weights(tmp_path):
    stage1 = _net(seed=1)
    stage1.fit_input([np.full((4, DIM), 7.0, np.float32)])
    folder = _package(stage1, tmp_path / "stage1", ["a", "b", "c"])
    stage2 = _net(seed=2)
    stage2.fit_input([np.full((4, DIM), 3.0, np.float32)])
    info = initialise(stage2, str(folder), "")
    assert info["skipped"] == [] and info["loaded"] == len(stage1.state_dict())
    for key, value in stage1.state_dict().items():
        torch.testing.assert_close(stage2.state_dict()[key], value)
    assert float(stage2.scale) == 7.0  # stage 2 keeps stage 1's max-scaling


def test_a_different_class_count_keeps_the_fresh_output_layer(tmp_path):
    folder = _package(_net(seed=1, classes=5), tmp_path / "stage1", list("abcde"))
    stage2 = _net(seed=2, classes=3)
    fresh = stage2.emotion_head[-1].weight.clone()
    info = initialise(stage2, str(folder), "")
    assert info["skipped"] == ["emotion_head.6.bias", "emotion_head.6.weight"]
    torch.testing.assert_close(stage2.emotion_head[-1].weight, fresh)
