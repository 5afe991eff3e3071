"""Faults of the feature store: writers at once, damaged files, killed extractions, bad paths.

Every case ends with the features of an uninterrupted single run, compared exactly, or with one
clear error naming the file; never a traceback, never values of a damaged file. The slow test
extractors of ``_slow_store.py`` run in subprocesses (two or three writers at once); the kill
cases run the real ``serkit features`` command on the demo corpus.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from serkit import features
from serkit import manifest as mf
from serkit.features import FeatureError, FeatureStore
from serkit.features.store import INDEX, StoreDamagedError

from ._slow_store import SlowFrames, SlowStats

HELPER = Path(__file__).with_name("_slow_store.py")
EXTRACTORS = {"utterance": SlowStats, "frame": SlowFrames}


# -- fixtures and helpers ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """The demo corpus (2 speakers, 36 files) and its manifest; returns the manifest path."""
    from serkit.corpora import prepare
    from serkit.demo import make_corpus

    root = tmp_path_factory.mktemp("demo")
    make_corpus(root / "corpus", speakers=2, sentences=1, seed=0)
    prepare("ravdess", root / "corpus", output=root / "manifests")
    return root / "manifests" / "ravdess.parquet"


@pytest.fixture(scope="module")
def reference(demo, tmp_path_factory) -> dict[str, features.FeatureSet]:
    """Features of one uninterrupted in-process run, per level."""
    store = tmp_path_factory.mktemp("reference")
    rows = mf.read(demo)
    out = {}
    for level, cls in EXTRACTORS.items():
        features.extract(rows, cls(), store, progress=False)
        out[level] = features.load(rows, cls(), store)
    return out


def _same(a: features.FeatureSet, b: features.FeatureSet) -> None:
    assert a.ids == b.ids and a.dim == b.dim
    if a.level == "utterance":
        np.testing.assert_array_equal(a.X, b.X)
    else:
        assert len(a.frames) == len(b.frames)
        for x, y in zip(a.frames, b.frames, strict=True):
            np.testing.assert_array_equal(x, y)


def _assert_tidy(folder: Path, rows: int, level: str) -> None:
    """One index with ``rows`` rows, every array referenced, nothing left over."""
    assert [p.name for p in folder.glob("index*.parquet")] == [INDEX]
    index = pd.read_parquet(folder / INDEX)
    assert len(index) == index["id"].nunique() == rows
    assert not list(folder.rglob(".*.tmp")), list(folder.rglob(".*.tmp"))
    if level == "utterance":
        assert [p.name for p in folder.glob("vectors-*.npy")] == list(index["file"].unique())
        assert not list(folder.glob("chunks/*.npy"))
    else:
        on_disk = {p.relative_to(folder).as_posix() for p in folder.glob("frames/*.npy")}
        assert on_disk == set(index["file"])


def _subset(demo: Path, path: Path, count: int) -> Path:
    rows = mf.read(demo)
    part = rows.iloc[:count].reset_index(drop=True)
    part.attrs = dict(rows.attrs)
    mf.write(part, path)
    return path


def _writer(manifest: Path, store: Path, go: Path, *options: str) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, str(HELPER), str(manifest), str(store), "--go", str(go), *options],
        env=dict(os.environ, OMP_NUM_THREADS="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == "ready", process.stderr.read()
    return process


def _folder(store: Path, level: str) -> Path:
    return FeatureStore(store).folder_path(EXTRACTORS[level]())


# -- concurrent writers -----------------------------------------------------------------------
@pytest.mark.parametrize("level", ["utterance", "frame"])
def test_three_writers_at_once_leave_the_store_of_a_single_run(demo, reference, tmp_path, level):
    # a slow writer of every row, a fast one of half of them (it consolidates and collects
    # garbage while the others still commit) and a third of every row; all start together
    store, go = tmp_path / "store", tmp_path / "go"
    half = _subset(demo, tmp_path / "half.parquet", 18)
    common = ("--level", level)
    writers = [
        _writer(demo, store, go, *common, "--delay", "0.02", "--chunk-size", "2"),
        _writer(half, store, go, *common, "--delay", "0.002", "--chunk-size", "1"),
        _writer(demo, store, go, *common, "--delay", "0.01", "--chunk-size", "3"),
    ]
    go.touch()
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err[-3000:]
    rows = mf.read(demo)
    _same(features.load(rows, EXTRACTORS[level](), store), reference[level])
    _assert_tidy(_folder(store, level), len(rows), level)
    again = features.extract(rows, EXTRACTORS[level](), store, progress=False)
    assert (again.computed, again.cached, again.repaired) == (0, len(rows), [])


def test_the_lock_of_a_killed_writer_is_released(demo, reference, tmp_path):
    import fcntl

    rows = mf.read(demo)
    folder = FeatureStore(tmp_path).open(SlowStats()).path
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from serkit.features.lock import FolderLock\n"
            "held = FolderLock(sys.argv[1]).hold()\n"
            "held.__enter__()\n"
            "print('held', flush=True)\n"
            "time.sleep(600)\n",
            str(folder / ".lock"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        fd = os.open(folder / ".lock", os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):  # a writer holds it: others wait
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            holder.kill()
            holder.wait(timeout=30)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the kernel released it
        finally:
            os.close(fd)
    finally:
        holder.kill()
        holder.wait()
    features.extract(rows, SlowStats(), tmp_path, progress=False)
    _same(features.load(rows, SlowStats(), tmp_path), reference["utterance"])


def test_a_reader_finds_rows_a_concurrent_consolidation_moved(demo, reference, tmp_path):
    rows = mf.read(demo)
    first = rows.iloc[:10].reset_index(drop=True)
    first.attrs = dict(rows.attrs)
    features.extract(first, SlowStats(), tmp_path, progress=False, chunk_size=3)
    folder = FeatureStore(tmp_path).open(SlowStats())
    listed = folder.index()  # a reader lists the entries, then another process consolidates
    (old,) = {str(name) for name in listed["file"]}
    features.extract(rows, SlowStats(), tmp_path, progress=False, chunk_size=3)
    assert not (folder.path / old).exists()
    X, _ = folder.read(listed)
    np.testing.assert_array_equal(X, reference["utterance"].X[:10])


# -- damaged files ------------------------------------------------------------------------------
def _truncate(path: Path, by: int = 10) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:-by])


def _vectors(folder: Path) -> Path:
    (path,) = folder.glob("vectors-*.npy")
    return path


def _first_frames(folder: Path) -> Path:
    return folder / str(pd.read_parquet(folder / INDEX)["file"].iloc[0])


def _damage_short_vectors(folder: Path) -> None:
    """A valid .npy that holds fewer rows than the index lists."""
    path = _vectors(folder)
    shorter = np.load(path)[:30]
    with open(path, "wb") as handle:
        np.save(handle, shorter)


def _damage_config_dim(folder: Path) -> None:
    import json

    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "dim": config["dim"] + 3}))


def _damage_other_frames(folder: Path) -> None:
    path = _first_frames(folder)
    shorter = np.load(path)[:-1]
    with open(path, "wb") as handle:
        np.save(handle, shorter)


DAMAGE = {
    # name: (level, damage, the file the error names, rows computed again by the repair)
    "truncated vectors": ("utterance", lambda f: _truncate(_vectors(f)), "vectors-", 36),
    "vectors shorter than the index": ("utterance", _damage_short_vectors, "vectors-", 6),
    "garbage index": ("utterance", lambda f: (f / INDEX).write_bytes(b"PAR1 junk"), INDEX, 36),
    "index without columns": (
        "utterance",
        lambda f: pd.DataFrame({"id": ["x"]}).to_parquet(f / INDEX),
        INDEX,
        36,
    ),
    "garbage config": (
        "utterance",
        lambda f: (f / "config.json").write_text("{not json"),
        "config.json",
        0,
    ),
    "config of another dim": ("utterance", _damage_config_dim, "config.json", 0),
    "missing frame file": ("frame", lambda f: _first_frames(f).unlink(), "frames/", 1),
    "truncated frame file": ("frame", lambda f: _truncate(_first_frames(f), 4), "frames/", 1),
    "frame file of another shape": ("frame", _damage_other_frames, "frames/", 1),
    "garbage frame file": ("frame", lambda f: _first_frames(f).write_bytes(b"\x93NUMPY"), "", 1),
}


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_a_damaged_store_is_named_on_load_and_repaired_by_extract(demo, reference, tmp_path, case):
    level, damage, named, recomputed = DAMAGE[case]
    rows, ex = mf.read(demo), EXTRACTORS[level]()
    features.extract(rows, ex, tmp_path, progress=False)
    folder = _folder(tmp_path, level)
    damage(folder)
    with pytest.raises(StoreDamagedError) as info:
        features.load(rows, ex, tmp_path)
    message = str(info.value)
    assert str(folder) in message and named in message and "extract again" in message
    summary = features.extract(rows, ex, tmp_path, progress=False)
    assert summary.repaired and all(str(folder) in note for note in summary.repaired)
    assert (summary.computed, summary.cached) == (recomputed, len(rows) - recomputed)
    _same(features.load(rows, ex, tmp_path), reference[level])
    _assert_tidy(folder, len(rows), level)


def test_serkit_features_says_what_it_repaired(demo, tmp_path):
    command = ["features", str(demo), "-e", "mfcc-stats", "--store", "s", "--no-progress"]
    first = _serkit(*command, cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    folder = FeatureStore(tmp_path / "s").folder_path(features.get_extractor("mfcc-stats"))
    _truncate(_vectors(folder))
    again = _serkit(*command, cwd=tmp_path)
    assert again.returncode == 0 and "Traceback" not in again.stderr, again.stderr[-3000:]
    assert "the store folder was damaged; 1 problem(s) repaired:" in again.stderr
    assert "(truncated); 36 row(s) dropped from index.parquet" in again.stderr
    assert "36 computed, 0 cached" in again.stdout


def test_a_missing_config_is_rebuilt_without_recomputing(demo, reference, tmp_path):
    rows = mf.read(demo)
    features.extract(rows, SlowStats(), tmp_path, progress=False)
    folder = _folder(tmp_path, "utterance")
    (folder / "config.json").unlink()
    with pytest.raises(FeatureError, match="no features"):
        features.load(rows, SlowStats(), tmp_path)
    summary = features.extract(rows, SlowStats(), tmp_path, progress=False)
    assert summary.computed == 0 and "config.json: missing" in summary.repaired[0]
    _same(features.load(rows, SlowStats(), tmp_path), reference["utterance"])


def test_a_damaged_shard_index_is_named_and_its_rows_computed_again(demo, reference, tmp_path):
    rows = mf.read(demo)
    for shard in ("0/2", "1/2"):
        features.extract(rows, SlowStats(), tmp_path, shard=shard, progress=False)
    folder = _folder(tmp_path, "utterance")
    shard_index = folder / "index.shard-1-of-2.parquet"
    shard_index.write_bytes(b"damaged")
    with pytest.raises(StoreDamagedError, match="index.shard-1-of-2.parquet"):
        features.load(rows, SlowStats(), tmp_path, allow_missing=True)
    merged = features.merge(rows, SlowStats(), tmp_path)
    assert 0 < merged.missing < len(rows) and "index.shard-1-of-2" in merged.repaired[0]
    again = features.extract(rows, SlowStats(), tmp_path, shard="1/2", progress=False)
    assert again.computed == merged.missing
    assert features.merge(rows, SlowStats(), tmp_path).missing == 0
    _same(features.load(rows, SlowStats(), tmp_path), reference["utterance"])
    _assert_tidy(folder, len(rows), "utterance")


def _leave_consolidation_leftovers(folder: Path) -> None:
    """What consolidations killed at various points leave: temps of a new vectors file and a
    new index, and the previous vectors file (no longer referenced)."""
    from serkit.atomic import temp_name

    temp_name(folder / "vectors-0123456789ab.npy").write_bytes(b"partial")
    temp_name(folder / INDEX).write_bytes(b"partial")
    (folder / "vectors-ba9876543210.npy").write_bytes(_vectors(folder).read_bytes())


def _leave_commit_leftovers(folder: Path) -> None:
    """What a frame-level commit killed mid-way leaves: a temp of a frame array, an array no
    index lists yet, a temp of the index."""
    from serkit.atomic import temp_name

    temp_name(folder / "frames" / "x-0123.npy").write_bytes(b"partial")
    np.save(folder / "frames" / "x-4567.npy", np.zeros((3, 2), np.float32))
    temp_name(folder / INDEX).write_bytes(b"partial")


@pytest.mark.parametrize(
    ("level", "leave"),
    [("utterance", _leave_consolidation_leftovers), ("frame", _leave_commit_leftovers)],
    ids=["consolidation", "frame-commit"],
)
def test_an_interrupted_write_is_cleaned_up_by_the_next_run(
    demo, reference, tmp_path, level, leave
):
    rows, ex = mf.read(demo), EXTRACTORS[level]()
    features.extract(rows, ex, tmp_path, progress=False)
    folder = _folder(tmp_path, level)
    before = pd.read_parquet(folder / INDEX)
    leave(folder)
    summary = features.extract(rows, ex, tmp_path, progress=False)  # nothing to compute
    _assert_tidy(folder, len(rows), level)
    pd.testing.assert_frame_equal(pd.read_parquet(folder / INDEX), before, check_dtype=False)
    _same(features.load(rows, ex, tmp_path), reference[level])
    assert (summary.computed, summary.repaired) == (0, [])  # leftovers are no damage


# -- bad store paths --------------------------------------------------------------------------
def _serkit(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "serkit", *args],
        cwd=cwd,
        env=dict(os.environ, OMP_NUM_THREADS="1"),
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("below", [False, True])
def test_a_store_path_that_is_a_file_gets_one_message(demo, tmp_path, below):
    (tmp_path / "taken").write_text("a file")
    store = tmp_path / "taken" / "sub" if below else tmp_path / "taken"
    with pytest.raises(FeatureError, match=r"taken is a file, not a folder"):
        features.extract(mf.read(demo), SlowStats(), store, progress=False)
    with pytest.raises(FeatureError, match=r"taken is a file, not a folder"):
        features.load(mf.read(demo), SlowStats(), store)
    done = _serkit("features", str(demo), "-e", "energy", "--store", str(store), cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: ") and "is a file" in done.stderr
    assert (tmp_path / "taken").read_text() == "a file"


def _read_only(folder: Path) -> bool:
    """Make ``folder`` unwritable for this process (chmod, or for root the immutable flag)."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return True
    done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, check=False)
    return done.returncode == 0


