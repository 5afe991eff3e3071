"""Faults of ``perturb`` (speed-perturbed training copies): a stopped run resumes to the same
result, a changed factor recomputes every fold, bad sections and broken audio are one clear
error or a counted skip, never a traceback or a silent wrong row."""

from __future__ import annotations

import json

import pandas as pd

from serkit import experiment

from ._cli import one_error, serkit
from .test_run import JUNK, project  # noqa: F401  (fixture)


def _cfg(project, **changes) -> dict:  # noqa: F811
    cfg = {**project["cfg"], "perturb": {"speed": [0.9, 1.1]}}
    return {**cfg, **changes}


def test_a_stopped_run_resumes_to_the_uninterrupted_result(project, tmp_path):  # noqa: F811
    lines: list[str] = []
    experiment.run(_cfg(project), log=lines.append, stop_after=2)
    assert any("stopping after 2 new fold(s)" in line for line in lines)
    experiment.run(_cfg(project), log=lines.append)
    assert sum("(cached)" in line for line in lines) == 2
    resumed = pd.read_parquet(project["run"] / "predictions.parquet")
    again = experiment.run(_cfg(project, name="fresh", output=str(tmp_path / "fresh")))
    fresh = pd.read_parquet(again / "predictions.parquet")
    pd.testing.assert_frame_equal(resumed, fresh)


def test_another_factor_recomputes_every_fold(project):  # noqa: F811
    experiment.run(_cfg(project))
    lines: list[str] = []
    experiment.run(_cfg(project, perturb={"speed": [1.2]}), log=lines.append, overwrite=True)
    assert not any("(cached)" in line for line in lines)
    info = json.loads((project["run"] / "dataset.json").read_text())
    assert info["perturb"]["speed"] == [1.2]


def test_a_bad_section_is_one_error_naming_the_key(project, capsys, monkeypatch):  # noqa: F811
    args = ["train", project["exp"], "perturb.speed=[1.0]"]
    message = one_error(*serkit(args, capsys, monkeypatch))
    assert "perturb.speed" in message and "1 is the real row itself" in message
    args = ["train", project["exp"], "perturb.sped=[1.1]"]
    message = one_error(*serkit(args, capsys, monkeypatch))
    assert "perturb.speed" in message  # the unknown key and its close match


def test_broken_audio_skipped_with_skip_bad_has_no_copies(project):  # noqa: F811
    broken = sorted(project["corpus"].rglob("*.wav"))[0]
    broken.write_bytes(JUNK)
    features = {**project["cfg"]["features"], "skip_bad": True}
    run_dir = experiment.run(_cfg(project, features=features))
    info = json.loads((run_dir / "dataset.json").read_text())
    assert info["rows"] == 11 and info["perturb"]["copies"] == {"0.9": 11, "1.1": 11}
    assert info["perturb"]["left_out"] == 0  # the broken row is no row at all, not a lost copy
