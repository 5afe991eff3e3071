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
                    "speaker": f"c/s{f}",
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


def test_confusion_figure_row_normalised(tmp_path):
    png = base64.b64decode(report.confusion_figure([[2, 0], [1, 3]], ["a", "b"]))
    assert png[:4] == b"\x89PNG"


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
