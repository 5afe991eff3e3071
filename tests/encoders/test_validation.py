"""Validation speakers and early stopping of the pretrain loop: the speaker split, the best
epoch and patience on a scripted validation loss, resume equality, the checkpoint and config
fingerprints, and the config errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from serkit.encoders.base import EncoderNet
from serkit.encoders.trainer import TrainOptions, ValidationRows, fingerprint, fit_encoder
from serkit.encoders.validation import check_validation, split_validation
from serkit.errors import ConfigError

from . import _tiny
from ._data import DIM, frames

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "pretrain"
SPEAKERS = ["c/a", "c/a", "c/b", "c/c", "c/c", "c/c", "c/d", "c/e"]


# --------------------------------------------------------------------------- the split


def test_named_speakers_take_all_their_rows_out_of_training():
    train, val, chosen = split_validation(SPEAKERS, {"speakers": ["c/c", "c/a"]})
    assert chosen == ["c/c", "c/a"]
    assert val.tolist() == [0, 1, 3, 4, 5] and train.tolist() == [2, 6, 7]


def test_unknown_named_speakers_name_the_available_ones():
    with pytest.raises(ConfigError) as exc:
        split_validation(SPEAKERS, {"speakers": ["c/zz", "c/a"]}, fold="fold1")
    assert "c/zz not among the training speakers of fold fold1" in exc.value.message
    assert "(c/a, c/b, c/c, c/d, c/e)" in exc.value.message
    with pytest.raises(ConfigError, match="names all 2 training speakers"):
        split_validation(["c/a", "c/b"], {"speakers": ["c/a", "c/b"]})


def test_a_fraction_draws_whole_speakers_seeded_by_the_one_holdout_rule():
    from serkit.holdout import validation_split

    spec = {"fraction": 0.4, "seed": 3}
    train, val, chosen = split_validation(SPEAKERS, spec)
    assert {SPEAKERS[i] for i in val} == set(chosen)
    assert not {SPEAKERS[i] for i in train} & set(chosen)
    assert sorted([*train, *val]) == list(range(len(SPEAKERS)))
    assert len(val) >= 0.4 * len(SPEAKERS)  # whole speakers until the share of the rows
    # the same rows as the neural models' and the runs' validation split
    expected = validation_split(np.zeros(len(SPEAKERS)), np.array(SPEAKERS), 0.4, 3)[1]
    assert val.tolist() == expected.tolist()
    assert split_validation(SPEAKERS[::-1], spec)[2] == chosen  # row order does not matter
    draws = {tuple(split_validation(SPEAKERS, {"fraction": 0.4, "seed": s})[2]) for s in range(8)}
    assert len(draws) > 1  # the seed draws
    assert len(split_validation(SPEAKERS, {"fraction": 0.01, "seed": 0})[2]) == 1  # at least one
    assert len(split_validation(SPEAKERS, {"fraction": 0.99, "seed": 0})[2]) == 3  # two left
    with pytest.raises(ConfigError, match="has 2 training speaker.*at least 3"):
        split_validation(["c/a", "c/a", "c/b"], spec)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"fraction": 0}, r"fraction must be a number in \(0, 1\)"),
        ({"fraction": 1.0}, r"fraction must be a number in \(0, 1\)"),
        ({"fraction": 0.1, "seed": 0.5}, "seed must be an integer"),
        ({"speakers": []}, "speakers must be a non-empty list"),
        ({"speakers": ["c/a"], "fraction": 0.1}, "give either speakers"),
        ({}, "give either speakers"),
        ({"speakers": ["c/a"], "seed": 1}, "seed applies to fraction only"),
        ({"speaker": ["c/a"]}, r"training.validation.speaker \(did you mean .*speakers"),
        ("c/a", "must be a mapping"),
    ],
)
def test_bad_validation_sections_are_refused(spec, expected):
    with pytest.raises(ConfigError, match=expected):
        check_validation(spec)


def test_validation_sections_are_normalised():
    assert check_validation({"speakers": "c/a"}) == {"speakers": ["c/a"]}
    assert check_validation({"fraction": 0.25}) == {"fraction": 0.25, "seed": 0}
    assert check_validation(None) is None


# --------------------------------------------------------------------------- early stopping


class Scripted(EncoderNet):
    """Trains a linear map; its validation loss is ``VAL[epoch - 1]`` (the epoch counted by a
    buffer, so it is saved and resumed with the weights)."""

    VAL = (5.0, 4.0, 3.0, 3.5, 3.0, 4.0, 4.0, 2.0, 1.0, 1.0)

    def __init__(self, input_dim: int, num_classes: int = 0, cond_dim: int = 0) -> None:
        super().__init__()
        self.lin = nn.Linear(input_dim, input_dim)
        self.register_buffer("steps", torch.zeros((), dtype=torch.int64))

    def loss(self, x, lengths, labels=None, cond=None):
        mse = ((self.lin(x) - x) ** 2).mean()
        if self.training:
            self.steps += 1
            return mse, {"mse": mse.item()}
        value = self.VAL[int(self.steps) - 1]
        return mse * 0 + value, {"mse": value}


def _scripted_fit(epochs: int, validation: bool = True, **kw):
    x, _ = frames()
    torch.manual_seed(0)
    net = Scripted(DIM)
    opts = {"epochs": epochs, "batch_size": 64, "lr": 0.01}  # one batch: one step per epoch
    if validation:
        opts |= {"validation": {"fraction": 0.5}, "patience": kw.pop("patience", 3)}
        opts |= {"min_delta": kw.pop("min_delta")} if "min_delta" in kw else {}
    rows = ValidationRows(frames=x[:4]) if validation else None
    fit = fit_encoder(net, x[4:], validation=rows, options=TrainOptions(**opts), **kw)
    return net, fit


def _same_state(a: nn.Module, b: nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        torch.testing.assert_close(sa[key], sb[key], rtol=0, atol=0)


def test_patience_stops_at_the_right_epoch_and_keeps_the_best_weights():
    lines: list[str] = []
    net, fit = _scripted_fit(10, log=lines.append)
    # val 5, 4, 3 (best), 3.5, 3 (a tie is no better), 4: three epochs without -> stop after 6
    assert fit.done and fit.stopped_early and fit.epochs_run == 6
    assert fit.best_epoch == 3 and fit.best_val_loss == 3.0
    assert [h["val_loss"] for h in fit.history] == [5.0, 4.0, 3.0, 3.5, 3.0, 4.0]
    assert all({"loss", "mse", "val_loss", "val_mse", "seconds"} <= set(h) for h in fit.history)
    assert int(net.steps) == 3
    reference, plain = _scripted_fit(3, validation=False)  # the weights after epoch 3
    assert plain.best_epoch == 3 and plain.best_val_loss is None
    assert "val_loss" not in plain.history[0]
    _same_state(net, reference)
    assert "epoch 3/10" in lines[2] and "(best)" in lines[2]
    assert "stopping early after epoch 6" in lines[-1] and "(epoch 3)" in lines[-1]


def test_without_patience_it_runs_every_epoch_and_keeps_the_best():
    net, fit = _scripted_fit(10, patience=None)
    assert fit.done and not fit.stopped_early and fit.epochs_run == 10
    assert fit.best_epoch == 9 and int(net.steps) == 9  # 1.0 at epoch 9, tied at 10


def test_min_delta_asks_for_a_clear_improvement():
    _, fit = _scripted_fit(10, patience=2, min_delta=0.75)
    # 5 -> 4 (better by 1), 3 (by 1), 3.5, 3: two without (3 is not below 3 - 0.75) -> stop at 5
    assert fit.best_epoch == 3 and fit.epochs_run == 5 and fit.stopped_early


def test_a_resumed_early_stopped_run_matches_an_uninterrupted_one(tmp_path):
    want, ref = _scripted_fit(10)
    ckpt = tmp_path / "ckpt"
    _, first = _scripted_fit(10, checkpoint_dir=ckpt, stop_after_epochs=2)
    assert not first.done and first.epochs_run == 2
    _, second = _scripted_fit(10, checkpoint_dir=ckpt, stop_after_epochs=3)
    assert not second.done and second.epochs_run == 5
    lines: list[str] = []
    got, fit = _scripted_fit(10, checkpoint_dir=ckpt, log=lines.append)
    assert "resuming after epoch 5" in lines[0] and fit.epochs_run == 6
    drop = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]  # noqa: E731
    assert drop(fit.history) == drop(ref.history)
    assert (fit.best_epoch, fit.stopped_early) == (ref.best_epoch, ref.stopped_early)
    _same_state(got, want)
    # the finished checkpoint again: nothing trains, the same best weights
    again, fit = _scripted_fit(10, checkpoint_dir=ckpt, log=lines.append)
    assert fit.done and fit.epochs_run == 6 and "epoch 7/10" not in "\n".join(lines)
    _same_state(again, want)


class Cropped(_tiny.TinyAE):
    segment_frames = 12


def test_the_validation_pass_uses_the_same_crops_every_epoch_and_leaves_the_rng_alone():
    from serkit.encoders.trainer import _validation_loss

    x, _ = frames()
    torch.manual_seed(0)
    net = Cropped(DIM)
    rows = ValidationRows(frames=x[:6])
    opts = TrainOptions(batch_size=4, validation={"fraction": 0.2})
    before = torch.get_rng_state()
    first = _validation_loss(net, rows, opts, torch.device("cpu"), ())
    assert torch.equal(torch.get_rng_state(), before) and not net.training
    assert _validation_loss(net, rows, opts, torch.device("cpu"), ()) == first
    assert set(first) == {"val_loss", "val_recon"}
    other = TrainOptions(batch_size=4, seed=1, validation={"fraction": 0.2})
    assert _validation_loss(net, rows, other, torch.device("cpu"), ()) != first  # crops differ


def test_patience_without_validation_rows_is_refused():
    x, _ = frames()
    with pytest.raises(ConfigError, match="training.patience selects on validation rows"):
        fit_encoder(Scripted(DIM), x, options=TrainOptions(epochs=1, patience=2))


def test_the_validation_rows_enter_the_checkpoint_fingerprint():
    x, _ = frames()
    net = Scripted(DIM)
    plain = fingerprint(net, x, None, None, TrainOptions())
    assert "validation" not in plain and set(plain["options"]) == {
        "epochs", "batch_size", "lr", "weight_decay", "grad_clip", "seed", "device"
    }  # fmt: skip
    opts = TrainOptions(validation={"fraction": 0.5}, patience=3)
    one = fingerprint(net, x[4:], None, None, opts, validation=ValidationRows(x[:4]))
    other = fingerprint(net, x[4:], None, None, opts, validation=ValidationRows(x[:3]))
    assert one["validation"] != other["validation"] and one["options"]["patience"] == 3


# --------------------------------------------------------------------------- the config


def _cfg(*overrides: str) -> dict:
    from serkit.encoders.config import load_pretrain_config

    return load_pretrain_config(CONFIGS / "demo_vae.yaml", list(overrides))


def test_the_config_fingerprint_follows_the_validation_section():
    from serkit.encoders.config import fingerprint as config_fingerprint

    plain = _cfg()
    assert not {"validation", "patience", "min_delta"} & set(plain["training"])
    assert config_fingerprint(_cfg("training.validation=null")) == config_fingerprint(plain)
    named = _cfg("training.validation={speakers: [ravdess/Actor_02]}")
    assert named["training"]["validation"] == {"speakers": ["ravdess/Actor_02"]}
    prints = {
        config_fingerprint(c)
        for c in (
            plain,
            named,
            _cfg("training.validation={speakers: [ravdess/Actor_03]}"),
            _cfg("training.validation={fraction: 0.25}"),
            _cfg("training.validation={fraction: 0.5}"),
            _cfg("training.validation={fraction: 0.25, seed: 1}"),
            _cfg("training.validation={fraction: 0.25}", "training.patience=3"),
            _cfg("training.validation={fraction: 0.25}", "training.patience=4"),
        )
    }
    assert len(prints) == 8


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["training.patience=3"], "training.patience needs training.validation"),
        (["training.min_delta=0.1"], "training.min_delta needs training.validation"),
        (["training.validation={fraction: 0.1}", "training.patience=0"], "patience must be a"),
        (["training.validation={fraction: 0.1}", "training.min_delta=-1"], "min_delta must be"),
        (["training.validation={fraction: 1.5}"], r"fraction must be a number in \(0, 1\)"),
        (["training.validation={speakers: [a], folds: 2}"], "unknown config key"),
    ],
)
def test_bad_validation_configs_are_refused(overrides, expected):
    with pytest.raises(ConfigError, match=expected):
        _cfg(*overrides)
