"""Energy meters: construction time against a plain CarbonTracker, and overhead on a CPU training loop.

    .venv/bin/python benchmarks/bench_energy.py [--seconds 10] [--repeats 3]

Prints:
1. construction time of a plain ``CarbonTracker(epochs=1)`` (after its import) next to ``auto_meter()``
   on this machine and a ``CarbontrackerMeter`` on a fake powercap tree, and the threads each leaves;
2. per-measurement fixed cost (entering + leaving ``measure()`` around an empty block);
3. overhead on a ~``--seconds`` torch training loop: wall and CPU time bare vs metered (interleaved,
   medians; wall time is at the mercy of the shared machine, CPU time much less), and the direct figure
   (fixed cost + CPU used by the sampler thread) / loop time, which noise cannot blur. Target: <= 1 %.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import tempfile
import threading
import time
from pathlib import Path

import psutil

from ecnas.energy import CarbontrackerMeter, auto_meter
from ecnas.testing.fake_power import FakeNvml, FakePowercap, patched_nvml


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def new_threads(before):
    return sorted(t.name for t in set(threading.enumerate()) - before)


def bench_construction(tree_root):
    print("== construction ==")
    t_import, _ = timed(lambda: __import__("carbontracker.tracker"))
    print(f"import carbontracker.tracker (once per process): {t_import:.3f} s")
    from carbontracker.tracker import CarbonTracker

    before = set(threading.enumerate())
    with contextlib.redirect_stdout(io.StringIO()):
        t_plain, tracker = timed(lambda: CarbonTracker(epochs=1, verbose=0, log_dir=None, ignore_errors=True))
    left = new_threads(before)
    print(f"plain CarbonTracker(epochs=1):                    {t_plain:.3f} s, threads started: {left}")
    with contextlib.redirect_stdout(io.StringIO()):
        tracker.tracker.stop()
        tracker.intensity_stopper.set()
    before = set(threading.enumerate())
    t_auto, meter = timed(auto_meter)
    print(
        f"ecnas auto_meter() on this machine:               {t_auto:.4f} s -> {meter.method}, "
        f"threads left: {new_threads(before)}"
    )
    with patched_nvml(FakeNvml(init_error="no NVML (fake)")):
        t_ct, ct_meter = timed(lambda: CarbontrackerMeter(rapl_dir=tree_root))
    print(
        f"ecnas CarbontrackerMeter on fake RAPL (probe):    {t_ct:.4f} s -> {ct_meter.method}, "
        f"threads left: {new_threads(before)}"
    )
    return meter, ct_meter


def fixed_cost(meter, n=30):
    costs = []
    for _ in range(n):
        start = time.perf_counter()
        with meter.measure():
            inside = time.perf_counter()
        costs.append((inside - start) + (time.perf_counter() - inside))
    return statistics.median(costs)


def make_training(seconds):
    import torch

    torch.set_num_threads(1)  # one busy thread: spinning OpenMP workers make a shared machine's timings erratic
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(256, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = torch.randn(256, 256), torch.randint(0, 10, (256,))

    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    for _ in range(20):
        step()
    start = time.process_time()
    for _ in range(50):
        step()
    steps = max(1, int(seconds / ((time.process_time() - start) / 50)))
    return (lambda: [step() for _ in range(steps)]), steps


def timed_both(fn):
    """(wall s, process CPU s, result) of ``fn()``; CPU time is what others' load does not inflate."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def sampler_cpu_seconds():
    """CPU seconds used so far by Carbontracker's sampler thread (None if not running)."""
    ids = {t.native_id for t in threading.enumerate() if t.name == "CarbonTrackerThread"}
    return sum(th.user_time + th.system_time for th in psutil.Process().threads() if th.id in ids) if ids else None


def bench_overhead(meters, seconds, repeats):
    print(f"\n== overhead on a ~{seconds:g} s CPU training loop (torch MLP, 1 thread) ==")
    train, steps = make_training(seconds)
    runs = {"bare": [], **{name: [] for name in meters}}
    sampler = []
    for _ in range(repeats):
        runs["bare"].append(timed_both(train)[:2])
        for name, meter in meters.items():

            def metered(meter=meter):
                with meter.measure() as reading:
                    train()
                    cpu = sampler_cpu_seconds()
                if cpu is not None:
                    sampler.append(cpu)
                return reading

            runs[name].append(timed_both(metered)[:2])

    def medians(name):
        return statistics.median(w for w, _ in runs[name]), statistics.median(c for _, c in runs[name])

    bare_wall, bare_cpu = medians("bare")
    print(
        f"{steps} steps; bare: wall {bare_wall:.3f} s, CPU {bare_cpu:.3f} s (medians of {repeats}; "
        f"walls {[round(w, 2) for w, _ in runs['bare']]})"
    )
    for name, meter in meters.items():
        wall, cpu = medians(name)
        direct = fixed_cost(meter)
        extra = statistics.median(sampler) if sampler and name == "carbontracker" else 0.0
        print(
            f"{name:>13}: wall {wall:.3f} s ({100 * (wall - bare_wall) / bare_wall:+.2f} %), "
            f"CPU {cpu:.3f} s ({100 * (cpu - bare_cpu) / bare_cpu:+.2f} %)  |  direct: fixed "
            f"{1000 * direct:.1f} ms + sampler thread CPU {1000 * extra:.1f} ms = "
            f"{100 * (direct + extra) / seconds:.3f} % of a {seconds:g} s loop"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, FakePowercap(Path(tmp) / "powercap") as tree:
        estimate, measured = bench_construction(tree.root)
        print("\n== per-measurement fixed cost (enter + exit, empty block, median of 30) ==")
        print(f"cpu-time estimate: {1000 * fixed_cost(estimate):.2f} ms")
        print(f"carbontracker (fake RAPL, thread start/stop + first window): {1000 * fixed_cost(measured):.2f} ms")
        bench_overhead({"cpu-time": estimate, "carbontracker": measured}, args.seconds, args.repeats)


if __name__ == "__main__":
    main()
