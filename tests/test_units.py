"""Display units chosen from the data (no axis multipliers): energy, CO2eq mass, analytic picojoules."""

from __future__ import annotations

import pytest

from ecnas.units import energy_unit, mass_unit, picojoule_unit


@pytest.mark.parametrize(
    ("choose", "values", "name", "factor"),
    [
        (energy_unit, [2.5e-7, 3e-7], "J", 3.6e6),
        (energy_unit, [0.02, 0.03], "Wh", 1e3),
        (energy_unit, [4.0], "kWh", 1.0),
        (mass_unit, [7.1e-6, 1.1e-5], "µg", 1e6),
        (mass_unit, [0.2, 0.5], "mg", 1e3),
        (mass_unit, [12.0], "g", 1.0),
        (picojoule_unit, [1.8e5, 3.2e6], "µJ", 1e-6),
        (picojoule_unit, [1.8e5], "nJ", 1e-3),
        (picojoule_unit, [250.0], "pJ", 1.0),
    ],
)
def test_unit_follows_the_median_magnitude(choose, values, name, factor) -> None:
    unit = choose(values)
    assert (unit.name, unit.factor) == (name, factor)
    assert unit(values)[0] == pytest.approx(values[0] * factor)


def test_zeros_and_nan_do_not_decide() -> None:
    assert mass_unit([0.0, float("nan"), 3e-6]).name == "µg"
    assert mass_unit([]).name == "g"
