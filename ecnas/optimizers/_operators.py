"""Operators shared by the algorithms: random table rows, variation through the space, multi-objective selection.

Crossover is uniform on the space's box encoding (:meth:`ecnas.spaces.SearchSpace.to_vector`, the one pymoo
searches). Mutation is the table's search space's own (:meth:`ecnas.spaces.SearchSpace.mutate`; for NB101,
NAS-Bench-101's ``mutate_spec``). A child that is invalid, valid but absent from the table (or without
results), or already evaluated is rejected and redrawn — never scored — and counted in the optimizer's
``rejections``. A table that holds only a sample of a larger space (e.g. a continuous hyperparameter space)
maps a valid child absent from it to the closest stored configuration not yet evaluated
(:meth:`~ecnas.optimizers.TableSpace.nearest_row`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import moocore
import numpy as np

from ecnas import indicators

if TYPE_CHECKING:
    from ecnas.optimizers._base import Optimizer
    from ecnas.optimizers._problem import TableSpace

__all__ = ["crossover", "mutate", "random_rows", "rank_parent", "rank_select", "sample_rows", "selection_reference"]

_MAX_ATTEMPTS = 100


def random_rows(
    optimizer: Optimizer, budget: int, n: int, exclude: np.ndarray | set[int] | None = None, *, unseen: bool = False
) -> np.ndarray:
    """Up to ``n`` distinct random rows of the optimizer's search space not yet evaluated at ``budget``.

    Args:
        optimizer: the optimizer (for its generator, search space and bookkeeping).
        budget: epochs the rows will be evaluated at.
        n: how many rows.
        exclude: rows to leave out as well (e.g. already proposed in this batch).
        unseen: also leave out rows evaluated at any other budget.

    Returns:
        Distinct rows (fewer than ``n`` only when the space is exhausted).
    """
    available = optimizer.search_rows()
    blocked = optimizer.seen_mask() if unseen else optimizer.evaluated_mask(budget)
    rng = optimizer.rng
    excluded = set() if exclude is None else {int(r) for r in exclude}
    if available.size == 0 or n <= 0:
        return np.zeros(0, dtype=np.int64)
    # Fast path for large spaces: draw with replacement and drop the rows that are taken.
    draw = available[rng.integers(0, available.size, size=2 * n + 8)]
    chosen: list[int] = []
    for row in draw.tolist():
        if not blocked[row] and row not in excluded:
            excluded.add(row)
            chosen.append(row)
            if len(chosen) == n:
                return np.array(chosen, dtype=np.int64)
    # Slow path: the exact set of free rows.
    free_mask = ~blocked[available]
    if excluded:
        free_mask &= ~np.isin(available, np.fromiter(excluded, dtype=np.int64))
    free = available[free_mask]
    extra = rng.choice(free, size=min(n - len(chosen), free.size), replace=False) if free.size else free
    return np.concatenate([np.array(chosen, dtype=np.int64), extra.astype(np.int64)])


def sample_rows(
    optimizer: Optimizer, budget: int, n: int, exclude: np.ndarray | set[int] | None = None, *, unseen: bool = True
) -> np.ndarray:
    """Up to ``n`` distinct rows drawn from the search space's own prior (:meth:`ecnas.spaces.SearchSpace.sample`).

    The initial design of the algorithms. A table row is not a draw of the space's prior: NB101's prior (a random
    upper-triangular matrix and ops, kept when valid — what ConfigSpace-based optimizers sample) reaches small
    cells far more often than their share of the enumerated table, and on an accuracy/energy trade-off those
    cells make half of the front. Draws that are absent from the table, already evaluated or repeated are
    redrawn without a query and counted in ``optimizer.rejections``; a table holding only a sample of a larger
    space takes the closest stored configuration (:meth:`~ecnas.optimizers.TableSpace.nearest_row`). When the
    prior keeps missing (a nearly exhausted table), the rest are uniform free rows (:func:`random_rows`,
    counted as ``random_fallback``).

    Args:
        optimizer: the optimizer (generator, space, bookkeeping).
        budget: epochs the rows will be evaluated at.
        n: how many rows.
        exclude: rows to leave out as well.
        unseen: also leave out rows evaluated at any other budget.

    Returns:
        Distinct rows (fewer than ``n`` only when the space is exhausted).
    """
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    space = optimizer.space
    rng = optimizer.rng
    available = optimizer.search_mask()
    blocked = optimizer.seen_mask() if unseen else optimizer.evaluated_mask(budget)
    excluded = set() if exclude is None else {int(r) for r in exclude}
    rejections = optimizer.rejections
    chosen: list[int] = []
    for _ in range(_MAX_ATTEMPTS):
        for config in space.search_space.sample(n - len(chosen), rng):
            row = space.config_row(config)
            if row < 0 and not space.holds_every_configuration:
                free = available & ~blocked
                if excluded:
                    free[np.fromiter(excluded, dtype=np.int64)] = False
                row = space.nearest_row(config, free)
            if row < 0 or not available[row]:
                rejections["not_in_table"] += 1
            elif blocked[row] or row in excluded:
                rejections["duplicate"] += 1
            else:
                excluded.add(row)
                chosen.append(row)
        if len(chosen) == n:
            return np.array(chosen, dtype=np.int64)
    rest = random_rows(optimizer, budget, n - len(chosen), excluded, unseen=unseen)
    rejections["random_fallback"] += int(rest.size)
    return np.concatenate([np.array(chosen, dtype=np.int64), rest])


def mutate(
    optimizer: Optimizer,
    parent: int,
    budget: int,
    exclude: set[int] | None = None,
    *,
    rate: float = 1.0,
    unseen: bool = True,
) -> int:
    """A mutant of table row ``parent`` (the space's mutation), not yet evaluated at ``budget``.

    Rejected children (invalid, not in the table, already evaluated or in ``exclude``) are redrawn and
    counted in ``optimizer.rejections``; after 100 rejections a random free row is returned instead
    (counted as ``random_fallback``).

    Args:
        optimizer: the optimizer (generator, space, bookkeeping).
        parent: table row to mutate.
        budget: epochs the child will be evaluated at.
        exclude: rows not to return (e.g. proposed earlier in the same batch).
        rate: expected number of changed components (NB101: flipped edges per vertex and redrawn ops,
            NB101's ``mutation_rate``).
        unseen: reject children evaluated at any budget (else: only at ``budget``).

    Returns:
        A table row, or -1 when the space at ``budget`` is exhausted.
    """
    space = optimizer.space
    search_space = space.search_space
    if not search_space.can_mutate:
        raise search_space.unsupported("has no mutation operator, which this optimizer needs")
    rng = optimizer.rng
    available = optimizer.search_mask()
    blocked = optimizer.seen_mask() if unseen else optimizer.evaluated_mask(budget)
    exclude = exclude if exclude is not None else set()
    rejections = optimizer.rejections
    parent_config = space.cell(parent)
    for _ in range(_MAX_ATTEMPTS):
        child = search_space.mutate(parent_config, rng, rate=rate)
        row = _child_row(space, child, available, blocked, (parent,), exclude, rejections)
        if row >= 0:
            return row
    fallback = random_rows(optimizer, budget, 1, exclude | {parent}, unseen=unseen)
    if fallback.size == 0:
        return -1
    rejections["random_fallback"] += 1
    return int(fallback[0])


def crossover(
    optimizer: Optimizer,
    first: int,
    second: int,
    budget: int,
    *,
    attempts: int = 10,
    unseen: bool = True,
) -> int:
    """A uniform crossover of table rows ``first`` and ``second``, not yet evaluated at ``budget``.

    Each component of the space's box encoding (:meth:`ecnas.spaces.SearchSpace.to_vector`; NB101: the padded
    cell's edges, then its op labels) comes from either parent with probability 1/2. Rejected children (invalid,
    not in the table, already evaluated, or a parent) are redrawn and counted in ``optimizer.rejections``, as for
    :func:`mutate`; a table holding only a sample of a larger space takes the closest free stored configuration.

    Args:
        optimizer: the optimizer (generator, space, bookkeeping).
        first: a parent row.
        second: the other parent row.
        budget: epochs the child will be evaluated at.
        attempts: children drawn before giving up.
        unseen: reject children evaluated at any budget (else: only at ``budget``).

    Returns:
        A table row, or -1 when every attempt was rejected (callers fall back to mutation).
    """
    space = optimizer.space
    search_space = space.search_space
    rng = optimizer.rng
    available = optimizer.search_mask()
    blocked = optimizer.seen_mask() if unseen else optimizer.evaluated_mask(budget)
    rejections = optimizer.rejections
    x, y = search_space.to_vector(space.cell(first)), search_space.to_vector(space.cell(second))
    for _ in range(attempts):
        child = search_space.from_vector(np.where(rng.random(x.size) < 0.5, x, y))
        row = _child_row(space, child, available, blocked, (first, second), set(), rejections)
        if row >= 0:
            return row
    return -1


def _child_row(
    space: TableSpace,
    child: Any,
    available: np.ndarray,
    blocked: np.ndarray,
    parents: tuple[int, ...],
    exclude: set[int],
    rejections: dict[str, int],
) -> int:
    """The table row of a proposed child, or -1 after counting why it was rejected in ``rejections``.

    Rejected: an invalid child (``None``), one the table does not hold, one already evaluated (``blocked``), in
    ``exclude`` or a parent. A sampled table of a larger space offers the closest stored, still free configuration.
    """
    if child is None:
        rejections["invalid"] += 1
        return -1
    row = space.config_row(child)
    if row < 0 and not space.holds_every_configuration:
        free = available & ~blocked
        free[list(parents)] = False
        if exclude:
            free[np.fromiter(exclude, dtype=np.int64)] = False
        row = space.nearest_row(child, free)
        if row >= 0:
            return row
    if row < 0 or not available[row]:
        rejections["not_in_table"] += 1
    elif blocked[row] or row in exclude or row in parents:
        rejections["duplicate"] += 1
    else:
        return row
    return -1


def selection_reference(F: np.ndarray) -> np.ndarray:
    """Reference point for hypervolume-contribution selection: the worst value plus 10 % of the range."""
    worst, best = F.max(axis=0), F.min(axis=0)
    span = np.where(worst > best, worst - best, np.maximum(np.abs(worst), 1.0))
    return worst + 0.1 * span


def rank_parent(rng: np.random.Generator, n: int, pressure: float) -> int:
    """Index of a parent drawn by linear ranking from a population sorted best first.

    The best gets probability ``pressure / n``, the worst ``(2 - pressure) / n`` (1 = uniform).
    """
    if n == 1 or pressure == 1.0:
        return int(rng.integers(n))
    weights = pressure - (2.0 * pressure - 2.0) * np.arange(n) / (n - 1)
    return int(rng.choice(n, p=weights / weights.sum()))


def rank_select(F: np.ndarray, k: int, ref: np.ndarray | None = None, *, ordered: bool = False) -> np.ndarray:
    """Indices of the ``k`` best rows by non-dominated sorting, then hypervolume contribution (SMS-EMOA).

    Whole fronts are taken in rank order; from the front that does not fit, the point with the smallest
    hypervolume contribution is dropped repeatedly (contributions recomputed each time).

    Args:
        F: `n x m` objective values (minimised).
        k: how many to keep.
        ref: reference point for the contributions; default :func:`selection_reference` of ``F``.

        ordered: return the survivors best first (by rank, then decreasing contribution) instead of sorted.

    Returns:
        Indices into ``F`` (all of them when ``k >= n``).
    """
    n = F.shape[0]
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    reference = selection_reference(F) if ref is None else np.asarray(ref, dtype=np.float64)
    ranks = np.asarray(moocore.pareto_rank(F), dtype=np.int64)
    if ordered:
        chosen = rank_select(F, k, reference)
        contributions = np.zeros(chosen.size)
        for rank in np.unique(ranks[chosen]):
            members = ranks[chosen] == rank
            contributions[members] = indicators.hypervolume_contributions(F[chosen[members]], reference)
        return chosen[np.lexsort((-contributions, ranks[chosen]))]
    if k >= n:
        return np.arange(n)
    chosen: list[int] = []
    for rank in range(int(ranks.max()) + 1):
        members = np.flatnonzero(ranks == rank)
        if len(chosen) + members.size <= k:
            chosen.extend(members.tolist())
            if len(chosen) == k:
                break
            continue
        members = list(members)
        while len(chosen) + len(members) > k:
            contributions = indicators.hypervolume_contributions(F[members], reference)
            members.pop(int(np.argmin(contributions)))
        chosen.extend(members)
        break
    return np.sort(np.array(chosen, dtype=np.int64))
