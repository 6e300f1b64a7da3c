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

import numpy as np

from ecnas.channels import _count_cached, count_parameters, count_parameters_many
from ecnas.space import FEATURE_OP_CODES, INPUT, INTERIOR_OPS, OUTPUT, CellSpec

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
    return cells, *_padded(cells)


def _padded(cells: list[CellSpec]) -> tuple[np.ndarray, np.ndarray]:
    matrices = np.zeros((len(cells), 7, 7), dtype=np.uint8)
    codes = np.zeros((len(cells), 7), dtype=np.int8)
    for i, spec in enumerate(cells):
        size = spec.num_vertices
        matrices[i, :size, :size] = spec.matrix
        codes[i, :size] = [FEATURE_OP_CODES[op] for op in spec.ops]
    return matrices, codes


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

    _count_cached.cache_clear()
    start = time.perf_counter()
    scalar = np.array([count_parameters(spec) for spec in cells], dtype=np.int64)
    cold = time.perf_counter() - start

    warm_cells = cells[: min(count, 50_000)]  # fits the memo (65,536 entries)
    start = time.perf_counter()
    for spec in warm_cells:
        count_parameters(spec)
    warm = (time.perf_counter() - start) / len(warm_cells) * count

    start = time.perf_counter()
    vectorised = count_parameters_many(matrices, codes)
    many = time.perf_counter() - start
    assert np.array_equal(scalar, vectorised), "count_parameters and count_parameters_many disagree"

    import torch

    from ecnas.network import NB101Network

    rng = np.random.default_rng(1)
    sample = [cells[i] for i in rng.choice(count, size=min(args.sample, count), replace=False)]
    start = time.perf_counter()
    for spec in sample:
        network = NB101Network(spec)
        assert sum(p.numel() for p in network.parameters() if p.requires_grad) == count_parameters(spec)
    module = (time.perf_counter() - start) / len(sample) * count
    start = time.perf_counter()
    for spec in sample:
        with torch.device("meta"):
            NB101Network(spec)
    meta = (time.perf_counter() - start) / len(sample) * count

    print(f"parameter range: {scalar.min():,} .. {scalar.max():,}")
    rows = [
        ("NB101Network + numel (baseline, extrapolated)", module),
        ("NB101Network on meta device (extrapolated)", meta),
        ("count_parameters, memo cleared", cold),
        ("count_parameters, memoised (extrapolated)", warm),
        ("count_parameters_many (vectorised)", many),
    ]
    for name, seconds in rows:
        print(f"{name:<48} {seconds:10.2f} s  {seconds / count * 1e6:9.2f} us/cell  x{module / seconds:10.0f}")


if __name__ == "__main__":
    main()
