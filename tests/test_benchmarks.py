"""The benchmark scripts: their parsers, table writers and ``baselines --summarise-only``.

Nothing here measures anything: the scripts' tables are built from small synthetic figures or
a fake run folder, so the tests stay fast and never assert timings.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPTS = tuple(  # every script, so a new one cannot miss the --out contract
    sorted(p.stem for p in BENCHMARKS.glob("*.py") if not p.name.startswith("_"))
)


@pytest.fixture
def bench(monkeypatch):
    """Import a benchmark script as ``python benchmarks/x.py`` would (its folder on the path)."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))

    def load(name: str):
        sys.modules.pop(name, None)
        return importlib.import_module(name)

    return load


@pytest.mark.parametrize("name", SCRIPTS)
def test_every_script_has_an_out_option_with_a_default(bench, name):
    module = bench(name)
    argv = ["configs/x.yaml", "--variant", "a:"] if name == "tune_seed_models" else []
    args = module._parser().parse_args(argv)
    if name == "tune_seed_models":  # the default depends on the config
        assert module.out_path(args) == Path("tune_x.md")
    else:
        assert args.out == Path(f"{name}.md")
    assert module._parser().parse_args([*argv, "--out", "t/x.md"]).out == Path("t/x.md")


def test_write_table_writes_markdown_and_json(bench, tmp_path, capsys):
    report = bench("_report")
    text = report.md_table(["a", "b"], [[1, np.float32(0.5)]])
    md, js = report.write_table(tmp_path / "sub" / "t.md", text, {"x": np.float64(0.25)})
    assert md.read_text() == "| a | b |\n|---|---|\n| 1 | 0.5 |\n"
    assert json.loads(js.read_text()) == {"x": 0.25} == report.read_figures(md)
    assert str(md) in capsys.readouterr().out
    # an --out ending in .json names the figures; the table goes beside it as .md
    md2, js2 = report.write_table(tmp_path / "r.json", "x", [1])
    assert (md2.name, md2.read_text(), json.loads(js2.read_text())) == ("r.md", "x\n", [1])
    assert report.read_figures(tmp_path / "none.md") is None


def _fake_run(run_dir: Path, name: str, model: dict, bootstrap: dict | None) -> None:
    """A finished run of 4 test speakers who are all alike: 3 of 4 rows right, UAR 0.75."""
    rows = []
    for s in range(4):
        for i, (true, pred) in enumerate([("a", "a"), ("a", "b"), ("b", "b"), ("b", "b")]):
            rows.append(
                {"id": f"c/s{s}_{i}", "fold": f"s{s}", "seed": 0, "speaker": f"c/s{s}"}
                | {"true": true, "pred": pred}
            )
    run_dir.mkdir(parents=True)
    pd.DataFrame(rows).to_parquet(run_dir / "predictions.parquet")
    cfg = {"name": name, "model": model} | ({"bootstrap": bootstrap} if bootstrap else {})
    (run_dir / "config.yaml").write_text(yaml.safe_dump(cfg))
    folds = [{"seed": 0, "fold": f"s{s}", "seconds": 1.5} for s in range(4)]
    (run_dir / "dataset.json").write_text(json.dumps({"classes": ["a", "b"], "folds": folds}))