def _writable(folder: Path) -> None:
    if os.geteuid() != 0:
        folder.chmod(0o755)
    else:
        subprocess.run(["chattr", "-i", str(folder)], capture_output=True, check=False)


def test_a_store_without_write_permission_is_read_but_not_written(demo, reference, tmp_path):
    rows = mf.read(demo)
    half = rows.iloc[:18].reset_index(drop=True)
    half.attrs = dict(rows.attrs)
    features.extract(half, SlowStats(), tmp_path / "s", progress=False)
    folder = _folder(tmp_path / "s", "utterance")
    if not _read_only(folder):
        pytest.skip("running as root without the immutable flag: permissions are not enforced")
    try:
        loaded = features.load(half, SlowStats(), tmp_path / "s")
        np.testing.assert_array_equal(loaded.X, reference["utterance"].X[:18])
        with pytest.raises(FeatureError, match=r"cannot write to the feature store") as info:
            features.extract(rows, SlowStats(), tmp_path / "s", progress=False)
        assert str(folder) in str(info.value) and "permissions" in str(info.value)
    finally:
        _writable(folder)
    assert len(features.load(rows, SlowStats(), tmp_path / "s", allow_missing=True)) == 18


# -- killed extractions with workers ----------------------------------------------------------
def _children(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and stat[0] != "Z":
                parents[int(entry.name)] = stat[1]
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _workers(pid: int) -> set[int]:
    """The live worker processes (multiprocessing spawn children) of ``pid``."""
    out = set()
    for child in _children(pid):
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                out.add(child)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return out


def _stat(pid: int) -> tuple[str, int] | None:
    """``(state, parent pid)`` of a process, ``None`` when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text.rsplit(")", 1)[1].split()
    return fields[0], int(fields[1])


def _alive(pids: set[int]) -> set[int]:
    return {pid for pid in pids if (_stat(pid) or ("Z", 0))[0] != "Z"}


def _wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def egemaps_reference(demo, tmp_path_factory) -> features.FeatureSet:
    pytest.importorskip("opensmile")
    store = tmp_path_factory.mktemp("egemaps")
    rows = mf.read(demo)
    features.extract(rows, "egemaps", store, progress=False)
    return features.load(rows, "egemaps", store)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
@pytest.mark.parametrize(
    "how",
    ["kill-9", "sigterm", "ctrl-c"],  # Ctrl-C: SIGINT to the whole process group
)
def test_workers_end_with_their_parent_and_a_rerun_completes(
    demo, egemaps_reference, tmp_path, how
):
    command = ["features", str(demo), "-e", "egemaps", "--store", str(tmp_path / "s")]
    command += ["--workers", "2", "--chunk-size", "2", "--no-progress"]
    parent = subprocess.Popen(
        [sys.executable, "-m", "serkit", *command],
        cwd=tmp_path,
        env=dict(os.environ, OMP_NUM_THREADS="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a shell gives a command
        # and Ctrl-C handling as an interactive shell gives it: a suite started in the
        # background (`pytest &`) ignores SIGINT, and its children would inherit that
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    folder = FeatureStore(tmp_path / "s").folder_path(features.get_extractor("egemaps"))
    try:
        _wait_for(
            lambda: len(_workers(parent.pid)) >= 2 and (folder / INDEX).exists(),
            120,
            "two workers and a first commit",
        )
        assert parent.poll() is None, "the extraction ended before it was killed"
        workers = _children(parent.pid)
        if how == "ctrl-c":
            os.killpg(parent.pid, signal.SIGINT)
        else:
            parent.send_signal(signal.SIGKILL if how == "kill-9" else signal.SIGTERM)
        out, err = parent.communicate(timeout=60)
    finally:
        if parent.poll() is None:
            parent.kill()
    _wait_for(lambda: not _alive(workers), 10, f"the workers {workers} to exit")
    if how == "sigterm":
        assert parent.returncode == 128 + signal.SIGTERM and "Traceback" not in err, err[-3000:]
        assert "error: extraction stopped by SIGTERM" in err
    if how == "ctrl-c":  # typer's exit status for Ctrl-C; no worker prints a traceback
        assert parent.returncode == 128 + signal.SIGINT, err[-3000:]
        assert "Traceback" not in err and "KeyboardInterrupt" not in err, err[-3000:]
    rows = mf.read(demo)
    partial = features.load(rows, "egemaps", tmp_path / "s", allow_missing=True)
    assert 0 < len(partial) < len(rows)
    position = {rid: i for i, rid in enumerate(egemaps_reference.ids)}
    np.testing.assert_array_equal(
        partial.X, egemaps_reference.X[[position[rid] for rid in partial.ids]]
    )
    again = _serkit(*command, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"{len(partial)} cached" in again.stdout
    _same(features.load(rows, "egemaps", tmp_path / "s"), egemaps_reference)
    _assert_tidy(folder, len(rows), "utterance")


def test_a_worker_killed_mid_run_gives_one_error_and_the_rows_so_far(demo, reference, tmp_path):
    store = tmp_path / "s"
    go = tmp_path / "go"
    writer = _writer(demo, store, go, "--delay", "0.2", "--workers", "2", "--chunk-size", "1")
    go.touch()
    try:
        _wait_for(lambda: len(_workers(writer.pid)) >= 2, 120, "two workers")
        _wait_for(lambda: (_folder(store, "utterance") / INDEX).exists(), 120, "a commit")
        workers = _children(writer.pid)
        os.kill(min(_workers(writer.pid)), signal.SIGKILL)
        out, err = writer.communicate(timeout=60)
    finally:
        if writer.poll() is None:
            writer.kill()
    assert writer.returncode == 2 and "Traceback" not in err, err[-3000:]
    assert "worker process ended abruptly" in err and "extract again" in err
    _wait_for(lambda: not _alive(workers), 10, "the other worker to exit")
    rows = mf.read(demo)
    partial = features.load(rows, SlowStats(), store, allow_missing=True)
    assert len(partial) < len(rows)
    features.extract(rows, SlowStats(), store, progress=False)
    _same(features.load(rows, SlowStats(), store), reference["utterance"])
