"""Query micro-benchmark of one table and view: open, query p50/p99, query_many(100,000), pareto_front.

To compare two versions of ecnas on the same machine, run it alternately under each checkout (interleaved runs
share the same background load), e.g. for the code before issue 15::

    git archive f9f1027 ecnas | tar -x -C /tmp/before
    for i in 1 2 3; do
        PYTHONPATH=/tmp/before python benchmarks/bench_query.py data/ecnas-tiny-7v.h5
        PYTHONPATH=$PWD python benchmarks/bench_query.py data/ecnas-tiny-7v.h5
    done

Prints one JSON line (times in ms / µs); ``--view`` needs an ecnas with views (issue 15).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import ecnas
from ecnas.benchmark import Benchmark


def main() -> None:
    """Parse arguments, measure, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("table")
    parser.add_argument("--view", default=None, help="measured or surrogate (default: the Benchmark's default)")
    parser.add_argument("--queries", type=int, default=20_000)
    args = parser.parse_args()
    kwargs = {} if args.view is None else {"view": args.view}
    start = time.perf_counter()
    bench = Benchmark(args.table, **kwargs)
    opened = time.perf_counter() - start
    rng = np.random.default_rng(0)
    keys = bench.hashes
    picks = [keys[i] for i in rng.integers(0, len(keys), args.queries)]
    bench.query(picks[0])
    latencies = []
    for key in picks:
        start = time.perf_counter_ns()
        bench.query(key)
        latencies.append(time.perf_counter_ns() - start)
    micro = np.array(latencies) / 1e3
    many = np.array([keys[i] for i in rng.integers(0, len(keys), 100_000)])
    bench.query_many(many[:10])
    best = np.inf
    for _ in range(5):
        start = time.perf_counter()
        bench.query_many(many)
        best = min(best, time.perf_counter() - start)
    start = time.perf_counter()
    bench.pareto_front()
    front = time.perf_counter() - start
    print(
        json.dumps(
            {
                "ecnas": ecnas.__file__,
                "table": args.table,
                "view": args.view or "default",
                "open_ms": round(opened * 1e3, 1),
                "query_p50_us": round(float(np.percentile(micro, 50)), 2),
                "query_p99_us": round(float(np.percentile(micro, 99)), 2),
                "query_many_100k_ms": round(best * 1e3, 1),
                "pareto_front_s": round(front, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
