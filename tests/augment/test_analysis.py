"""The Fisher-ratio analysis (seed 004 §4.6): pure computation, files, and the CLI."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from serkit.augment import fisher
from serkit.augment.analysis import (
    Fold,
    analyze_fisher,
    fisher_analysis,
    representative_features,
)

from ._runlike import corpora, make_run

PNG = b"\x89PNG\r\n\x1a\n"


def _fold(rng, shift):
    y = np.repeat(["ang", "sad"], 20)
    X = rng.normal(size=(40, 3)) + (y == "sad")[:, None] * 4.0
    syn_y = np.repeat(["ang", "sad"], 10)
    syn = rng.normal(size=(20, 3)) + (syn_y == "sad")[:, None] * 4.0 + shift
    return Fold(X, y, {"syn_a": (syn, syn_y)})


def test_fisher_analysis_averages_the_folds():
    rng = np.random.default_rng(0)
    folds = [_fold(rng, 0.5), _fold(rng, 1.0)]
    source = rng.normal(size=(30, 3)) - 3
    result = fisher_analysis(folds, source, ["ang", "sad", "hap"])
    assert result.classes == ["ang", "sad"]  # 'hap' has no rows
    assert result.sets == ["syn_a"] and result.folds == 2
    expected = np.mean([fisher.fisher_ratio(source, f.X[f.y == "sad"]) for f in folds], axis=0)
    np.testing.assert_allclose(result.between_sets["source"]["sad"], expected)
    expected = np.mean(
        [
            fisher.fisher_ratio(
                f.synthetic["syn_a"][0][f.synthetic["syn_a"][1] == "ang"], f.X[f.y == "ang"]
            )
            for f in folds
        ],
        axis=0,
    )
    np.testing.assert_allclose(result.between_sets["syn_a"]["ang"], expected)
    expected = np.mean(
        [fisher.fisher_ratio(f.X[f.y == "ang"], f.X[f.y == "sad"]) for f in folds], 0
    )
    np.testing.assert_allclose(result.between_emotions["target"]["ang", "sad"], expected)
    assert list(result.between_sets["source"]) == ["all", "ang", "sad"]
    # pooled distributions: the target's mean is the mean of the folds' rows
    np.testing.assert_allclose(
        result.distributions["target"][0], np.concatenate([f.X for f in folds]).mean(axis=0)
    )


EMOBASE_12 = [
    "pcm_loudness_sma_amean",
    "pcm_loudness_sma_stddev",
    "pcm_fftMag_mfcc_sma[4]_amean",
    "pcm_fftMag_mfcc_sma[4]_stddev",
    "pcm_fftMag_logMelFreqBand_sma[0]_amean",
    "pcm_fftMag_logMelFreqBand_sma[0]_stddev",
    "voicingFinalUnclipped_sma_amean",
    "voicingFinalUnclipped_sma_stddev",
    "jitterLocal_sma_amean",
    "jitterLocal_sma_stddev",
    "shimmerLocal_sma_amean",
    "shimmerLocal_sma_stddev",
]


def test_representative_features_match_the_paper_names_and_skip_deltas():
    names = ["pcm_loudness_sma_de_amean", *EMOBASE_12[::-1], "pcm_fftMag_mfcc_sma[14]_amean"]
    idx, labels, how = representative_features(names)
    assert [names[i] for i in idx] == EMOBASE_12
    assert labels[:2] == ["loudness mean", "loudness std"] and labels[-1] == "shimmer std"
    assert how == "12 of the paper's 12 features matched by name"


def test_representative_features_fill_up_by_fisher_ratio():
    names = ["loudness_sma3_amean", "F0_sma3_amean", "a", "b"]
    idx, labels, how = representative_features(names, np.array([0.0, 3.0, 9.0, 1.0]))
    assert idx == [0, 2, 1, 3] and labels[0] == "loudness mean"
    assert "1 of the paper's 12 features matched by name; 3 with the largest" in how


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    root = tmp_path_factory.mktemp("fisher")
    c = corpora(root)
    runs = [
        make_run(root / "runs" / f"lam{v}", c, lambda_cls=v, pull=p)
        for v, p in ((0.0, 0.5), (2.0, 1.0))
    ]
    return root, c, runs


def test_analysis_of_a_sweep_writes_tables_and_plots(sweep):
    root, c, runs = sweep
    written = analyze_fisher(runs, root / "out")
    names = sorted(p.name for p in written)
    assert names == sorted(
        [
            "fisher_summary.md",
            "fisher_summary.csv",
            "fisher_ratios.npz",
            "overlap_between_sets.png",
            "overlap_between_emotions.png",
            "feature_distributions.png",
        ]
    )
    for path in written:
        if path.suffix == ".png":
            assert path.read_bytes()[:8] == PNG
    text = (root / "out" / "fisher_summary.md").read_text()
    assert "| set | all | neutral | happy | sad | angry |" in text  # the label set's order
    assert "| source |" in text and "| syn_0 |" in text and "| syn_2 |" in text
    assert "12 of the paper's 12 features matched by name" in text
    with open(root / "out" / "fisher_summary.csv") as handle:
        rows = list(csv.DictReader(handle))
    sets = {(r["kind"], r["set"], r["against"]): float(r["mean"]) for r in rows}
    # pull=1 moves each synthetic class mean onto the fold's class mean: ratio ~ 0 per emotion
    assert sets["between_sets", "syn_2", "target angry"] < 1e-6
    assert 0 < sets["between_sets", "syn_0", "target angry"]
    assert (
        sets["between_sets", "syn_0", "target angry"]
        < sets["between_sets", "source", "target angry"]
    )
    assert ("between_emotions", "target", "neutral-happy") in sets
    assert ("between_emotions", "syn_2", "happy-angry") in sets
    ratios = np.load(root / "out" / "fisher_ratios.npz")
    assert ratios["sets/source/all"].shape == (1582,)
    assert len(ratios["feature_names"]) == 1582


def test_default_output_folder_and_folder_names_without_lambda(sweep, tmp_path):
    root, c, _ = sweep
    a = make_run(tmp_path / "a", c, lambda_cls=None, pull=0.3)
    b = make_run(tmp_path / "b", c, lambda_cls=None, pull=0.6)
    # without explicit lambda_cls both runs use the augmenter's default: names are folders
    written = analyze_fisher([a, b])
    assert written[0].parent == a / "analysis" / "fisher"
    assert "| a |" in written[0].read_text() and "| b |" in written[0].read_text()


def test_cli_analyze_fisher(sweep, capsys, monkeypatch):
    from faults._cli import serkit

    root, _, runs = sweep
    code, out, err = serkit(["analyze", "fisher", *runs, "-o", root / "cli"], capsys, monkeypatch)
    assert code == 0, err
    assert "# Fisher discriminant ratio analysis" in out
    assert f"wrote 6 files to {root / 'cli'}" in out
    assert (root / "cli" / "overlap_between_sets.png").is_file()


def test_analysis_reads_the_sets_a_real_run_saved(sweep, tmp_path):
    """The interface with the runner: a run trained with ``augment.save`` is analysable."""
    from serkit import experiment
    from serkit.augment.cyclegan import CycleGANAugmenter

    _, c, _ = sweep
    params = {**CycleGANAugmenter.test_params(), "n_per_class": 5}
    cfg = {
        "name": "aug",
        "data": c["data"],
        "features": c["features"],
        "model": {"name": "logreg"},
        "protocol": {"name": "speaker-kfold", "params": {"k": 2}},
        "augment": {
            "name": "cyclegan",
            "params": params,
            "source": c["source"],
            "train_on": "real+syn",
            "save": True,
        },
        "seeds": [0],
        "final_model": False,
        "output": str(tmp_path / "runs"),
        "bootstrap": {"reps": 50},
    }
    run = experiment.run(cfg)
    written = analyze_fisher([run])
    text = written[0].read_text()
    assert "2 fold(s) averaged, 1582 features" in text
    assert "| syn_2 |" in text  # the augmenter's default lambda_cls names the set
