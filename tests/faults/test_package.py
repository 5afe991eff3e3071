"""Model packages under faults: edited, mixed, truncated, incomplete, untrusted, killed mid-save.

Every damaged package is refused by ``load_model`` with a :class:`PackageError` naming the file
(and the expected and found checksum) before any weight is read; a pickle is refused unless
the caller trusts it, and no code of it runs; a writer killed with SIGKILL while saving leaves a
temp folder that the next save removes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import write_tone
from serkit.atomic import stale_temps, temp_name
from serkit.errors import ConfigError, PackageError
from serkit.features import get_extractor
from serkit.features.frontend import Frontend
from serkit.inference import Predictor
from serkit.models import get_model
from serkit.models.package import MODIFIED, file_sha256, load_model, meta_digests, save_model

FREQS = {"low": 180.0, "high": 900.0}


def _tones(tmp_path: Path, frontend: Frontend) -> tuple[np.ndarray, np.ndarray]:
    """Features of 12 tones (two classes) through ``frontend``."""
    from serkit.audio import read

    feats, labels = [], []
    for label, freq in FREQS.items():
        for k in range(6):
            path = write_tone(tmp_path / "train" / f"{label}{k}.wav", 0.3 + 0.05 * k, freq=freq)
            signal, rate = read(path, sample_rate=frontend.sample_rate)
            feats.append(frontend.compute(signal, rate))
            labels.append(label)
    return np.stack(feats), np.array(labels)


def _package(tmp_path: Path, name: str = "pkg", **extractor_params) -> tuple[Path, np.ndarray]:
    """A logreg package with its mfcc-stats front end recorded; returns (folder, X)."""
    frontend = Frontend(get_extractor("mfcc-stats", **extractor_params))
    X, y = _tones(tmp_path, frontend)
    model = get_model("logreg").fit(X, y)
    folder = save_model(model, tmp_path / name, extra={"frontend": frontend.to_dict()})
    return folder, X


def _neural(dim: int = 6):
    """A one-epoch ``neural`` model on 12 random sequences ``(frames, dim)``; returns
    ``(model, X)``."""
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(int(rng.integers(8, 20)), dim)).astype(np.float32) for _ in range(12)]
    y = np.array(["a", "b"] * 6)
    groups = np.array([f"s{i % 4}" for i in range(12)])
    params = {"channels": 4, "blocks": 1, "attention_dim": 4}
    model = get_model("neural", epochs=1, batch_size=6, device="cpu", net_params=params)
    return model.fit(X, y, groups), X


def _edit_meta(folder: Path, change) -> None:
    meta = json.loads((folder / "model.json").read_text())
    change(meta)
    (folder / "model.json").write_text(json.dumps(meta, indent=2))


# ------------------------------------------------------------------ edited or mixed packages


def test_classes_reordered_in_model_json_is_refused(tmp_path):
    folder, _ = _package(tmp_path)
    assert json.loads((folder / "model.json").read_text())["classes"] == ["high", "low"]
    _edit_meta(folder, lambda meta: meta.update(classes=["low", "high"]))
    expected = r"model.json: classes changed since the package was saved \(classes: SHA-256 "
    with pytest.raises(PackageError, match=expected) as info:
        load_model(folder)
    assert MODIFIED in str(info.value)


def test_reformatted_model_json_still_loads(tmp_path):
    """The digests are of the content, not the bytes: re-indenting is no modification."""
    folder, X = _package(tmp_path)
    meta = json.loads((folder / "model.json").read_text())
    (folder / "model.json").write_text(json.dumps(meta, indent=None, sort_keys=True))
    model, _ = load_model(folder)
    assert model.predict_proba(X).shape == (len(X), 2)


def test_other_front_end_recorded_in_model_json_is_refused(tmp_path):
    folder, _ = _package(tmp_path)
    other = Frontend(get_extractor("mfcc-stats", n_mfcc=8)).to_dict()
    _edit_meta(folder, lambda meta: meta["extra"].update(frontend=other))
    with pytest.raises(PackageError, match="model.json: extra changed since the package was saved"):
        Predictor.from_path(folder)


def test_weight_file_swapped_from_another_package_is_refused(tmp_path):
    folder, _ = _package(tmp_path, "a")
    other, _ = _package(tmp_path, "b", n_mfcc=8)
    recorded = json.loads((folder / "model.json").read_text())["checksums"]["pipeline.skops"]
    shutil.copy(other / "pipeline.skops", folder / "pipeline.skops")
    with pytest.raises(PackageError) as info:
        load_model(folder)
    text = str(info.value)
    assert str(folder / "pipeline.skops") in text
    assert recorded[:16] in text and file_sha256(folder / "pipeline.skops")[:16] in text
    assert MODIFIED in text


def test_truncated_weight_file_is_refused(tmp_path, capsys):
    folder, _ = _package(tmp_path)
    data = (folder / "pipeline.skops").read_bytes()
    (folder / "pipeline.skops").write_bytes(data[: len(data) // 2])
    size = len(data) // 2
    with pytest.raises(PackageError, match=rf"pipeline.skops: SHA-256 \w+\.\.\. \({size} bytes"):
        load_model(folder)
    clip = write_tone(tmp_path / "clip.wav", 0.4)
    code, out, err = _serkit(["predict", folder, clip], capsys)
    assert code == 2 and out == "" and "Traceback" not in err
    assert err.startswith(f"error: {folder / 'pipeline.skops'}: SHA-256") and MODIFIED in err


def test_truncated_neural_weights_are_refused(tmp_path):
    model, _ = _neural()
    folder = save_model(model, tmp_path / "pkg")
    data = (folder / "weights.pt").read_bytes()
    (folder / "weights.pt").write_bytes(data[:-100])
    with pytest.raises(PackageError, match="weights.pt: SHA-256"):
        load_model(folder)


def test_missing_weight_file_is_refused(tmp_path):
    folder, _ = _package(tmp_path)
    (folder / "pipeline.skops").unlink()
    expected = "pipeline.skops: weight file listed in model.json is missing; copy the whole"
    with pytest.raises(PackageError, match=expected):
        load_model(folder)


def test_skops_file_with_untrusted_types_is_refused(tmp_path):
    """A crafted package (checksums and digests recomputed) whose skops file names a function
    serkit does not trust: refused, the function is never reached."""
    import skops.io as sio
    from sklearn.preprocessing import FunctionTransformer

    folder, _ = _package(tmp_path)
    sio.dump(FunctionTransformer(func=os.system), folder / "pipeline.skops")

    def reseal(meta):
        meta["checksums"]["pipeline.skops"] = file_sha256(folder / "pipeline.skops")
        meta["digests"] = meta_digests(meta)

    _edit_meta(folder, reseal)
    with pytest.raises(PackageError, match=r"holds types serkit does not trust \(.*system"):
        load_model(folder)


def test_pickle_as_torch_weights_runs_no_code(tmp_path):
    """weights.pt replaced by a pickle that would create a file when unpickled (checksums and
    digests recomputed): torch's weights_only loader refuses it and the file is never made."""
    import pickle

    model, _ = _neural()
    folder = save_model(model, tmp_path / "pkg")
    marker = tmp_path / "code-ran"
    (folder / "weights.pt").write_bytes(pickle.dumps(_Touch(marker), protocol=2))

    def reseal(meta):
        meta["checksums"]["weights.pt"] = file_sha256(folder / "weights.pt")
        meta["digests"] = meta_digests(meta)

    _edit_meta(folder, reseal)
    with pytest.raises(PackageError, match="weights.pt: not a readable torch weights file"):
        load_model(folder)
    assert not marker.exists()


