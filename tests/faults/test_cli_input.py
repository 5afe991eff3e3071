"""Bad input to every ``serkit`` verb ends in one ``error:`` paragraph and a non-zero exit.

Every case runs the real entry point :func:`serkit.cli.main` in-process (so its error mapping is
exercised, which ``CliRunner`` skips) and checks: a non-zero exit, no traceback, and one error
paragraph that names the bad value. Library errors name library options (``skip_bad=True``);
the CLI names the flag or config key of the verb that ran.
"""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

import pytest
import yaml

from serkit.cli import app
from serkit.cli._errors import BUG, CONFIG_SPELLINGS, spelling, verb
from serkit.errors import SKIP_BAD, CorpusError, Hint, SerkitError

from ._cli import error_paragraph, serkit

JUNK = b"RIFF....WAVEjunk" * 8


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> dict[str, Path]:
    """A workspace: a demo corpus and manifest, a trained run, a corpus with a corrupt file,
    and a collection of bad inputs (paths keyed by name, used as ``{name}`` in the cases)."""
    from serkit import experiment
    from serkit.corpora import prepare
    from serkit.demo import make_corpus

    root = tmp_path_factory.mktemp("ws")
    small = {"speakers": 2, "sentences": 1, "repetitions": 1, "emotions": ("neutral", "angry")}
    demo = make_corpus(root / "demo", **small).root
    prepare("ravdess", demo, output=root / "manifests")
    bad = make_corpus(root / "bad", **small, seed=3).root
    prepare("ravdess", bad, output=root / "bad_manifests")
    corrupt = sorted(bad.rglob("*.wav"))[0]
    corrupt.write_bytes(JUNK)  # after prepare: the manifest lists it, its audio is broken

    def config(name: str, manifest: Path) -> dict:
        return {
            "name": name,
            "data": {"manifests": [str(manifest)]},
            "features": {"name": "mfcc-stats", "params": {"n_mfcc": 8}, "store": str(root / "f")},
            "model": {"name": "logreg"},
            "protocol": {"name": "loso"},
            "bootstrap": {"reps": 20},
        }

    good_cfg = config("tiny", root / "manifests" / "ravdess.parquet")
    (root / "exp.yaml").write_text(yaml.safe_dump(good_cfg))
    (root / "bad_exp.yaml").write_text(
        yaml.safe_dump(config("bad", root / "bad_manifests" / "ravdess.parquet"))
    )
    run = experiment.run(good_cfg, root / "runs")

    (root / "not.parquet").write_text("this is not a parquet file\n")
    (root / "broken.csv").write_text('path,emotion\nx.wav,happy\n"unterminated\n')
    (root / "cols.csv").write_text("a,b\n1,2\n")
    (root / "broken.yaml").write_text("name: x\nseeds: [1, 2\n")
    (root / "adir").mkdir()
    shutil.copy(sorted(demo.rglob("*.wav"))[0], root / "a.wav")
    shutil.copy(corrupt, root / "corrupt.wav")
    (root / "damaged").mkdir()
    (root / "damaged" / "predictions.parquet").write_bytes(b"junk")
    (root / "damaged" / "metrics.json").write_text("{not json")
    return {
        "root": root,
        "demo": demo,
        "bad": bad,
        "manifest": root / "manifests" / "ravdess.parquet",
        "bad_manifest": root / "bad_manifests" / "ravdess.parquet",
        "run": run,
        "exp": root / "exp.yaml",
        "bad_exp": root / "bad_exp.yaml",
        "not_parquet": root / "not.parquet",
        "broken_csv": root / "broken.csv",
        "cols_csv": root / "cols.csv",
        "broken_yaml": root / "broken.yaml",
        "dir": root / "adir",
        "wav": root / "a.wav",
        "corrupt": root / "corrupt.wav",
        "damaged": root / "damaged",
        "missing": root / "missing",
        "out": root / "out",
    }


