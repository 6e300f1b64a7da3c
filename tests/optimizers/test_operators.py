"""The shared operators on hand-made situations: prior draws for initial designs, exhaustion, paid evaluations."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from ecnas.benchmark import Benchmark
from ecnas.optimizers import SEMOA, get_optimizer
from ecnas.optimizers._operators import crossover, mutate, random_rows, sample_rows


def _vertices(opt: SEMOA, rows: np.ndarray) -> np.ndarray:
    return np.array([opt.space.cell(int(r)).num_vertices for r in rows])


def test_sample_rows_are_distinct_free_table_rows_and_seeded(synthetic_table: Path) -> None:
    with Benchmark(synthetic_table) as bench:
        a = sample_rows(SEMOA(bench, seed=3), bench.budgets[-1], 40)
        b = sample_rows(SEMOA(bench, seed=3), bench.budgets[-1], 40)
        c = sample_rows(SEMOA(bench, seed=4), bench.budgets[-1], 40)
        opt = SEMOA(bench, seed=3)
        assert a.size == 40 and np.unique(a).size == 40
        assert opt.search_mask()[a].all()
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)
        assert sample_rows(opt, bench.budgets[-1], 0).size == 0


def test_sample_rows_follow_the_space_prior_not_the_row_count(synthetic_table: Path) -> None:
    # Of the 2,532 cells with <= 5 vertices only 91 (3.6 %) have <= 4, but NB101's prior (random matrix and
    # ops, kept when valid) prunes to them far more often; uniform rows do not.
    with Benchmark(synthetic_table) as bench:
        opt = SEMOA(bench, seed=0)
        budget = bench.budgets[-1]
        table_share = float((_vertices(opt, opt.search_rows()) <= 4).mean())
        prior_share = float((_vertices(opt, sample_rows(opt, budget, 300)) <= 4).mean())
        uniform_share = float((_vertices(opt, random_rows(SEMOA(bench, seed=0), budget, 300)) <= 4).mean())
    assert table_share == pytest.approx(91 / 2532)
    assert prior_share > 4 * table_share
    assert uniform_share < 2 * table_share


def test_sample_rows_skip_evaluated_rows_and_fall_back_when_the_prior_misses() -> None:
    with Benchmark("ecnas-4v") as bench:
        opt = SEMOA(bench, seed=1, max_evaluations=88)
        opt.run()
        free = np.flatnonzero(opt.search_mask() & ~opt.seen_mask())
        assert free.size == 3
        rows = sample_rows(opt, opt.budget, 10)
        assert sorted(rows.tolist()) == sorted(free.tolist())  # only the free rows, each once
        assert opt.rejections["duplicate"] > 0  # prior draws of evaluated cells were redrawn, never queried


@pytest.mark.parametrize("name", ["semoa", "shemoa", "msehvi"])
def test_duplicates_are_free_and_runs_are_seeded(name: str) -> None:
    with Benchmark("ecnas-4v") as bench:
        kwargs = {} if name == "shemoa" else {"max_evaluations": 30}
        first = get_optimizer(name)(bench, seed=5, **kwargs).run()
        again = get_optimizer(name)(bench, seed=5, **kwargs).run()
    pairs = list(zip(first.history["hash"], first.history["budget"], strict=True))
    assert len(pairs) == len(set(pairs))  # no (cell, budget) pair is paid twice
    assert sum(first.rejections.values()) > 0  # ... although duplicates were proposed (and redrawn for free)
    np.testing.assert_array_equal(first.history["hash"], again.history["hash"])
    top = [h for h, b in pairs if b == first.budget]
    assert first.top_budget_evaluations == len(set(top))


def test_msehvi_prior_candidates_are_an_option(real_table: Path) -> None:
    with Benchmark(real_table) as bench:
        with pytest.raises(ValueError, match="prior_candidates must be an int >= 0"):
            get_optimizer("msehvi")(bench, prior_candidates=-1)
        assert get_optimizer("msehvi")(bench, prior_candidates=7).settings()["prior_candidates"] == 7


def test_shemoa_goes_on_at_the_top_budget_once_every_cell_is_seen() -> None:
    # 91 cells, rungs 4/12/36/108 with eta 3: offspring must be new cells, so generations run out after
    # 13 top-budget evaluations; the rest are evaluated at 108 epochs, best lower-budget values first.
    with Benchmark("ecnas-4v") as bench:
        result = get_optimizer("shemoa")(bench, seed=0).run()
    assert result.top_budget_evaluations == 91
    assert result.stop_reason == "exhausted"
    assert "at the top budget" in result.stop_detail


def test_semoa_population_is_at_most_a_third_of_the_run(real_table: Path) -> None:
    with Benchmark(real_table) as bench:
        assert SEMOA(bench).population_size == 20  # 110 evaluations
        assert SEMOA(bench, max_evaluations=30).population_size == 10
        assert SEMOA(bench, max_evaluations=4).population_size == 2
        assert SEMOA(bench, max_evaluations=30, population_size=12).population_size == 12


def test_crossover_children_take_each_component_from_a_parent(synthetic_table: Path) -> None:
    with Benchmark(synthetic_table) as bench:
        optimizer = SEMOA(bench, seed=3)
        space, search_space = optimizer.space, optimizer.space.search_space
        first = int(sample_rows(optimizer, optimizer.budget, 1)[0])
        x = search_space.to_vector(space.cell(first))
        while True:  # a second parent whose encoding differs in a few components
            second = mutate(optimizer, first, optimizer.budget, rate=0.5)
            y = search_space.to_vector(space.cell(second))
            if 2 <= int((x != y).sum()) <= 8:
                break
        differ = np.flatnonzero(x != y)
        mixes = set()
        for mask in itertools.product([False, True], repeat=differ.size):
            z = x.copy()
            z[differ[list(mask)]] = y[differ[list(mask)]]
            config = search_space.from_vector(z)
            if config is not None:
                mixes.add(search_space.key(config))
        children = [crossover(optimizer, first, second, optimizer.budget) for _ in range(20)]
        keys = {space.hash(child) for child in children if child >= 0}
        assert keys and keys <= mixes - {space.hash(first), space.hash(second)}
        # A row crossed with itself only gives itself back, always rejected: the caller mutates instead.
        before = optimizer.rejections["duplicate"]
        assert crossover(optimizer, first, first, optimizer.budget, attempts=5) == -1
        assert optimizer.rejections["duplicate"] == before + 5


def test_semoa_crossover_rate_zero_is_ec_nas_mutation_only(real_table: Path) -> None:
    with Benchmark(real_table) as bench:
        mutation_only = SEMOA(bench, seed=4, crossover_rate=0.0, max_evaluations=40).run()
        default = SEMOA(bench, seed=4, max_evaluations=40).run()
        with pytest.raises(ValueError, match="crossover_rate"):
            SEMOA(bench, crossover_rate=1.5)
    assert mutation_only.rejections["invalid"] + mutation_only.rejections["duplicate"] > 0
    assert mutation_only.history["hash"].tolist() != default.history["hash"].tolist()
    assert default.settings["crossover_rate"] == 0.5