def test_baselines_summarise_only_rebuilds_the_table_from_run_folders(bench, tmp_path, capsys):
    baselines = bench("baselines")
    work = tmp_path / "work"
    rbf = {"name": "svm", "params": {"C": 1.0, "kernel": "rbf"}}
    _fake_run(work / "runs" / "ravdess_egemaps_svm", "ravdess_egemaps_svm", rbf, None)
    out = tmp_path / "tables" / "baselines.md"
    argv = ["--work", str(work), "--summarise-only", "--out", str(out), "--corpora", "ravdess"]
    assert baselines.main([*argv, "--features", "egemaps"]) == 0
    text = out.read_text()
    figures = json.loads(out.with_suffix(".json").read_text())
    # no run folder for the spknorm twin: skipped and said so, not tabulated
    assert "ravdess_egemaps_svm_spknorm.yaml" in capsys.readouterr().out
    assert figures["skipped"] == [str(work / "runs" / "ravdess_egemaps_svm_spknorm")]
    (row,) = figures["rows"]
    assert (row["uar"], row["wa"], row["folds"], row["fit_seconds"]) == (0.75, 0.75, 4, 6.0)
    # config without a bootstrap key: the default speaker bootstrap, and the table says so
    assert row["bootstrap"]["method"] == "speaker" and row["uar_ci"] == [0.75, 0.75]
    line = next(x for x in text.splitlines() if x.startswith("| RAVDESS"))
    assert "| eGeMAPS + RBF SVM (C=1.0) | 75.0 [75.0, 75.0] |" in line
    assert "bootstrap over 4 test speakers" in line and "| 6 s |" in line
    assert "`serkit train configs/ravdess_egemaps_svm.yaml workers=2 seeds=[0]`" in text

    # --method row recomputes the intervals over rows: no longer degenerate, and labelled
    assert baselines.main([*argv, "--features", "egemaps", "--method", "row"]) == 0
    (row,) = json.loads(out.with_suffix(".json").read_text())["rows"]
    assert row["uar_ci"][1] - row["uar_ci"][0] > 0.1
    assert "bootstrap over 16 test rows" in out.read_text()


def test_baselines_plans_spknorm_rows_only_where_a_config_exists(bench):
    baselines = bench("baselines")
    rows = baselines.planned_rows(["ravdess", "turev"], ["egemaps"], ["none", "speaker"])
    keys = [(corpus, norm) for corpus, _, norm, _ in rows]
    assert keys == [("ravdess", "none"), ("turev", "none"), ("ravdess", "speaker")]
    assert rows[-1][3].name == "ravdess_egemaps_svm_spknorm.yaml"


def test_baselines_without_finished_runs_fails_plainly(bench, tmp_path, capsys):
    baselines = bench("baselines")
    argv = ["--work", str(tmp_path), "--summarise-only", "--out", str(tmp_path / "b.md")]
    assert baselines.main(argv) == 1
    assert "no finished runs" in capsys.readouterr().out
    assert not (tmp_path / "b.md").exists()


def test_seed_models_tables(bench):
    seed_models = bench("seed_models")
    training = [{"model": "acrnn", "utterances_per_s": 103.04}]
    latency = [{"model": "acrnn", "batch": 1, "torch_s": 0.0074, "ort_s": 0.0032, "max_diff": 2e-6}]
    text = seed_models.tables("settings", training, latency)
    assert "| acrnn | 103.0 |" in text
    assert "| acrnn | 1 | 7.40 | 3.20 | 2.31 | 2.0e-06 |" in text


def test_tune_keeps_a_recorded_variant_only_for_the_same_request(bench):
    tune = bench("tune_seed_models")
    request = tune._request("c.yaml", ["a=1"], 0, 0)
    assert tune.kept({"overrides": ["a=1"], "val_uar": 0.5} | request, request)
    assert tune.kept({"overrides": ["a=1"]}, request)  # written before config/seed were kept
    assert not tune.kept({"overrides": ["a=1"]} | tune._request("d.yaml", ["a=1"], 0, 0), request)
    assert not tune.kept({"overrides": ["a=2"]}, request)
    assert not tune.kept(None, request)