class _Touch:
    """Unpickling this creates a file: the stand-in for a pickle that runs code."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


# ------------------------------------------------------------------ wrong feature dimension


def test_front_end_of_wrong_dimension_is_named_at_the_first_file(tmp_path, capsys):
    """A package whose recorded front end gives 32-dim features for a model trained on 52
    (re-saved from its parts, so it is internally consistent): predict names the file."""
    folder, _ = _package(tmp_path)
    model, meta = load_model(folder)
    other = Frontend(get_extractor("mfcc-stats", n_mfcc=8))
    mixed = save_model(model, tmp_path / "mixed", extra={"frontend": other.to_dict()})
    clip = write_tone(tmp_path / "clip.wav", 0.4, freq=185.0)
    predictor = Predictor.from_path(mixed)
    with pytest.raises(ConfigError) as info:
        predictor.predict_files([clip])
    text = str(info.value)
    assert str(clip) in text and f"dimension {meta['input']['dim']}" in text
    assert f"dimension {other.compute(np.zeros(8000, np.float32) + 0.1, 16000).size}" in text
    assert "skip_bad" not in text  # a mismatch is not a bad file
    code, out, err = _serkit(["predict", mixed, clip], capsys)
    assert code == 2 and "Traceback" not in err and out == ""
    assert err.startswith("error: ") and "front end and the model do not belong together" in err


def test_estimators_name_a_wrong_input_dimension():
    X, y = np.random.default_rng(0).normal(size=(20, 8)), np.array(["a", "b"] * 10)
    model = get_model("logreg").fit(X, y)
    with pytest.raises(ConfigError, match="input has 5 features per row but the model was "):
        model.predict_proba(X[:, :5])
    neural, F = _neural(dim=6)
    with pytest.raises(ConfigError, match="input has 4 features per frame but the model was "):
        neural.predict_proba([f[:, :4] for f in F])


# ------------------------------------------------------------------ legacy pickles


def _legacy_package(tmp_path: Path, pipeline) -> Path:
    """A format-1 package as serkit wrote it before skops: model.json + pipeline.joblib."""
    import joblib

    folder = tmp_path / "legacy"
    folder.mkdir()
    joblib.dump(pipeline, folder / "pipeline.joblib")
    frontend = Frontend(get_extractor("mfcc-stats"))
    meta = {
        "format": "serkit-model",
        "format_version": 1,
        "name": "logreg",
        "class": "serkit.models.classic.LogRegClassifier",
        "params": get_model("logreg").get_params(),
        "classes": ["high", "low"],
        "input_level": "utterance",
        "weights": ["pipeline.joblib"],
        "history": [],
        "versions": {},
        "extra": {"frontend": frontend.to_dict()},
    }
    (folder / "model.json").write_text(json.dumps(meta, indent=2))
    return folder


def test_legacy_pickle_is_refused_without_trust_and_runs_no_code(tmp_path, capsys):
    marker = tmp_path / "code-ran"
    folder = _legacy_package(tmp_path, _Touch(marker))
    with pytest.raises(PackageError) as info:
        load_model(folder)
    text = str(info.value)
    assert str(folder / "pipeline.joblib") in text and "pass trust_pickle=True" in text
    with pytest.raises(PackageError, match="trust_pickle=True"):
        Predictor.from_path(folder)
    assert not marker.exists()
    clip = write_tone(tmp_path / "clip.wav", 0.4)
    code, _, err = _serkit(["predict", folder, clip], capsys)
    assert code == 2 and "Traceback" not in err
    assert "pipeline.joblib" in err and "pass --trust-pickle" in err
    assert "trust_pickle" not in err  # the CLI names its flag
    code, _, err = _serkit(["export", folder, tmp_path / "model.onnx"], capsys)
    assert code == 2 and "pipeline.joblib" in err and "pass --trust-pickle" in err
    assert not marker.exists() and not (tmp_path / "model.onnx").exists()


def test_legacy_pickle_loads_when_trusted_and_predicts_identically(tmp_path, capsys):
    frontend = Frontend(get_extractor("mfcc-stats"))
    X, y = _tones(tmp_path, frontend)
    fitted = get_model("logreg").fit(X, y)
    folder = _legacy_package(tmp_path, fitted.pipeline_)
    model, meta = load_model(folder, trust_pickle=True)
    assert meta["format_version"] == 1
    np.testing.assert_array_equal(model.predict_proba(X), fitted.predict_proba(X))
    clip = write_tone(tmp_path / "clip.wav", 0.4, freq=185.0)
    args = ["predict", folder, clip, "--trust-pickle", "--format", "json"]
    code, out, err = _serkit(args, capsys)
    assert code == 0, err
    assert json.loads(out)[0]["label"] == "low"
    # re-saved, it is a safe package that loads without trust
    resaved = save_model(model, tmp_path / "resaved", extra=meta["extra"])
    assert sorted(p.name for p in resaved.iterdir()) == ["model.json", "pipeline.skops"]
    again, _ = load_model(resaved)
    np.testing.assert_array_equal(again.predict_proba(X), fitted.predict_proba(X))


def test_estimator_without_save_hooks_is_not_pickled(tmp_path):
    class Bare:
        model_name = "bare"
        classes_ = np.array(["a", "b"])

        def get_params(self, deep=False):
            return {}

    with pytest.raises(ConfigError, match="serkit does not pickle estimators"):
        save_model(Bare(), tmp_path / "pkg")
    assert not (tmp_path / "pkg").exists()


def _serkit(args: list, capsys) -> tuple[int, str, str]:
    """``serkit ARGS`` as the console script runs it: ``(exit status, stdout, stderr)``."""
    from serkit.cli import app
    from serkit.cli._errors import run

    capsys.readouterr()
    code = run(app, [str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


# ------------------------------------------------------------------ killed while saving

SLOW_SAVE = """
import sys, time
from pathlib import Path
import numpy as np
from serkit.models import classic, get_model
from serkit.models.package import save_model

