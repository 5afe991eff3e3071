"""CLI: serkit train / evaluate / compare on the synthetic demo corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from serkit.cli import app
from serkit.errors import ConfigError

CONFIG = """\
name: cli_tiny
data: {manifests: [demo/manifests/ravdess.parquet], label_set: four_class}
features: {name: mfcc-stats, store: features/}
model: {name: logreg, params: {C: 1.0}}
protocol: {name: loso}
bootstrap: {reps: 100}
final_model: false
"""


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A working directory with demo/manifests/ravdess.parquet and a config (relative paths)."""
    from serkit.corpora import prepare
    from serkit.demo import make_corpus

    make_corpus(
        tmp_path / "demo" / "corpus",
        speakers=3,
        sentences=1,
        repetitions=1,
        emotions=("neutral", "happy", "sad", "angry"),
        seed=1,
    )
    prepare("ravdess", tmp_path / "demo" / "corpus", output=tmp_path / "demo" / "manifests")
    (tmp_path / "exp.yaml").write_text(CONFIG)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_train_evaluate_compare(project):
    runner = CliRunner()
    result = runner.invoke(app, ["train", "exp.yaml", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "3 fold(s)" in result.output and "rows: 21" in result.output
    assert not (project / "runs").exists()

    result = runner.invoke(app, ["train", "exp.yaml", "--print-config", "model.params.C=0.5"])
    assert result.exit_code == 0 and "C: 0.5" in result.output

    result = runner.invoke(app, ["train", "exp.yaml"])
    assert result.exit_code == 0, result.output
    assert "[3/3]" in result.output and "UAR" in result.output and "report" in result.output
    run = project / "runs" / "cli_tiny"
    stored = json.loads((run / "metrics.json").read_text())

    result = runner.invoke(app, ["train", "exp.yaml", "name=cli_tiny_c", "model.params.C=0.01"])
    assert result.exit_code == 0, result.output

    (run / "metrics.json").unlink()
    result = runner.invoke(app, ["evaluate", str(run)])
    assert result.exit_code == 0, result.output
    assert json.loads((run / "metrics.json").read_text()) == stored
    assert f"UAR {100 * stored['pooled']['uar']:.1f} %" in result.output

    result = runner.invoke(app, ["compare", "runs/cli_tiny", "runs/cli_tiny_c"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert "UAR" in lines[0] and "WA" in lines[0] and "macro-F1" in lines[0]
    assert lines[1].split()[:5] == ["cli_tiny", "mfcc-stats", "logreg", "loso", "3"]
    assert lines[2].startswith("cli_tiny_c")
    result = runner.invoke(app, ["compare", "runs/cli_tiny", "--markdown"])
    assert result.output.startswith("| run |")


def test_train_bad_key_is_a_config_error(project):
    (project / "bad.yaml").write_text(CONFIG.replace("protocol:", "protocl:"))
    result = CliRunner().invoke(app, ["train", "bad.yaml"])
    assert isinstance(result.exception, ConfigError)
    assert "protocl" in str(result.exception)


def test_evaluate_missing_run(project):
    result = CliRunner().invoke(app, ["evaluate", "runs/nothing"])
    assert isinstance(result.exception, ConfigError)
    assert "predictions.parquet" in str(result.exception)
