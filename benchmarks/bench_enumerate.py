"""Benchmark: enumerating the whole NB101 space (≤7 vertices) against NB101's own generate_graphs.py loop.

Run::

    .venv/bin/python benchmarks/bench_enumerate.py [--sample-matrices 60] [--sample-counters 20000] [--seed 0]

Prints, all measured in this run:
- ecnas: ``enumerate_cells(7, use_cache=False)`` wall and CPU time, cell count, peak RSS; the same with
  ``n_jobs=2``;
- baseline: NB101's approach (a pure-Python loop over every counter → matrix, then every labelling
  md5-hashed with NB101's ``hash_module``, first seen kept), timed on a fixed random sample of the valid
  matrices of each vertex count (× all their labellings) and of the counters, extrapolated to the whole
  space;
- ecnas on the same sample (same hashes and representatives asserted), and the ratios.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import os
import resource
import time

import numpy as np

from ecnas import enumeration
from ecnas.enumeration import enumerate_cells

FULL_SPACE = 423_624


# ------------------------------------------------------------------ NB101's generate_graphs.py / graph_util.py
def gen_is_edge_fn(bits):
    def is_edge(x, y):
        return (bits >> (x + (y * (y - 1) // 2))) % 2 == 1 and x < y

    return np.vectorize(is_edge)


def is_full_dag(matrix):
    shape = np.shape(matrix)
    rows_bad = np.any(np.all(matrix[: shape[0] - 1, :] == 0, axis=1))
    cols_bad = np.any(np.all(matrix[:, 1:] == 0, axis=0))
    return (not rows_bad) and (not cols_bad)


def hash_module(matrix, labeling):
    vertices = np.shape(matrix)[0]
    in_edges = np.sum(matrix, axis=0).tolist()
    out_edges = np.sum(matrix, axis=1).tolist()
    hashes = list(zip(out_edges, in_edges, labeling, strict=True))
    hashes = [hashlib.md5(str(h).encode("utf-8")).hexdigest() for h in hashes]
    for _ in range(vertices):
        new_hashes = []
        for v in range(vertices):
            in_neighbors = [hashes[w] for w in range(vertices) if matrix[w, v]]
            out_neighbors = [hashes[w] for w in range(vertices) if matrix[v, w]]
            new_hashes.append(
                hashlib.md5(
                    ("".join(sorted(in_neighbors)) + "|" + "".join(sorted(out_neighbors)) + "|" + hashes[v]).encode(
                        "utf-8"
                    )
                ).hexdigest()
            )
        hashes = new_hashes
    return hashlib.md5(str(sorted(hashes)).encode("utf-8")).hexdigest()


def baseline_matrix_loop(vertices, counters, max_edges=9):
    """NB101's outer loop body for the given counters: build the matrix, keep it if valid."""
    kept = []
    for bits in counters:
        # NB101 passes dtype=np.int8; NumPy 2 rejects `bits >> int8` for large counters, so int64 + cast.
        matrix = np.fromfunction(gen_is_edge_fn(bits), (vertices, vertices), dtype=np.int64).astype(np.int8)
        if not is_full_dag(matrix) or np.sum(matrix) > max_edges:
            continue
        kept.append(matrix)
    return kept


def baseline_hash_loop(matrices, buckets):
    """NB101's inner loop: every labelling of every matrix hashed, first (matrix, labeling) per hash kept."""
    for matrix in matrices:
        vertices = matrix.shape[0]
        for labeling in itertools.product(*[range(3) for _ in range(vertices - 2)]):
            labeling = [-1, *labeling, -2]
            fingerprint = hash_module(matrix, labeling)
            if fingerprint not in buckets:
                buckets[fingerprint] = (matrix.tolist(), labeling)
    return buckets


