"""Faults of the environment: full disks, killed writers, dying parents, file-system errors → clean outcomes."""

from __future__ import annotations

import errno
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import ecnas._io
from ecnas._io import atomic_write_text, remove_stale_temporaries
from ecnas.cli import main
from ecnas.errors import WriteError
from ecnas.table import write_table
from tests.tables import synthetic_contents

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = Path("/work/shared/data/reference/ecnas_energy_4V9E_linscale.tfrecord")


def _full_disk_open(real_open):
    def fake(file, mode="r", *args, **kwargs):
        if "w" in mode:
            raise OSError(errno.ENOSPC, "No space left on device", str(file))
        return real_open(file, mode, *args, **kwargs)

    return fake


def test_table_write_on_full_disk_is_one_write_error(tmp_path, monkeypatch):
    monkeypatch.setattr(ecnas._io, "open", _full_disk_open(open), raising=False)
    with pytest.raises(WriteError, match="no space left") as caught:
        write_table(tmp_path / "t.h5", synthetic_contents())
    assert caught.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []  # no table, no temporary file


def test_text_write_on_full_disk(tmp_path, monkeypatch):
    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(WriteError, match="no space left"):
        atomic_write_text(tmp_path / "a.txt", "x")
    assert list(tmp_path.iterdir()) == []


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_stale_temporaries_of_killed_writers_are_removed(tmp_path):
    host = socket.gethostname().replace(".", "_")
    target = tmp_path / "t.h5"
    dead = tmp_path / f".t.h5.{host}.{_dead_pid()}.abc123.tmp"
    live = tmp_path / f".t.h5.{host}.{os.getpid()}.def456.tmp"
    old = tmp_path / ".t.h5.zz9k1x.tmp"  # an older ecnas's name, without host and pid
    recent_other_host = tmp_path / ".t.h5.otherhost.1.ghi789.tmp"
    other_target = tmp_path / f".u.h5.{host}.{_dead_pid()}.abc.tmp"
    for path in (dead, live, old, recent_other_host, other_target):
        path.write_bytes(b"x" * 100)
    os.utime(old, (time.time() - 2 * ecnas._io.STALE_AFTER_S,) * 2)
    write_table(target, synthetic_contents())
    left = {p.name for p in tmp_path.iterdir()}
    assert left == {"t.h5", live.name, recent_other_host.name, other_target.name}
    assert remove_stale_temporaries(target) == []


def test_killed_writer_leaves_a_temporary_that_the_next_write_removes(tmp_path):
    script = textwrap.dedent(
        f"""
        import os, sys
        sys.path.insert(0, {str(ROOT)!r})
        from ecnas._io import atomic_path
        with atomic_path({str(tmp_path / "t.h5")!r}) as temporary:
            temporary.write_bytes(b"half")
            os.kill(os.getpid(), 9)
        """
    )
    subprocess.run([sys.executable, "-c", script], check=False)
    assert len(list(tmp_path.glob(".t.h5.*.tmp"))) == 1
    write_table(tmp_path / "t.h5", synthetic_contents())
    assert [p.name for p in tmp_path.iterdir()] == ["t.h5"]


def test_worker_dies_with_its_parent():
    """A grandchild armed with die_with_parent ends when its parent is killed with SIGKILL."""
    grandchild = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from ecnas._lifecycle import die_with_parent
        die_with_parent()
        print("armed", flush=True)
        time.sleep(60)
        """
    )
    parent = textwrap.dedent(
        f"""
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", {grandchild!r}], stdout=subprocess.PIPE, text=True)
        print(child.pid, child.stdout.readline().strip(), flush=True)
        time.sleep(60)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", parent], stdout=subprocess.PIPE, text=True)
    pid, state = process.stdout.readline().split()
    assert state == "armed"
    process.kill()
    process.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(int(pid)):
        time.sleep(0.1)
    assert not _alive(int(pid)), "the worker outlived its parent"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "zombie" in status.read_text())