def test_tune_writes_its_table_and_refits_only_new_requests(bench, tmp_path, monkeypatch):
    tune = bench("tune_seed_models")
    fits = []

    def fake_score(request):  # the fit itself: test_experiment.py
        overrides, dev_fold = request["overrides"], request["dev_fold_index"]
        fits.append((overrides, request["seed"]))
        return {
            "overrides": overrides,
            "dev_fold": f"fold{dev_fold}",
            "dropped_test_speakers": ["c/s1"],
            "val_split": "speaker-disjoint: 1 of 3 speakers",
            "val_uar": 0.5 + 0.1 * len(overrides),
            "best_epoch": 2,
            "epochs_run": 3,
            "stage1_val_uar": None,
            "stage1_best_epoch": None,
            "decision": None,
            "decision_scores": {},
            "seconds": 1.0,
        }

    monkeypatch.setattr(tune, "score_variant", fake_score)
    monkeypatch.chdir(tmp_path)
    argv = ["configs/acrnn.yaml", "--variant", "as_is:", "--variant", "e8:model.params.epochs=8"]
    assert tune.main(argv) == 0
    text = Path("tune_acrnn.md").read_text()
    assert "| as_is | 50.0 (2/3) |" in text and "| e8 | 60.0 (2/3) |" in text
    assert "- e8: `model.params.epochs=8`" in text and "not nested" in text
    assert set(json.loads(Path("tune_acrnn.json").read_text())) == {"as_is", "e8"}
    assert tune.main(argv) == 0 and len(fits) == 2  # both kept from the record
    assert tune.main([*argv, "--seed", "1"]) == 0 and fits[2:] == [
        ([], 1),
        (["model.params.epochs=8"], 1),
    ]


def test_tune_dev_test_holds_out_whole_speakers_the_same_for_every_order(bench):
    tune = bench("tune_seed_models")
    groups = np.repeat([f"s{i}" for i in range(6)], 3)
    rows = np.arange(len(groups))
    kept, out = tune.hold_out_speakers(rows, groups, 2, seed=3)
    assert len(set(groups[out])) == 2 and not set(groups[out]) & set(groups[kept])
    assert sorted([*kept, *out]) == rows.tolist()
    shuffled = np.random.default_rng(0).permutation(rows)
    _, out2 = tune.hold_out_speakers(shuffled, groups, 2, seed=3)
    assert set(groups[out2]) == set(groups[out])  # drawn from the sorted speakers
    _, out3 = tune.hold_out_speakers(rows[groups[rows] != "s0"], groups, 1, seed=3)
    assert "s0" not in set(groups[out3])  # only the given rows' speakers are drawn
    for count in (0, 5):
        with pytest.raises(SystemExit, match="hold out between 1 and 4"):
            tune.hold_out_speakers(rows, groups, count, seed=0)


def test_tune_best_val_ignores_epochs_without_validation(bench):
    tune = bench("tune_seed_models")
    history = [{"epoch": 1, "val_uar": float("nan")}, {"epoch": 2, "val_uar": 0.4}]
    assert tune.best_val(history) == (0.4, 2)
    assert tune.best_val(history[:1]) == (None, None) == tune.best_val(None)


def test_tune_keeps_a_record_only_for_the_same_dev_test(bench):
    tune = bench("tune_seed_models")
    plain = tune._request("c.yaml", ["a=1"], 0, 0)
    dev = tune._request("c.yaml", ["a=1"], 0, 0, dev_test=4, dev_test_seed=0)
    assert plain == {"config": "c.yaml", "overrides": ["a=1"], "dev_fold_index": 0, "seed": 0}
    assert tune.kept(dev, dev) and tune.kept(plain, plain)
    assert not tune.kept(plain, dev) and not tune.kept(dev, plain)
    assert not tune.kept(dev, tune._request("c.yaml", ["a=1"], 0, 0, 4, dev_test_seed=1))
    table = tune.table(
        {
            "v": {
                **dev,
                "val_uar": None,
                "best_epoch": None,
                "epochs_run": 60,
                "stage1_val_uar": None,
                "stage1_best_epoch": None,
                "decision_scores": {},
                "seconds": 1.0,
                "dev_test_uar": 0.625,
                "dev_test_wa": 0.5,
            }
        }
    )
    assert (
        "dev-test UAR / WA %" in table
        and "| v | - (None/60) | - (None) | - | 62.5 / 50.0 |" in table
    )


