"""Metrics agree with scikit-learn, handle missing classes, and summarize a predictions table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import balanced_accuracy_score, confusion_matrix, f1_score

from serkit import metrics
from serkit.errors import ConfigError

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
                    {
                        "id": f"x/{f}_{i}",
                        "fold": f"f{f}",
                        "seed": seed,
                        "speaker": f"x/s{f}_{i % 4}",  # 4 test speakers per fold
                        "true": t[i],
                        "pred": p[i],
                    }
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
    assert out["bootstrap"]["method"] == "speaker" and out["bootstrap"]["clusters"] == 12
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


# --- bootstrap intervals: speakers (cluster bootstrap, the default) or rows ------------------


def speaker_table(n_speakers=24, per_speaker=60, accuracy=None, seeds=(0,), seed=0, k=4):
    """Predictions of ``n_speakers`` LOSO folds; ``accuracy[s]`` is speaker s's hit rate."""
    rng = np.random.default_rng(seed)
    accuracy = np.full(n_speakers, 0.6) if accuracy is None else np.asarray(accuracy)
    rows = []
    for s in range(n_speakers):
        t = np.asarray(CLASSES[:k])[np.arange(per_speaker) % k]
        hit = rng.random(per_speaker) < accuracy[s]
        p = np.where(hit, t, np.asarray(CLASSES[:k])[(np.arange(per_speaker) + 1) % k])
        for run_seed in seeds:
            for i in range(per_speaker):
                rows.append(
                    {
                        "id": f"c/{s}_{i}",
                        "fold": f"c/{s}",
                        "seed": run_seed,
                        "speaker": f"c/{s}",
                        "true": t[i],
                        "pred": p[i],
                    }
                )
    return pd.DataFrame(rows)


def width(ci, name="uar"):
    return ci[name][1] - ci[name][0]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 40), k=st.integers(2, 5))
def test_one_row_per_speaker_is_the_row_bootstrap(seed, n, k):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, k, n) * k + rng.integers(0, k, n)
    speakers = np.array([f"spk{v}" for v in rng.permutation(n)])  # one row each, any order
    clustered = metrics.bootstrap_distribution(codes, k, clusters=speakers, reps=60, seed=seed)
    # the clusters are drawn in their sorted order; the row bootstrap of the rows in that order
    rows = metrics.bootstrap_distribution(codes[np.argsort(speakers)], k, reps=60, seed=seed)
    for name in metrics.METRICS:
        np.testing.assert_allclose(clustered[name], rows[name], rtol=1e-12)


def test_one_row_per_speaker_same_distribution_as_rows():
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 4, 300) * 4 + rng.integers(0, 4, 300)
    speakers = rng.permutation(300).astype(str)
    a = metrics.bootstrap_distribution(codes, 4, clusters=speakers, reps=3000, seed=1)["uar"]
    b = metrics.bootstrap_distribution(codes, 4, reps=3000, seed=2)["uar"]
    np.testing.assert_allclose(
        np.quantile(a, [0.025, 0.5, 0.975]), np.quantile(b, [0.025, 0.5, 0.975]), atol=0.01
    )
    assert not np.array_equal(a, b)  # different draws, the same distribution


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_speakers=st.integers(2, 12),
    template=st.lists(st.integers(0, 8), min_size=2, max_size=12),
)
def test_homogeneous_speakers_give_a_zero_width_interval(seed, n_speakers, template):
    codes = np.tile(template, n_speakers)  # every speaker has the same confusion matrix
    speakers = np.repeat(np.arange(n_speakers), len(template))
    order = np.random.default_rng(seed).permutation(len(codes))  # row order plays no part
    ci = metrics.bootstrap_ci(codes[order], 3, clusters=speakers[order], reps=100, seed=seed)
    for name in metrics.METRICS:
        assert ci[name][1] - ci[name][0] == pytest.approx(0.0, abs=1e-12)


