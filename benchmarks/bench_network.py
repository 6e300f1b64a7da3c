"""Trainable-parameter counts for the whole NB101 space: analytic vs instantiating the module.

Prints, for every cell of the space (423,624 with the enumerator; a same-sized set of distinct random
cells when ``ecnas.enumeration`` is not available):
- ``count_parameters`` per CellSpec (pure Python, memo cleared first), and a memoised second pass,
- ``count_parameters_many`` over the zero-padded `N x 7 x 7` arrays (vectorised numpy),
- the baseline: building ``NB101Network`` and summing ``numel`` (timed on a sample, extrapolated),
with ratios against the baseline measured in the same run.

Run: ``.venv/bin/python benchmarks/bench_network.py [--sample 20] [--limit N]``
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from ecnas.channels import _count_cached, count_parameters, count_parameters_many
from ecnas.space import INPUT, INTERIOR_OPS, OUTPUT, CellSpec, pad_cells

SPACE_SIZE = 423_624


def _random_distinct_cells(count: int, seed: int) -> tuple[list[CellSpec], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    seen: set[tuple[bytes, tuple[str, ...]]] = set()
    cells: list[CellSpec] = []
    while len(cells) < count:
        # A pruned cell by construction: every vertex gets a predecessor and a successor.
        size = int(rng.integers(2, 8))
        matrix = np.triu(rng.random((size, size)) < rng.uniform(0.2, 0.6), 1).astype(np.int8)
        for v in range(1, size):
            if not matrix[:v, v].any():
                matrix[rng.integers(0, v), v] = 1
        for v in range(size - 1):
            if not matrix[v, v + 1 :].any():
                matrix[v, rng.integers(v + 1, size)] = 1
        if matrix.sum() > 9:
            continue
        ops = (INPUT, *(INTERIOR_OPS[i] for i in rng.integers(0, 3, size - 2)), OUTPUT)
        key = (matrix.tobytes(), ops)
        if key not in seen:
            seen.add(key)
            cells.append(CellSpec(matrix, ops))
    return cells, *pad_cells(cells)


def _load(limit: int | None) -> tuple[str, list[CellSpec], np.ndarray, np.ndarray]:
    try:
        from ecnas.space import enumerate_space

        start = time.perf_counter()
        space = enumerate_space()
        matrices, codes = np.asarray(space.matrices), np.asarray(space.op_codes)
        count = len(space) if limit is None else min(limit, len(space))
        cells = [space.cell(i) for i in range(count)]
        label = f"enumerated space ({len(space):,} cells, loaded in {time.perf_counter() - start:.1f} s)"
        return label, cells, matrices[:count], codes[:count]
    except (ImportError, AttributeError) as error:
        count = SPACE_SIZE if limit is None else limit
        start = time.perf_counter()
        cells, matrices, codes = _random_distinct_cells(count, seed=0)
        label = (
            f"{count:,} distinct random cells (enumerator unavailable: {error}; "
            f"built in {time.perf_counter() - start:.1f} s)"
        )
        return label, cells, matrices, codes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=10, help="cells for the module-instantiation baseline")
    parser.add_argument("--limit", type=int, default=None, help="only the first N cells (quick runs)")
    args = parser.parse_args()

    label, cells, matrices, codes = _load(args.limit)
    count = len(cells)
    print(f"cells: {label}")

    def timed(function: Callable[[], object]) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        function()
        return time.perf_counter() - wall, time.process_time() - cpu

    results: dict[str, np.ndarray] = {}
    _count_cached.cache_clear()
    cold = timed(lambda: results.setdefault("scalar", np.array([count_parameters(c) for c in cells], np.int64)))

    warm_cells = cells[: min(count, 50_000)]  # fits the memo (65,536 entries)
    _count_cached.cache_clear()
    for spec in warm_cells:
        count_parameters(spec)
    warm = timed(lambda: [count_parameters(spec) for spec in warm_cells])
    warm = (warm[0] / len(warm_cells) * count, warm[1] / len(warm_cells) * count)

    many = timed(lambda: results.setdefault("many", count_parameters_many(matrices, codes)))
    scalar = results["scalar"]
    assert np.array_equal(scalar, results["many"]), "count_parameters and count_parameters_many disagree"

    import torch

    from ecnas.network import NB101Network

    rng = np.random.default_rng(1)
    sample = [cells[i] for i in rng.choice(count, size=min(args.sample, count), replace=False)]

    def build_and_count() -> None:
        for spec in sample:
            network = NB101Network(spec)
            assert sum(p.numel() for p in network.parameters() if p.requires_grad) == count_parameters(spec)

    def build_on_meta() -> None:
        for spec in sample:
            with torch.device("meta"):
                NB101Network(spec)

    module = tuple(t / len(sample) * count for t in timed(build_and_count))
    meta = tuple(t / len(sample) * count for t in timed(build_on_meta))

    print(f"parameter range: {scalar.min():,} .. {scalar.max():,}")
    rows = [
        ("NB101Network + numel (baseline, extrapolated)", module),
        ("NB101Network on meta device (extrapolated)", meta),
        ("count_parameters, memo cleared", cold),
        ("count_parameters, memoised (extrapolated)", warm),
        ("count_parameters_many (vectorised)", many),
    ]
    print(f"{'':<48} {'wall s':>10} {'cpu s':>10} {'cpu us/cell':>12} {'speed-up (cpu)':>15}")
    for name, (wall, cpu) in rows:
        print(f"{name:<48} {wall:10.2f} {cpu:10.2f} {cpu / count * 1e6:12.2f} {module[1] / cpu:14.0f}x")


if __name__ == "__main__":
    main()
