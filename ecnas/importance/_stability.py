"""How many table rows an importance analysis needs: importances against sample size, over re-samples.

For each size ``s`` and each of ``repeats`` seeds, ``s`` rows are drawn from the table and fANOVA is run on every
objective (individual importances only). Two numbers summarise a size, per objective:

- ``seed_sd``: the largest (over inputs) standard deviation of an input's importance across the re-samples —
  how much a different sample of the same size moves the answer;
- ``max_abs_diff``: the largest (over inputs and re-samples) distance to the reference — the mean
  importances at the largest size — how far a smaller sample is from the best estimate at hand.

The default sample size of :func:`~ecnas.importance.from_table` was chosen from this curve on the embedded
default table (see ``docs/importance.md``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ecnas.importance._data import from_table
from ecnas.importance._fanova import DEFAULT_TREES, fanova

if TYPE_CHECKING:
    from ecnas.benchmark import Benchmark

__all__ = ["stability_curve"]


def stability_curve(
    bench: Benchmark | str | os.PathLike[str] | None = None,
    *,
    sizes: Sequence[int] = (250, 500, 1000, 2000, 4000),
    repeats: int = 3,
    budget: int | None = None,
    objectives: Sequence[str] | str | None = None,
    n_trees: int = DEFAULT_TREES,
    seed: int = 0,
    progress: bool = False,
) -> dict[str, Any]:
    """Importances of every objective for each sample size and re-sample seed.

    Args:
        bench: a table (None = the embedded default table).
        sizes: increasing sample sizes; the largest is the reference.
        repeats: re-samples per size (seeds ``seed, seed + 1, …``; the forest uses the same seed).
        budget: as :func:`~ecnas.importance.from_table`.
        objectives: as :func:`~ecnas.importance.from_table`.
        n_trees: trees per forest.
        seed: first seed.
        progress: show a tqdm bar.

    Returns:
        ``{"sizes", "objectives", "names", "importances": {objective: `sizes x repeats x d` array},
        "seed_sd": {objective: per-size array}, "max_abs_diff": {objective: per-size array},
        "seconds": per-size mean seconds per forest}``.

    Raises:
        ValueError: sizes not increasing integers >= 2, or repeats < 2.
    """
    sizes = [int(s) for s in sizes]
    if not sizes or any(s < 2 for s in sizes) or sorted(set(sizes)) != sizes:
        raise ValueError(f"sizes must be strictly increasing ints >= 2, got {sizes}")
    if not isinstance(repeats, int) or repeats < 2:
        raise ValueError(f"repeats must be an int >= 2 (the spread needs two samples), got {repeats!r}")
    from tqdm.auto import tqdm

    values: dict[str, np.ndarray] = {}
    seconds = np.zeros(len(sizes))
    names: tuple[str, ...] = ()
    with tqdm(total=len(sizes) * repeats, desc="samples", disable=not progress) as bar:
        for i, size in enumerate(sizes):
            for r in range(repeats):
                data = from_table(bench, budget=budget, objectives=objectives, samples=size, seed=seed + r)
                names = data.design.names
                for k, name in enumerate(data.objectives):
                    started = time.perf_counter()
                    imp = fanova(data.design, data.F[:, k], n_trees=n_trees, top_pairs=0, seed=seed + r)
                    seconds[i] += time.perf_counter() - started
                    if name not in values:
                        values[name] = np.zeros((len(sizes), repeats, len(names)))
                    values[name][i, r] = imp.mean
                bar.update(1)
    seconds /= repeats * max(len(values), 1)
    reference = {name: v[-1].mean(axis=0) for name, v in values.items()}
    return {
        "sizes": sizes,
        "objectives": list(values),
        "names": list(names),
        "importances": values,
        "seed_sd": {name: v.std(axis=1).max(axis=1) for name, v in values.items()},
        "max_abs_diff": {name: np.abs(v - reference[name]).max(axis=(1, 2)) for name, v in values.items()},
        "seconds": seconds,
    }
