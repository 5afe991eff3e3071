"""The representation seed's encoder families: vae, beta-vae, conv-ae, ge2e.

(The contract suite over every registered family is tests/encoders/test_contract*.py; these
are the families' own properties.)
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from serkit.encoders import get_encoder_class, list_encoders
from serkit.encoders.base import Reconstructs
from serkit.features import get_extractor

FAMILIES = ["vae", "beta-vae", "conv-ae", "ge2e"]
AUTOENCODERS = ["vae", "beta-vae", "conv-ae"]
DIM = 6


def build(name: str, cond_dim: int = 0, **params) -> torch.nn.Module:
    cls = get_encoder_class(name)
    torch.manual_seed(0)
    return cls(DIM, 2, cond_dim, **{**cls.test_params(), **params})


def batch(lengths: list[int], frames: int | None = None, pad_value: float = 0.0, seed: int = 0):
    """Smooth per-row patterns (class = row parity: slow or fast), padded with ``pad_value``."""
    gen = torch.Generator().manual_seed(seed)
    frames = frames or max(lengths)
    x = torch.full((len(lengths), frames, DIM), pad_value)
    for i, n in enumerate(lengths):
        phase = torch.rand(1, generator=gen) * 6.28
        steps = torch.arange(n, dtype=torch.float32)[:, None]
        bands = torch.arange(DIM, dtype=torch.float32)[None, :]
        speed = 0.3 if i % 2 == 0 else 1.2
        noise = 0.1 * torch.randn(n, DIM, generator=gen)
        x[i, :n] = torch.sin(speed * steps + phase + 0.5 * bands) + noise
    labels = torch.tensor([i % 2 for i in range(len(lengths))])
    return x, torch.tensor(lengths), labels


def test_the_seed_families_are_registered():
    assert set(FAMILIES) <= set(list_encoders())


@pytest.mark.parametrize("name", FAMILIES)
def test_overfits_a_tiny_batch(name):
    net = build(name)
    x, lengths, labels = batch([14, 16, 12, 16, 15, 13, 16, 10])
    y = labels if net.uses_labels else None
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)

    def measured() -> float:
        torch.manual_seed(1)
        with torch.no_grad():
            return float(net.loss(x, lengths, labels=y)[0])

    start = measured()
    for _ in range(300):
        loss, parts = net.loss(x, lengths, labels=y)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
    end = measured()
    # at most half the start (beta * KL keeps a floor under the beta-VAE's loss; how well
    # each autoencoder reconstructs is test_autoencoders_reconstruct_the_tiny_batch)
    assert end < 0.5 * start, (start, end, parts)


@pytest.mark.parametrize("name", ["vae", "beta-vae", "conv-ae"])
def test_autoencoders_reconstruct_the_tiny_batch(name):
    # beyond a lower loss: the reconstruction ends far below the data's variance (what
    # predicting the mean frame would score), so the code carries the rows' content (a VAE
    # whose posterior collapsed would not get there)
    net = build(name)
    x, lengths, _ = batch([14, 16, 12, 16, 15, 13, 16, 10])
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(300):
        loss, parts = net.loss(x, lengths)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
    mask = torch.arange(x.shape[1])[None, :] < lengths[:, None]
    variance = float(x[mask].var(dim=0).mean())
    with torch.no_grad():
        error = float((net.eval().reconstruct(x, lengths) - x)[mask].pow(2).mean())
    assert error < 0.25 * variance, (error, variance, parts)


def test_vae_recon_reduction_sets_the_scale_of_the_reconstruction():
    x, lengths, _ = batch([16, 12, 9])
    parts = {}
    for reduction in ("sum", "mean"):
        net = build("vae", recon_reduction=reduction)
        torch.manual_seed(4)
        parts[reduction] = net.loss(x, lengths)[1]
    assert parts["sum"]["kl"] == parts["mean"]["kl"]
    real_elements = (16 + 12 + 9) * DIM
    assert parts["sum"]["recon"] == pytest.approx(parts["mean"]["recon"] * real_elements / 3)
    with pytest.raises(ValueError, match="recon_reduction"):
        build("vae", recon_reduction="max")


@pytest.mark.parametrize("name", FAMILIES)
def test_padding_does_not_change_embeddings(name):
    seg = get_encoder_class(name).test_params()["segment_frames"]
    lengths = [seg // 2, seg, 2 * seg + 3, 3 * seg]  # shorter, equal, several crops
    net = build(name).eval()
    x, lens, _ = batch(lengths)
    padded = torch.full((len(lengths), 3 * seg + 11, DIM), 1e3)
    padded[:, : x.shape[1]] = x
    for i, n in enumerate(lengths):
        padded[i, n:] = 1e3  # garbage beyond every row's real frames
    with torch.no_grad():
        a = net.embed(x, lens)
        b = net.embed(padded, lens)
        alone = torch.cat(
            [net.embed(x[i : i + 1, :n], lens[i : i + 1]) for i, n in enumerate(lengths)]
        )
    assert a.shape == (len(lengths), a.shape[1])
    assert torch.allclose(a, b, atol=1e-5)
    assert torch.allclose(a, alone, atol=1e-5)
    for layer in net.layers:
        assert net.embed(x, lens, layer=layer).shape[0] == len(lengths)
    with pytest.raises(ValueError, match="layer"):
        net.embed(x, lens, layer="nope")


@pytest.mark.parametrize("name", FAMILIES)
def test_deterministic_with_a_seed(name):
    x, lengths, labels = batch([20, 9, 33, 16])
    results = []
    for _ in range(2):
        net = build(name)
        torch.manual_seed(5)
        loss, parts = net.loss(x, lengths, labels=labels if net.uses_labels else None)
        results.append((float(loss.detach()), parts, net.eval().embed(x, lengths)))
    assert results[0][0] == results[1][0] and results[0][1] == results[1][1]
    assert torch.equal(results[0][2], results[1][2])


@pytest.mark.parametrize("name", FAMILIES)
def test_get_config_rebuilds_the_same_net(name):
    net = build(name).eval()
    cls = type(net)
    again = cls(DIM, 2, 0, **net.get_config())
    again.load_state_dict(net.state_dict())
    x, lengths, _ = batch([30, 11])
    assert torch.equal(net.embed(x, lengths), again.eval().embed(x, lengths))
    assert net.get_config() == again.get_config()


@pytest.mark.parametrize("name", AUTOENCODERS)
def test_reconstruct_and_decode_shapes_and_padding(name):
    seg = get_encoder_class(name).test_params()["segment_frames"]
    net = build(name).eval()
    assert isinstance(net, Reconstructs)
    x, lengths, _ = batch([seg // 2, 2 * seg + 5])
    with torch.no_grad():
        out = net.reconstruct(x, lengths)
        longer = torch.cat([x, torch.full((2, 7, DIM), 9.0)], dim=1)
        out2 = net.reconstruct(longer, lengths)
        z = net.embed(x, lengths)
        decoded = net.decode(z)
    assert out.shape == x.shape
    assert torch.allclose(out2[:, : x.shape[1]], out, atol=1e-5)
    assert float(out[0, seg // 2 :].abs().max()) == 0.0  # padded frames stay empty
    assert decoded.shape == (2, seg, DIM)
    assert net.decode(z, frames=3).shape == (2, 3, DIM)
    with pytest.raises(ValueError, match="segment_frames"):
        net.decode(z, frames=seg + 1)


COND_CASES = [("vae", {}), ("beta-vae", {}), ("conv-ae", {}), ("conv-ae", {"cond_mode": "product"})]


@pytest.mark.parametrize(("name", "params"), COND_CASES)
def test_conditioning_changes_the_decoder_output(name, params):
    net = build(name, cond_dim=5, **params).eval()
    x, lengths, _ = batch([16, 16])
    gen = torch.Generator().manual_seed(2)
    c1, c2 = torch.randn(2, 5, generator=gen), torch.randn(2, 5, generator=gen)
    with torch.no_grad():
        z = net.embed(x, lengths, cond=c1)
        assert not torch.allclose(net.decode(z, cond=c1), net.decode(z, cond=c2))
        # the encoder does not see the speaker vector (the default): the latent is the audio's
        assert torch.equal(net.embed(x, lengths, cond=c2), z)
        loss, _ = net.train().loss(x, lengths, cond=c1)
    assert torch.isfinite(loss)
    with pytest.raises(ValueError, match="cond_dim=5"):
        net.loss(x, lengths)
    with pytest.raises(ValueError, match="cond_dim=5"):
        net.decode(z, cond=torch.zeros(2, 4))


def test_vae_cond_encoder_feeds_the_speaker_vector_to_the_encoder():
    net = build("vae", cond_dim=5, cond_encoder=True).eval()
    x, lengths, _ = batch([16, 20])
    c1, c2 = torch.zeros(2, 5), torch.ones(2, 5)
    with torch.no_grad():
        assert not torch.allclose(net.embed(x, lengths, cond=c1), net.embed(x, lengths, cond=c2))


def test_vae_kl_part_and_beta():
    x, lengths, _ = batch([16, 16, 12])
    losses = {}
    for name, params in (("vae", {}), ("beta-vae", {}), ("vae", {"beta": 4.0})):
        net = build(name, **params)
        torch.manual_seed(3)
        loss, parts = net.loss(x, lengths)
        assert set(parts) == {"recon", "kl"} and parts["kl"] > 0
        total = parts["recon"] + net.beta * parts["kl"]
        assert float(loss.detach()) == pytest.approx(total, rel=1e-5)
        losses[(name, net.beta)] = float(loss.detach())
    assert (
        get_encoder_class("beta-vae")(DIM).beta == 4.0 and get_encoder_class("vae")(DIM).beta == 1.0
    )
    # beta-vae is the vae with another default beta: the same weights give the same loss
    assert losses[("beta-vae", 4.0)] == pytest.approx(losses[("vae", 4.0)])


def test_ge2e_embeddings_are_unit_norm_and_need_labels():
    net = build("ge2e").eval()
    x, lengths, _ = batch([30, 5, 12])
    emb = net.embed(x, lengths)
    assert emb.shape == (3, 8)
    assert torch.allclose(emb.norm(dim=1), torch.ones(3), atol=1e-5)
    with pytest.raises(ValueError, match="labels"):
        net.loss(x, lengths)
    with pytest.raises(ValueError, match="no conditioning"):
        get_encoder_class("ge2e")(DIM, 2, 256)
    assert net.uses_labels and not get_encoder_class("vae").uses_labels


def test_ge2e_batches_hold_every_class_m_times():
    cls = get_encoder_class("ge2e")
    labels = np.array([0] * 10 + [1] * 3 + [2] * 7 + [3] * 4)
    batches = cls.batch_indices(labels, 8, np.random.default_rng(0))
    assert len(batches) == 3  # ceil(24 rows / (4 classes x 2))
    for b in batches:
        assert sorted(np.bincount(labels[b], minlength=4).tolist()) == [2, 2, 2, 2]
    again = cls.batch_indices(labels, 8, np.random.default_rng(0))
    assert all(np.array_equal(a, b) for a, b in zip(batches, again, strict=True))
    big = cls.batch_indices(labels, 64, np.random.default_rng(1))
    assert [np.bincount(labels[b]).tolist() for b in big] == [[16, 16, 16, 16]]
    with pytest.raises(ValueError, match="at least 2 emotion classes"):
        cls.batch_indices(np.zeros(5, dtype=int), 8, np.random.default_rng(0))
    with pytest.raises(ValueError, match="labels"):
        cls.batch_indices(None, 8, np.random.default_rng(0))


@pytest.mark.parametrize("name", FAMILIES)
def test_empty_rows_and_bad_lengths_are_refused(name):
    net = build(name).eval()
    x, _, _ = batch([10, 10])
    with pytest.raises(ValueError, match="lengths must lie in"):
        net.embed(x, torch.tensor([10, 0]))
    with pytest.raises(ValueError, match="lengths must lie in"):
        net.embed(x, torch.tensor([10, 11]))


def test_segment_frames_must_fit_the_strides():
    with pytest.raises(ValueError, match="segment_frames=20"):
        get_encoder_class("vae")(DIM, channels=[4, 4, 4], segment_frames=20)
    with pytest.raises(ValueError, match="segment_frames=20"):
        get_encoder_class("conv-ae")(
            DIM, channels=[4, 4, 4, 4], kernels=[3, 3, 3, 3], segment_frames=20
        )
    with pytest.raises(ValueError, match="cond_mode"):
        get_encoder_class("conv-ae")(DIM, cond_mode="sum")


def conv_params(c_in: int, c_out: int, k: int) -> int:
    return c_in * c_out * k + c_out


def lstm_params(n_in: int, hidden: int) -> int:
    return 4 * hidden * (n_in + hidden) + 8 * hidden


def count(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def test_preset_parameter_counts():
    mels = {name: get_encoder_class(name).default_frontend["params"]["n_mels"] for name in FAMILIES}
    assert mels == {"vae": 80, "beta-vae": 80, "conv-ae": 80, "ge2e": 40}
    nets = {
        (name, preset): cls(mels[name], 8, **cls.presets[preset])
        for name, cls in ((name, get_encoder_class(name)) for name in FAMILIES)
        for preset in ("cpu", "paper")
    }
    # the seed's VAE (report Table 2): 80 -> 64 -> 32 -> 16 -> 16 -> 128 (k4), 128 -> 256 over
    # the 4 frames left, Linear 256 -> 2 x 8; the decoder mirrors it from Linear 8 -> 256
    chans = [80, 64, 32, 16, 16, 128]
    pairs = list(zip(chans[:-1], chans[1:], strict=True))
    encoder = sum(conv_params(a, b, 4) for a, b in pairs) + conv_params(128, 256, 4)
    encoder += 256 * 16 + 16
    decoder = (8 * 256 + 256) + conv_params(256, 128, 4)
    decoder += sum(conv_params(b, a, 4) for a, b in pairs)
    vae = encoder + decoder
    assert count(nets[("vae", "paper")]) == vae
    # the seed's GE2E encoder = Resemblyzer's VoiceEncoder (3 x LSTM 256 on 40 mels, Linear
    # 256 -> 256) plus the scale w and bias b
    ge2e = lstm_params(40, 256) + 2 * lstm_params(256, 256) + 256 * 256 + 256 + 2
    assert count(nets[("ge2e", "paper")]) == ge2e == 1_423_618
    for name in FAMILIES:
        assert count(nets[(name, "cpu")]) < count(nets[(name, "paper")])


@pytest.mark.parametrize("name", FAMILIES)
def test_default_frontend_is_a_logmel_extractor_of_input_dim(name):
    cls = get_encoder_class(name)
    fe = cls.default_frontend
    extractor = get_extractor(fe["name"], **fe["params"])
    rng = np.random.default_rng(0)
    frames = extractor(rng.normal(scale=0.1, size=16000).astype(np.float32), 16000)
    assert frames.shape[1] == fe["params"]["n_mels"]
    net = cls(frames.shape[1], 2, **cls.test_params()).eval()
    x = torch.from_numpy(frames)[None]
    assert net.embed(x, torch.tensor([frames.shape[0]])).shape[0] == 1
    assert set(cls.presets) >= {"cpu", "paper"}
