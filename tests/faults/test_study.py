"""Bad input to ``serkit study decomposition``, ``serkit decompose`` and ``serkit explain``: one
clear error naming the bad value, nothing written (every cell's config is checked, its package
loaded, before the first cell runs)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ._cli import one_error, serkit


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> dict[str, Path]:
    from tests.encoders._save import save_family
    from tests.study._tiny import speechflow_package

    from serkit.corpora import prepare
    from serkit.demo import make_corpus

    root = tmp_path_factory.mktemp("study_ws")
    small = {"speakers": 2, "sentences": 1, "repetitions": 1, "emotions": ("neutral", "angry")}
    demo = make_corpus(root / "demo", **small).root
    prepare("ravdess", demo, output=root / "manifests")
    return {
        "root": root,
        "manifest": root / "manifests" / "ravdess.parquet",
        "wav": sorted(demo.rglob("*.wav"))[0],
        "sflow": speechflow_package(root / "sflow"),
        "vae": save_family("vae", root / "vae"),
        "out": root / "out",
    }


def _study(ws: dict[str, Path], name: str, **changes) -> Path:
    cfg = {
        "name": name,
        "encoder": str(ws["sflow"]),
        "conditions": ["REC", "NR"],
        "corpora": {"ravdess": [str(ws["manifest"])]},
        "inside": [{"corpus": "ravdess", "protocol": {"name": "loso"}}],
        "model": {"name": "acrnn", "params": {"epochs": 1}},
        "features": {"store": str(ws["root"] / "features")},
        "output": str(ws["out"]),
        **changes,
    }
    path = ws["root"] / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _refused(ws, capsys, monkeypatch, args: list, *names: str) -> str:
    message = one_error(*serkit(args, capsys, monkeypatch))
    for name in names:
        assert name in message, message
    return message


def test_an_unknown_condition_is_named(ws, capsys, monkeypatch):
    path = _study(ws, "bad_condition", conditions=["REC", "NX"])
    _refused(ws, capsys, monkeypatch, ["study", "decomposition", path], "NX", "NRFC")
    assert not (ws["out"] / "bad_condition").exists()


def test_an_encoder_that_is_not_speechflow_is_refused(ws, capsys, monkeypatch):
    path = _study(ws, "vae_encoder", encoder=str(ws["vae"]))
    _refused(ws, capsys, monkeypatch, ["study", "decomposition", path], str(ws["vae"]), "'vae'")
    assert not (ws["out"] / "vae_encoder").exists()
    args = ["decompose", ws["vae"], ws["wav"], "-o", ws["out"] / "dc"]
    _refused(ws, capsys, monkeypatch, args, "'vae'", "not 'speechflow'")
    assert not (ws["out"] / "dc").exists()
    _refused(ws, capsys, monkeypatch, ["explain", ws["vae"], ws["wav"]], "'vae'")


def test_a_missing_package_is_named(ws, capsys, monkeypatch):
    missing = ws["root"] / "no_such_package"
    path = _study(ws, "missing_encoder", encoder=str(missing))
    _refused(ws, capsys, monkeypatch, ["study", "decomposition", path], str(missing))
    assert not (ws["out"] / "missing_encoder").exists()
    args = ["decompose", missing, ws["wav"], "-o", ws["out"] / "dc2"]
    _refused(ws, capsys, monkeypatch, args, str(missing))


def test_bad_study_keys_are_named(ws, capsys, monkeypatch):
    path = _study(ws, "bad_corpus", inside=[{"corpus": "tess"}])
    _refused(ws, capsys, monkeypatch, ["study", "decomposition", path], "inside[0].corpus", "tess")
    path = _study(ws, "own_param", features={"params": {"condition": "NR"}})
    _refused(ws, capsys, monkeypatch, ["study", "decomposition", path], "features.params.condition")
    path = _study(ws, "bad_model", model={"name": "acrnn", "params": {"epochz": 1}})
    _refused(ws, capsys, monkeypatch, ["study", "decomposition", path], "bad_model.ravdess.REC")
    assert not ws["out"].exists()


def test_decompose_refuses_bad_conditions_and_swaps(ws, capsys, monkeypatch):
    base = ["decompose", ws["sflow"], ws["wav"], "-o", ws["out"] / "dc3"]
    _refused(ws, capsys, monkeypatch, [*base, "-c", "REC,NQ"], "NQ")
    _refused(ws, capsys, monkeypatch, [*base, "--swap", "timbre"], "--swap-with")
    _refused(
        ws, capsys, monkeypatch, [*base, "--swap", "accent", "--swap-with", ws["wav"]], "accent"
    )
    _refused(
        ws,
        capsys,
        monkeypatch,
        [*base, "--swap", "timbre", "--swap-with", ws["root"] / "x.wav"],
        "x.wav",
    )
    assert not (ws["out"] / "dc3").exists()


@pytest.mark.parametrize("normalize", ["speaker", "corpus"])
def test_explain_refuses_a_run_normalised_per_speaker_or_corpus(ws, monkeypatch, normalize):
    from serkit import explain as ex
    from serkit.errors import ConfigError
    from serkit.features import get_extractor
    from serkit.features.frontend import Frontend
    from serkit.inference import Predictor

    extractor = get_extractor("speechflow", encoder=str(ws["sflow"]))
    fe = Frontend(extractor, normalize=normalize)
    monkeypatch.setattr(ex, "_run_source", lambda path: Predictor(None, fe))
    with pytest.raises(ConfigError, match=f"per {normalize} .features.normalize: {normalize}"):
        ex.explain(ws["root"], [ws["wav"]])


def test_explain_refuses_a_run_with_test_time_copies(ws, monkeypatch):
    from serkit import explain as ex
    from serkit.errors import ConfigError
    from serkit.features import get_extractor
    from serkit.features.frontend import Frontend
    from serkit.inference import Predictor

    fe = Frontend(get_extractor("speechflow", encoder=str(ws["sflow"])))
    meta = {"extra": {"test_speeds": [0.9, 1.1]}}
    monkeypatch.setattr(ex, "_run_source", lambda path: Predictor(None, fe, meta))
    with pytest.raises(ConfigError, match="perturb.test"):
        ex.explain(ws["root"], [ws["wav"]])