def slow(self, folder):  # writes half a weight file, then hangs until killed
    (folder / "pipeline.skops").write_bytes(b"half")
    time.sleep(300)

classic._PipelineClassifier._save_weights = slow
rng = np.random.default_rng(0)
X, y = rng.normal(size=(20, 4)), np.array(["a", "b"] * 10)
save_model(get_model("logreg").fit(X, y), Path(sys.argv[1]))
"""


def _wait_for(predicate, proc: subprocess.Popen, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        assert proc.poll() is None, proc.stderr.read()[-2000:]
        time.sleep(0.05)
    raise AssertionError("timed out")


def _half_written(folder: Path):
    return [p for p in folder.glob(".pkg.*.tmp") if (p / "pipeline.skops").exists()]


def test_sigkill_during_save_leaves_a_temp_that_the_next_save_removes(tmp_path):
    script = tmp_path / "save.py"
    script.write_text(SLOW_SAVE)
    victim = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "pkg")],
        env=dict(os.environ, OMP_NUM_THREADS="1"),
        stderr=subprocess.PIPE,
        text=True,
    )
    left = _wait_for(lambda: _half_written(tmp_path), victim)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert left[0].is_dir() and not (tmp_path / "pkg").exists()  # what a kill leaves
    assert stale_temps(tmp_path / "pkg") == left

    X, y = np.random.default_rng(1).normal(size=(20, 4)), np.array(["a", "b"] * 10)
    model = get_model("logreg").fit(X, y)
    save_model(model, tmp_path / "pkg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pkg", "save.py"]
    loaded, _ = load_model(tmp_path / "pkg")
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_temp_of_a_live_writer_is_kept(tmp_path):
    """Only temps of writers that are gone are removed: a live one's (another process, or
    this one) stays, however many saves happen meanwhile."""
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = temp_name(tmp_path / "pkg").with_name(f".pkg.{sleeper.pid}.0123abcd.tmp")
        live.mkdir()
        own = temp_name(tmp_path / "pkg")
        own.mkdir()
        X, y = np.random.default_rng(1).normal(size=(20, 4)), np.array(["a", "b"] * 10)
        save_model(get_model("logreg").fit(X, y), tmp_path / "pkg")
        assert live.is_dir() and own.is_dir()
        assert stale_temps(tmp_path / "pkg") == []
        assert stale_temps(tmp_path / "pkg", max_age=-1) == sorted([live, own])
    finally:
        sleeper.kill()
        sleeper.wait()
    assert stale_temps(tmp_path / "pkg") == [live]  # its writer is gone now


RUN_CONFIG = """\
name: victim
data: {manifests: [demo/manifests/ravdess.parquet], label_set: null, filter: {mode: speech}}
features: {name: mfcc-stats, store: features/}
model: {name: logreg}
protocol: {name: speaker-kfold, params: {k: 2, seed: 0}}
bootstrap: {reps: 20}
final_model: true
"""

SLOW_TRAIN = """
import sys, time
from serkit.models import classic

