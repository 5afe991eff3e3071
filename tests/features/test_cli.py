"""``serkit features`` end to end: a real subprocess killed mid-run resumes without recomputing."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

from serkit import features
from serkit import manifest as mf
from serkit.features import FeatureStore

from ._extractors import TinyConfig, TinyStats
from ._synth import make_corpus

N_FILES = 30
CHUNK = 4

# a registered, deliberately slow extractor, defined in the child process; each compute call
# appends a line to the log so that the test can count calls across runs
_SCRIPT = textwrap.dedent(
    """
    import dataclasses, os, sys, time
    import numpy as np
    from serkit.features.base import Extractor, ExtractorConfig, register_extractor

    @dataclasses.dataclass(frozen=True)
    class SlowConfig(ExtractorConfig):
        scale: float = 1.0
        bad_below: int = 0

    @register_extractor
    class Slow(Extractor):
        name = "tiny-stats-test"
        level = "utterance"
        Config = SlowConfig

        def compute(self, signal):
            with open(os.environ["SLOW_LOG"], "a") as log:
                log.write("x\\n")
            time.sleep(float(os.environ.get("SLOW_DELAY", "0")))
            return np.array([signal.mean(), signal.std(), len(signal)], np.float32)

    from serkit.cli import main
    sys.argv = ["serkit", "features", *sys.argv[1:]]
    main()
    """
)


@pytest.fixture
def setup(tmp_path):
    df = make_corpus(tmp_path / "corpus", n=N_FILES, seconds=0.2)
    manifest_path = mf.write(df, tmp_path / "m.parquet")
    script = tmp_path / "run_slow.py"
    script.write_text(_SCRIPT)
    return df, manifest_path, script, tmp_path


def _run(script, args, env, **kwargs):
    cmd = [sys.executable, str(script), *map(str, args)]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def _rows(index):
    try:
        return len(pd.read_parquet(index))
    except (OSError, ValueError):
        return 0


def test_kill_and_resume(setup):
    df, manifest_path, script, tmp = setup
    store = tmp / "store"
    log = tmp / "calls.log"
    env = {**os.environ, "SLOW_LOG": str(log), "SLOW_DELAY": "0.1", "OMP_NUM_THREADS": "1"}
    args = [
        manifest_path,
        "--extractor",
        "tiny-stats-test",
        "--store",
        store,
        "--chunk-size",
        CHUNK,
        "--no-progress",
    ]
    folder = FeatureStore(store).folder_path(TinyStats())  # same name + config = same key
    index = folder / "index.parquet"
    proc = _run(script, args, env)
    deadline = time.time() + 120
    while _rows(index) < CHUNK and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    committed = _rows(index)
    assert CHUNK <= committed < N_FILES, "the run was not killed mid-way"
    calls_first = len(log.read_text().splitlines())

    finished = _run(script, args, {**env, "SLOW_DELAY": "0"})
    out, err = finished.communicate(timeout=120)
    assert finished.returncode == 0, err.decode()
    text = out.decode()
    calls_second = len(log.read_text().splitlines()) - calls_first
    assert calls_second == N_FILES - committed
    assert f"{N_FILES - committed} computed, {committed} cached" in text
    assert str(folder) in text and "(30, 3)" in text
    # at most the chunk in progress was lost
    assert calls_first + calls_second <= N_FILES + CHUNK
    # the store is consistent: every row loads and equals a fresh computation
    fs = features.load(df, TinyStats(), store)
    assert fs.X.shape == (N_FILES, 3) and np.isfinite(fs.X).all()
    from serkit import audio

    for i, path in enumerate(mf.audio_paths(df)):
        np.testing.assert_allclose(fs.X[i], TinyStats()(*audio.read(path)), rtol=1e-6)
    assert not list(folder.rglob(".*.tmp")) and not list(folder.glob("chunks/*"))


def _cli(args):
    from typer.testing import CliRunner

    from serkit.cli import app

    return CliRunner().invoke(app, ["features", *map(str, args)])


def test_cli_shards_and_merge(tmp_path):
    df = make_corpus(tmp_path / "corpus", n=6, seconds=0.2)
    manifest_path = mf.write(df, tmp_path / "m.parquet")
    base = [
        manifest_path,
        "--extractor",
        "mfcc-stats",
        "--set",
        "n_mfcc=8",
        "--store",
        tmp_path / "s",
        "--no-progress",
    ]
    outputs = []
    for extra in (["--shard", "0/2"], ["--shard", "1/2"], ["--merge"]):
        result = _cli([*base, *extra])
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    assert "shard 0/2" in outputs[0] and "6 cached, 0 skipped" in outputs[2]
    assert "(6, 64)" in outputs[2]  # 8 mfcc x 2 channels x 4 statistics
    fs = features.load(df, features.get_extractor("mfcc-stats", n_mfcc=8), tmp_path / "s")
    assert fs.X.shape == (6, 64)
    again = _cli([*base, "--preset", "none"])
    assert again.exit_code != 0 and "no preset 'none'" in str(again.exception)


def test_cli_reports_bad_params(tmp_path):
    df = make_corpus(tmp_path / "corpus", n=2, seconds=0.2)
    manifest_path = mf.write(df, tmp_path / "m.parquet")
    result = _cli([manifest_path, "--extractor", "logmel", "--set", "n_mel=40"])
    assert result.exit_code != 0 and "no parameter(s) n_mel" in str(result.exception)


def test_tiny_config_matches_the_script():
    # the kill test relies on the child's extractor having the same key as TinyStats
    fields = [(f.name, f.default) for f in TinyConfig.__dataclass_fields__.values()]
    assert fields == [("sample_rate", 16000), ("scale", 1.0), ("bad_below", 0)]


def test_cli_vad_options(tmp_path):
    from serkit.features.vad import VadTrim

    df = make_corpus(tmp_path / "corpus", n=3, seconds=0.3)
    manifest_path = mf.write(df, tmp_path / "m.parquet")
    base = [manifest_path, "--extractor", "energy", "--store", tmp_path / "s", "--no-progress"]
    result = _cli(
        [*base, "--vad", "energy", "--vad-set", "pad_ms=10", "--vad-set", "min_speech_ms=0"]
    )
    assert result.exit_code == 0, result.output
    assert "3 computed" in result.output and "vad:      vad-trim energy" in result.output
    trim = VadTrim(method="energy", pad_ms=10.0, min_speech_ms=0.0)  # ints from --vad-set match
    assert len(features.load(df, "energy", tmp_path / "s", vad=trim)) == 3
    stored = re.escape("vad=VadTrim(method='energy', min_speech_ms=0.0, pad_ms=10.0)")
    with pytest.raises(features.FeatureError, match=stored):
        features.load(df, "energy", tmp_path / "s")  # the hint names the stored VAD options
    plain = _cli(base)
    assert plain.exit_code == 0 and "3 computed" in plain.output  # its own folder
    assert len(features.load(df, "energy", tmp_path / "s")) == 3
    bad = _cli([*base, "--vad-set", "pad_ms=10"])
    assert bad.exit_code != 0 and "needs --vad" in bad.output
    wrong = _cli([*base, "--vad", "webrtc"])
    assert wrong.exit_code != 0 and "silero" in str(wrong.exception)
