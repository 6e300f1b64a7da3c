"""ecnas.compat.nasbench101, exercised the way NB101 client code is written (`from nasbench import api`)."""

from __future__ import annotations

import numpy as np
import pytest

from ecnas.compat import nasbench101 as api
from tests.reference import imported_reference_table

MEASURED_4V = "ecnas_energy_4V9E_measured.tfrecord"
NB101_KEYS = {
    "module_adjacency",
    "module_operations",
    "trainable_parameters",
    "training_time",
    "train_accuracy",
    "validation_accuracy",
    "test_accuracy",
}


@pytest.fixture(scope="module")
def nasbench(tmp_path_factory: pytest.TempPathFactory) -> api.NASBench:
    path = imported_reference_table(MEASURED_4V, tmp_path_factory.mktemp("tables"))
    return api.NASBench(str(path), seed=0)


def test_query_like_nb101_clients_do(nasbench: api.NASBench) -> None:
    # NB101's README example, shrunk to the 4-vertex table.
    cell = api.ModelSpec(
        matrix=[[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]],
        ops=[api.INPUT, api.CONV3X3, api.MAXPOOL3X3, api.OUTPUT],
    )
    assert nasbench.is_valid(cell)
    nasbench.reset_budget_counters()
    data = nasbench.query(cell)
    assert set(data) >= NB101_KEYS and {"energy", "co2eq", "energy_method"} <= set(data)
    assert 0 < data["validation_accuracy"] <= 1 and data["energy"] > 0
    assert data["energy_method"].startswith("measured")
    total_time, total_epochs = nasbench.get_budget_counters()
    assert total_epochs == 108 and total_time == pytest.approx(data["training_time"])
    nasbench.query(cell, epochs=4)
    assert nasbench.get_budget_counters()[1] == 112
    nasbench.reset_budget_counters()
    assert nasbench.get_budget_counters() == (0.0, 0)
    # the same cell computed from its hash, not counted
    fixed, computed = nasbench.get_metrics_from_hash(cell.hash_spec(["conv3x3-bn-relu", "conv1x1-bn-relu"]))
    assert fixed["trainable_parameters"] == data["trainable_parameters"]
    np.testing.assert_array_equal(fixed["module_adjacency"], data["module_adjacency"])
    assert set(computed) == nasbench.valid_epochs
    finals = [run["final_validation_accuracy"] for run in computed[108]]
    assert data["validation_accuracy"] in finals  # query draws one repeat
    assert "halfway_validation_accuracy" not in computed[108][0] and "final_energy" in computed[108][0]
    assert nasbench.get_budget_counters() == (0.0, 0)
    assert nasbench.get_metrics_from_spec(cell)[0]["trainable_parameters"] == fixed["trainable_parameters"]


def test_hash_iterator_walks_the_table(nasbench: api.NASBench) -> None:
    best = max(
        nasbench.hash_iterator(),
        key=lambda h: np.mean([r["final_validation_accuracy"] for r in nasbench.get_metrics_from_hash(h)[1][108]]),
    )
    assert len(list(nasbench.hash_iterator())) == 91 and len(best) == 32


def test_out_of_domain_and_missing_features(nasbench: api.NASBench) -> None:
    disconnected = api.ModelSpec(matrix=[[0, 0, 0], [0, 0, 1], [0, 0, 0]], ops=[api.INPUT, api.CONV1X1, api.OUTPUT])
    assert not disconnected.valid_spec and not nasbench.is_valid(disconnected)
    with pytest.raises(api.OutOfDomainError):
        nasbench.query(disconnected)
    cell = api.ModelSpec(matrix=[[0, 1, 0], [0, 0, 1], [0, 0, 0]], ops=[api.INPUT, api.CONV1X1, api.OUTPUT])
    with pytest.raises(api.OutOfDomainError, match="epochs"):
        nasbench.query(cell, epochs=5)
    with pytest.raises(api.HalfwayMetricsUnavailableError, match="halfway"):
        nasbench.query(cell, stop_halfway=True)
    big = api.ModelSpec(
        matrix=np.triu(np.ones((7, 7), dtype=int), 1) * (np.eye(7, k=1, dtype=int)),
        ops=[api.INPUT] + [api.CONV3X3] * 5 + [api.OUTPUT],
    )
    assert big.valid_spec
    with pytest.raises(api.OutOfDomainError):  # valid in NB101, not held by a 4-vertex table
        nasbench.query(big)
    with pytest.raises(api.OutOfDomainError):
        nasbench.get_metrics_from_hash("0" * 32)
