"""The ``speechflow`` family: the removal table, 8x code alignment, the random resampler,
condition zeroing reaching the right encoder input, swapping, chunking of long utterances,
the training crops, and a tiny overfit (REC clearly better than NRFC)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from serkit.encoders._speechflow_nets import (
    InterpLnr,
    downsample_codes,
    random_resample,
    upsample_codes,
)
from serkit.encoders.speechflow import CONDITIONS, SpeechFlow, quantise_f0, removed_inputs
from serkit.encoders.trainer import TrainOptions, train_encoder

MELS = 12
TABLE = {  # seed_methods section 0.1: content, pitch, rhythm, timbre kept (1) or zeroed (0)
    "REC": (1, 1, 1, 1),
    "NR": (1, 1, 0, 1),
    "NF": (1, 0, 1, 1),
    "NC": (0, 1, 1, 1),
    "NU": (1, 1, 1, 0),
    "NRF": (1, 0, 0, 1),
    "NRC": (0, 1, 0, 1),
    "NFC": (0, 0, 1, 1),
    "NRFC": (0, 0, 0, 1),
}


def _net(cond_dim: int = 6, **params) -> SpeechFlow:
    torch.manual_seed(0)
    return SpeechFlow(MELS + 1, cond_dim=cond_dim, **{**SpeechFlow.test_params(), **params})


def _utterance(frames: int, seed: int) -> np.ndarray:
    """A smooth mel-like pattern in [0, 1] and an F0 contour with unvoiced gaps."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames)[:, None]
    bands = np.arange(MELS)[None, :]
    mel = 0.5 + 0.4 * np.sin(t / (3.0 + seed) + bands / (2.0 + seed)) * np.cos(t / 11.0)
    f0 = 0.5 + 0.3 * np.sin(t[:, 0] / (5.0 + seed))
    f0[rng.random(frames) < 0.2] = -1.0
    return np.concatenate([np.clip(mel, 0, 1), f0[:, None]], axis=1).astype(np.float32)


def _batch(lengths=(40, 25), seed=0):
    rows = [_utterance(n, seed + i) for i, n in enumerate(lengths)]
    x = np.zeros((len(rows), max(lengths), MELS + 1), np.float32)
    for i, r in enumerate(rows):
        x[i, : len(r)] = r
    return torch.from_numpy(x), torch.tensor(lengths)


def test_conditions_and_the_removal_table():
    assert SpeechFlow.CONDITIONS == CONDITIONS == tuple(TABLE)
    names = ("content", "pitch", "rhythm", "timbre")
    for condition, kept in TABLE.items():
        want = {n for n, k in zip(names, kept, strict=True) if not k}
        assert removed_inputs(condition) == frozenset(want), condition
    with pytest.raises(ValueError, match="NRFC"):
        removed_inputs("NX")


