"""serkit.atomic: content, no temp left behind, umask permissions, concurrent writers."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from serkit.atomic import (
    atomic_dir,
    atomic_path,
    atomic_save_npy,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_parquet,
    atomic_write_text,
    temp_name,
)


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def umask_027():
    old = os.umask(0o027)
    try:
        yield 0o027
    finally:
        os.umask(old)


def test_writers_round_trip_and_leave_no_temp(tmp_path):
    out = tmp_path / "deep" / "er"
    assert atomic_write_bytes(out / "a.bin", b"\x00\x01") == out / "a.bin"
    atomic_write_text(out / "b.txt", "héllo\n")
    atomic_write_json(out / "c.json", {"x": [1, 2]}, indent=2, sort_keys=True)
    atomic_save_npy(out / "d.npy", np.arange(6, dtype=np.int64).reshape(2, 3).T, dtype=np.float32)
    frame = pd.DataFrame({"id": ["u1", "u2"], "v": [0.5, 1.5]})
    atomic_write_parquet(out / "e.parquet", frame)
    assert (out / "a.bin").read_bytes() == b"\x00\x01"
    assert (out / "b.txt").read_text(encoding="utf-8") == "héllo\n"
    assert (out / "c.json").read_text() == json.dumps({"x": [1, 2]}, indent=2, sort_keys=True)
    array = np.load(out / "d.npy")
    assert array.dtype == np.float32 and array.flags.c_contiguous
    np.testing.assert_array_equal(array, np.arange(6).reshape(2, 3).T)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "e.parquet"), frame)
    assert _names(out) == ["a.bin", "b.txt", "c.json", "d.npy", "e.parquet"]


def test_a_failing_writer_keeps_the_old_file_and_removes_its_temp(tmp_path):
    path = tmp_path / "state.json"
    atomic_write_text(path, "old")
    seen = []
    with pytest.raises(RuntimeError, match="disk full"), atomic_path(path) as tmp:
        seen.append(tmp)
        tmp.write_text("half")
        raise RuntimeError("disk full")
    assert path.read_text() == "old"
    assert not seen[0].exists() and _names(tmp_path) == ["state.json"]
    with pytest.raises(TypeError):  # not JSON-able: nothing replaced, nothing left
        atomic_write_json(path, {"x": object()})
    assert path.read_text() == "old" and _names(tmp_path) == ["state.json"]


def test_temp_is_a_hidden_unique_sibling(tmp_path):
    path = tmp_path / "out.flac"
    with atomic_path(path, keep_suffix=True) as a, atomic_path(path, keep_suffix=True) as b:
        assert a != b and a.parent == b.parent == tmp_path
        assert a.name.startswith(f".out.flac.{os.getpid()}.") and a.name.endswith(".tmp.flac")
        assert a.exists() and a.stat().st_size == 0
        a.write_bytes(b"a")
        b.write_bytes(b"b")
    assert path.read_bytes() == b"a"  # the outer block ends last: its rename wins
    assert _names(tmp_path) == ["out.flac"]
    plain = temp_name(path).name.split(".")
    assert plain[:4] == ["", "out", "flac", str(os.getpid())] and plain[5:] == ["tmp"]
    assert temp_name(path) != temp_name(path)


def test_files_and_folders_get_the_umask_permissions(tmp_path, umask_027):
    path = atomic_write_text(tmp_path / "f.txt", "x")
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask_027 == 0o640
    with atomic_path(tmp_path / "g.bin") as tmp:
        tmp.write_bytes(b"x")
    assert stat.S_IMODE((tmp_path / "g.bin").stat().st_mode) == 0o640
    with atomic_dir(tmp_path / "pkg") as folder:
        (folder / "model.json").write_text("{}")
    assert stat.S_IMODE((tmp_path / "pkg").stat().st_mode) == 0o777 & ~umask_027 == 0o750


def test_atomic_dir_replaces_a_folder_whole_or_not_at_all(tmp_path):
    target = tmp_path / "pkg"
    with atomic_dir(target) as folder:
        (folder / "a.txt").write_text("1")
    with atomic_dir(target) as folder:
        (folder / "b.txt").write_text("2")
    assert _names(target) == ["b.txt"]
    with pytest.raises(ValueError), atomic_dir(target) as folder:
        (folder / "c.txt").write_text("3")
        raise ValueError("half-written package")
    assert _names(target) == ["b.txt"] and _names(tmp_path) == ["pkg"]


def _payload(i: int) -> bytes:
    body = bytes([i % 256]) * (200_000 + 7919 * i)
    return f"{i}:{len(body)}:".encode() + body


def _complete(data: bytes) -> bool:
    parts = data.split(b":", 2)
    if len(parts) != 3:
        return False
    i, length, body = parts
    return int(length) == len(body) and body == bytes([int(i) % 256]) * int(length)


def test_concurrent_threads_leave_one_complete_file(tmp_path):
    path = tmp_path / "shared.bin"
    atomic_write_bytes(path, _payload(0))
    stop, bad = threading.Event(), []

    def reader():
        while not stop.is_set():
            data = path.read_bytes()  # always a whole version, never a mix or a prefix
            if not _complete(data):
                bad.append(len(data))

    def writer(i):
        for _ in range(5):
            atomic_write_bytes(path, _payload(i))

    watch = threading.Thread(target=reader)
    watch.start()
    writers = [threading.Thread(target=writer, args=(i,)) for i in range(1, 7)]
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    watch.join()
    assert not bad
    assert _complete(path.read_bytes()) and _names(tmp_path) == ["shared.bin"]


def test_concurrent_processes_leave_one_complete_file(tmp_path):
    path = tmp_path / "shared.bin"
    script = (
        "import sys\n"
        "from serkit.atomic import atomic_write_bytes\n"
        "i = int(sys.argv[2])\n"
        "body = bytes([i]) * (100_000 + 7919 * i)\n"
        "for _ in range(20):\n"
        "    atomic_write_bytes(sys.argv[1], f'{i}:{len(body)}:'.encode() + body)\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(path), str(i)]) for i in range(1, 5)
    ]
    bad = []
    while any(p.poll() is None for p in procs):
        if path.exists() and not _complete(path.read_bytes()):
            bad.append(path.stat().st_size)
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    assert not bad
    assert _complete(path.read_bytes()) and _names(tmp_path) == ["shared.bin"]


def test_concurrent_folder_writers_leave_one_complete_folder(tmp_path):
    target = tmp_path / "pkg"
    errors = []

    def writer(i):
        try:
            for _ in range(10):
                with atomic_dir(target) as folder:
                    for k in range(3):
                        (folder / f"part{k}").write_text(str(i))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    contents = {(target / f"part{k}").read_text() for k in range(3)}
    assert _names(target) == ["part0", "part1", "part2"] and len(contents) == 1
    assert _names(tmp_path) == ["pkg"]
