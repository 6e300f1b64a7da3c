"""pymoo adapter: NSGA-II through pymoo.optimize.minimize on a table; infeasible decodings are never scored."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.optimize import minimize

from ecnas.benchmark import Benchmark
from ecnas.optimizers import as_pymoo_problem, reference_point
from ecnas.optimizers._pymoo import TableSampling


def test_nsga2_runs_on_a_table(real_table: Path) -> None:
    with Benchmark(real_table) as bench:
        problem = as_pymoo_problem(bench)
        assert problem.n_var == 10 + 3 and problem.n_obj == 2  # 5 vertices: 10 edges, 3 interior ops
        outcome = minimize(problem, NSGA2(pop_size=20, sampling=TableSampling()), ("n_gen", 8), seed=1)
        assert outcome.F is not None and outcome.F.shape[1] == 2
        assert (outcome.G <= 0).all()  # pymoo reports feasible solutions only
        for x, f in zip(outcome.X, outcome.F, strict=True):
            row = problem.decode(x)
            assert row >= 0
            truth = bench.query(problem.space.hash(row), budget=4)
            assert np.allclose(f, [1 - truth["validation_accuracy"], truth["energy_kwh"]])
        result = problem.result(algorithm="nsga2", seed=1)
        assert len(result) == 20 * 8 - problem.rejections["invalid"] - problem.rejections["not_in_table"]
        assert result.front.shape[0] >= 1 and result.hypervolume(reference_point(bench)) > 0


def test_default_real_operators_and_infeasible_vectors(real_table: Path) -> None:
    with Benchmark(real_table) as bench:
        problem = as_pymoo_problem(bench)
        outcome = minimize(problem, NSGA2(pop_size=16), ("n_gen", 4), seed=3)
        assert outcome.F is not None
        assert problem.rejections["invalid"] > 0  # random vectors often decode to invalid cells
        # an invalid vector (no path input→output) gets G = 1 and the reference point, never zero energy
        invalid = np.zeros(problem.n_var)
        out: dict = {}
        before = bench.counters["queries"]
        problem._evaluate(invalid[None, :], out)
        assert out["G"][0, 0] > 0 and np.allclose(out["F"][0], reference_point(bench))
        assert bench.counters["queries"] == before  # not queried, not scored
        # encode / decode round trip over table cells
        for row in range(0, len(problem.space), 97):
            assert problem.decode(problem.encode(row)) == row