def case(case_id: str, command: str, *names: str, absent: str | None = None):
    """A bad command line (``{name}`` = a workspace path), the texts its error must name, and
    a path the refused command must not have created."""
    return pytest.param(command, names, absent, id=case_id)


CASES = [
    case("root-unknown-verb", "nosuchverb", "nosuchverb"),
    case("root-unknown-option", "features {manifest} -e mfcc --bogus", "--bogus"),
    case("prepare-unknown-corpus", "prepare nosuch {demo}", "'nosuch'", "ravdess"),
    case("prepare-missing-root", "prepare ravdess {missing}", "{missing}"),
    case("prepare-file-root", "prepare ravdess {wav}", "{wav}", "not a folder"),
    case("prepare-output-file", "prepare ravdess {demo} -o {wav}", "{wav}"),
    case("prepare-unknown-option", "prepare ravdess {demo} --set foo=1", "foo"),
    case("prepare-bad-pair", "prepare ravdess {demo} --set foo", "'foo'", "KEY="),
    case("info-missing", "info {missing}.parquet", "{missing}.parquet"),
    case("info-directory", "info {dir}", "{dir}", "folder"),
    case("info-not-parquet", "info {not_parquet}", "{not_parquet}", "Parquet"),
    case("info-broken-csv", "info {broken_csv}", "{broken_csv}", "CSV"),
    case("info-missing-columns", "info {cols_csv}", "{cols_csv}", "duration"),
    case("info-yaml", "info {exp}", "{exp}", "'.yaml'"),
    case("list-unknown", "list nonsense", "'nonsense'", "extractors"),
    case("resample-sr-0", "audio resample {demo} {out}/r --sr 0", "--sr", "0", absent="{out}/r"),
    case("resample-sr-text", "audio resample {demo} {out}/r --sr x", "--sr", "x"),
    case(
        "resample-workers-0",
        "audio resample {demo} {out}/r --workers 0",
        "--workers",
        "0",
        absent="{out}/r",
    ),
    case(
        "resample-format", "audio resample {demo} {out}/r --format mp3", "'mp3'", absent="{out}/r"
    ),
    case("resample-missing-src", "audio resample {missing} {out}/r", "{missing}"),
    case("resample-dst-file", "audio resample {demo} {wav}", "{wav}", "is a file"),
    case(
        "normalize-level-2",
        "audio normalize {demo} {out}/n --level 2",
        "--level",
        "2.0",
        absent="{out}/n",
    ),
    case(
        "normalize-method",
        "audio normalize {demo} {out}/n --method x",
        "--method",
        "'x'",
        absent="{out}/n",
    ),
    case("normalize-sr-0", "audio normalize {demo} {out}/n --sr 0", "--sr", "0", absent="{out}/n"),
    case("demo-speakers-0", "demo-corpus {out}/d --speakers 0", "speakers", "0", absent="{out}/d"),
    case("demo-emotion", "demo-corpus {out}/d --emotions bored", "bored", absent="{out}/d"),
    case("demo-dir-file", "demo-corpus {wav}", "{wav}"),
    case(
        "features-unknown",
        "features {manifest} -e nosuch --store {out}/s",
        "'nosuch'",
        absent="{out}/s",
    ),
    case(
        "features-param",
        "features {manifest} -e logmel --set n_mel=40 --store {out}/s",
        "n_mel",
        absent="{out}/s",
    ),
    case("features-workers-0", "features {manifest} -e mfcc -j 0", "--workers", "0"),
    case(
        "features-shard-5-2",
        "features {manifest} -e mfcc --shard 5/2 --store {out}/s",
        "'5/2'",
        absent="{out}/s",
    ),
    case(
        "features-shard-text",
        "features {manifest} -e mfcc --shard x --store {out}/s",
        "'x'",
        absent="{out}/s",
    ),
    case("features-chunk-0", "features {manifest} -e mfcc --chunk-size 0", "--chunk-size", "0"),
    case(
        "features-vad",
        "features {manifest} -e mfcc --vad webrtc --store {out}/s",
        "'webrtc'",
        "silero",
        absent="{out}/s",
    ),
    case(
        "features-vad-set", "features {manifest} -e mfcc --vad-set pad_ms=5", "--vad-set", "--vad"
    ),
    case(
        "features-merge-shard", "features {manifest} -e mfcc --merge --shard 0/2", "--merge", "0/2"
    ),
    case(
        "features-not-parquet",
        "features {not_parquet} -e mfcc --store {out}/s",
        "{not_parquet}",
        absent="{out}/s",
    ),
    case("features-store-file", "features {manifest} -e mfcc --store {wav}", "--store", "{wav}"),
    case("train-missing", "train {missing}.yaml", "{missing}.yaml"),
    case("pretrain-missing", "pretrain {missing}.yaml", "{missing}.yaml", "no such config file"),
    case("pretrain-directory", "pretrain {dir}", "{dir}", "folder"),
    case("train-directory", "train {dir}", "{dir}", "folder"),
    case("train-yaml-syntax", "train {broken_yaml}", "{broken_yaml}", "line 3, column 1"),
    case("train-bad-override", "train {exp} foo --dry-run", "'foo'", "KEY=VALUE"),
    case("train-override-into-value", "train {exp} name.x=1 --dry-run", "'name'", "str"),
    case("train-unknown-model", "train {exp} model.name=nosuch --dry-run", "'nosuch'"),
    case("train-workers-0", "train {exp} workers=0 --dry-run", "workers", "0"),
    case(
        "train-manifest-not-parquet",
        "train {exp} data.manifests=[{not_parquet}] --dry-run",
        "{not_parquet}",
    ),
    case("train-output-file", "train {exp} -o {wav}", "--output", "{wav}"),
    case("train-sklearn-param", "train {exp} model.params.C=-1 -o {out}/tc", "'C'", "Got -1"),
    case(
        "train-neural-lr",
        "train {exp} model.name=neural features.name=mfcc model.params.lr=-1 -o {out}/tn",
        "lr=-1",
    ),
    case(
        "train-net-param",
        "train {exp} model.name=neural features.name=mfcc model.params.net_params.foo=1"
        " -o {out}/tp",
        "foo",
        "cnn-attn",
    ),
    case("features-ssl-no-model", "features {manifest} -e ssl --store {out}/s", "model_path"),
    case("evaluate-missing", "evaluate {missing}", "{missing}", "predictions.parquet"),
    case("analyze-fisher-missing", "analyze fisher {missing}", "{missing}", "no such run folder"),
    case("evaluate-damaged", "evaluate {damaged} --no-write", "predictions.parquet", "damaged"),
    case("compare-damaged", "compare {damaged}", "metrics.json", "damaged"),
    case("compare-not-a-run", "compare {run} {dir}", "{dir}", "metrics.json"),
    case("fuse-damaged", "fuse {run} {damaged} -o {out}/f", "predictions.parquet", "damaged"),
    case("fuse-one-seed", "fuse {run} -o {out}/f", "one run of one seed", "nothing to fuse"),
    case("fuse-bad-weight", "fuse {run} {run} -o {out}/f --weight x", "--weight", "got x"),
    case("predict-format", "predict {run} {wav} --format xml", "'xml'", "json"),
    case("predict-batch-0", "predict {run} {wav} --batch-size 0", "--batch-size", "0"),
    case("predict-missing-model", "predict {missing} {wav}", "{missing}"),
    case("predict-missing-input", "predict {run} {missing}.wav", "{missing}.wav"),
    case("predict-output-dir", "predict {run} {wav} -o {dir}", "--output", "{dir}"),
    case("serve-public-no-token", "serve {run} --host 0.0.0.0", "--token", "0.0.0.0"),
    case("serve-missing-model", "serve {missing}", "{missing}"),
    case("serve-port", "serve {run} --port 70000", "--port", "70000"),
    case("export-missing-model", "export {missing} {out}/m.onnx", "{missing}"),
    case("export-output-dir", "export {run} {dir}", "{dir}", "directory"),
    case(
        "export-not-neural",
        "export {run} {out}/m.onnx",
        "LogRegClassifier",
        "neural",
        absent="{out}/m.onnx",
    ),
    case(
        "quickstart-features", "quickstart {out}/q --features nosuch", "'nosuch'", absent="{out}/q"
    ),
    case("quickstart-model", "quickstart {out}/q --model nosuch", "'nosuch'", absent="{out}/q"),
    case(
        "quickstart-workers-0", "quickstart {out}/q --workers 0", "--workers", "0", absent="{out}/q"
    ),
    case("quickstart-folder-file", "quickstart {wav}", "{wav}"),
    case("hdf5-bad-audio", "hdf5 {bad_manifest} -o {out}/x.h5", "--skip-bad", absent="{out}/x.h5"),
    case("latents-missing-encoder", "latents {missing} {manifest} -o {out}/l", "{missing}"),
    case("listen-missing-encoder", "listen {missing} {wav} -o {out}/ls", "{missing}",
         absent="{out}/ls"),
    case("decompose-missing-encoder", "decompose {missing} {wav} -o {out}/dc", "{missing}",
         absent="{out}/dc"),
    case("explain-not-speechflow", "explain {run} {wav}", "{run}", "'mfcc-stats'"),
    case("study-missing", "study decomposition {missing}.yaml", "{missing}.yaml", "no such"),
]


