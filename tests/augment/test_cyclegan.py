"""The feature-space CycleGAN (seed 004): it learns a known shift, overfits, keeps its options."""

from __future__ import annotations

import json

import numpy as np
import pytest

from serkit.augment import get_augmenter
from serkit.augment.cyclegan import CycleGANAugmenter
from serkit.augment.fisher import fisher_ratio, summarize
from serkit.errors import ConfigError

TINY = {
    "hidden_g": [32, 16, 32],
    "hidden_d": [32],
    "hidden_c": [8],
    "batch_size": 16,
    "epoch_size": "min",
    "min_steps": 0,
}


def _clouds(seed: int = 0, dim: int = 6):
    """Source N(0, 1); target emotions 'a' ~ N(+3, 1) and 'b' ~ N(-3, 1)."""
    rng = np.random.default_rng(seed)
    source = rng.normal(0, 1, (128, dim))
    target = np.concatenate([rng.normal(3, 1, (64, dim)), rng.normal(-3, 1, (64, dim))])
    return source, target, np.array(["a"] * 64 + ["b"] * 64)


@pytest.fixture(scope="module")
def shifted():
    source, target, y = _clouds()
    aug = get_augmenter("cyclegan", **TINY, epochs=40, pretrain_epochs=5, lr=3e-3)
    aug.fit(target, y, source, seed=0)
    return aug, source, target, y, aug.generate(source)


def test_synthetic_clouds_move_to_their_target_and_the_fisher_ratio_drops(shifted):
    aug, source, target, y, syn = shifted
    for label, centre in (("a", 3.0), ("b", -3.0)):
        real = target[y == label]
        made = syn.X[syn.y == label]
        assert abs(made.mean() - centre) < 0.75, (label, made.mean())
        before = summarize(fisher_ratio(source, real))["mean"]
        after = summarize(fisher_ratio(made, real))["mean"]
        assert before > 2.0
        assert after < 0.1 * before, (label, before, after)


def test_history_and_summary(shifted):
    aug, source, target, y, _ = shifted
    stages = [h["stage"] for h in aug.history_]
    assert stages == ["pretrain"] * 5 + ["joint"] * 40
    joint = [h for h in aug.history_ if h["stage"] == "joint"]
    assert {"d_loss", "g_loss", "adv_loss", "cycle_loss", "cls_loss", "cls_acc", "lr"} <= set(
        joint[0]
    )
    assert joint[-1]["cls_acc"] > 0.9  # the shared classifier separates G_a(S) from G_b(S)
    summary = aug.fit_summary_
    json.dumps(summary)  # JSON-able
    assert summary["n_target_per_class"] == {"a": 64, "b": 64}
    assert summary["n_source"] == 128 and summary["dim"] == 6
    assert summary["seconds"] >= summary["joint_seconds"] > 0
    assert summary["params"]["epochs"] == 40 and summary["params"]["lambda_cyc"] == 5.0


def test_pretraining_overfits_a_tiny_set():
    rng = np.random.default_rng(1)
    source, target = rng.normal(size=(8, 4)), rng.normal(size=(8, 4))
    aug = CycleGANAugmenter(
        hidden_g=[64, 32, 64],
        pretrain_epochs=300,
        epochs=1,
        batch_size=8,
        lr=3e-3,
        dropout=0.0,
        min_steps=0,
    )
    aug.fit(target, np.array(["x"] * 8), source, seed=0)
    cycle = [h["cycle_loss"] for h in aug.history_ if h["stage"] == "pretrain"]
    assert cycle[-1] < 0.02 * cycle[0], (cycle[0], cycle[-1])


def test_synthetic_vectors_come_back_in_the_original_scale():
    source, target, y = _clouds(seed=2)
    target = target * 50 + 1000  # a feature scale far from z-scores
    aug = get_augmenter("cyclegan", **TINY, epochs=5, pretrain_epochs=0).fit(target, y, source)
    syn = aug.generate(source)
    assert syn.X.dtype == np.float32
    assert abs(syn.X.mean() - 1000) < 200