def test_codes_take_forward_at_f_minus_1_and_backward_at_0_and_repeat_8x():
    frames, hidden = 24, 3
    out = torch.arange(frames, dtype=torch.float32)[None, :, None].repeat(1, 1, 2 * hidden)
    out[..., hidden:] += 1000.0  # backward half
    codes = downsample_codes(out, 8)
    assert codes.shape == (1, 3, 2 * hidden)
    assert codes[0, :, 0].tolist() == [7.0, 15.0, 23.0]  # forward at f-1, 2f-1, 3f-1
    assert codes[0, :, hidden].tolist() == [1000.0, 1008.0, 1016.0]  # backward at 0, f, 2f
    up = upsample_codes(codes, 8)
    assert up.shape == (1, frames, 2 * hidden)
    for t in range(frames):
        assert torch.equal(up[0, t], codes[0, t // 8])


def test_the_net_has_one_code_per_8_frames():
    net = _net().eval()
    x, lengths = _batch((40, 25))
    cond = torch.randn(2, 6)
    for layer, width in (("content", 4), ("rhythm", 2), ("pitch", 4)):
        codes = net.embed(x, lengths, cond, layer=layer)
        assert codes.shape == (2, 5, width), layer  # ceil(40 / 8)
    assert net.decompose(x, lengths, cond).shape == (2, 40, MELS)
    with pytest.raises(ValueError, match="multiples of factor"):
        SpeechFlow(MELS + 1, pad_frames=30, crop_max=16, crop_min=8)


def test_resampler_is_the_identity_at_scale_one_and_keeps_lengths():
    torch.manual_seed(0)
    x = torch.randn(3, 50, 4)
    lengths = torch.tensor([50, 33, 7])
    out = random_resample(x, lengths, out_frames=64, scale_range=(1.0, 1.0), max_segments=3)
    assert out.x.shape == (3, 64, 4)
    assert out.lengths.tolist() == [50, 33, 7]
    for i, n in enumerate(lengths.tolist()):
        torch.testing.assert_close(out.x[i, :n], x[i, :n])
        assert torch.all(out.x[i, n:] == 0)


def test_resampler_segments_and_scales_stay_in_range_and_frames_are_kept():
    torch.manual_seed(1)
    x = torch.arange(192, dtype=torch.float32)[None, :, None].repeat(8, 1, 2)
    lengths = torch.tensor([128, 64, 100, 128, 70, 90, 128, 64])
    out = random_resample(x, lengths, out_frames=192)
    assert out.x.shape == (8, 192, 2)
    assert int(out.segments.min()) >= 19 and int(out.segments.max()) <= 31
    assert out.segments.unique().numel() > 5  # drawn, not fixed
    assert float(out.scales.min()) >= 0.5 and float(out.scales.max()) <= 1.5
    for i, n in enumerate(lengths.tolist()):
        kept = out.x[i, : int(out.lengths[i]), 0]
        assert torch.all(kept[1:] >= kept[:-1])  # monotone time warp
        assert float(kept.min()) == 0.0 and float(kept.max()) <= n - 1
    assert not torch.equal(out.x[0, :128], x[0, :128])  # it did resample


def test_interp_module_is_identity_in_eval_and_keeps_the_padded_length_in_training():
    interp = InterpLnr(out_frames=32, min_seg=4, max_seg=6, max_segments=5)
    x = torch.randn(2, 32, 3)
    interp.eval()
    assert interp(x, torch.tensor([32, 32])) is x
    interp.train()
    assert interp(x, torch.tensor([32, 32])).shape == (2, 32, 3)


def test_resample_scales_one_makes_the_training_resamplers_the_identity():
    x = torch.randn(2, 32, 3)
    interp = InterpLnr(out_frames=32, min_seg=4, max_seg=6, max_segments=8, scale_range=(1, 1))
    interp.train()
    torch.testing.assert_close(interp(x, torch.tensor([32, 32])), x)
    assert _net().get_config()["resample_scales"] == [0.5, 1.5]  # section 0.3
    x, lengths = _batch()
    cond = torch.ones(2, 6)

    def train_and_eval_losses(net):  # the same crops (drawn first), resampled only in training
        losses = []
        for mode in (True, False):
            net.train(mode)
            torch.manual_seed(3)
            losses.append(float(net.loss(x, lengths, cond=cond)[0].detach()))
        return losses

    # pad_frames 16: the 5 segments of >= 4 frames cover every padded frame (beyond the last
    # segment the resampler pads with zeros, as the original)
    aligned = _net(resample_scales=[1.0, 1.0], pad_frames=16)
    assert aligned.get_config()["resample_scales"] == [1.0, 1.0]
    trained, evaluated = train_and_eval_losses(aligned)
    assert trained == pytest.approx(evaluated, rel=1e-6)  # both resamplers are the identity
    trained, evaluated = train_and_eval_losses(_net(pad_frames=16))
    assert trained != pytest.approx(evaluated, rel=1e-3)  # the default one resamples


@pytest.mark.parametrize("scales", [[0.0, 1.0], [1.5, 0.5], [1.0], "fast", None])
def test_bad_resample_scales_are_refused_by_name(scales):
    with pytest.raises(ValueError, match="resample_scales must be"):
        _net(resample_scales=scales)


def test_f0_quantisation_has_257_bins_and_bin_0_for_unvoiced():
    f0 = torch.tensor([[-1.0, 0.0, 1e-3, 0.5, 1.0, -1e10]])
    onehot = quantise_f0(f0, 256)
    assert onehot.shape == (1, 6, 257)
    assert onehot.argmax(-1).tolist() == [[0, 0, 1, 129, 256, 0]]


def _spy(net: SpeechFlow) -> dict[str, torch.Tensor]:
    """Record what each encoder input and the decoder's speaker columns receive."""
    seen: dict[str, torch.Tensor] = {}

    def keep(name):
        def hook(_module, args):
            seen[name] = args[0].detach().clone()

        return hook

    net.sync_encoder.content.blocks[0].register_forward_pre_hook(keep("content"))
    net.sync_encoder.pitch.blocks[0].register_forward_pre_hook(keep("pitch"))
    net.rhythm_encoder.convs.register_forward_pre_hook(keep("rhythm"))
    net.decoder.register_forward_pre_hook(keep("decoder"))
    return seen


@pytest.mark.parametrize("condition", CONDITIONS)
def test_condition_zeroing_reaches_the_right_input(condition):
    net = _net(cond_dim=6)
    seen = _spy(net)
    x, lengths = _batch()
    net.decompose(x, lengths, torch.randn(2, 6), condition)
    speaker = seen["decoder"][..., -net.config["speaker_dim"] :]
    inputs = {
        "content": seen["content"],
        "pitch": seen["pitch"],
        "rhythm": seen["rhythm"],
        "timbre": speaker,
    }
    removed = removed_inputs(condition)
    for component, value in inputs.items():
        zero = bool(torch.all(value == 0))
        assert zero == (component in removed), (condition, component)


def test_swap_feeds_the_component_from_the_other_utterance():
    net = _net(cond_dim=6)
    x, lengths = _batch((40, 25), seed=0)
    other, other_lengths = _batch((40, 40), seed=5)
    c, c_other = torch.randn(2, 6), torch.randn(2, 6)
    timbre = net.decompose(x, lengths, c, swap={"timbre": (other, other_lengths, c_other)})
    torch.testing.assert_close(timbre, net.decompose(x, lengths, c_other))
    seen = _spy(net)
    net.decompose(x, lengths, c, swap={"rhythm": (other, other_lengths, c_other)})
    rhythm_in = seen["rhythm"].transpose(1, 2)  # (chunks, frames, mels)
    torch.testing.assert_close(rhythm_in[0, :16], other[0, :16, :MELS])
    torch.testing.assert_close(seen["content"].transpose(1, 2)[0, :16], x[0, :16, :MELS])
    changed = net.decompose(x, lengths, c, swap={"rhythm": (other, other_lengths, c_other)})
    assert not torch.allclose(changed, net.decompose(x, lengths, c))
    with pytest.raises(ValueError, match="unknown component"):
        net.decompose(x, lengths, c, swap={"energy": (other, other_lengths, c_other)})


def test_long_utterances_are_decomposed_in_independent_chunks():
    net = _net(cond_dim=0)
    x, lengths = _batch((45,))
    whole = net.decompose(x, lengths)
    first = net.decompose(x[:, :16], torch.tensor([16]))  # crop_max = 16 in test_params
    torch.testing.assert_close(whole[:, :16], first)
    assert whole.shape == (1, 45, MELS) and torch.all(torch.isfinite(whole))


def test_every_row_is_drawn_samples_per_epoch_times():
    net = _net()
    batches = net.batch_indices(np.zeros(5), 4, np.random.default_rng(0))
    drawn = np.concatenate(batches)
    assert sorted(drawn.tolist()) == sorted(list(range(5)) * 2)  # samples_per_epoch = 2
    assert max(len(b) for b in batches) == 4


def test_the_loss_reads_the_un_resampled_crop_and_needs_cond():
    net = _net(cond_dim=6)
    x, lengths = _batch()
    loss, parts = net.loss(x, lengths, cond=torch.randn(2, 6))
    assert loss.ndim == 0 and parts["recon"] == pytest.approx(float(loss.detach()))
    loss.backward()
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad)
    with pytest.raises(ValueError, match="cond_dim=6"):
        net.loss(x, lengths)
    with pytest.raises(ValueError, match="speechflow-input"):
        net.loss(x[..., :-1], lengths, cond=torch.randn(2, 6))


def test_tiny_overfit_reconstructs_far_better_than_nothing_but_timbre():
    rows = [_utterance(n, seed) for seed, n in enumerate((30, 36, 28))]
    torch.manual_seed(0)
    net = SpeechFlow(
        MELS + 1,
        **{**SpeechFlow.test_params(), "decoder_hidden": 32, "content_hidden": 4},
    )
    options = TrainOptions(epochs=60, batch_size=6, lr=0.01, seed=0)
    history = train_encoder(net, rows, options=options)
    assert history[-1]["recon"] < 0.3 * history[0]["recon"], history[::10]
    x, lengths = _batch((30, 36, 28))
    target = x[..., :MELS]
    mask = (torch.arange(x.shape[1])[None, :] < lengths[:, None]).float()[..., None]

    def mse(out):
        return float((((out - target) ** 2) * mask).sum() / (mask.sum() * MELS))

    rec, nothing = mse(net.reconstruct(x, lengths)), mse(net.decompose(x, lengths, None, "NRFC"))
    assert rec < 0.5 * nothing, (rec, nothing)


def test_the_contract_suites_cover_the_family_and_its_front_end():
    from serkit.encoders import list_encoders
    from serkit.features import get_extractor, list_extractors

    assert "speechflow" in list_encoders() and "speechflow-input" in list_extractors()
    front = SpeechFlow.default_frontend
    assert get_extractor(front["name"], **front["params"]).level == "frame"
    assert SpeechFlow.input_norm == "none"  # the pretrain loop keeps the [0, 1] scale
