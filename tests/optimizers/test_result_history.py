"""Result.from_history (an outside history as a Result), Result.truncated, stop reasons; parego-hb on small tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ecnas import Benchmark
from ecnas.optimizers import Result, run
from ecnas.optimizers._multifidelity import eta_of_rungs, hyperband_brackets, table_budget


def test_from_history_equals_the_run_it_records(synthetic_table: Path) -> None:
    with Benchmark(synthetic_table) as bench:
        own = run("shemoa", bench, seed=3, max_evaluations=40)
        configs = [bench.space.to_configspace(bench.cell(h)) for h in own.history["hash"]]
        before = dict(bench.counters)
        # SMAC-style fractional budgets map to the table budget at or below them
        budgets = [b * 1.2 if b < bench.budgets[-1] else b for b in own.history["budget"]]
        copy = Result.from_history(bench, configs, budgets, algorithm="outside", seed=3)
        assert bench.counters == before
    np.testing.assert_array_equal(copy.history["hash"], own.history["hash"])
    np.testing.assert_array_equal(copy.history["budget"], own.history["budget"])
    np.testing.assert_allclose(copy.history["F"], own.history["F"])
    np.testing.assert_allclose(copy.history["energy_kwh"], own.history["energy_kwh"])
    np.testing.assert_allclose(copy.front, own.front)


def test_from_history_names_the_bad_entry(synthetic_table: Path) -> None:
    with Benchmark(synthetic_table) as bench:
        good = bench.hash_array[0].decode()
        with pytest.raises(ValueError, match=r"configurations\[1\]"):
            Result.from_history(bench, [good, "f" * 32])
        with pytest.raises(ValueError, match="below the table's smallest budget"):
            Result.from_history(bench, [good], [1])


def test_truncated_at_energy_and_evaluations(synthetic_table: Path) -> None:
    result = run("parego-hb", synthetic_table, seed=0, max_evaluations=60)
    spent = np.cumsum(result.history["energy_kwh"])
    cut = result.truncated(max_energy=float(spent[29]))
    assert len(cut) == 30 and cut.stop_reason == "max_energy"
    assert len(result.truncated(max_evaluations=7)) == 7
    assert result.truncated(max_energy=float(spent[-1]) * 2).stop_reason == result.stop_reason


def test_budget_mapping_and_fitted_eta() -> None:
    assert table_budget((4, 12, 36, 108), 108 / 3**2) == 12
    assert table_budget((1, 2, 4), 4 / 3) == 1 and table_budget((1, 2, 4), 2.0000000001) == 2
    assert eta_of_rungs((1, 2, 4)) == 2 and eta_of_rungs((4, 12, 36, 108)) == 3 and eta_of_rungs((4,)) == 2
    assert hyperband_brackets(3, 2)[0] == [(0, 4), (1, 2), (2, 1)]


def test_stop_reasons_are_recorded(synthetic_table: Path) -> None:
    assert run("semoa", synthetic_table, seed=0, max_evaluations=20).stop_reason == "max_evaluations"
    with Benchmark(synthetic_table) as bench:
        energy = run(
            "parego-hb", bench, seed=0, max_energy=0.5 * run("rs", bench, max_evaluations=5).search_cost["energy_kwh"]
        )
    assert energy.stop_reason == "max_energy" and "kWh" in energy.stop_detail


def test_parego_hb_uses_a_small_table_up_instead_of_stopping_silently(tmp_path: Path) -> None:
    from tests.peers.conftest import MEASURED_4V
    from tests.reference import reference_file

    source = reference_file(MEASURED_4V)
    from click.testing import CliRunner

    from ecnas.cli import main

    path = tmp_path / "4v.h5"
    assert CliRunner().invoke(main, ["import", "ecnas", str(source), "-o", str(path), "--no-progress"]).exit_code == 0
    result = run("parego-hb", path, seed=0)
    # before: 131 of 483 evaluations, 12 cells at 108 epochs, no word why
    assert result.top_budget_evaluations == 91
    assert result.stop_reason == "exhausted" and "every table cell" in result.stop_detail
    pairs = list(zip(result.history["hash"], result.history["budget"], strict=True))
    assert len(set(pairs)) == len(pairs)
