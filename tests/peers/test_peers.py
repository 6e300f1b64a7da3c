"""Peers (SMAC3, Optuna, pymoo) on a small real table, the TableTarget adapter, and their place in ecnas compare."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from ecnas import Benchmark
from ecnas.optimizers import Result
from ecnas.peers import (
    Peer,
    PeerUnavailableError,
    TableTarget,
    get_peer,
    optuna_objective,
    peer_names,
    require,
    smac_target_function,
)

PACKAGES = {"smac-parego": "smac", "smac-parego-hb": "smac", "optuna-nsga2": "optuna", "optuna-tpe": "optuna"}


def test_every_issue_peer_is_registered() -> None:
    assert set(peer_names()) == {"smac-parego", "smac-parego-hb", "optuna-nsga2", "optuna-tpe", "pymoo-nsga2"}
    with pytest.raises(ValueError, match="valid names are"):
        get_peer("smac")


@pytest.mark.parametrize("name", sorted(["smac-parego", "smac-parego-hb", "optuna-nsga2", "optuna-tpe", "pymoo-nsga2"]))
def test_peer_runs_once_on_a_small_table(name: str, table_4v: Path) -> None:
    package = PACKAGES.get(name, "pymoo")
    if importlib.util.find_spec(package) is None:
        pytest.skip(f"{package} not installed (pip install 'ecnas[peers]')")
    with Benchmark(table_4v) as bench:
        before = dict(bench.counters)
        result = get_peer(name)(bench, seed=1, max_evaluations=6).run()
        paid = bench.counters["queries"] - before["queries"]
        rows = bench.query_many(np.array(result.history["hash"], dtype="S32"), budget=bench.budgets[-1])
    assert isinstance(result, Result) and result.algorithm == name
    assert len(result) == paid  # every history row is one paid query; rejections are free
    assert result.stop_reason in {"max_evaluations", "exhausted"}
    top = result.history["budget"] == result.budget
    assert result.top_budget_evaluations == len(set(result.history["hash"][top]))
    if not get_peer(name).multi_fidelity:
        assert len(result) == 6 and top.all() and result.top_budget_evaluations == 6
        np.testing.assert_allclose(result.history["F"][:, 0], 1 - rows["validation_accuracy"])
    assert set(result.history["budget"]) <= set(bench.budgets)
    pairs = list(zip(result.history["hash"], result.history["budget"], strict=True))
    assert len(set(pairs)) == len(pairs)  # never paid twice for a (cell, budget)


def test_target_rejects_invalid_before_querying_and_maps_budgets_down(table_4v: Path) -> None:
    with Benchmark(table_4v) as bench:
        target = TableTarget(bench)
        cs = target.configspace(seed=0)
        assert set(cs.keys()) == {f"edge_{k}" for k in range(6)} | {"op_node_0", "op_node_1"}
        invalid = {name: 0 for name in cs} | {"op_node_0": "maxpool3x3", "op_node_1": "maxpool3x3"}
        F = target.evaluate(invalid)  # no edge from input to output: invalid, penalty, no query
        assert bench.counters["queries"] == 0 and target.rejections["invalid"] == 1
        np.testing.assert_array_equal(F, target.penalty)
        valid = dict(invalid) | {"edge_2": 1}  # input -> output directly
        assert target.table_budget(4 / 3 * 27) == 36 and target.table_budget(107.9) == 36
        assert target.table_budget(12) == 12 and target.table_budget(None) == 108
        with pytest.raises(ValueError, match="below the table's smallest budget 4"):
            target.table_budget(1.3)
        first = target.evaluate(valid, 40.0)
        again = target.evaluate(valid, 36)
        assert bench.counters["queries"] == 1 and target.rejections["duplicate"] == 1
        np.testing.assert_array_equal(first, again)
        result = target.result(algorithm="mine")
        assert result.history["budget"].tolist() == [36] and result.top_budget_evaluations == 0


def test_smac_and_optuna_adapters_drive_their_libraries(table_4v: Path) -> None:
    pytest.importorskip("smac")
    import optuna
    from smac import HyperparameterOptimizationFacade as HPO
    from smac import Scenario

    with Benchmark(table_4v) as bench:
        target = TableTarget(bench, max_evaluations=5)
        scenario = Scenario(
            target.configspace(seed=0),
            objectives=["err", "energy"],
            deterministic=True,
            n_trials=40,
            output_directory=Path(bench.path).parent / "smac-run",
        )
        train = smac_target_function(target)
        smac = HPO(scenario, train, overwrite=True, logging_level=40)
        while not target.done:
            info = smac.ask()
            from smac.runhistory import TrialValue

            smac.tell(info, TrialValue(cost=train(info.config, budget=None)))
        assert target.n_evaluations == 5 and target.result(algorithm="smac").stop_reason == "max_evaluations"

        target = TableTarget(bench, max_evaluations=5)
        study = optuna.create_study(directions=["minimize", "minimize"], sampler=optuna.samplers.RandomSampler(seed=0))
        objective = optuna_objective(target)
        while not target.done:
            trial = study.ask()
            study.tell(trial, objective(trial))
        assert target.n_evaluations == 5


def test_missing_package_is_named(monkeypatch: pytest.MonkeyPatch, table_4v: Path) -> None:
    import importlib.util as util

    real = util.find_spec
    monkeypatch.setattr(util, "find_spec", lambda name, *a: None if name == "smac" else real(name, *a))
    with pytest.raises(PeerUnavailableError, match=r"needs the package 'smac'.*pip install 'ecnas\[peers\]'"):
        require("smac", "smac-parego")
    with Benchmark(table_4v) as bench, pytest.raises(ImportError, match="smac"):
        get_peer("smac-parego-hb")(bench)
    assert issubclass(get_peer("pymoo-nsga2"), Peer)


def test_compare_runs_peers_and_reports_fractions(table_4v: Path, tmp_path: Path) -> None:
    from ecnas.compare import compare

    comparison = compare(
        ["semoa", "pymoo-nsga2"], seeds=1, table=table_4v, max_evaluations=15, out=tmp_path / "c", jobs=1, plots=False
    )
    true_front = comparison.config["true_front"]
    assert true_front["size"] >= 1 and true_front["hypervolume"] > 0
    for name in ("semoa", "pymoo-nsga2"):
        run = comparison.summary["algorithms"][name]["runs"][0]
        assert 0 < run["hypervolume_fraction"] <= 1 + 1e-12
        assert run["hypervolume_regret"] == pytest.approx(true_front["hypervolume"] - run["hypervolume"])
        assert run["top_budget_evaluations"] == 15 and run["stop_reason"] == "max_evaluations"
    text = (tmp_path / "c" / "runs.csv").read_text()
    assert "hypervolume_fraction" in text.splitlines()[0] and "stop_reason" in text.splitlines()[0]
    assert "HV / true front" in comparison.markdown()


def test_cli_compare_with_peers_and_energy_budget(table_4v: Path, tmp_path: Path, monkeypatch) -> None:
    from click.testing import CliRunner

    from ecnas.cli import main

    args = ["compare", "parego-hb", "optuna-tpe", "--seeds", "1", "--table", str(table_4v), "--jobs", "1"]
    args += ["--max-energy", "3.0", "--no-plots", "--no-progress", "--out", str(tmp_path / "c")]
    outcome = CliRunner().invoke(main, args)
    assert outcome.exit_code == 0, outcome.output
    assert "HV / true front" in outcome.output and "True front (exact, whole table)" in outcome.output
    header, *rows = (tmp_path / "c" / "runs.csv").read_text().splitlines()
    assert "top_budget_evaluations" in header and all("max_energy" in row for row in rows)

    import importlib.util as util

    real = util.find_spec
    monkeypatch.setattr(util, "find_spec", lambda name, *a: None if name == "optuna" else real(name, *a))
    outcome = CliRunner().invoke(main, [*args[:-1], str(tmp_path / "d")])
    assert outcome.exit_code != 0 and "needs the package 'optuna'" in outcome.output
    assert "Traceback" not in outcome.output
