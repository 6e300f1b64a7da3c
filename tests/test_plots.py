"""ecnas.plots: data functions on hand-made inputs, and every figure written as a non-blank PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ecnas import indicators, plots

matplotlib = pytest.importorskip("matplotlib")
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.image import imread  # noqa: E402


def synthetic_runs(seed: int, n_runs: int = 5, shift: float = 0.0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    runs = []
    for _ in range(n_runs):
        x = np.sort(rng.random(20))
        energy = 0.02 + 0.6 * (1.0 - np.sqrt(x)) + 0.1 * rng.random(20) + shift
        runs.append(np.c_[0.05 + 0.2 * x, energy])
    return runs


ROWS = {
    "r0": {"training_time": 2555.95, "validation_accuracy": 0.94, "energy_kwh": 0.62, "parameters": 7.26e6},
    "r1": {"training_time": 14.23, "validation_accuracy": 0.52, "energy_kwh": 0.0, "parameters": 5.95e6},
    "knee": {"training_time": 306.9, "validation_accuracy": 0.92, "energy_kwh": 0.07, "trainable_parameters": 6.43e6},
}


def assert_png_not_blank(ax: object, path: Path) -> None:
    ax.figure.savefig(path, dpi=80)
    assert path.stat().st_size > 5_000
    image = imread(path)[..., :3]
    assert image.std() > 0.02
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 20  # lines, fills and text, not one flat colour


# ---------------------------------------------------------------------------------------- images


def test_attainment_png(tmp_path: Path) -> None:
    ax = plots.plot_attainment({"SEMOA": synthetic_runs(0), "RS": synthetic_runs(1, shift=0.1)})
    assert ax.get_xlabel() == "1 − $P_v$" and ax.get_ylabel() == "E (Wh)"  # 0.02–0.8 kWh: shown in Wh
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["SEMOA (50% attainment)", "RS (50% attainment)"]
    assert_png_not_blank(ax, tmp_path / "attainment.png")


def test_front_png(tmp_path: Path) -> None:
    F = np.vstack(synthetic_runs(2, n_runs=3))
    ax = plots.plot_front(F * [1.0, 1e-7])  # tiny-table energies: J, not a 1e-7 axis multiplier
    ax.figure.canvas.draw()
    assert ax.get_ylabel() == "E (J)" and ax.yaxis.get_offset_text().get_text() == ""
    assert 0.05 < ax.get_ylim()[1] < 1.0  # 0.02–0.8 kWh x 1e-7 = 0.007–0.29 J
    assert_png_not_blank(ax, tmp_path / "front.png")


def test_radar_png(tmp_path: Path) -> None:
    ax = plots.plot_radar(ROWS)
    assert ax.name == "polar"
    assert_png_not_blank(ax, tmp_path / "radar.png")


@pytest.mark.parametrize("x", ["evaluations", "energy"])
def test_hypervolume_png(tmp_path: Path, x: str) -> None:
    rng = np.random.default_rng(4)
    traces = {
        name: [
            {"hypervolume": indicators.hypervolume_trace(run, [1.0, 1.0]), "energy_kwh": rng.random(len(run))}
            for run in synthetic_runs(seed)
        ]
        for seed, name in enumerate(["SEMOA", "RS"])
    }
    ax = plots.plot_hypervolume(traces, x=x)
    expected = "Evaluations (table queries)" if x == "evaluations" else "Simulated energy spent E (kWh)"
    assert ax.get_xlabel() == expected
    assert_png_not_blank(ax, tmp_path / f"hv_{x}.png")


def test_plots_draw_into_given_axes() -> None:
    figure = Figure()
    ax = figure.add_subplot()
    assert plots.plot_front(np.array([[0.1, 0.5], [0.2, 0.2]]), ax=ax) is ax
    polar = figure.add_subplot(projection="polar")
    assert plots.plot_radar(ROWS, ax=polar) is polar
    with pytest.raises(ValueError, match="`ax` must be a polar Axes"):
        plots.plot_radar(ROWS, ax=ax)


# ----------------------------------------------------------------------------------- data: attainment


def test_attainment_data_hand_made() -> None:
    runs = [np.array([[1.0, 3.0], [3.0, 1.0]]), np.array([[2.0, 2.0]]), np.array([[4.0, 4.0]])]
    data = plots.attainment_data({"A": runs})
    np.testing.assert_array_equal(data["upper"], [4.0, 4.0])
    x, y = data["curves"]["A"][50.0]
    np.testing.assert_array_equal(x, [2, 2, 3, 3, 4])
    np.testing.assert_array_equal(y, [4, 3, 3, 2, 2])
    x, y = data["curves"]["A"][75.0]  # attained by all three runs: only the corner (4, 4)
    np.testing.assert_array_equal(x, [4, 4, 4])
    with pytest.raises(ValueError, match=r"`results_by_algorithm\['A'\]\[1\]` must have 2 objective"):
        plots.attainment_data({"A": [np.ones((2, 2)), np.ones((2, 3))]})
    with pytest.raises(ValueError, match="non-empty list"):
        plots.attainment_data({"A": []})


# -------------------------------------------------------------------------------------- data: front


def test_front_data_hand_made() -> None:
    F = np.array([[0.0, 1.0], [0.1, 0.3], [0.5, 0.2], [1.0, 0.0], [0.6, 0.6]])
    data = plots.front_data(F)
    assert data["indices"] == (0, 3, 1)
    np.testing.assert_array_equal(data["dominated"], [[0.6, 0.6]])
    np.testing.assert_array_equal(data["front"][:, 0], [0.0, 0.1, 0.5, 1.0])
    with pytest.raises(ValueError, match="`knee` must be a row index"):
        plots.front_data(F, knee=7)


# -------------------------------------------------------------------------------------- data: radar


def test_radar_normalisation() -> None:
    data = plots.radar_data(ROWS)
    assert data["metrics"] == ["training_time", "validation_accuracy", "energy_kwh", "parameters"]
    np.testing.assert_allclose(data["radii"]["r0"], [1.0, 1.0, 1.0, 1.0])  # largest on every axis
    np.testing.assert_allclose(data["radii"]["r1"], [0.1, 0.1, 0.1, 0.1])  # smallest on every axis
    knee_time = 0.1 + 0.9 * (306.9 - 14.23) / (2555.95 - 14.23)
    assert data["radii"]["knee"][0] == pytest.approx(knee_time)
    assert data["axis_labels"][3] == "|θ| (M)\n5.95–7.26"
    fixed = plots.radar_data(ROWS, ranges={"validation_accuracy": (0.0, 1.0)})
    assert fixed["radii"]["r1"][1] == pytest.approx(0.1 + 0.9 * 0.52)


def test_radar_equal_values_and_errors() -> None:
    same = {"a": dict(ROWS["r0"]), "b": dict(ROWS["r0"])}
    np.testing.assert_allclose(plots.radar_data(same)["radii"]["a"], 1.0)
    with pytest.raises(ValueError, match=r"`rows\['x'\]` lacks \['energy_kwh'\]"):
        plots.radar_data({"x": {"training_time": 1, "validation_accuracy": 0.5, "parameters": 3}})
    with pytest.raises(ValueError, match=r"`ranges\['energy_kwh'\]`"):
        plots.radar_data(ROWS, ranges={"energy_kwh": (0.1, 1.0)})
    with pytest.raises(ValueError, match="`colors` must give one colour per row"):
        plots.plot_radar(ROWS, colors=["red"])


# -------------------------------------------------------------------------------- data: hypervolume


def test_hypervolume_data_evaluations_pads_with_last_value() -> None:
    data = plots.hypervolume_data({"A": [np.array([1.0, 2.0, 3.0]), np.array([0.0, 4.0]), np.array([2.0, 2.0, 2.0])]})
    curve = data["A"]
    np.testing.assert_array_equal(curve["x"], [1, 2, 3])
    # run 2 is held at 4 after it ends: columns [1,0,2], [2,4,2], [3,4,2]
    np.testing.assert_allclose(curve["median"], [1.0, 2.0, 3.0])
    np.testing.assert_allclose(curve["q25"], [0.5, 2.0, 2.5])
    np.testing.assert_allclose(curve["q75"], [1.5, 3.0, 3.5])
    assert curve["n_runs"] == 3


def test_hypervolume_data_energy_axis() -> None:
    runs = [
        {"hypervolume": [1.0, 2.0], "energy_kwh": [0.5, 0.5]},  # done at cumulative 0.5 and 1.0
        {"hypervolume": [3.0], "energy_kwh": [0.25]},
    ]
    curve = plots.hypervolume_data({"A": runs}, x="energy")["A"]
    np.testing.assert_allclose(curve["x"], [0.0, 0.25, 0.5, 1.0])
    # run 1: [0, 0, 1, 2]; run 2: [0, 3, 3, 3]
    np.testing.assert_allclose(curve["median"], [0.0, 1.5, 2.0, 2.5])
    with pytest.raises(ValueError, match="needs an 'energy_kwh' entry"):
        plots.hypervolume_data({"A": [np.ones(3)]}, x="energy")
    with pytest.raises(ValueError, match="`x` must be 'evaluations' or 'energy'"):
        plots.hypervolume_data({"A": [np.ones(3)]}, x="time")
    with pytest.raises(ValueError, match="non-negative"):
        plots.hypervolume_data({"A": [{"hypervolume": [1.0], "energy_kwh": [-1.0]}]}, x="energy")