def test_compare_failing_to_write_leaves_nothing_partial(tmp_path, monkeypatch):
    import ecnas.compare

    def failing(comparison, plots):
        atomic_write_text(comparison.out / "summary.md", "partial")
        raise WriteError(f"cannot write {comparison.out / 'runs.csv'}: no space left on the device")

    monkeypatch.setattr(ecnas.compare, "write_outputs", failing)
    table = tmp_path / "t.h5"
    write_table(table, synthetic_contents())
    fresh = tmp_path / "fresh"
    args = ["compare", "-a", "rs", "--seeds", "1", "--max-evaluations", "5", "--table", str(table), "--jobs", "1"]
    out = CliRunner().invoke(main, [*args, "--out", str(fresh), "--no-progress", "--no-plots"])
    assert out.exit_code == 1 and "no space left" in out.output and not fresh.exists()
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "mine.txt").write_text("kept")
    out = CliRunner().invoke(main, [*args, "--out", str(existing), "--no-progress", "--no-plots"])
    assert out.exit_code == 1
    assert {p.name for p in existing.iterdir()} == {"mine.txt", "runs"}


@pytest.mark.parametrize(
    "error",
    [
        PermissionError(errno.EACCES, "Permission denied", "/root/x"),
        OSError(errno.ELOOP, "Too many levels of symbolic links", "/tmp/loop"),
        RecursionError("maximum recursion depth exceeded"),
        RuntimeError("Symlink loop from '/tmp/loop'"),
    ],
    ids=["permission", "eloop", "recursion", "symlink-loop"],
)
def test_cli_turns_environment_errors_into_messages(monkeypatch, error):
    import ecnas.cli.info

    def boom(*args, **kwargs):
        raise error

    monkeypatch.setattr(ecnas.cli.info, "open_benchmark", boom)
    out = CliRunner().invoke(main, ["info", "x.h5"])
    assert out.exit_code == 1 and isinstance(out.exception, SystemExit), out.output
    assert out.output.startswith("Error: ")


def _tmpfs(path: Path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    command = ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)]
    return subprocess.run(command, check=False, capture_output=True).returncode == 0


def test_import_into_a_really_full_file_system(tmp_path):
    """The crash of issue 14 (h5py 'Exception ignored' tracebacks, then a segfault) on a real full tmpfs."""
    if not REFERENCE.is_file():
        pytest.skip(f"reference data {REFERENCE} not present")
    mount = tmp_path / "small"
    if not _tmpfs(mount, "64k"):
        pytest.skip("needs root and mount to make a small tmpfs")
    try:
        command = [sys.executable, "-m", "ecnas.cli", "import", "ecnas", str(REFERENCE), "-o", str(mount / "t.h5")]
        done = subprocess.run(
            [*command, "--no-progress"], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}
        )
        assert done.returncode == 1, done.stderr
        assert "no space left" in done.stderr and "Traceback" not in done.stderr + done.stdout
        assert done.stderr.count("\n") <= 2 and list(mount.iterdir()) == []
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_measure_stops_between_cells_when_asked(tmp_path):
    """SIGTERM (through the stop flag) ends the measure loop before the next cell; the next launch resumes."""
    from ecnas import _lifecycle
    from ecnas.build.measure import measure_shard
    from ecnas.build.records import load_records

    out = CliRunner().invoke(
        main,
        ["build", "sample", "--profile", "tiny", "--max-vertices", "3", "--sample-fraction", "1.0",
         "--workdir", str(tmp_path), "--option", "budgets=1"],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    _lifecycle._stop.set()
    try:
        summary = measure_shard(tmp_path, progress=False)
    finally:
        _lifecycle._stop.clear()
    assert summary.measured == 0 and not load_records(tmp_path)
    assert measure_shard(tmp_path, limit=1, progress=False).measured == 1
