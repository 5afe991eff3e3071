"""The encoder-family contract, checked for EVERY registered family (new ones are picked up):
a short fit lowers the loss, save/load gives the same embeddings, and ``embed`` returns the
shapes ``layer_levels`` promises for every layer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from serkit.encoders import get_encoder_class, list_encoders
from serkit.encoders.package import load_encoder, save_encoder
from serkit.encoders.trainer import TrainOptions, train_encoder
from serkit.features import get_extractor
from serkit.features.frontend import Frontend

from . import _tiny  # noqa: F401  (registers tiny-ae and tiny-clf)
from ._data import DIM, frames

FAMILIES = list_encoders()


def _build(name: str, cond_dim: int = 0):
    cls = get_encoder_class(name)
    torch.manual_seed(0)
    return cls(DIM, num_classes=4 if cls.uses_labels else 0, cond_dim=cond_dim, **cls.test_params())


def test_every_family_declares_the_contract():
    assert {"tiny-ae", "tiny-clf"} <= set(FAMILIES)
    for name in FAMILIES:
        cls = get_encoder_class(name)
        assert cls.layers and set(cls.layer_levels) >= set(cls.layers), name
        assert {"cpu", "paper"} <= set(cls.presets), name
        assert set(cls.layer_levels.values()) <= {"utterance", "frame"}, name
        json_ok = _build(name).get_config()
        assert isinstance(json_ok, dict)


@pytest.mark.parametrize("name", FAMILIES)
def test_a_short_fit_lowers_the_loss(name):
    x, y = frames()
    net = _build(name)
    labels = y if net.uses_labels else None
    options = TrainOptions(epochs=12, batch_size=16, lr=0.01, seed=0)
    history = train_encoder(net, x, labels=labels, options=options)
    assert len(history) == 12
    assert history[-1]["loss"] < history[0]["loss"], history


@pytest.mark.parametrize("name", FAMILIES)
def test_save_load_gives_the_same_embeddings_and_promised_shapes(name, tmp_path):
    x, y = frames()
    net = _build(name)
    train_encoder(
        net, x, labels=y if net.uses_labels else None, options=TrainOptions(epochs=1, batch_size=16)
    )
    frontend = Frontend(get_extractor("logmel", n_mels=DIM))
    classes = ["a", "b", "c", "d"] if net.uses_labels else []
    folder = save_encoder(
        net,
        tmp_path / "pkg",
        frontend=frontend,
        input_dim=DIM,
        ids=["c/1"],
        speakers=["c/s1"],
        classes=classes,
    )
    pkg = load_encoder(folder)
    assert pkg.family == name and pkg.classes == classes and pkg.speakers == {"c/s1"}
    assert pkg.frontend == frontend
    for layer in pkg.layers:
        a = pkg.embed_frames(x[0], layer=layer)
        with torch.no_grad():
            net.eval()
            b = net.embed(torch.from_numpy(x[0][None]), torch.tensor([len(x[0])]), layer=layer)
        np.testing.assert_allclose(a, b[0].numpy(), rtol=1e-5, atol=1e-6)
        if pkg.layer_level(layer) == "utterance":
            assert a.ndim == 1 and a.shape[0] >= 1, (layer, a.shape)
        else:
            assert a.ndim == 2 and a.shape[0] >= 1, (layer, a.shape)
        assert np.all(np.isfinite(a))
    assert load_encoder(folder).key() == pkg.key()


CONDITIONED = [n for n in FAMILIES if "speaker" in get_encoder_class(n).conditions]


@pytest.mark.parametrize("name", CONDITIONED)
def test_conditioned_families_use_the_condition(name):
    net = _build(name, cond_dim=5)
    x, _ = frames()
    xb = torch.from_numpy(x[0][None])
    lengths = torch.tensor([len(x[0])])
    losses = []
    for value in (0.0, 3.0):
        torch.manual_seed(0)
        loss, _ = net.loss(xb, lengths, cond=torch.full((1, 5), value))
        losses.append(loss.item())
    assert losses[0] != pytest.approx(losses[1], rel=1e-6), losses
