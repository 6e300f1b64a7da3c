"""Report of a run (front, default star, tables, re-pricing) on hand-made trials, and the CLI end to end."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from ecnas.cli import main
from ecnas.dsnn.report import default_point, dominating, front_rows, pareto_front, repriced, write_report
from ecnas.spaces import get_space


def _trial(trial, loss, co2, *, budget=9, kind="search", status="ok"):
    config = dict(get_space("dsnn").sample(1, seed=trial)[0])
    return {
        "trial": trial, "kind": kind, "status": status, "budget": budget, "config": config, "loss": loss,
        "inference_co2eq_g": co2, "inference_energy_kwh": co2 / 400.0, "analytic": {"total_pj": 1000.0 * trial + 1},
        "energy_kind": "estimated", "energy_method": "estimated:cpu-time", "seconds": 1.0,
        "analytic_co2eq_g": co2 / 100.0, "carbon_intensity": 400.0,
    }  # fmt: skip


TRIALS = [
    _trial(0, 0.30, 8.0, kind="default"),
    _trial(1, 0.20, 6.0, kind="default"),
    _trial(2, 0.10, 9.0),  # front
    _trial(3, 0.15, 5.0),  # front, dominates the default (0.25, 7.0)
    _trial(4, 0.40, 4.0),  # front
    _trial(5, 0.20, 6.0),  # dominated by 3
    _trial(6, 0.01, 1.0, budget=3),  # lower budget: not in the front
    _trial(7, 0.5, 0.5, status="failed"),
]


def test_front_default_and_domination():
    front = pareto_front(TRIALS)
    assert [t["trial"] for t in front] == [4, 3, 2]
    default = default_point(TRIALS)
    assert default["loss"] == pytest.approx(0.25) and default["inference_co2eq_g"] == pytest.approx(7.0)
    assert [t["trial"] for t in dominating(front, default)] == [3]
    rows = front_rows(front, default)
    assert [r["config"] for r in rows] == ["trial 4", "trial 3", "trial 2", "default (mean of 2)"]
    assert rows[-1]["shift_depth"] == 20 and rows[-1]["optimizer"] == "SGD"


def test_repricing_scales_emissions_and_keeps_the_front():
    cheap = repriced(TRIALS, 40.0)
    assert cheap[2]["inference_co2eq_g"] == pytest.approx(9.0 / 400.0 * 40.0)
    assert [t["trial"] for t in pareto_front(cheap)] == [4, 3, 2]
    assert cheap[3]["analytic_co2eq_g"] == pytest.approx(5.0 / 100.0 * 40.0 / 400.0)
    with pytest.raises(ValueError, match="carbon_intensity"):
        repriced(TRIALS, 0.0)


def test_write_report_files(tmp_path, fast_options):
    from ecnas.build.records import RecordWriter
    from ecnas.dsnn.mfmo import lr_variability

    with RecordWriter(tmp_path / "trials.jsonl") as writer:
        writer.append(TRIALS)
    lr = lr_variability(tmp_path, n=2, profile_options=fast_options, energy={"carbon_intensity": 300.0})
    assert len(lr["learning_rates"]) == 2 and len(lr["varied"]) + len(lr["fixed"]) + lr["failed"] == 4
    assert all(r["config"]["optimizer"] == "SGD" for r in lr["records"])
    assert [r["config"]["learning_rate"] for r in lr["records"][2:]] == [0.1, 0.1]
    summary = write_report(tmp_path)
    assert summary["front_size"] == 3 and summary["front_dominates_default"] and summary["dominating_trials"] == [3]
    for name in ("front.csv", "front.md", "front.png", "repriced.png", "summary.json", "lr_variability.png"):
        assert (tmp_path / "report" / name).stat().st_size > 0
    assert (tmp_path / "report" / "front.csv").read_text().count("\n") == 5  # header, 3 front, default


def test_cli_run_and_report(tmp_path):
    options = ["--option", "width=4", "--option", "split_sizes=[300,100,100]", "--option", "max_budget=3",
               "--option", "min_window_s=0", "--option", "max_passes=2"]  # fmt: skip
    args = ["dsnn", "run", "--trials", "2", "--seed", "1", "--default-repeats", "0", "--out", str(tmp_path),
            "--carbon-intensity", "300", *options]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "trial    1 [search]   1 epochs" in result.output and "dominates the default" in result.output
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert summary["trials"] == 2 and summary["energy_kinds"] == ["estimated"]
    again = CliRunner().invoke(main, args)
    assert "(0 evaluated now)" in again.output
    other = CliRunner().invoke(main, [*args[:5], "2", *args[6:]])  # another seed in the same directory
    assert other.exit_code == 1 and "other settings" in other.output and "Traceback" not in other.output
    missing = CliRunner().invoke(main, ["dsnn", "run", "--profile", "cifar10", "--out", str(tmp_path / "c")])
    assert missing.exit_code == 1 and "data_dir" in missing.output


@pytest.mark.slow
def test_smac_parego_hyperband(tmp_path, fast_options):
    pytest.importorskip("smac")
    from ecnas.dsnn import run

    kwargs = {"profile_options": fast_options, "energy": {"carbon_intensity": 300.0}, "default_repeats": 0}
    result = run(tmp_path, optimizer="smac-parego-hb", trials=6, seed=0, initial_design=3, **kwargs)
    search = result.search_trials()
    assert len(search) == 6 and {t["budget"] for t in search} <= {1, 3}
    assert all(t["status"] == "ok" for t in search)
    again = run(tmp_path, optimizer="smac-parego-hb", trials=6, seed=0, initial_design=3, **kwargs)
    assert again.evaluated == 0 and [t["key"] for t in again.trials] == [t["key"] for t in result.trials]
