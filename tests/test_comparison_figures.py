"""The figures of `compare` on an embedded table: titles name table/budget/view, units, true front, normalised HV."""

from __future__ import annotations

import numpy as np
import pytest

import ecnas
from ecnas import indicators
from ecnas.compare import FIGURES, compare
from ecnas.comparison_figures import figure_context
from ecnas.comparison_report import model_labels, summary_markdown
from ecnas.units import energy_unit, format_value, parameter_unit

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def comparison(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("figures")
    return compare(["rs", "semoa"], seeds=2, table="ecnas-4v-rtx3090", max_evaluations=25, out=out, jobs=1)


def test_context_units_and_true_front(comparison) -> None:
    context = figure_context(comparison)
    assert context.table == "ecnas-4v-rtx3090" and context.budget == 108
    assert context.labels == ("1 − $P_v$", "E (Wh)") and context.scale == (1.0, 1000.0)  # ~0.1–0.6 kWh
    with ecnas.Benchmark("ecnas-4v-rtx3090") as bench:
        front = bench.pareto_front(budget=108)["F"]
    np.testing.assert_array_equal(context.true_front, front)
    assert context.true_hypervolume == pytest.approx(indicators.hypervolume(front, context.ref))
    for runs in comparison.results.values():  # no run beats the exact front of the table
        assert all(r.hypervolume(context.ref) <= context.true_hypervolume * (1 + 1e-12) for r in runs)
    assert context.energy == "E estimated (linear scaling from 4 epochs)"  # 108 epochs of a single-GPU table
    assert "E estimated" in context.caption("view")
    lo, hi = context.radar_ranges["validation_accuracy"]
    assert 0 < lo < hi < 1


def test_every_figure_is_written_and_titled(comparison) -> None:
    for name in FIGURES:
        data = (comparison.out / name).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 20_000, name
    assert set(comparison.files) >= set(FIGURES)


def test_summary_rows_are_named_and_in_readable_units(comparison) -> None:
    markdown = summary_markdown(comparison.summary, comparison.config)
    for label in ("highest accuracy", "lowest energy", "knee"):
        assert markdown.count(f"| {label} |") == 2
    assert "|θ| (M)" in markdown and "E (Wh)" in markdown and "0.00 ± 0.00 |" not in markdown
    assert "25 table queries per run for every algorithm" in markdown


def test_model_labels_follow_objectives() -> None:
    assert model_labels(["validation_error", "energy_kwh"]) == {
        "r0": "highest accuracy",
        "r1": "lowest energy",
        "knee": "knee",
    }
    assert model_labels(["training_time", "test_error"])["r0"] == "shortest training"


def test_display_units_hand_made() -> None:
    assert energy_unit([1e-7, 2e-7]).name == "J" and energy_unit([1e-7]).factor == 3.6e6
    assert energy_unit([0.01, 0.5]).name == "Wh" and energy_unit([3.0, 40.0]).name == "kWh"
    assert energy_unit([]).name == "kWh" and energy_unit([np.nan, 0.0]).name == "kWh"
    assert parameter_unit([5_000, 60_000]).name == "k" and parameter_unit([8e5, 3e7]).name == "M"
    assert format_value(0.00999943345986063) == "0.009999" and format_value(1234567.0) == "1.235e+06"
