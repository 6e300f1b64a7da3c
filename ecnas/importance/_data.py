"""Inputs of an importance analysis: a table at a budget, an optimizer run's history, or any configurations.

Every input becomes an :class:`ImportanceData`: a :class:`~ecnas.importance.Design` (the encoded
configurations) and the `n x m` objective matrix, with where they came from.

A whole table is too many rows for a forest (NB101: 423,624 cells), so :func:`from_table` samples
``samples`` rows uniformly (seeded). :data:`DEFAULT_SAMPLES` comes from the stability curve measured on the
embedded default table (``benchmarks/bench_importance.py --stability``, reported in ``docs/importance.md``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ecnas.importance._derived import derived_design
from ecnas.importance._design import Design, encode_configurations

if TYPE_CHECKING:
    from ecnas.benchmark import Benchmark
    from ecnas.optimizers import Result

__all__ = ["DEFAULT_SAMPLES", "VIEWS", "ImportanceData", "from_configs", "from_result", "from_table"]

#: Rows sampled from a table by default (see the module docstring).
DEFAULT_SAMPLES = 2000
#: ``configspace``: every ConfigSpace hyperparameter of the space; ``derived``: summaries (NB101 only).
VIEWS: tuple[str, ...] = ("configspace", "derived")


@dataclass(frozen=True)
class ImportanceData:
    """Encoded configurations and their objective values.

    Attributes:
        design: `n` encoded configurations.
        F: `n x m` objective values.
        objectives: `m` objective names.
        directions: `m` of ``"minimize"``/``"maximize"``.
        source: where the rows come from (table, budget, sample size, seed, energy method, view, dropped rows).
    """

    design: Design
    F: np.ndarray
    objectives: tuple[str, ...]
    directions: tuple[str, ...]
    source: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.F.shape != (self.design.n, len(self.objectives)):
            raise ValueError(
                f"F must have shape ({self.design.n}, {len(self.objectives)}) (rows x objectives), got {self.F.shape}"
            )


def _objectives(objectives: Sequence[str] | str | None) -> tuple[str, ...]:
    from ecnas.metrics import check_objectives

    return check_objectives(objectives, minimum=1)


def _check_view(view: str) -> str:
    if view not in VIEWS:
        raise ValueError(f"view must be one of {list(VIEWS)}, got {view!r}")
    return view


def _encode(space: Any, cells: Sequence[Any], view: str) -> Design:
    if view == "derived":
        return derived_design(space, cells)
    return encode_configurations(space.configspace(), [space.to_configspace(cell) for cell in cells])


def _finite_rows(F: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.all(np.isfinite(F), axis=1))


def _open(bench: Benchmark | str | os.PathLike[str] | None) -> Benchmark:
    from ecnas.benchmark import Benchmark

    return bench if isinstance(bench, Benchmark) else Benchmark(bench)


def from_table(
    bench: Benchmark | str | os.PathLike[str] | None = None,
    *,
    budget: int | None = None,
    objectives: Sequence[str] | str | None = None,
    samples: int | None = DEFAULT_SAMPLES,
    seed: int | None = 0,
    view: str = "configspace",
) -> ImportanceData:
    """Sampled rows of a table at one budget.

    Args:
        bench: a :class:`~ecnas.Benchmark` or a table path; None = the embedded default table.
        budget: epochs, one of the table's budgets; None = the largest.
        objectives: names of :data:`ecnas.optimizers.OBJECTIVES` (all minimised); None = EC-NAS's two.
        samples: rows drawn uniformly without replacement; None or more than the table = every row.
        seed: seeds the sample.
        view: ``"configspace"`` or ``"derived"`` (see :data:`VIEWS`).

    Raises:
        ValueError: bad objectives, view, sample size or budget; fewer than 2 rows with finite objectives.
    """
    from ecnas.optimizers import OBJECTIVES

    names, view = _objectives(objectives), _check_view(view)
    bench = _open(bench)
    budget = bench.check_budget(budget)
    if samples is not None and (not isinstance(samples, (int, np.integer)) or isinstance(samples, bool) or samples < 2):
        raise ValueError(f"samples must be an int >= 2 or None (every row), got {samples!r}")
    n = len(bench) if samples is None else min(int(samples), len(bench))
    hashes = bench.sample(n, seed=seed) if n < len(bench) else bench.hashes
    columns = bench.query_many(hashes, budget=budget)
    F = np.stack([OBJECTIVES[name].values(columns) for name in names], axis=1)
    keep = _finite_rows(F)
    if keep.size < 2:
        raise ValueError(f"only {keep.size} sampled rows have finite {list(names)} at budget {budget}")
    space = bench.space.for_table(bench.columns())
    cells = [bench.cell(hashes[i]) for i in keep]
    source = {
        "input": "table",
        "table": str(bench.path),
        "space": space.name,
        "budget": budget,
        "samples": int(n),
        "rows": int(keep.size),
        "dropped_non_finite": int(n - keep.size),
        "seed": seed,
        "view": view,
        "energy_method": sorted(set(np.asarray(columns["energy_method"]).tolist())),
    }
    return ImportanceData(_encode(space, cells, view), F[keep], names, ("minimize",) * len(names), source)


def from_result(
    result: Result | Sequence[Result],
    bench: Benchmark | str | os.PathLike[str] | None = None,
    *,
    view: str = "configspace",
) -> ImportanceData:
    """The evaluated history of one or more optimizer runs (pooled), at each run's target budget.

    Lower-budget evaluations of multi-fidelity runs are left out (they measure another response); a cell
    evaluated several times (several runs) counts once. Configurations are looked up in the table by hash
    (``bench.cell(hash)``).

    Args:
        result: an :class:`ecnas.optimizers.Result` or several with the same objectives and budget.
        bench: the table the runs queried; None = the path recorded in the first result.
        view: ``"configspace"`` or ``"derived"``.

    Raises:
        ValueError: runs disagree on objectives or budget, or fewer than 2 usable evaluations.
    """
    results = [result] if not isinstance(result, Sequence) else list(result)
    if not results:
        raise ValueError("result: no optimizer results given")
    view = _check_view(view)
    first = results[0]
    for other in results[1:]:
        if other.objectives != first.objectives or other.budget != first.budget:
            raise ValueError(
                f"runs disagree: objectives {other.objectives} at budget {other.budget} vs "
                f"{first.objectives} at budget {first.budget}; analyse them separately"
            )
    if bench is None:
        bench = first.table.get("path")
        if not bench:
            raise ValueError("result records no table path; pass the table (bench=...)")
    bench = _open(bench)
    hashes, rows = [], []
    seen: set[str] = set()
    for run in results:
        for i in np.flatnonzero(run.history["budget"] == run.budget):
            key = str(run.history["hash"][i])
            if key not in seen and np.all(np.isfinite(run.history["F"][i])):
                seen.add(key)
                hashes.append(key)
                rows.append(run.history["F"][i])
    if len(hashes) < 2:
        raise ValueError(f"only {len(hashes)} distinct evaluations with finite objectives at the target budget")
    space = bench.space.for_table(bench.columns())
    cells = [bench.cell(h) for h in hashes]
    source = {
        "input": "runs",
        "algorithms": sorted({run.algorithm for run in results}),
        "seeds": [run.seed for run in results],
        "table": str(bench.path),
        "space": space.name,
        "budget": first.budget,
        "rows": len(hashes),
        "evaluations": int(sum(len(run) for run in results)),
        "view": view,
        "energy_method": [str(bench.info().get("provenance", {}).get("energy_method", "unknown"))],
    }
    n_obj = len(first.objectives)
    F = np.array(rows, dtype=np.float64).reshape(len(hashes), n_obj)
    return ImportanceData(_encode(space, cells, view), F, first.objectives, ("minimize",) * n_obj, source)


def from_configs(
    configs: Sequence[Any],
    F: np.ndarray,
    objectives: Sequence[str],
    *,
    space: Any = None,
    configspace: Any = None,
    directions: Sequence[str] | None = None,
    view: str = "configspace",
    source: Mapping[str, Any] | None = None,
) -> ImportanceData:
    """Any evaluated configurations (e.g. a DSNN history): ``configs`` with `n x m` objective values ``F``.

    Args:
        configs: `n` configurations: raw configs of ``space`` (validated by it), or ConfigSpace
            configurations / dicts of ``configspace``.
        F: `n x m` objective values; rows with NaN are dropped.
        objectives: `m` names (free text: they label the output).
        space: an ecnas :class:`~ecnas.spaces.SearchSpace` (or its registered name); or
        configspace: a ``ConfigSpace.ConfigurationSpace`` when there is no ecnas space.
        directions: per objective ``"minimize"`` (default) or ``"maximize"``.
        view: ``"configspace"`` or ``"derived"`` (needs ``space``).
        source: extra description kept with the data.

    Raises:
        ValueError: neither or both of ``space``/``configspace``, shapes disagree, invalid configurations.
    """
    view = _check_view(view)
    if (space is None) == (configspace is None):
        raise ValueError("pass exactly one of space= (an ecnas search space) or configspace= (a ConfigSpace)")
    F = np.asarray(F, dtype=np.float64)
    objectives = tuple(str(o) for o in objectives)
    if F.ndim != 2 or F.shape != (len(configs), len(objectives)):
        raise ValueError(f"F must have shape ({len(configs)}, {len(objectives)}) (configs x objectives), got {F.shape}")
    directions = ("minimize",) * len(objectives) if directions is None else tuple(directions)
    keep = _finite_rows(F)
    if keep.size < 2:
        raise ValueError(f"only {keep.size} configurations have finite objective values; fANOVA needs 2 or more")
    if space is not None:
        if isinstance(space, str):
            from ecnas.spaces import get_space

            space = get_space(space)
        cells = [space.validate(configs[i]) for i in keep]
        design = _encode(space, cells, view)
    else:
        if view != "configspace":
            raise ValueError("view='derived' needs an ecnas space (space=...), not a bare configspace")
        design = encode_configurations(configspace, [configs[i] for i in keep])
    info = {"input": "configs", "rows": int(keep.size), "dropped_non_finite": int(len(configs) - keep.size)}
    info["view"] = view
    info.update(dict(source or {}))
    return ImportanceData(design, F[keep], objectives, directions, info)