def test_homogeneous_speakers_rows_still_vary():
    codes = np.tile([0, 1, 3, 3, 2, 3], 10)
    speakers = np.repeat(np.arange(10), 6)
    assert width(metrics.bootstrap_ci(codes, 2, clusters=speakers, reps=300)) == 0.0
    assert width(metrics.bootstrap_ci(codes, 2, reps=300)) > 0.05


def test_speaker_effects_widen_the_interval():
    accuracy = np.tile([0.9, 0.25], 12)  # half of the speakers are easy, half hard
    df = speaker_table(accuracy=accuracy)
    speaker = metrics.summarize(df, CLASSES, reps=500)
    row = metrics.summarize(df, CLASSES, reps=500, method="row")
    assert speaker["pooled"]["uar"] == row["pooled"]["uar"]  # only the intervals differ
    assert width(speaker["pooled"]["ci95"]) > 1.5 * width(row["pooled"]["ci95"])
    assert speaker["bootstrap"]["clusters"] == 24 and row["bootstrap"]["clusters"] == 1440
    assert row["bootstrap"]["method"] == "row" and row["bootstrap"]["unit"] == "test rows"
    # without speaker effects both intervals are alike
    even = speaker_table(accuracy=np.full(24, 0.6), seed=1)
    ratio = width(metrics.summarize(even, CLASSES, reps=500)["pooled"]["ci95"]) / width(
        metrics.summarize(even, CLASSES, reps=500, method="row")["pooled"]["ci95"]
    )
    assert 0.6 < ratio < 1.6


def test_seeds_resample_speakers_with_all_their_seeds():
    one = speaker_table(n_speakers=8, per_speaker=20, accuracy=np.linspace(0.2, 0.9, 8))
    two = speaker_table(
        n_speakers=8, per_speaker=20, accuracy=np.linspace(0.2, 0.9, 8), seeds=(0, 1)
    )
    a, b = metrics.summarize(one, CLASSES, reps=300), metrics.summarize(two, CLASSES, reps=300)
    # identical seeds: a drawn speaker brings both copies, so nothing changes; resampling
    # (seed, speaker) pairs as 16 independent clusters would narrow the interval
    assert b["pooled"]["ci95"] == a["pooled"]["ci95"]
    assert b["bootstrap"]["clusters"] == 8
    # a second seed that differs: the statistic is the mean over seeds of the pooled metric
    other = two.copy()
    flip = (other["seed"] == 1) & (np.arange(len(other)) % 3 == 0)
    other.loc[flip, "pred"] = other.loc[flip, "true"]
    c = metrics.summarize(other, CLASSES, reps=300)
    lo, hi = c["pooled"]["ci95"]["uar"]
    assert lo < c["pooled"]["uar"] < hi and c["pooled"]["uar"] > a["pooled"]["uar"]


def test_cross_corpus_speakers_are_namespaced_clusters():
    df = speaker_table(n_speakers=4, per_speaker=8)
    # the same local speaker id "01" in two corpora is two speakers (ids are namespaced)
    df["speaker"] = np.array(["ravdess/01", "crema-d/01", "crema-d/02", "crema-d/03"])[
        df.index // 8
    ]
    out = metrics.summarize(df, CLASSES, reps=50)
    assert out["bootstrap"]["clusters"] == 4


def test_bootstrap_method_errors_name_the_option():
    df = speaker_table(n_speakers=3, per_speaker=4)
    with pytest.raises(ConfigError, match="speaker, row.*'rows'"):
        metrics.summarize(df, CLASSES, method="rows")
    with pytest.raises(ConfigError, match="method='row'"):
        metrics.summarize(df.drop(columns="speaker"), CLASSES)
    assert metrics.summarize(df.drop(columns="speaker"), CLASSES, reps=20, method="row")


def test_one_speaker_has_no_interval():
    df = speaker_table(n_speakers=1, per_speaker=12)
    out = metrics.summarize(df, CLASSES, reps=50)
    assert out["pooled"]["ci95"] == {} and out["bootstrap"]["clusters"] == 1
