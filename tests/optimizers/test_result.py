"""Result: front at the target budget only, hypervolume trace, JSON round trip, atomic save."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ecnas import indicators
from ecnas.optimizers import Result, run


def _toy() -> Result:
    history = {
        "hash": ["a" * 32, "b" * 32, "c" * 32, "a" * 32, "d" * 32, "e" * 32],
        "budget": [4, 108, 108, 108, 108, 108],
        "F": [[0.01, 0.01], [0.3, 0.5], [0.2, 0.7], [0.1, 0.9], [0.35, 0.6], [0.2, 0.7]],
        "energy_kwh": [0.1, 1.0, 1.0, 1.0, 1.0, 1.0],
        "training_time": [10, 100, 100, 100, 100, 100],
    }
    return Result(algorithm="toy", seed=1, objectives=("validation_error", "energy_kwh"), budget=108, history=history)


def test_front_ignores_lower_budgets_and_duplicates() -> None:
    result = _toy()
    assert result.front.tolist() == [[0.1, 0.9], [0.2, 0.7], [0.3, 0.5]]  # (0.01, 0.01) was at 4 epochs
    assert result.front_hashes == ["a" * 32, "c" * 32, "b" * 32]
    assert result.search_cost == {"evaluations": 6.0, "training_time_s": 510.0, "energy_kwh": 5.1}
    assert np.isnan(result.history["validation_accuracy"]).all()  # not given → NaN, never zero
    trace = result.hypervolume_trace([1.0, 1.0])
    assert trace[0] == 0.0 and np.isclose(trace[-1], indicators.hypervolume(result.front, [1.0, 1.0]))
    assert result.row(1)["validation_error"] == 0.3


def test_json_round_trip_and_atomic_save(tmp_path: Path, real_table: Path) -> None:
    result = run("semoa", real_table, seed=0, max_evaluations=25)
    path = result.save(tmp_path / "out" / "semoa.json")
    text = path.read_text()
    assert "NaN" not in text and json.loads(text)["format"] == "ecnas-optimizer-result"
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind
    loaded = Result.load(path)
    assert loaded.history["hash"].tolist() == result.history["hash"].tolist()
    assert np.array_equal(loaded.history["F"], result.history["F"])
    assert loaded.front_hashes == result.front_hashes and loaded.rejections == result.rejections
    assert loaded.table["num_cells"] == 2532
    (tmp_path / "bad.json").write_text('{"format": "something else"}')
    with pytest.raises(ValueError, match="not a readable ecnas optimizer result"):
        Result.load(tmp_path / "bad.json")
