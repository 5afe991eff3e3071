"""Metrics agree with scikit-learn, handle missing classes, and summarize a predictions table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import balanced_accuracy_score, confusion_matrix, f1_score

from serkit import metrics

CLASSES = ["neutral", "happy", "sad", "angry"]


def random_labels(seed: int, n: int = 200):
    rng = np.random.default_rng(seed)
    t = rng.choice(CLASSES, n)
    p = np.where(rng.random(n) < 0.6, t, rng.choice(CLASSES, n))
    return t, p


@pytest.mark.parametrize("seed", range(5))
def test_agree_with_sklearn(seed):
    t, p = random_labels(seed)
    assert metrics.uar(t, p, CLASSES) == pytest.approx(balanced_accuracy_score(t, p))
    assert metrics.wa(t, p, CLASSES) == pytest.approx(np.mean(t == p))
    assert metrics.macro_f1(t, p, CLASSES) == pytest.approx(f1_score(t, p, average="macro"))
    np.testing.assert_array_equal(
        metrics.confusion(t, p, CLASSES), confusion_matrix(t, p, labels=CLASSES)
    )


def test_class_missing_in_fold():
    t = ["happy", "happy", "sad", "sad"]
    p = ["happy", "sad", "sad", "sad"]
    assert metrics.uar(t, p, CLASSES) == pytest.approx(0.75)
    assert metrics.uar(t, p, CLASSES) == pytest.approx(balanced_accuracy_score(t, p))
    recall = metrics.per_class_recall(t, p, CLASSES)
    assert np.isnan(recall["neutral"]) and recall["happy"] == 0.5 and recall["sad"] == 1.0
    assert metrics.macro_f1(t, p, CLASSES) == pytest.approx(f1_score(t, p, average="macro"))
    assert metrics.confusion(t, p, CLASSES)[CLASSES.index("happy")].tolist() == [0, 1, 1, 0]


def test_unknown_label_is_an_error():
    with pytest.raises(Exception, match="fearful"):
        metrics.uar(["fearful"], ["happy"], CLASSES)


def test_ccc_known_values():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    assert metrics.ccc(x, x) == pytest.approx(1.0)
    xc = x - x.mean()
    assert metrics.ccc(xc, -xc) == pytest.approx(-1.0)
    assert metrics.ccc(x, -x) == pytest.approx(-2.5 / 27.5)  # the means differ by 5
    # shift by a constant: 2 cov / (var + var + d^2) = 2*1.25 / (2.5 + 1) with d=1
    assert metrics.ccc(x, x + 1) == pytest.approx(2.5 / 3.5)
    assert metrics.ccc(x, np.full(4, 2.5)) == pytest.approx(0.0)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-10, 10), min_size=2, max_size=30), st.floats(0.1, 5))
def test_ccc_properties(values, scale):
    x = np.asarray(values)
    y = x * scale + 0.5
    c = metrics.ccc(x, y)
    assert -1 - 1e-9 <= c <= 1 + 1e-9
    assert metrics.ccc(x, y) == pytest.approx(metrics.ccc(y, x))
    if np.ptp(x) > 1e-3:
        assert np.corrcoef(x, y)[0, 1] >= c - 1e-9  # CCC <= Pearson


def predictions_table(seeds=(0,), n_folds=3, per_fold=40):
    rows = []
    for seed in seeds:
        rng = np.random.default_rng(100 + seed)
        for f in range(n_folds):
            t, p = random_labels(f, per_fold)
            if seed:
                p = np.where(rng.random(per_fold) < 0.2, rng.choice(CLASSES, per_fold), p)
            for i in range(per_fold):
                rows.append(
                    {"id": f"x/{f}_{i}", "fold": f"f{f}", "seed": seed, "true": t[i], "pred": p[i]}
                )
    df = pd.DataFrame(rows)
    for c in CLASSES:
        df[f"prob_{c}"] = (df["pred"] == c).astype(float)
    return df


def test_summarize_single_seed():
    df = predictions_table()
    out = metrics.summarize(df, CLASSES, reps=300)
    assert out["classes"] == CLASSES and out["n_folds"] == 3
    assert out["pooled"]["uar"] == pytest.approx(balanced_accuracy_score(df["true"], df["pred"]))
    per_fold = [balanced_accuracy_score(g["true"], g["pred"]) for _, g in df.groupby("fold")]
    assert out["mean_over_folds"]["uar"]["mean"] == pytest.approx(np.mean(per_fold))
    assert out["mean_over_folds"]["uar"]["std"] == pytest.approx(np.std(per_fold, ddof=1))
    lo, hi = out["pooled"]["ci95"]["uar"]
    assert lo < out["pooled"]["uar"] < hi and hi - lo < 0.3
    assert np.sum(out["pooled"]["confusion"]) == len(df)
    # deterministic, and the class order comes from the prob_ columns
    again = metrics.summarize(df, reps=300)
    assert again == out


def test_summarize_over_seeds():
    df = predictions_table(seeds=(0, 1))
    out = metrics.summarize(df, CLASSES, reps=200)
    per_seed = [balanced_accuracy_score(g["true"], g["pred"]) for _, g in df.groupby("seed")]
    assert out["seeds"]["uar"]["mean"] == pytest.approx(np.mean(per_seed))
    assert out["pooled"]["uar"] == pytest.approx(np.mean(per_seed))
    assert len(out["per_fold"]) == 6 and out["pooled"]["n"] == len(df) // 2


def test_summarize_ccc_columns():
    df = predictions_table()
    df["true_arousal"] = np.linspace(0, 1, len(df))
    df["pred_arousal"] = df["true_arousal"]
    assert metrics.summarize(df, CLASSES, reps=50)["ccc"]["arousal"] == pytest.approx(1.0)