def test_n_per_class_samples_source_rows():
    source, target, y = _clouds(seed=3)
    aug = get_augmenter("cyclegan", **TINY, epochs=1, pretrain_epochs=0, n_per_class=10)
    syn = aug.fit(target, y, source, seed=4).generate(source)
    assert syn.X.shape == (20, 6)
    assert (syn.y == "a").sum() == 10 and (syn.y == "b").sum() == 10
    assert len(set(syn.source_index[syn.y == "a"].tolist())) == 10  # without replacement
    big = get_augmenter("cyclegan", **TINY, epochs=1, pretrain_epochs=0, n_per_class=300)
    syn = big.fit(target, y, source, seed=4).generate(source)
    assert syn.X.shape == (600, 6) and syn.source_index.max() < len(source)


def test_discriminator_optimiser_moves_generators_only_with_the_original_bug():
    from serkit.augment._cyclegan_train import discriminator_parameters
    from serkit.augment.cyclegan import _mlp

    nets = {key: [_mlp([3, 4, 3], 0.0) for _ in range(2)] for key in ("G", "F")}
    nets |= {key: [_mlp([3, 4, 1], 0.0) for _ in range(2)] for key in ("DT", "DS")}
    g_ids = {id(p) for net in nets["G"] for p in net.parameters()}
    d_ids = {id(p) for key in ("DT", "DS") for net in nets[key] for p in net.parameters()}
    fixed = {id(p) for p in discriminator_parameters(nets, True)}
    buggy = {id(p) for p in discriminator_parameters(nets, False)}
    assert fixed == d_ids
    assert buggy == d_ids | g_ids


def test_the_bug_flag_changes_training():
    source, target, y = _clouds(seed=5)
    params = {**TINY, "epochs": 3, "pretrain_epochs": 0}
    fixed = get_augmenter("cyclegan", **params).fit(target, y, source).generate(source)
    buggy = get_augmenter("cyclegan", **params, fix_discriminator_bug=False)
    buggy.fit(target, y, source)
    assert buggy.fit_summary_["fix_discriminator_bug"] is False
    assert not np.allclose(fixed.X, buggy.generate(source).X)


def test_presets_and_overrides():
    paper = CycleGANAugmenter(preset="paper").resolved_params()
    assert paper["hidden_g"] == [1000, 500, 1000] and paper["hidden_d"] == [1000, 1000]
    assert paper["hidden_c"] == [100, 100]
    assert (paper["epochs"], paper["pretrain_epochs"], paper["lr"]) == (2000, 10000, 2e-4)
    assert (paper["lambda_cyc"], paper["lambda_cls"], paper["label_smoothing"]) == (5.0, 2.0, 0.1)
    assert (paper["epoch_size"], paper["min_steps"]) == ("min", 0)  # the original's epochs
    cpu = CycleGANAugmenter(lambda_cls=0.0, epochs=7).resolved_params()
    assert cpu["min_steps"] >= 100  # not ~30 iterations when one emotion is small
    assert cpu["lambda_cls"] == 0.0 and cpu["epochs"] == 7
    assert cpu["hidden_g"] == CycleGANAugmenter.presets["cpu"]["hidden_g"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"preset": "gpu"}, "unknown preset 'gpu'; known: cpu, paper"),
        ({"epochs": 0}, "epochs must be at least 1, found 0"),
        ({"label_smoothing": 1.0}, r"label_smoothing must be in \[0, 1\), found 1.0"),
        ({"lambda_cls": -1.0}, "lambda_cls must be 0 or more"),
        ({"n_per_class": 0}, "n_per_class must be at least 1"),
        ({"epoch_size": "mean"}, "epoch_size must be 'min' or 'max', found 'mean'"),
        ({"min_steps": -1}, "min_steps must be 0 or more, found -1"),
    ],
)
def test_bad_parameters_are_named(params, message):
    source, target, y = _clouds()
    with pytest.raises(ConfigError, match=message):
        CycleGANAugmenter(**params).check_params()  # before any work
    with pytest.raises(ConfigError, match=message):
        CycleGANAugmenter(**params).fit(target, y, source)