def test_loco_rows_are_valid_configs_and_the_table_lists_every_corpus(bench, tmp_path):
    from serkit import experiment

    loco = bench("loco")
    args = loco._parser().parse_args(["--manifests", str(tmp_path), "--store", str(tmp_path)])
    for features in loco.FRONT_ENDS:
        for normalize in loco.NORMALIZE:
            cfg = experiment.load_config(loco.CONFIG, loco.overrides(args, features, normalize))
            assert cfg["features"]["name"] == loco.FRONT_ENDS[features][1]
            assert cfg["features"].get("normalize", "none") == normalize
            assert cfg["protocol"]["name"] == "leave-one-corpus-out"
            assert [Path(p).stem for p in cfg["data"]["manifests"]] == list(loco.CORPORA)
    searched = experiment.load_config(loco.CONFIG, loco.overrides(args, "compare_search", "none"))
    assert searched["search"]["inner"]["name"] == "leave-one-corpus-out"
    assert len(searched["search"]["param_grid"]["C"]) == 5
    tta = experiment.load_config(loco.CONFIG, loco.overrides(args, "compare_speed_tta", "corpus"))
    assert tta["perturb"] == {"speed": [0.9, 1.1], "test": True, "train": True}
    row = {
        "features": "compare",
        "normalize": "corpus",
        "per_corpus": {"ravdess": 0.438, "urdu": 0.378, "turev-db": 0.449},
        "mean": 0.4217,
        "pooled": 0.367,
        "pooled_ci": [0.306, 0.424],
        "train_seconds": 116.0,
    }
    text = loco.table([row])
    cells = "| ComParE 2016 + linear SVM | corpus | 43.8 | 37.8 | 44.9 | 42.2 | 36.7 [30.6, 42.4]"
    assert cells in text


def test_perturb_corpora_runs_are_valid_configs_and_the_table_shows_the_change(bench):
    from serkit import experiment

    script = bench("perturb_corpora")
    for corpus, (_, _, label_set, normalize) in script.CORPORA.items():
        expected = {
            "plain": None,
            "speed": {"speed": [0.9, 1.1], "test": False, "train": True},
            "speed_tta": {"speed": [0.9, 1.1], "test": True, "train": True},
        }
        for variant, perturb in expected.items():
            cfg = experiment.load_config(script.CONFIG, script.overrides(corpus, variant, "/s"))
            assert cfg["data"]["label_set"] == label_set
            assert cfg["features"].get("normalize", "none") == normalize
            assert cfg["protocol"]["name"] == "loso" and cfg["features"]["store"] == "/s"
            assert cfg["perturb"] == perturb
            assert cfg["name"] == f"perturb_{corpus}_{normalize}_{variant}"
    figures = {"uar_ci": [0.5, 0.7], "wa_ci": [0.5, 0.7], "seconds": 3.0}
    text = script.table(
        {
            "turev-db": {
                "plain": {"uar": 0.6, "wa": 0.61, **figures},
                "speed": {"uar": 0.625, "wa": 0.6, **figures},
                "speed_tta": {"uar": 0.615, "wa": 0.6, **figures},
            }
        }
    )
    assert "| TurEV-DB (4 classes, 6 speakers) | speaker | speed copies x0.9 / x1.1 | 62.5" in text
    assert "| +2.5 | 3 s |" in text
    assert "x1.1 + test-time averaging | 61.5 [50.0, 70.0] | 60.0 [50.0, 70.0] | -1.0 |" in text