def slow(self, folder):
    (folder / "pipeline.skops").write_bytes(b"half")
    time.sleep(300)

classic._PipelineClassifier._save_weights = slow
sys.argv = ["serkit", "train", "exp.yaml"]
from serkit.cli import main
main()
"""


def test_run_killed_while_saving_its_final_model_then_rerun(tmp_path):
    """``serkit train`` killed inside the final model's save; the same command again leaves a
    valid model/ and no temp of the interrupted write."""
    from serkit.corpora import prepare
    from serkit.demo import make_corpus

    make_corpus(tmp_path / "demo" / "corpus", speakers=4, sentences=1, seed=0)
    prepare("ravdess", tmp_path / "demo" / "corpus", output=tmp_path / "demo" / "manifests")
    (tmp_path / "exp.yaml").write_text(RUN_CONFIG)
    (tmp_path / "slow.py").write_text(SLOW_TRAIN)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    victim = subprocess.Popen(
        [sys.executable, "slow.py"], cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True
    )
    run = tmp_path / "runs" / "victim"
    left = _wait_for(
        lambda: [p for p in run.glob(".model.*.tmp") if (p / "pipeline.skops").exists()],
        victim,
        timeout=300,
    )
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert left[0].is_dir() and not (run / "model").exists()
    done = subprocess.run(
        [sys.executable, "-m", "serkit", "train", "exp.yaml"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert not list(run.glob(".*.tmp")), sorted(p.name for p in run.iterdir())
    predictor = Predictor.from_path(run)
    clip = next((tmp_path / "demo" / "corpus").rglob("*.wav"))
    assert predictor.predict_files([clip])["label"].iloc[0] in predictor.classes


def test_runner_reuses_a_saved_model_only_when_intact(tmp_path):
    """``is_current`` (the runner's test before reusing ``model/``): an intact package of this
    format is reused; a damaged one, or one of format 1, is written again."""
    from serkit.models.package import is_current

    folder, _ = _package(tmp_path)
    assert is_current(folder)
    (folder / "pipeline.skops").write_bytes(b"")
    assert not is_current(folder)
    assert not is_current(tmp_path / "absent")
    folder, _ = _package(tmp_path, "old")
    _edit_meta(folder, lambda meta: meta.update(format_version=1))
    assert not is_current(folder)
    with pytest.raises(PackageError, match="format_version changed"):  # edited to look older
        load_model(folder)
