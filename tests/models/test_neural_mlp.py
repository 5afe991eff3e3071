"""``neural-mlp``: the seed-004 classifier (leaky ReLU, dropout) with the paper's regimes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from serkit.errors import ConfigError
from serkit.models import check_model, get_model
from serkit.models.neural_mlp import REGIMES, regime_params


@pytest.mark.parametrize("regime", list(REGIMES))
def test_every_regime_is_a_valid_configuration(regime):
    model = check_model("neural-mlp", regime_params(regime), input_dim=1582)
    net = model.build_module(1582, 4)
    hidden, lr, batch, dropout, epochs = REGIMES[regime]
    linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in linears] == [*hidden, 4]
    assert [m.p for m in net.modules() if isinstance(m, torch.nn.Dropout)] == [dropout] * 2
    assert any(isinstance(m, torch.nn.LeakyReLU) for m in net.modules())
    assert (model.lr, model.batch_size, model.epochs) == (lr, batch, epochs)


def test_defaults_are_the_papers_training_setup():
    model = get_model("neural-mlp")
    assert model.input_level == "utterance"
    assert (model.optimizer, model.scheduler, model.patience) == ("adam", "none", None)
    assert (model.val_fraction, model.class_weight, model.weight_decay) == (0.0, None, 0.0)
    assert model.grad_clip is None
    with pytest.raises(ConfigError, match="unknown regime 'inner'"):
        regime_params("inner")


def test_learns_separable_classes_and_trains_every_epoch():
    rng = np.random.default_rng(0)
    y = np.repeat(["ang", "hap", "sad"], 30)
    X = rng.normal(size=(90, 6)) + 3.0 * (y[:, None] == np.array(["ang", "hap", "sad"]))[:, :1]
    X[:, 1] += 3.0 * (y == "hap")
    model = get_model(
        "neural-mlp",
        epochs=15,
        lr=1e-2,
        batch_size=16,
        net_params={"hidden": [32, 32]},
        device="cpu",
    ).fit(X, y)
    assert len(model.history_) == 15  # no early stopping
    assert (model.predict(X) == y).mean() > 0.95
    assert model.predict_proba(X[:4]).shape == (4, 3)
