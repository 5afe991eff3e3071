"""Bad model, net, protocol and search parameters are found by ``serkit train --dry-run``, and by
``serkit train`` before any feature is extracted: one ``error:`` naming the config key and the
value, a non-zero exit, and no feature store or run folder created.

Before, ``model.params.C=ten``, ``kernel=foo``, ``epochs=three``, unknown ``net_params`` keys or
``lr=-1`` passed the dry run and failed mid-run with a library traceback, ``k=ten`` was a bug
traceback and ``k=6.5`` silently became ``k=6``.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import yaml

from ._cli import one_error, serkit

NEURAL = "model.name=neural features.name=mfcc"


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> dict[str, Path]:
    """A demo manifest (4 speakers) and a config whose store and output are in the workspace."""
    from serkit.corpora import prepare
    from serkit.demo import make_corpus

    root = tmp_path_factory.mktemp("config_faults")
    small = {"speakers": 4, "sentences": 1, "repetitions": 1, "emotions": ("neutral", "angry")}
    prepare("ravdess", make_corpus(root / "demo", **small).root, output=root / "manifests")
    config = {
        "name": "params",
        "data": {"manifests": [str(root / "manifests" / "ravdess.parquet")]},
        "features": {"name": "mfcc-stats", "params": {"n_mfcc": 8}, "store": str(root / "f")},
        "model": {"name": "svm"},
        "protocol": {"name": "loso"},
        "bootstrap": {"reps": 20},
        "output": str(root / "runs"),
    }
    (root / "exp.yaml").write_text(yaml.safe_dump(config))
    return {"root": root, "exp": root / "exp.yaml", "store": root / "f", "runs": root / "runs"}


def case(case_id: str, overrides: str, *names: str):
    """Overrides of the good config and the texts the one error must contain."""
    return pytest.param(overrides, names, id=case_id)


CASES = [
    case("classic-float-text", "model.params.C=ten", "model.params", "C='ten'", "number"),
    case("classic-value", "model.params.kernel=foo", "model.params", "'kernel'", "'foo'"),
    case("classic-range", "model.params.C=-1", "model.params", "'C'", "Got -1"),
    case("classic-unknown", "model.params.bogus=1", "model.params", "bogus", "known: C"),
    case("classic-int-float", "model.name=rf model.params.n_estimators=6.5", "n_estimators=6.5"),
    case("classic-int-zero", "model.name=rf model.params.n_estimators=0", "'n_estimators'"),
    case("neural-int-text", f"{NEURAL} model.params.epochs=three", "epochs='three'", "integer"),
    case("neural-lr", f"{NEURAL} model.params.lr=-1", "model.params", "lr=-1"),
    case("neural-optimizer", f"{NEURAL} model.params.optimizer=adamx", "'adamx'", "sgd"),
    case("neural-bool", f"{NEURAL} model.params.resume=maybe", "resume='maybe'", "true or false"),
    case("net-unknown", f"{NEURAL} model.params.net_params.foo=1", "foo", "cnn-attn", "known:"),
    case("net-type", f"{NEURAL} model.params.net_params.channels=x", "channels='x'"),
    case("net-name", f"{NEURAL} model.params.net=nosuch", "model.params.net", "'nosuch'"),
    case("net-input-dim", "model.name=acrnn features.name=mfcc", "input_dim 8", "channels=3"),
    case("acrnn-option", "model.name=acrnn features.name=logmel 'features.params={preset: acrnn}'"
         " model.params.pooling=median", "'median'"),
    case("dcnn-decision", "model.name=dcnn-blstmwa features.name=logmel"
         " 'features.params={preset: dcnn}' model.params.decision=vote", "decision", "'vote'"),
    case("protocol-int-text", "protocol.name=speaker-kfold protocol.params.k=ten",
         "protocol.params", "k='ten'"),
    case("protocol-int-float", "protocol.name=speaker-kfold protocol.params.k=6.5",
         "protocol.params", "k=6.5", "integer"),
    case("protocol-k-1", "protocol.name=speaker-kfold protocol.params.k=1", "k=1", "k >= 2"),
    case("protocol-seed", "protocol.name=speaker-kfold protocol.params.seed=x", "seed='x'"),
    case("protocol-list", "protocol.name=official protocol.params.train=3", "train=3", "strings"),
    case("search-grid", "search.param_grid.C=[1,ten]", "search.param_grid.C", "C='ten'"),
    case("search-inner", "search.param_grid.C=[1] search.inner.name=speaker-kfold"
         " search.inner.params.k=2.5", "search.inner.params", "k=2.5"),
    case("extractor-param", "features.params.n_mfcc=x", "features.params", "n_mfcc='x'"),
    case("model-level", "model.name=neural", "takes frame-level input", "utterance-level"),
]  # fmt: skip


@pytest.mark.parametrize(("overrides", "names"), CASES)
def test_bad_parameter_is_one_error_before_any_work(overrides, names, ws, capsys, monkeypatch):
    for extra in (["--dry-run"], []):  # the dry run finds it, and so does train, at once
        args = ["train", ws["exp"], *shlex.split(overrides), *extra]
        message = one_error(*serkit(args, capsys, monkeypatch))
        for name in names:
            assert name in message, message
        assert not ws["store"].exists(), "features were extracted"
        assert not ws["runs"].exists(), "a run folder was written"


def test_good_config_passes_the_dry_run(ws, capsys, monkeypatch):
    for overrides in ("", "protocol.name=speaker-kfold protocol.params.k=2", NEURAL):
        args = ["train", ws["exp"], *overrides.split(), "--dry-run"]
        code, out, err = serkit(args, capsys, monkeypatch)
        assert code == 0, err
        assert "config ok" in out and "verified for every fold" in out
    assert not ws["store"].exists() and not ws["runs"].exists()


def test_library_refuses_a_float_for_an_integer():
    from serkit.errors import ConfigError
    from serkit.models import check_model, get_model
    from serkit.protocols import get_protocol

    with pytest.raises(ConfigError, match=r"k=6\.5 has type float; expected an integer"):
        get_protocol("speaker-kfold", k=6.5)
    with pytest.raises(ConfigError, match="write 6, without a decimal point"):
        get_protocol("speaker-kfold", k=6.0)
    with pytest.raises(ConfigError, match="max_iter=2.5"):
        get_model("logreg", max_iter=2.5)
    with pytest.raises(ConfigError, match="hidden_layer_sizes=16 has type int; expected a list"):
        get_model("mlp", hidden_layer_sizes=16)
    with pytest.raises(ConfigError, match="stage1_lr=0"):
        check_model("dcnn-blstmwa", {"stage1_lr": 0})
    assert get_protocol("speaker-kfold", k=3).params["k"] == 3
    assert get_model("svm", C=2, gamma=0.5).C == 2  # an int is a float; str | float takes both