def test_seed_folds_adds_fused_rows_for_finished_members(bench, tmp_path):
    from tests.test_fuse import predictions

    seed_folds = bench("seed_folds")
    work = tmp_path / "work"
    (work / "manifests").mkdir(parents=True)
    (work / "manifests" / "ravdess.parquet").touch()  # only its presence is checked
    for key, seeds in (("compare_spk", (0,)), ("acrnn_spk", (0, 1, 2))):
        run_dir = work / "runs" / f"seed_folds_{key}"
        run_dir.mkdir(parents=True)
        predictions(seeds=seeds, rng_seed=len(seeds)).to_parquet(run_dir / "predictions.parquet")
        (run_dir / "config.yaml").write_text(yaml.safe_dump({"name": key}))
        folds = [{"seed": s, "fold": f"fold{f}", "seconds": 10.0} for s in seeds for f in (0, 1)]
        (run_dir / "dataset.json").write_text(json.dumps({"folds": folds}))
    out = tmp_path / "seed_folds.md"
    argv = ["--work", str(work), "--summarise-only", "--out", str(out)]
    assert seed_folds.main([*argv, "--rows", "compare_spk", "acrnn_spk"]) == 0
    rows = {r["row"]: r for r in json.loads(out.with_suffix(".json").read_text())}
    assert set(rows) == {"compare_spk", "acrnn_spk", "acrnn_spk_ens", "compare_spk+acrnn_spk"}
    assert rows["acrnn_spk"]["seeds"] == 3 and rows["acrnn_spk"]["train_seconds"] == 20.0
    assert rows["compare_spk+acrnn_spk"]["train_seconds"] == 80.0  # every seed of both
    assert "serkit fuse runs/seed_folds_compare_spk runs/seed_folds_acrnn_spk" in out.read_text()
    assert "| 3: ± " in out.read_text()


def test_seed_folds_trains_a_finished_row_again_only_for_other_seeds(bench, tmp_path, monkeypatch):
    from tests.test_fuse import predictions

    from serkit import experiment

    seed_folds = bench("seed_folds")
    run_dir = tmp_path / "runs" / "seed_folds_dcnn"
    run_dir.mkdir(parents=True)
    assert seed_folds.finished_seeds(run_dir) == set()
    predictions(seeds=(0,), rng_seed=1).to_parquet(run_dir / "predictions.parquet")
    assert seed_folds.finished_seeds(run_dir) == {0}
    started = []
    monkeypatch.setattr(experiment, "run", lambda cfg, **kw: started.append(cfg))
    for seeds in (None, [0]):  # the config's seed 0, or the same seed asked for
        seed_folds.run_row("dcnn", tmp_path, 1, False, seeds=seeds)
    (tmp_path / "runs" / "seed_folds_compare").mkdir()
    predictions(seeds=(0,), rng_seed=2).to_parquet(
        tmp_path / "runs" / "seed_folds_compare" / "predictions.parquet"
    )
    seed_folds.run_row("compare", tmp_path, 1, False, seeds=[0, 1])  # deterministic: no seeds
    assert started == []
    seed_folds.run_row("dcnn", tmp_path, 1, False, seeds=[0, 1, 2])
    assert len(started) == 1 and started[0]["seeds"] == [0, 1, 2]


def test_tune_summary_pairs_seeds_and_refuses_mixed_records(bench, tmp_path):
    summary = bench("tune_summary")

    def record(uar, seed, speakers=("a", "b")):
        return {
            "seed": seed,
            "dev_test_uar": uar,
            "dev_test_speakers": list(speakers),
            "overrides": [],
            "dev_fold": "fold0",
        }

    files = [
        {"sel": record(0.60, 0), "x": record(0.55, 0)},
        {"sel": record(0.50, 1), "x": record(0.53, 1)},
        {"x": record(0.40, 2)},  # no reference for seed 2: not paired
    ]
    for i, figures in enumerate(files):
        (tmp_path / f"f{i}.json").write_text(json.dumps(figures))
    out = tmp_path / "s.md"
    argv = [*(str(tmp_path / f"f{i}.json") for i in range(3)), "--out", str(out)]
    assert summary.main(argv) == 0
    text = out.read_text()
    assert "| sel | 0: 60.0, 1: 50.0 | 55.0 ± 7.1 | - |" in text
    assert "| x | 0: 55.0, 1: 53.0, 2: 40.0 | 49.3 ± 8.1 | -1.0 (2) |" in text
    with pytest.raises(SystemExit, match="recorded twice"):
        summary.collect([files[0], files[0]])
    with pytest.raises(SystemExit, match="differ"):
        summary.collect([files[0], {"y": record(0.5, 0, speakers=("c",))}])
    with pytest.raises(SystemExit, match="no dev-test scores"):
        summary.collect([{"z": {"seed": 0}}])
    with pytest.raises(SystemExit, match="--reference 'none'"):
        summary.table(summary.collect(files), "none")