# ------------------------------------------------------------------------------------------------- helpers
def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def timed(function, *args):
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample-matrices", type=int, default=60, help="valid matrices sampled per vertex count")
    parser.add_argument("--sample-counters", type=int, default=20_000, help="7-vertex counters sampled")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    rss_before = peak_rss_mib()

    # --- ecnas, whole space, no cache: one process, then two
    space, wall, cpu = timed(lambda: enumerate_cells(7, use_cache=False))
    rss = peak_rss_mib()
    assert len(space) == FULL_SPACE, len(space)
    print(
        f"ecnas enumerate_cells(7): {len(space):,} cells in {wall:.1f} s wall ({cpu:.1f} s CPU); "
        f"peak RSS {rss:.0f} MiB (before: {rss_before:.0f} MiB)"
    )
    hashes = space.hash_bytes
    del space
    wall_start, cpu_start = time.perf_counter(), time.process_time()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    space = enumerate_cells(7, use_cache=False, n_jobs=2)
    wall2 = time.perf_counter() - wall_start
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu2 = (
        time.process_time()
        - cpu_start
        + (children.ru_utime + children.ru_stime)
        - (children_before.ru_utime + children_before.ru_stime)
    )
    assert np.array_equal(space.hash_bytes, hashes)
    print(
        f"ecnas enumerate_cells(7, n_jobs=2): same cells in {wall2:.1f} s wall ({cpu2:.1f} s CPU, workers included); "
        f"peak RSS {peak_rss_mib():.0f} MiB, workers {children.ru_maxrss / 1024:.0f} MiB"
    )
    del space, hashes

    # --- baseline on a sample, extrapolated; ecnas on the same sample
    baseline_total = ecnas_sample_total = baseline_sample_total = 0.0
    for vertices in range(2, 8):
        valid = enumeration._candidate_matrices(vertices, 9)
        size = min(args.sample_matrices, valid.shape[0])
        chosen = np.sort(rng.choice(valid.shape[0], size=size, replace=False))
        sample = valid[chosen]
        buckets, _, base_cpu = timed(baseline_hash_loop, [m.astype(np.int8) for m in sample], {})
        labelings = enumeration._labelings(vertices)

        def ecnas_sample(sample=sample, labelings=labelings):
            matrix_index, labeling_index = enumeration._reduced_candidates(sample, labelings)
            hashes, first = enumeration._first_seen(sample[matrix_index], labelings[labeling_index])
            return {
                h.decode(): (sample[matrix_index[i]].tolist(), labelings[labeling_index[i]].tolist())
                for h, i in zip(hashes, first, strict=True)
            }

        ours, _, our_cpu = timed(ecnas_sample)
        assert ours == buckets, f"{vertices} vertices: ecnas and NB101 disagree on the sample"
        extrapolated = base_cpu * valid.shape[0] / size
        baseline_total += extrapolated
        ecnas_sample_total += our_cpu
        baseline_sample_total += base_cpu
        print(
            f"  {vertices} vertices: sample {size}/{valid.shape[0]} matrices × {labelings.shape[0]} labellings: "
            f"NB101 loop {base_cpu:.2f} s CPU (→ {extrapolated:.1f} s for all), ecnas {our_cpu:.3f} s CPU, "
            f"same {len(buckets):,} first-seen cells"
        )
    counters = rng.choice(1 << 21, size=args.sample_counters, replace=False)
    _, _, loop_cpu = timed(baseline_matrix_loop, 7, counters.tolist())
    all_counters = sum(1 << (v * (v - 1) // 2) for v in range(2, 8))
    matrix_loop = loop_cpu * all_counters / args.sample_counters
    baseline_total += matrix_loop
    print(
        f"  NB101 counter→matrix loop: {args.sample_counters:,} of {all_counters:,} counters in {loop_cpu:.2f} s CPU "
        f"(→ {matrix_loop:.1f} s for all)"
    )
    print(f"baseline (NB101 generate_graphs.py loop), extrapolated to the whole space: {baseline_total:.0f} s CPU")
    print(
        f"speed-up, whole space, CPU time: ×{baseline_total / cpu:.0f} (baseline {baseline_total:.0f} s / ecnas "
        f"{cpu:.1f} s); baseline CPU / ecnas wall: ×{baseline_total / wall:.0f} (1 process), "
        f"×{baseline_total / wall2:.0f} (2 processes)"
    )
    print(
        f"on the samples alone (small batches, so ecnas's fixed costs weigh more): "
        f"×{baseline_sample_total / ecnas_sample_total:.0f} by CPU time"
    )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
