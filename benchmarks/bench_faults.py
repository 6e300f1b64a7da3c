"""Replay the integrity and fault cases of issue 14 and count what goes wrong.

Cases, each run the way a hostile or unlucky user would:

- **tampering**: every attribute edit that changes a number (tables: budgets, repeats, units, provenance
  intensity/PUE/method, space, sha256 attributes deleted, ...), invalid values from a file (with and without a
  recomputed checksum), random byte flips of a table, tampered surrogate files (target_scale ×1000, NaN,
  offsets, weights without sha256, ...) and crafted TFRecord files. Detected = refused with a clear error
  (by ``Benchmark``/``ecnas info --verify``, ``SurrogateBundle.load`` or ``ecnas import``);
- **disk full** (root only: a 5 MB tmpfs): ``ecnas import -o``, ``ecnas build fill --out``,
  ``ecnas compare --out``. Crash = a signal or ``Exception ignored``/segfault output; partial = files left;
- **user and environment errors** through the CLI: deeply nested JSON, read-only and unwritable folders,
  a symbolic link loop, a directory given as a table, damaged run and plan files. Traceback = one printed;
- **orphans**: ``kill -9`` and SIGTERM of ``ecnas compare --jobs 2`` and ``ecnas build measure --workers 2``;
  orphan = a worker alive 30 s later; afterwards the next ``build measure`` must not be refused;
- **temporary files** left anywhere in the work folder at the end.

Goal: all tampering detected, and zero crashes, tracebacks, orphans, partial outputs and temporary files.
Run from the repository root: ``.venv/bin/python benchmarks/bench_faults.py [--flips 40] [--keep DIR]``
(about 3-5 minutes on 2 cores; the disk-full, read-only and permission cases need root and are skipped
otherwise, which the output says).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from click.testing import CliRunner  # noqa: E402

from ecnas import Benchmark  # noqa: E402
from ecnas.cli import main  # noqa: E402
from ecnas.errors import EcnasError  # noqa: E402
from ecnas.surrogate import SurrogateBundle  # noqa: E402
from ecnas.table import read_table  # noqa: E402

REFERENCE = Path("/work/shared/data/reference/ecnas_energy_4V9E_linscale.tfrecord")


class Tally:
    """Counters of the summary and the failures behind them."""

    def __init__(self) -> None:
        self.counts = {
            "tampering tried": 0,
            "tampering detected": 0,
            "crashes": 0,
            "tracebacks on user errors": 0,
            "orphaned processes": 0,
            "partial outputs": 0,
            "refused next build": 0,
            "temp files left": 0,
        }
        self.problems: list[str] = []
        self.skipped: list[str] = []

    def tamper(self, name: str, detected: bool) -> None:
        self.counts["tampering tried"] += 1
        self.counts["tampering detected"] += int(detected)
        if not detected:
            self.problems.append(f"tampering not detected: {name}")

    def add(self, key: str, name: str, count: int = 1) -> None:
        if count:
            self.counts[key] += count
            self.problems.append(f"{key}: {name}")


def run_cli(*args: str, timeout: float = 900, user: str | None = None) -> subprocess.CompletedProcess[str]:
    """``ecnas ARGS`` in a fresh interpreter (as ``user`` through setpriv when given)."""
    command = [sys.executable, "-m", "ecnas.cli", *args]
    if user is not None:
        command = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *command]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, cwd="/")


def crashed(done: subprocess.CompletedProcess[str]) -> bool:
    text = done.stdout + done.stderr
    return done.returncode < 0 or done.returncode >= 128 or "Segmentation" in text or "Exception ignored" in text


def has_traceback(done: subprocess.CompletedProcess[str]) -> bool:
    return "Traceback (most recent call last)" in done.stdout + done.stderr


# -- tampering -----------------------------------------------------------------------------------
def _refused_by_verify(path: Path) -> tuple[bool, bool]:
    """(refused cleanly, traceback) of ``Benchmark(path)`` and ``ecnas info --verify``."""
    try:
        Benchmark(path).close()
    except EcnasError:
        return True, False
    except Exception:
        return True, True
    out = CliRunner().invoke(main, ["info", str(path), "--verify"])
    if out.exit_code == 0:
        return False, False
    return True, not isinstance(out.exception, SystemExit)


def tamper_tables(tally: Tally, work: Path, flips: int, seed: int) -> None:
    from tests.integrity_cases import BAD_VALUES, EDITS, as_v1, set_provenance
    from tests.tables import write_synthetic

    for name, edit in EDITS.items():
        path, _ = write_synthetic(work / "edit.h5")
        with h5py.File(path, "r+") as h5:
            edit(h5)
        detected, trace = _refused_by_verify(path)
        tally.tamper(f"table attribute: {name}", detected)
        tally.add("tracebacks on user errors", f"table attribute {name}", int(trace))
    for restamp in (False, True):
        for name, (key, value) in BAD_VALUES.items():
            path, _ = write_synthetic(work / "value.h5")
            if not restamp:
                as_v1(path)
            set_provenance(path, key, value, restamp=restamp)
            detected, trace = _refused_by_verify(path)
            tally.tamper(f"table value ({'v2 restamped' if restamp else 'v1'}): {name}", detected)
            tally.add("tracebacks on user errors", f"table value {name}", int(trace))
    path, _ = write_synthetic(work / "flip-original.h5")
    original = read_table(path)
    data = path.read_bytes()
    rng = np.random.default_rng(seed)
    effective = 0
    for _ in range(flips):
        flipped = bytearray(data)
        position = int(rng.integers(len(flipped)))
        flipped[position] ^= 1 << int(rng.integers(8))
        target = work / "flip.h5"
        target.write_bytes(bytes(flipped))
        detected, trace = _refused_by_verify(target)
        tally.add("tracebacks on user errors", f"byte flip at {position}", int(trace))
        if not detected:
            try:
                same = _same_contents(read_table(target), original)
            except EcnasError:
                same = False
            if same:
                continue  # the flip hit padding or free space: nothing a reader sees changed
        effective += 1
        tally.tamper(f"table byte flip at offset {position}", detected)
    print(f"  byte flips: {flips} tried, {effective} changed what a reader sees")


def _same_contents(a: Any, b: Any) -> bool:
    arrays = [(a.hashes, b.hashes), (a.trainable_parameters, b.trainable_parameters), (a.source, b.source)]
    arrays += [(a.columns[k], b.columns[k]) for k in b.columns]
    arrays += [(a.metrics[k], b.metrics[k]) for k in b.metrics]
    arrays += [(a.uncertainty.get(k), b.uncertainty[k]) for k in b.uncertainty]
    return (
        a.budgets == b.budgets
        and a.repeats == b.repeats
        and a.provenance == b.provenance
        and all(x is not None and np.array_equal(x, y, equal_nan=x.dtype.kind == "f") for x, y in arrays)
    )


def tamper_surrogates(tally: Tally, work: Path) -> Path:
    from tests.integrity_cases import SURROGATE_RESTAMPED, SURROGATE_TAMPERING, fit_small_bundle, tampered

    bundle = fit_small_bundle(work / "surrogates.h5")
    for restamp, cases in ((False, SURROGATE_TAMPERING), (True, SURROGATE_RESTAMPED)):
        for name in cases:
            path = tampered(bundle, work, SURROGATE_TAMPERING[name], restamp=restamp)
            try:
                SurrogateBundle.load(path)
                detected = False
            except EcnasError:
                detected = True
            except Exception as error:
                detected = True
                tally.add("tracebacks on user errors", f"surrogate {name}: {type(error).__name__}")
            tally.tamper(f"surrogate{' (restamped)' if restamp else ''}: {name}", detected)
    return bundle


def tamper_tfrecords(tally: Tally, work: Path) -> None:
    from ecnas.importers._tfrecord import write_records

    deep = ("[" * 50_000 + "]" * 50_000).encode()
    crafted: dict[str, Callable[[Path], None]] = {
        "deeply nested JSON record": lambda p: write_records(p, [deep]),
        "record is a JSON object": lambda p: write_records(p, [b'{"a": 1}']),
        "wrong field types": lambda p: write_records(p, [b'["x", "4", 1, 2, "AAAA"]']),
        "metrics not base64": lambda p: write_records(
            p, [json.dumps(["0" * 32, 4, "0100000", "input,output", "!!!"]).encode()]
        ),
        "empty file": lambda p: p.write_bytes(b""),
    }
    if REFERENCE.is_file():
        raw = REFERENCE.read_bytes()
        crafted["truncated file"] = lambda p: p.write_bytes(raw[: len(raw) // 2 + 7])
        crafted["byte flipped in a payload"] = lambda p: p.write_bytes(raw[:1000] + bytes([raw[1000] ^ 4]) + raw[1001:])
    else:
        tally.skipped.append(f"TFRecord truncation/flip cases: {REFERENCE} not present")
    for name, make in crafted.items():
        source = work / "crafted.tfrecord"
        make(source)
        out = work / "crafted.h5"
        done = run_cli("import", "ecnas", str(source), "-o", str(out), "--force", "--no-progress")
        tally.tamper(f"TFRecord: {name}", done.returncode == 1 and not out.exists())
        tally.add("tracebacks on user errors", f"TFRecord {name}", int(has_traceback(done)))
        tally.add("crashes", f"TFRecord {name}", int(crashed(done)))


# -- disk full, read-only, permissions -----------------------------------------------------------
def _mount(path: Path, options: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    command = ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)]
    return os.geteuid() == 0 and subprocess.run(command, capture_output=True).returncode == 0


def _unmount(path: Path) -> None:
    subprocess.run(["umount", str(path)], capture_output=True)


def disk_full(tally: Tally, work: Path, bundle: Path, table: Path) -> None:
    full = work / "full"
    if not _mount(full, "size=5m"):
        tally.skipped.append("disk full: needs root and mount (a 5 MB tmpfs)")
        return
    try:
        filler = full / "filler"
        with open(filler, "wb") as stream:
            stream.write(b"\0" * (5 * 2**20 - 96 * 2**10))
        cases = {"compare --out": ["compare", "-a", "rs", "-a", "semoa", "--seeds", "2", "--max-evaluations", "200",
                                   "--table", str(table), "--jobs", "2", "--out", str(full / "cmp"), "--no-progress"],
                 "build fill --out": ["build", "fill", "--surrogate", str(bundle), "--max-vertices", "5",
                                      "--out", str(full / "t.h5"), "--no-progress"]}  # fmt: skip
        if REFERENCE.is_file():
            cases["import -o"] = ["import", "ecnas", str(REFERENCE), "-o", str(full / "i.h5"), "--no-progress"]
        for name, args in cases.items():
            done = run_cli(*args)
            left = sorted(p.name for p in full.iterdir() if p != filler)
            print(f"  disk full, {name}: rc {done.returncode}, {done.stderr.strip().splitlines()[-1:]}")
            tally.add("crashes", f"disk full {name}", int(crashed(done)))
            tally.add("tracebacks on user errors", f"disk full {name}", int(has_traceback(done)))
            tally.add("partial outputs", f"disk full {name}: {left}", int(bool(left) or done.returncode == 0))
            for path in full.iterdir():
                if path != filler:
                    shutil.rmtree(path) if path.is_dir() else path.unlink()
    finally:
        _unmount(full)


def user_errors(tally: Tally, work: Path, table: Path, bundle: Path) -> None:
    deep = "[" * 10_000 + "]" * 10_000
    loop = work / "loop.h5"
    loop.unlink(missing_ok=True)
    loop.symlink_to(loop)
    runs = work / "cmp-resume"
    bad_plan = work / "bad-plan"
    bad_plan.mkdir(exist_ok=True)
    (bad_plan / "plan.json").write_text(deep)
    cases: dict[str, tuple[str, ...]] = {
        "--matrix nested 10,000 deep": ("query", "--table", str(table), "--matrix", deep, "--ops", "input,output"),
        "--carbon-intensity 1e400": ("query", "--table", str(table), "--hash", "0" * 32, "--carbon-intensity", "1e400"),
        "directory as table": ("info", str(work)),
        "symlink loop as table": ("info", str(loop)),
        "symlink loop as output": ("import", "ecnas", str(REFERENCE), "-o", str(loop), "--force", "--no-progress"),
        "plan.json nested deep": ("build", "measure", "--workdir", str(bad_plan), "--no-progress"),
    }
    for name, args in cases.items():
        _check_user_error(tally, name, run_cli(*args))
    # a damaged run file under --resume
    done = run_cli("compare", "-a", "rs", "--seeds", "1", "--max-evaluations", "20", "--table", str(table),
                   "--out", str(runs), "--no-progress", "--no-plots")  # fmt: skip
    run_file = runs / "runs" / "rs" / "seed0.json"
    if done.returncode == 0 and run_file.is_file():
        run_file.write_text(deep)
        done = run_cli("compare", "-a", "rs", "--seeds", "1", "--max-evaluations", "20", "--table", str(table),
                       "--out", str(runs), "--resume", "--no-progress", "--no-plots")  # fmt: skip
        _check_user_error(tally, "run file nested deep (--resume)", done, allow_success=True)
    read_only = work / "ro"
    if _mount(read_only, "ro,size=1m"):
        try:
            for name, args in {
                "compare --out read-only": ("compare", "-a", "rs", "--seeds", "1", "--max-evaluations", "20",
                                            "--table", str(table), "--out", str(read_only / "c"), "--no-progress"),
                "build sample read-only": ("build", "sample", "--profile", "tiny", "--max-vertices", "3",
                                           "--sample-fraction", "1", "--workdir", str(read_only / "w")),
                "build fill read-only": ("build", "fill", "--surrogate", str(bundle), "--max-vertices", "4",
                                         "--out", str(read_only / "t.h5"), "--no-progress"),
            }.items():  # fmt: skip
                _check_user_error(tally, name, run_cli(*args))
        finally:
            _unmount(read_only)
    else:
        tally.skipped.append("read-only folder cases: need root and mount")
    private = work / "private"
    private.mkdir(mode=0o700, exist_ok=True)
    if os.geteuid() == 0 and shutil.which("setpriv"):
        for name, args in {
            "compare --out unwritable": ("compare", "-a", "rs", "--seeds", "1", "--max-evaluations", "20",
                                         "--table", str(table), "--out", str(private / "c"), "--no-progress"),
            "build sample unwritable": ("build", "sample", "--profile", "tiny", "--max-vertices", "3",
                                        "--sample-fraction", "1", "--workdir", str(private / "w")),
            "build fill unwritable": ("build", "fill", "--surrogate", str(bundle), "--max-vertices", "4",
                                      "--out", str(private / "t.h5"), "--no-progress"),
        }.items():  # fmt: skip
            _check_user_error(tally, name, run_cli(*args, user="65534"))
    else:
        tally.skipped.append("permission cases: need root and setpriv to run as nobody")


def _check_user_error(
    tally: Tally, name: str, done: subprocess.CompletedProcess[str], allow_success: bool = False
) -> None:
    last = (done.stderr.strip().splitlines() or done.stdout.strip().splitlines() or [""])[-1]
    print(f"  {name}: rc {done.returncode}: {last[:150]}")
    tally.add("tracebacks on user errors", name, int(has_traceback(done)))
    tally.add("crashes", name, int(crashed(done)))
    if done.returncode == 0 and not allow_success:
        tally.problems.append(f"user error accepted: {name}")


# -- orphans -------------------------------------------------------------------------------------
def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        listed = subprocess.run(["pgrep", "-P", str(parent)], capture_output=True, text=True).stdout.split()
        for child in map(int, listed):
            if child not in found:
                found.add(child)
                frontier.append(child)
    return found


def _alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    try:
        return "zombie" not in status.read_text()
    except OSError:
        return False


def orphans(tally: Tally, work: Path, table: Path) -> None:
    plan = work / "orphan-plan"
    run_cli("build", "sample", "--profile", "tiny", "--max-vertices", "4", "--sample-fraction", "1.0",
            "--seed", "0", "--workdir", str(plan))  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for kind, args in {
        # the embedded default table (423,624 cells): runs long enough to be killed mid-way
        "compare --jobs 2": ["compare", "-a", "semoa", "-a", "rs", "--seeds", "4", "--max-evaluations", "50000",
                             "--jobs", "2", "--no-progress", "--out"],
        "build measure --workers 2": ["build", "measure", "--workdir", str(plan), "--workers", "2", "--no-progress"],
    }.items():  # fmt: skip
        for sig in (signal.SIGKILL, signal.SIGTERM):
            extra = [str(work / f"orphan-cmp-{sig.name}")] if kind.startswith("compare") else []
            parent = subprocess.Popen(
                [sys.executable, "-m", "ecnas.cli", *args, *extra],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            time.sleep(15)
            children = _descendants(parent.pid)
            parent.send_signal(sig)
            stderr = parent.communicate(timeout=120)[1]
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and any(_alive(c) for c in children):
                time.sleep(0.5)
            alive = [c for c in children if _alive(c)]
            print(f"  {kind}, {sig.name} of the parent: {len(children)} children, {len(alive)} alive 30 s later")
            tally.add("orphaned processes", f"{kind} after {sig.name}", len(alive))
            for pid in alive:
                os.kill(pid, signal.SIGKILL)
            tally.add("tracebacks on user errors", f"{kind} {sig.name}", int("Traceback" in stderr))
    done = run_cli("build", "measure", "--workdir", str(plan), "--shard", "0/2", "--limit", "1", "--no-progress")
    tally.add("refused next build", done.stderr.strip()[-200:], int(done.returncode != 0))


def main_(argv: list[str] | None = None) -> int:
    """Run every case; print the summary; exit 1 when a goal is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flips", type=int, default=40, help="random byte flips of a table [40]")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, default=None, help="work folder to keep (default: a temporary one)")
    parser.add_argument("--skip-orphans", action="store_true", help="leave out the ~2 min of kill cases")
    args = parser.parse_args(argv)
    tally = Tally()
    work = args.keep or Path(tempfile.mkdtemp(prefix="ecnas-faults-"))
    work.mkdir(parents=True, exist_ok=True)
    work.chmod(0o755)  # the permission cases run as nobody: inputs readable, one folder private
    start = time.perf_counter()
    try:
        from ecnas.testing.optimizers import write_synthetic_table

        table = write_synthetic_table(work / "synthetic_4v.h5", max_vertices=4)
        print("tampering: tables")
        tamper_tables(tally, work, args.flips, args.seed)
        print("tampering: surrogates")
        bundle = tamper_surrogates(tally, work)
        print("tampering: TFRecords")
        tamper_tfrecords(tally, work)
        print("disk full")
        disk_full(tally, work, bundle, table)
        print("user and environment errors")
        user_errors(tally, work, table, bundle)
        if not args.skip_orphans:
            print("orphans")
            orphans(tally, work, table)
        leftovers = [p for p in work.rglob(".*.tmp")]
        tally.add("temp files left", ", ".join(str(p) for p in leftovers[:5]), len(leftovers))
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\nsummary ({time.perf_counter() - start:.0f} s)")
    for key, value in tally.counts.items():
        print(f"  {key:<28} {value}")
    for line in tally.skipped:
        print(f"  skipped: {line}")
    for line in tally.problems:
        print(f"  PROBLEM {line}")
    return 0 if not tally.problems else 1


if __name__ == "__main__":
    sys.exit(main_())