def _fill(text: str, ws: dict[str, Path]) -> str:
    return text.format(**{k: str(v) for k, v in ws.items()})


@pytest.mark.parametrize(("command", "names", "absent"), CASES)
def test_bad_input_gives_one_clear_error(command, names, absent, ws, capsys, monkeypatch):
    code, out, err = serkit(shlex.split(_fill(command, ws)), capsys, monkeypatch)
    assert code != 0, out + err
    assert "Traceback" not in out + err
    message = error_paragraph(err)
    for name in names:
        assert _fill(name, ws) in message, message
    if absent is not None:
        assert not Path(_fill(absent, ws)).exists(), f"refused, yet it wrote {absent}"


def _verbs(group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from _verbs(command, (*prefix, name))
        else:
            yield (*prefix, name)


def test_every_verb_has_a_case():
    """Guards the table above: each verb of ``serkit --help`` has a bad-input case."""
    import typer

    verbs = set(_verbs(typer.main.get_command(app)))
    assert len(verbs) >= 13
    commands = [param.values[0].split() for param in CASES]
    covered = {tuple(words[: len(v)]) for words in commands for v in verbs}
    assert verbs <= covered, f"verbs without a bad-input case: {sorted(verbs - covered)}"
    assert len(CASES) >= 30


# -- hints: the library names its option, the CLI the flag (or config key) of the verb --------


def test_library_errors_name_the_option_not_a_flag(ws, tmp_path):
    from serkit import features
    from serkit.audio_tools import resample_tree
    from serkit.corpora import prepare
    from serkit.inference import predict
    from serkit.manifest import read

    calls = {
        "prepare": lambda: prepare("ravdess", ws["bad"]),
        "features.extract": lambda: features.extract(
            read(ws["bad_manifest"]), "mfcc-stats", tmp_path / "s", progress=False
        ),
        "resample_tree": lambda: resample_tree(ws["bad"], tmp_path / "r", 8000),
        "predict": lambda: predict(ws["run"], [ws["corrupt"]]),
    }
    for who, call in calls.items():
        with pytest.raises(SerkitError) as info:
            call()
        text = str(info.value)
        assert info.value.hint == SKIP_BAD, who
        assert "skip_bad=True" in text and "--" not in text, f"{who}: {text}"
        assert ws["corrupt"].name in text or "03-01" in text, f"{who}: names no file: {text}"


@pytest.mark.parametrize(
    ("args", "spelled"),
    [
        (["prepare", "ravdess", "{bad}", "-o", "{out}/p"], "pass --skip-bad"),
        (["features", "{bad_manifest}", "-e", "mfcc", "--store", "{out}/hs", "--no-progress"],
         "pass --skip-bad"),
        (["audio", "resample", "{bad}", "{out}/hr", "--sr", "8000"], "pass --skip-bad"),
        (["predict", "{run}", "{corrupt}", "--no-progress"], "pass --skip-bad"),
        (["train", "{bad_exp}", "-o", "{out}/runs"], "set features.skip_bad=true"),
    ],
    ids=["prepare", "features", "audio-resample", "predict", "train"],
)  # fmt: skip
def test_cli_names_the_skip_bad_of_its_verb(args, spelled, ws, capsys, monkeypatch):
    code, out, err = serkit([_fill(a, ws) for a in args], capsys, monkeypatch)
    assert code != 0 and "Traceback" not in out + err
    message = error_paragraph(err)
    assert spelled in message and "skip_bad=True" not in message, message
    if args[0] == "train":  # train has no --skip-bad flag: its equivalent is a config key
        assert "--skip-bad" not in message


def test_train_names_overwrite_for_a_run_folder_of_another_config(ws, capsys, monkeypatch):
    args = ["train", ws["exp"], "model.params.C=0.5", "-o", ws["run"].parent]
    code, out, err = serkit(args, capsys, monkeypatch)
    assert code != 0 and "Traceback" not in out + err
    message = error_paragraph(err)
    assert "different config" in message and "pass --overwrite" in message, message


def test_spelling_per_verb():
    spell = spelling(app, ["audio", "normalize", "a", "b"])
    assert verb(app, ["audio", "normalize", "a", "b"])[0] == ("audio", "normalize")
    assert spell(SKIP_BAD) == "pass --skip-bad"
    assert spelling(app, ["train", "x.yaml"])(SKIP_BAD) == CONFIG_SPELLINGS[("train",)]["skip_bad"]
    assert spelling(app, ["quickstart"])(SKIP_BAD) == ""  # cannot be passed: left out
    assert spelling(app, ["train", "x.yaml"])(Hint("overwrite")) == "pass --overwrite"


def test_hint_rendering():
    error = CorpusError("x: a.wav: empty file", hint=SKIP_BAD)
    assert error.message == "x: a.wav: empty file"
    assert str(error).startswith("x: a.wav: empty file; pass skip_bad=True to skip")
    assert error.render(lambda hint: "pass --skip-bad").startswith("x: a.wav: empty file; pass --")
    assert error.render(lambda hint: "") == "x: a.wav: empty file"
    assert str(CorpusError("plain")) == "plain"


# -- the last resorts of main(): an OSError names its path, a bug keeps its traceback ---------


def test_unexpected_oserror_names_the_path(ws, capsys, monkeypatch):
    def denied(df):
        raise PermissionError(13, "Permission denied", "/srv/locked/m.parquet")

    monkeypatch.setattr("serkit.manifest.summary", denied)
    code, out, err = serkit(["info", ws["manifest"]], capsys, monkeypatch)
    assert code != 0 and "Traceback" not in err
    message = error_paragraph(err)
    assert "/srv/locked/m.parquet: Permission denied" in message and "permissions" in message


def test_unreadable_config_is_a_config_error(ws, capsys, monkeypatch):
    original = Path.read_text

    def read_text(self, *args, **kwargs):
        if self.name == "exp.yaml":
            raise PermissionError(13, "Permission denied", str(self))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", read_text)
    code, out, err = serkit(["train", ws["exp"], "--dry-run"], capsys, monkeypatch)
    assert code != 0 and "Traceback" not in err
    message = error_paragraph(err)
    assert str(ws["exp"]) in message and "PermissionError" in message


def test_a_bug_still_shows_its_traceback(ws, capsys, monkeypatch):
    def bug(df):
        raise ZeroDivisionError("a bug in serkit")

    monkeypatch.setattr("serkit.manifest.summary", bug)
    code, out, err = serkit(["info", ws["manifest"]], capsys, monkeypatch)
    assert code == 1
    assert "Traceback" in err and "ZeroDivisionError: a bug in serkit" in err and BUG in err