def test_bad_input_is_named():
    source, target, y = _clouds()
    aug = CycleGANAugmenter(**TINY, epochs=1, pretrain_epochs=0)
    with pytest.raises(ConfigError, match="X_source .* has 5 features per row, the training fold"):
        aug.fit(target, y, source[:, :5])
    bad = target.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ConfigError, match=r"rows \[3\] contain NaN"):
        aug.fit(bad, y, source)
    with pytest.raises(ConfigError, match="generate\\(\\) before fit"):
        aug.generate(source)


def test_iterations_per_epoch():
    from serkit.augment._cyclegan_train import iterations_per_epoch

    sizes = [80, 160, 160, 2135]  # a small emotion, two larger ones, the source
    assert iterations_per_epoch(sizes, 64, "min", 30, 0) == 1  # the original: 30 steps in all
    assert iterations_per_epoch(sizes, 64, "max", 30, 0) == 2135 // 64
    assert iterations_per_epoch(sizes, 64, "min", 30, 300) == 10  # ceil(300 / 30)
    assert iterations_per_epoch(sizes, 64, "max", 30, 300) == 2135 // 64
    assert iterations_per_epoch([5, 7], 64, "min", 3, 0) == 1  # batch = the whole small set


def test_batches_resample_a_small_domain_within_an_epoch():
    import torch

    from serkit.augment._cyclegan_train import _Batches

    data = torch.arange(10, dtype=torch.float32)[:, None]
    batches = _Batches(data, 4, np.random.default_rng(0))
    batches.shuffle()
    rows = torch.cat([batches.batch(j) for j in range(5)])[:, 0].long().tolist()  # 20 rows
    assert sorted(rows[:10]) == list(range(10)) and sorted(rows[10:20]) == list(range(10))


def test_a_small_emotion_gets_as_many_steps_as_the_others():
    """One emotion with 8 rows: with the original epochs (``epoch_size="min"``) it holds all
    emotions to one iteration per epoch; ``"max"`` / ``min_steps`` keep the step count."""
    rng = np.random.default_rng(6)
    source = rng.normal(0, 1, (256, 6))
    target = np.concatenate([rng.normal(3, 1, (128, 6)), rng.normal(-3, 1, (8, 6))])
    y = np.array(["a"] * 128 + ["b"] * 8)
    params = {**TINY, "epochs": 10, "pretrain_epochs": 2, "lr": 3e-3}
    few = get_augmenter("cyclegan", **params).fit(target, y, source, seed=0)
    assert few.fit_summary_["joint_steps"] == 10  # 8 rows // batch 8 = 1 per epoch
    assert few.fit_summary_["pretrain_steps"] == [16, 2]
    many = get_augmenter("cyclegan", **{**params, "epoch_size": "max"}).fit(target, y, source)
    assert many.fit_summary_["joint_steps"] == 10 * 256 // 16
    assert many.fit_summary_["pretrain_steps"] == [32, 32]
    bounded = get_augmenter("cyclegan", **{**params, "min_steps": 100}).fit(target, y, source)
    assert bounded.fit_summary_["joint_steps"] == 100
    assert bounded.fit_summary_["pretrain_steps"] == [100, 100]
    real = target[y == "b"]
    gap = {}
    for name, aug in (("few", few), ("many", many)):
        syn = aug.generate(source)
        gap[name] = summarize(fisher_ratio(syn.X[syn.y == "b"], real))["mean"]
    assert gap["many"] < 0.5 * gap["few"], gap  # the small emotion's cloud reaches its target