def test_acrnn_bn_steps_runs_are_valid_configs_and_the_table_pairs_seeds(bench, tmp_path):
    from serkit import experiment

    bn = bench("acrnn_bn_steps")
    for variant in bn.VARIANTS:
        cfg = experiment.load_config(bn.CONFIG, bn.overrides(tmp_path / "t.parquet", variant, 1))
        assert cfg["model"]["params"]["net_params"] == {"preset": "cpu", "bn_steps": variant}
        assert cfg["data"]["label_set"] == "turev4" and cfg["protocol"]["params"]["k"] == 3
    rows = [
        {"bn_steps": v, "seed": s, "uar": u, "per_fold": [], "seconds": 600.0}
        for v, s, u in [("real", 0, 0.40), ("all", 0, 0.38), ("real", 1, 0.44), ("all", 1, 0.47)]
    ]
    text = bn.table(rows)
    assert "| `bn_steps: real` | 40.0 / 44.0 | 42.0 ± 2.8 | +2.0 / -3.0 | 10 min |" in text
    assert "| `bn_steps: all` | 38.0 / 47.0 | 42.5 ± 6.4 | - | 10 min |" in text


def test_speechflow_references_are_the_mean_spectrum_and_its_per_frame_level_shift(bench):
    speechflow = bench("speechflow")
    rng = np.random.default_rng(0)
    spectrum, level = rng.random(6), rng.random((9, 1))
    mel = spectrum[None, :] + level  # a fixed spectrum moved up and down per frame
    errors = speechflow.reference_errors(mel)
    assert errors["MEAN+LEVEL"] == pytest.approx(0.0, abs=1e-12)
    assert errors["MEAN"] == pytest.approx(float(((level - level.mean()) ** 2).sum()) * 6)
    noisy = mel + rng.normal(0, 0.1, mel.shape)
    worse = speechflow.reference_errors(noisy)
    assert 0 < worse["MEAN+LEVEL"] < worse["MEAN"]
    assert set(speechflow.REFERENCES) == set(errors)


def test_perturb_choice_table_and_overrides(bench):
    choice = bench("perturb_choice")
    overrides = choice.variant_overrides(["ravdess/Actor_01", "ravdess/Actor_02"], 5, None)
    assert overrides[0] == "data.filter.speaker=[ravdess/Actor_01, ravdess/Actor_02]"
    assert not any(o.startswith("perturb") for o in overrides)
    results = {
        0: {"plain": {"uar": 0.60, "seconds": 10}, "speed": {"uar": 0.65, "seconds": 30}},
        1: {"plain": {"uar": 0.50, "seconds": 10}, "speed": {"uar": 0.48, "seconds": 30}},
    }
    text = choice.table(results, [0.9, 1.1])
    assert "| outer fold 0 | 60.0 | 65.0 | +5.0 | 10 / 30 s |" in text
    assert "| mean | 55.0 | 56.5 | +1.5 |" in text
    assert "speed copies x0.9 / x1.1" in text and "higher than plain in 1 of 2 parts" in text
    test_time = choice.variant_overrides(["ravdess/Actor_01"], 5, [0.9, 1.1], test=True)
    assert test_time[-2:] == ["perturb.speed=[0.9, 1.1]", "perturb.test=true"]
    for pair in results.values():
        pair["speed_tta"] = {"uar": pair["speed"]["uar"] + 0.01, "seconds": 31}
    text = choice.table(results, [0.9, 1.1], ("speed", "speed_tta"))
    assert "| outer fold 1 | 48.0 | 49.0 | +1.0 | 30 / 31 s |" in text
    assert "x1.1 + test-time averaging" in text and "in 2 of 2 parts" in text
