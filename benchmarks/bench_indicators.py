"""Speed of ecnas.indicators against the baselines it must match, measured in the same run.

- hypervolume: ecnas (validation + moocore) vs moocore.hypervolume vs pymoo's HV indicator;
- 2-D hypervolume contributions: ecnas (moocore's C sweep) vs the same exact sweep vectorised in numpy
  (kept here to justify delegating to moocore);
- hypervolume trace over an optimizer history: ecnas (incremental) vs recomputing moocore after each
  evaluation (and pymoo's HV for the smaller sizes).

Every ecnas result is checked against its baseline before timing. Run:
``.venv/bin/python benchmarks/bench_indicators.py [--quick]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import moocore
import numpy as np
from pymoo.indicators.hv import HV

from ecnas import indicators


def best_time(fn: Callable[[], object], repeat: int, min_time: float = 0.05) -> float:
    """Best per-call seconds over `repeat` rounds, each looping until `min_time` has elapsed."""
    best = np.inf
    for _ in range(repeat):
        calls, start = 0, time.perf_counter()
        while True:
            fn()
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_time:
                break
        best = min(best, elapsed / calls)
    return best


def histories(n: int, m: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    uniform = rng.random((n, m))  # most points end up dominated, as in a search history
    simplex = rng.dirichlet(np.ones(m), size=n)  # every point non-dominated: the worst case for a front
    return {"uniform": uniform, "all non-dominated": simplex}


def fmt(seconds: float) -> str:
    return f"{seconds * 1e6:10.1f} µs" if seconds < 1e-2 else f"{seconds * 1e3:10.1f} ms"


def bench_hypervolume(sizes: list[int], repeat: int) -> None:
    print("\n== hypervolume(F, ref), 2 objectives ==")
    print(
        f"{'n':>7} {'history':>18} {'ecnas':>13} {'moocore':>13} {'pymoo HV':>13} "
        f"{'ecnas/moocore':>14} {'pymoo/ecnas':>12}"
    )
    ref = np.ones(2)
    for n in sizes:
        for name, F in histories(n, 2, seed=n).items():
            hv_pymoo = HV(ref_point=ref)
            assert np.isclose(indicators.hypervolume(F, ref), moocore.hypervolume(F, ref=ref))
            assert np.isclose(indicators.hypervolume(F, ref), hv_pymoo(F))
            t_e = best_time(lambda F=F: indicators.hypervolume(F, ref), repeat)
            t_m = best_time(lambda F=F: moocore.hypervolume(F, ref=ref), repeat)
            t_p = best_time(lambda F=F, hv=hv_pymoo: hv(F), repeat)
            print(f"{n:>7} {name:>18} {fmt(t_e)} {fmt(t_m)} {fmt(t_p)} {t_e / t_m:14.2f} {t_p / t_e:12.2f}")


def numpy_sweep_contributions(points: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Exact 2-D contributions in numpy: sort once, each front point owns the box up to its neighbours."""
    contrib = np.zeros(points.shape[0])
    inside = np.flatnonzero((points < ref).all(axis=1))
    if inside.size == 0:
        return contrib
    order = inside[np.lexsort((points[inside, 1], points[inside, 0]))]
    f0, f1 = points[order, 0], points[order, 1]
    kept = f1 < np.minimum.accumulate(np.concatenate(([np.inf], f1[:-1])))
    duplicated = np.zeros_like(kept)
    duplicated[:-1] = (f0[1:] == f0[:-1]) & (f1[1:] == f1[:-1])
    x, y = f0[kept], f1[kept]
    values = (np.append(x[1:], ref[0]) - x) * (np.insert(y[:-1], 0, ref[1]) - y)
    values[duplicated[kept]] = 0.0
    contrib[order[kept]] = values
    return contrib


def bench_contributions(sizes: list[int], repeat: int) -> None:
    print("\n== hypervolume_contributions(F, ref), 2 objectives ==")
    print(f"{'n':>7} {'history':>18} {'ecnas':>13} {'moocore':>13} {'numpy sweep':>13} {'numpy/ecnas':>12}")
    ref = np.ones(2)
    for n in sizes:
        for name, F in histories(n, 2, seed=n + 1).items():
            expected = moocore.hv_contributions(F, ref=ref)
            np.testing.assert_allclose(indicators.hypervolume_contributions(F, ref), expected, rtol=1e-12)
            np.testing.assert_allclose(numpy_sweep_contributions(F, ref), expected, rtol=1e-12, atol=1e-15)
            t_e = best_time(lambda F=F: indicators.hypervolume_contributions(F, ref), repeat)
            t_m = best_time(lambda F=F: moocore.hv_contributions(F, ref=ref), repeat)
            t_n = best_time(lambda F=F: numpy_sweep_contributions(F, ref), repeat)
            print(f"{n:>7} {name:>18} {fmt(t_e)} {fmt(t_m)} {fmt(t_n)} {t_n / t_e:12.2f}")


def recompute_trace(F: np.ndarray, hv: Callable[[np.ndarray], float]) -> np.ndarray:
    return np.array([hv(F[: t + 1]) for t in range(F.shape[0])])


def bench_trace(sizes: list[int], m: int, pymoo_max: int) -> None:
    print(f"\n== hypervolume_trace(F_history, ref), {m} objectives (one run each) ==")
    print(
        f"{'n':>7} {'history':>18} {'ecnas':>13} {'moocore each step':>18} {'pymoo each step':>16} "
        f"{'speed-up vs moocore':>20}"
    )
    ref = np.ones(m)
    for n in sizes:
        for name, F in histories(n, m, seed=n + 2).items():
            start = time.perf_counter()
            trace = indicators.hypervolume_trace(F, ref)
            t_e = time.perf_counter() - start
            start = time.perf_counter()
            expected = recompute_trace(F, lambda P, ref=ref: moocore.hypervolume(P, ref=ref))
            t_m = time.perf_counter() - start
            np.testing.assert_allclose(trace, expected, rtol=1e-9, atol=1e-12)
            if n <= pymoo_max:
                hv_pymoo = HV(ref_point=ref)
                start = time.perf_counter()
                recompute_trace(F, hv_pymoo)
                t_p = fmt(time.perf_counter() - start)
            else:
                t_p = "skipped"
            print(f"{n:>7} {name:>18} {fmt(t_e)} {fmt(t_m):>18} {t_p:>16} {t_m / t_e:20.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    args = parser.parse_args()
    repeat = 3 if args.quick else 5
    sizes = [100, 1000] if args.quick else [100, 1000, 10000]
    bench_hypervolume(sizes, repeat)
    bench_contributions(sizes, repeat)
    trace_sizes = [500, 2000] if args.quick else [1000, 5000]
    bench_trace(trace_sizes, 2, pymoo_max=2000)
    bench_trace([300] if args.quick else [1000], 3, pymoo_max=0)


if __name__ == "__main__":
    main()
