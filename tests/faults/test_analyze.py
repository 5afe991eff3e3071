"""Fault tests of ``serkit analyze fisher``: every bad input ends in one error paragraph that
names the folder or file and what to do."""

from __future__ import annotations

import json

import numpy as np
import pytest

from augment._runlike import corpora, make_run

from ._cli import one_error, serkit


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("analyze_faults")
    return corpora(root)


def _analyze(args, capsys, monkeypatch) -> str:
    return one_error(*serkit(["analyze", "fisher", *args], capsys, monkeypatch))


def test_missing_run_folder(tmp_path, capsys, monkeypatch):
    message = _analyze([tmp_path / "nope"], capsys, monkeypatch)
    assert f"{tmp_path / 'nope'}: no such run folder" in message


def test_folder_that_is_not_a_run(tmp_path, capsys, monkeypatch):
    message = _analyze([tmp_path], capsys, monkeypatch)
    assert f"{tmp_path}: no config.yaml; is it a run folder of `serkit train`?" in message


def test_run_without_synthetic_sets(data, tmp_path, capsys, monkeypatch):
    run = make_run(tmp_path / "run", data, lambda_cls=1.0, pull=0.5, save=False)
    message = _analyze([run], capsys, monkeypatch)
    assert "no saved synthetic sets (synthetic/index.json is missing)" in message
    assert "augment.save: true" in message


def test_listed_file_missing(data, tmp_path, capsys, monkeypatch):
    run = make_run(tmp_path / "run", data, lambda_cls=1.0, pull=0.5)
    (run / "synthetic" / "0-f2.npz").unlink()
    message = _analyze([run], capsys, monkeypatch)
    assert "0-f2.npz: listed in synthetic/index.json (seed 0, fold 'f2') but missing" in message


def test_damaged_set_and_index(data, tmp_path, capsys, monkeypatch):
    run = make_run(tmp_path / "run", data, lambda_cls=1.0, pull=0.5)
    (run / "synthetic" / "0-f1.npz").write_bytes(b"PK\x03\x04 not really a zip")
    message = _analyze([run], capsys, monkeypatch)
    assert "0-f1.npz: damaged synthetic set" in message
    (run / "synthetic" / "index.json").write_text("[{")
    message = _analyze([run], capsys, monkeypatch)
    assert "index.json: damaged index" in message


def test_set_lacking_an_array(data, tmp_path, capsys, monkeypatch):
    run = make_run(tmp_path / "run", data, lambda_cls=1.0, pull=0.5)
    np.savez(run / "synthetic" / "0-f1.npz", X=np.zeros((2, 3), np.float32), y=np.array(["a", "b"]))
    message = _analyze([run], capsys, monkeypatch)
    assert "0-f1.npz: lacks array(s) source_id, train_id" in message


def test_sweep_runs_with_other_folds(data, tmp_path, capsys, monkeypatch):
    a = make_run(tmp_path / "a", data, lambda_cls=0.0, pull=0.5)
    b = make_run(tmp_path / "b", data, lambda_cls=1.0, pull=0.5)
    index = json.loads((b / "synthetic" / "index.json").read_text())
    (b / "synthetic" / "index.json").write_text(json.dumps(index[:1]))
    message = _analyze([a, b], capsys, monkeypatch)
    assert f"{b}: has no synthetic set of fold 'f2' (seed 0) that {a} has" in message


def test_config_without_augment(data, tmp_path, capsys, monkeypatch):
    run = make_run(tmp_path / "run", data, lambda_cls=1.0, pull=0.5)
    text = (run / "config.yaml").read_text()
    (run / "config.yaml").write_text(text.split("augment:")[0] + text.split("save: true\n")[1])
    message = _analyze([run], capsys, monkeypatch)
    assert "config.yaml has no augment section; nothing to analyse" in message


def test_store_gone(data, tmp_path, capsys, monkeypatch):
    run = make_run(tmp_path / "run", data, lambda_cls=1.0, pull=0.5)
    text = (run / "config.yaml").read_text()
    (run / "config.yaml").write_text(text.replace(data["features"]["store"], str(tmp_path / "x")))
    message = _analyze([run], capsys, monkeypatch)
    assert f"{run}/config.yaml:" in message
    assert "run the analysis where `serkit train` ran" in message


def test_no_run_given(capsys, monkeypatch):
    code, out, err = serkit(["analyze", "fisher"], capsys, monkeypatch)
    assert "Missing argument 'RUN_DIR'" in one_error(code, out, err)
