"""Reports: Markdown and self-contained HTML built from a run folder's files."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pandas as pd
import yaml

from serkit import metrics, report

CLASSES = ["neutral", "happy", "sad", "angry"]


def fake_run(tmp_path, *, history=True, speaker_independent=True):
    rng = np.random.default_rng(0)
    rows = []
    for f in range(3):
        for i in range(20):
            t = CLASSES[i % 4]
            p = t if rng.random() < 0.7 else CLASSES[rng.integers(4)]
            rows.append(
                {
                    "id": f"c/{f}_{i}",
                    "fold": f"c/s{f}",
                    "seed": 0,
                    "speaker": f"c/s{f}_{i % 2}",  # two speakers per fold
                    "corpus": "c",
                    "true": t,
                    "pred": p,
                }
            )
    preds = pd.DataFrame(rows)
    for c in CLASSES:
        preds[f"prob_{c}"] = (preds["pred"] == c).astype(float)
    run = tmp_path / "run"
    run.mkdir()
    preds.to_parquet(run / "predictions.parquet")
    (run / "metrics.json").write_text(json.dumps(metrics.summarize(preds, CLASSES, reps=100)))
    (run / "config.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "fake",
                "data": {"manifests": ["m.parquet"], "label_set": "four_class"},
                "features": {"name": "egemaps", "params": {}},
                "model": {"name": "svm", "params": {}},
                "protocol": {"name": "loso", "params": {}},
                "seeds": [0],
                "bootstrap": {"reps": 100, "seed": 0},  # as written before bootstrap.method
                "provenance": {"git_revision": "abc", "command": "serkit train x.yaml"},
            }
        )
    )
    cert = {
        "statement": "Protocol 'loso': 3 fold(s); verified ...",
        "speaker_independent": speaker_independent,
    }
    (run / "dataset.json").write_text(
        json.dumps(
            {
                "rows": 60,
                "hours": 0.1,
                "speakers": 3,
                "corpora": ["c"],
                "per_class": {c: 15 for c in CLASSES},
                "features": {"level": "utterance", "dim": 88},
                "certification": cert,
            }
        )
    )
    if history:
        hist = [
            {
                "epoch": e,
                "train_loss": 1 / (e + 1),
                "val_loss": 1.2 / (e + 1),
                "val_uar": 0.3 + 0.05 * e,
            }
            for e in range(5)
        ]
        (run / "history.json").write_text(
            json.dumps([{"seed": 0, "fold": f"c/s{f}", "history": hist} for f in range(3)])
        )
    return run


def test_markdown_report(tmp_path):
    run = fake_run(tmp_path)
    md_path, html_path = report.write_report(run)
    md = md_path.read_text()
    m = json.loads((run / "metrics.json").read_text())
    for section in ("## Dataset", "## Protocol", "## Results", "## Per fold", "Confusion"):
        assert section in md
    assert f"{100 * m['pooled']['uar']:.1f}" in md
    lo, hi = m["pooled"]["ci95"]["uar"]
    assert f"[{100 * lo:.1f}, {100 * hi:.1f}]" in md
    assert "Protocol 'loso': 3 fold(s)" in md and "c/s2" in md
    # confusion table rows in the fixed class order
    order = [
        line.split("|")[1].strip()
        for line in md.splitlines()
        if line.startswith("| ") and line.split("|")[1].strip() in CLASSES and line.count("|") == 6
    ]
    assert order[-4:] == CLASSES
    assert "NOT speaker-independent" not in md


def test_html_is_self_contained_with_plots(tmp_path):
    run = fake_run(tmp_path)
    _, html_path = report.write_report(run)
    page = html_path.read_text()
    assert "<style>" in page and "http" not in page.replace("http-equiv", "")
    images = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", page)
    assert len(images) == 3  # confusion, recall, learning curves
    for image in images:
        assert base64.b64decode(image)[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Learning curves" in page


def test_no_history_no_learning_curves_and_warning(tmp_path):
    run = fake_run(tmp_path, history=False, speaker_independent=False)
    md_path, html_path = report.write_report(run)
    assert "Learning curves" not in html_path.read_text()
    assert "NOT speaker-independent" in md_path.read_text()


def test_row_normalised_rows_sum_to_one():
    cm = np.array([[2, 0, 6], [1, 3, 0], [0, 0, 0]])
    norm = report.row_normalised(cm)
    np.testing.assert_allclose(norm, [[0.25, 0, 0.75], [0.25, 0.75, 0], [0, 0, 0]])
    np.testing.assert_allclose(norm.sum(axis=1), [1, 1, 0])  # a class absent from the truth
    np.testing.assert_allclose(report.row_normalised(cm * 7), norm)  # pooled seeds: same


def test_confusion_figure_row_normalised():
    import matplotlib.pyplot as plt

    cm = [[2, 0, 6], [1, 3, 0], [5, 5, 10]]
    fig = report.confusion_plot(cm, ["a", "b", "c"])
    ax = fig.axes[0]
    shown = np.asarray(ax.images[0].get_array())  # what the colours are drawn from
    np.testing.assert_allclose(shown, [[0.25, 0, 0.75], [0.25, 0.75, 0], [0.25, 0.25, 0.5]])
    cells = {
        (round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts
    }
    assert cells[(0, 2)] == "0.75" and cells[(1, 0)] == "0.25" and cells[(2, 2)] == "0.50"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]  # rows = true
    plt.close(fig)
    png = base64.b64decode(report.confusion_figure(cm, ["a", "b", "c"]))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_per_fold_table_shows_the_fit_decision(tmp_path):
    run = fake_run(tmp_path)
    entries = json.loads((run / "history.json").read_text())
    entries[1]["fit_summary"] = {
        "stage1_history": [],
        "decision": "segments",
        "decision_scores": {"blstm": 0.25, "segments": 0.4},
    }
    (run / "history.json").write_text(json.dumps(entries))
    md = report.render_markdown(run)
    plain = report.learning_curve_figure(
        json.loads((tmp_path / "run" / "history.json").read_text())
    )
    entries[1]["fit_summary"]["stage1_history"] = [{"epoch": 1, "val_uar": 0.2}]
    with_stage1 = report.learning_curve_figure(entries)

    def width(png):  # from the PNG header (IHDR)
        return int.from_bytes(base64.b64decode(png)[16:20], "big")

    assert width(with_stage1) > 1.4 * width(plain)  # a third panel for stage 1
    line = next(row for row in md.splitlines() if "| c/s1 |" in row)
    assert "decision segments; val UAR blstm 25.0, segments 40.0" in line
    assert report.fit_note({"decision": "blstm", "decision_scores": {}}) == "decision blstm"


def test_every_interval_says_how_it_was_computed(tmp_path):
    run = fake_run(tmp_path)
    md_path, html_path = report.write_report(run)
    md, page = md_path.read_text(), html_path.read_text()
    assert "| metric | pooled % | 95 % CI (bootstrap over 6 test speakers) |" in md
    assert "percentile bootstrap over 6 test speakers (a drawn speaker keeps" in md
    assert "95 % CI (bootstrap over 6 test speakers)</th>" in page
    assert "percentile bootstrap over 6 test speakers" in page
    m = json.loads((run / "metrics.json").read_text())
    assert "(95 % CI, bootstrap over 6 test speakers)" in report.headline(m)
    # a metrics.json of the row bootstrap, and one written before the choice existed
    m["bootstrap"] = {"reps": 100, "seed": 0, "level": 0.95, "unit": "test rows"}
    (run / "metrics.json").write_text(json.dumps(m))
    md = report.render_markdown(run)
    assert "95 % CI (bootstrap over test rows)" in md and "assumes independent rows" in md
    assert "test speakers" not in md


def test_headline_without_interval():
    m = {
        "pooled": {"uar": 0.5, "wa": 0.5, "macro_f1": 0.4, "ci95": {}},
        "mean_over_folds": {"uar": {"mean": 0.5, "std": 0.0}},
        "n_folds": 1,
        "bootstrap": {"method": "speaker", "clusters": 1},
    }
    line = report.headline(m)
    assert "UAR 50.0 %, WA 50.0 %" in line and "[" not in line
    assert "no 95 % CI: bootstrap over 1 test speakers needs 2 or more" in line


def test_evaluate_and_compare_choose_the_bootstrap(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from serkit import experiment
    from serkit.cli import app

    run = fake_run(tmp_path)
    stored = json.loads((run / "metrics.json").read_text())
    assert experiment.evaluate(run, write=False) == stored  # config without method: speakers
    runner = CliRunner()
    result = runner.invoke(app, ["evaluate", str(run), "--bootstrap", "row"])
    assert result.exit_code == 0, result.output
    assert "bootstrap over 60 test rows" in result.output
    rows = json.loads((run / "metrics.json").read_text())
    assert rows["bootstrap"]["method"] == "row" and rows["pooled"]["uar"] == stored["pooled"]["uar"]
    assert rows["pooled"]["ci95"] != stored["pooled"]["ci95"]
    assert "bootstrap over 60 test rows" in (run / "report.md").read_text()  # report follows

    result = runner.invoke(app, ["compare", str(run)])
    assert result.exit_code == 0 and "bootstrap over 60 test rows" in result.output
    result = runner.invoke(app, ["compare", str(run), "--bootstrap", "speaker"])
    assert result.exit_code == 0 and "bootstrap over 6 test speakers" in result.output
    assert json.loads((run / "metrics.json").read_text()) == rows  # compare writes nothing
    result = runner.invoke(app, ["evaluate", str(run), "--bootstrap", "rows"])
    assert result.exit_code != 0 and "rows" in result.output


def test_search_table_lists_every_grid_point_and_reads_older_runs():
    s = {
        "cfg": {"search": {"metric": "uar"}},
        "dataset": {
            "search": [
                {
                    "seed": 0,
                    "fold": "f0",
                    "best_params": {"C": 0.1},
                    "inner": [
                        {"params": {"C": 0.1}, "mean": 0.61},
                        {"params": {"C": 1.0}, "mean": 0.5},
                    ],
                },
                {"seed": 0, "fold": "f1", "best_params": {"C": 1.0}},  # before inner scores
            ]
        },
    }
    rows = report.search_table(s)
    assert rows[0][-1] == "inner-fold mean uar % per grid point"
    assert rows[1] == ["0", "f0", '{"C": 0.1}', "C=0.1: 61.0 · C=1.0: 50.0"]
    assert rows[2][-1] == "-"
    assert report.search_table({"cfg": {}, "dataset": {}}) is None
