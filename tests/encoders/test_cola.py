"""``cola-alexnet``: the window images, the contrastive loss, and DCNN-BLSTMwA starting from it.

(The contract over every family, this one included, is ``test_contract.py``.)
"""

from __future__ import annotations

import pytest
import torch

from serkit.encoders import get_encoder_class
from serkit.encoders.cola import mask_images, window_images
from serkit.encoders.package import save_encoder
from serkit.errors import ConfigError
from serkit.features import get_extractor
from serkit.features.frontend import Frontend
from serkit.models.nets import build_net
from serkit.models.nets.alexnet import weights_key

BINS = 4
DIM = 3 * BINS
COLA = get_encoder_class("cola-alexnet")
SMALL = COLA.test_params()


def _net(**params) -> torch.nn.Module:
    torch.manual_seed(0)
    return COLA(DIM, **{**SMALL, **params})


def _batch(lengths: list[int], seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.zeros(len(lengths), max(lengths), DIM)
    for i, n in enumerate(lengths):
        x[i, :n] = torch.randn(n, DIM, generator=gen)
    return x, torch.tensor(lengths)


def test_window_images_cut_the_real_frames_and_zero_the_rest():
    img = torch.arange(2 * 3 * 5 * 7, dtype=torch.float32).reshape(2, 3, 5, 7) + 1
    lengths = torch.tensor([7, 4])
    img[1, :, :, 4:] = 0  # padding, as minmax_imagenet leaves it
    rows, starts = torch.tensor([0, 1, 1]), torch.tensor([2, 0, 2])
    out = window_images(img, lengths, rows, starts, window=5, size=5)  # bins 5: no resize
    assert out.shape == (3, 3, 5, 5)
    torch.testing.assert_close(out[0], img[0, :, :, 2:7])
    torch.testing.assert_close(out[1, :, :, :4], img[1, :, :, :4])
    assert torch.all(out[1, :, :, 4] == 0)  # past the row's 4 real frames
    torch.testing.assert_close(out[2, :, :, :2], img[1, :, :, 2:4])
    assert torch.all(out[2, :, :, 2:] == 0)


def test_mask_images_masks_at_most_the_fraction_and_zero_is_identity():
    images = torch.ones(50, 3, 20, 20)
    torch.manual_seed(0)
    assert torch.equal(mask_images(images, 0.0), images)
    masked = mask_images(images, 0.25)
    assert masked.shape == images.shape and set(masked.unique().tolist()) <= {0.0, 1.0}
    zero_rows = (masked[:, 0] == 0).all(dim=2).sum(dim=1)  # fully masked frequency rows
    zero_cols = (masked[:, 0] == 0).all(dim=1).sum(dim=1)
    assert int(zero_rows.max()) <= 5 and int(zero_cols.max()) <= 5
    assert int((masked == 0).any(dim=(1, 2, 3)).sum()) > 25  # most images get a mask


def test_two_views_of_a_row_score_highest_after_a_few_steps():
    """Overfit a tiny batch: every row's own second window wins (accuracy 1)."""
    net = _net(mask_fraction=0.0)
    x, lengths = _batch([24, 24, 20, 24, 18, 24])
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    torch.manual_seed(1)
    history = []
    for _ in range(100):
        loss, parts = net.loss(x, lengths)
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(parts)
    first, last = history[0], history[-1]
    assert last["nce"] < 0.05 * first["nce"], (first, last)
    assert all(p["accuracy"] == 1.0 for p in history[-10:]), history[-10:]


def test_embeddings_ignore_padding_and_reject_bad_settings():
    net = _net().eval()
    x, lengths = _batch([10, 16, 40])
    padded = torch.full((3, 55, DIM), 1e3)
    padded[:, :40] = x
    for i, n in enumerate(lengths.tolist()):
        padded[i, n:] = 1e3
    with torch.no_grad():
        torch.testing.assert_close(net.embed(x, lengths), net.embed(padded, lengths))
        alone = net.embed(x[2:, :40], lengths[2:])
    torch.testing.assert_close(net.embed(x, lengths)[2:], alone)
    for bad, match in (
        ({"segment_frames": 8}, "must hold a window"),
        ({"mask_fraction": 1.0}, "mask_fraction"),
    ):
        with pytest.raises(ValueError, match=match):
            _net(**bad)
    with pytest.raises(ValueError, match="3 \\* bins"):
        COLA(10, **SMALL)
    with pytest.raises(ValueError, match="no conditioning"):
        COLA(DIM, cond_dim=4, **SMALL)


def _package(tmp_path, name: str = "pkg", **params):
    net = _net(**params)
    return save_encoder(
        net,
        tmp_path / name,
        frontend=Frontend(get_extractor("logmel", n_mels=BINS, deltas=2)),
        input_dim=DIM,
        ids=["c/1"],
        speakers=["c/s1"],
    )


def _dcnn(path, **alexnet) -> torch.nn.Module:
    params = build_net_params()
    params["alexnet_params"] = {**params["alexnet_params"], **alexnet}
    return build_net("dcnn-blstmwa", DIM, 3, pretrained_path=str(path), **params)


def build_net_params() -> dict:
    from serkit.models.nets.dcnn_blstm import DCNNBLSTMwA

    params = DCNNBLSTMwA.test_params()
    params["alexnet_params"] = {**SMALL["alexnet_params"]}
    return params


def test_dcnn_blstmwa_starts_from_a_cola_package(tmp_path):
    folder = _package(tmp_path)
    pretrained = COLA(DIM, **SMALL)
    pretrained.load_state_dict(torch.load(folder / "weights.pt", weights_only=True))
    net = _dcnn(folder)
    own = net.dcnn.state_dict()
    for key, value in pretrained.alexnet.state_dict().items():
        if not key.startswith("classifier.6."):
            assert torch.equal(own[key], value), key
    scratch = build_net("dcnn-blstmwa", DIM, 3, **build_net_params())
    assert not torch.equal(scratch.dcnn.features[0].weight, own["features.0.weight"])


def test_dcnn_refuses_a_package_with_another_alexnet_or_family(tmp_path):
    folder = _package(tmp_path)
    with pytest.raises(ConfigError, match="fc: package 32, net 64"):
        _dcnn(folder, fc=64)
    with pytest.raises(ConfigError, match="batch_norm: package True, net False"):
        _dcnn(folder, batch_norm=False)
    from . import _tiny

    other = save_encoder(
        _tiny.TinyAE(DIM, hidden=4, latent=2),
        tmp_path / "ae",
        frontend=Frontend(get_extractor("logmel", n_mels=DIM)),
        input_dim=DIM,
        ids=["c/1"],
        speakers=["c/s1"],
    )
    with pytest.raises(ConfigError, match="'tiny-ae' encoder package"):
        _dcnn(other)


def test_the_weights_key_follows_the_content(tmp_path):
    a = _package(tmp_path, "a")
    assert weights_key(a) == weights_key(a)
    b = _package(tmp_path, "b", proj_dim=8)
    assert weights_key(a) != weights_key(b)
    assert weights_key(tmp_path / "nothing") == "missing"
    file = tmp_path / "w.pth"
    file.write_bytes(b"abc")
    key = weights_key(file)
    file.write_bytes(b"abd")
    assert weights_key(file) != key


def test_the_run_fingerprint_changes_with_the_weights_at_the_same_path(tmp_path):
    from serkit.experiment.config import fingerprint

    path = tmp_path / "pkg"
    cfg = {
        "name": "x",
        "model": {"name": "dcnn-blstmwa", "params": {"net_params": {"pretrained_path": str(path)}}},
    }
    _package(tmp_path)
    first = fingerprint(cfg)
    _package(tmp_path, proj_dim=8)  # replaced in place
    assert fingerprint(cfg) != first
