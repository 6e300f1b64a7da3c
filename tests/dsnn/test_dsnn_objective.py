"""The live objective: what one evaluation returns, failures, profiles and the analytic cost."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from torch import nn

from ecnas.dsnn import convert_to_shift, evaluate, get_dsnn_profile, inference_cost, resnet20
from ecnas.dsnn.cost import energy_per_op_pj
from ecnas.errors import EcnasError, InvalidConfigError
from ecnas.spaces import get_space


@pytest.fixture(scope="module")
def space():
    return get_space("dsnn")


def test_evaluation_record(space, fast_options, cpu_meter):
    config = space.validate({**dict(space.default()), "shift_depth": 4})
    record = evaluate(config, 1, profile="tiny", seed=0, meter=cpu_meter, profile_options=fast_options)
    assert record["status"] == "ok"
    assert record["loss"] == pytest.approx(1.0 - record["test_accuracy"])
    assert 0.0 <= record["loss"] <= 1.0 and math.isfinite(record["cross_entropy"])
    assert record["inference_co2eq_g"] > 0 and record["inference_passes"] >= 1
    assert record["inference_co2eq_g"] == pytest.approx(
        record["inference_window"]["co2eq_g"] / record["inference_passes"]
    )
    assert record["energy_kind"] == "estimated" and record["energy_method"].startswith("estimated:")
    assert record["carbon_intensity"] == 300.0
    assert record["train_energy_kwh"] > 0 and record["train_seconds"] > 0
    assert record["shift_layers"] == 4 and record["analytic"]["shift_macs"] > 0
    # the analytic energy of one pass over the 100 test images, priced at 300 g/kWh
    assert record["analytic_co2eq_g"] == pytest.approx(record["analytic"]["total_pj"] * 100 * 1e-12 / 3.6e6 * 300.0)
    again = evaluate(config, 1, profile="tiny", seed=0, meter=cpu_meter, profile_options=fast_options)
    assert again["loss"] == record["loss"] and again["cross_entropy"] == record["cross_entropy"]


def test_diverging_training_is_a_recorded_failure(space, fast_options, cpu_meter, monkeypatch):
    import ecnas.dsnn.objective as objective

    profile = get_dsnn_profile("tiny", **fast_options)
    data = profile.load_data()
    broken = dataclasses.replace(data, train_x=np.full_like(data.train_x, np.nan))
    monkeypatch.setattr(objective, "_data", lambda _profile: broken)
    record = evaluate(space.default(), 1, profile=profile, seed=0, meter=cpu_meter)
    assert record["status"] == "failed" and "nan" in record["reason"].lower()
    assert "loss" not in record and "inference_co2eq_g" not in record


def test_bad_inputs_are_refused(space, cpu_meter):
    with pytest.raises(InvalidConfigError):
        evaluate({**dict(space.default()), "weight_bits": 9}, 1, meter=cpu_meter)
    with pytest.raises(ValueError, match="budget"):
        evaluate(space.default(), 0, meter=cpu_meter)
    with pytest.raises(ValueError, match="valid profiles"):
        get_dsnn_profile("mnist")
    with pytest.raises(ValueError, match="valid options"):
        get_dsnn_profile("tiny", stem=3)


def test_cifar10_profile_says_what_is_missing(tmp_path):
    with pytest.raises(ValueError, match="data_dir"):
        get_dsnn_profile("cifar10")
    profile = get_dsnn_profile("cifar10", data_dir=str(tmp_path / "nowhere"))
    with pytest.raises(EcnasError, match="does not exist"):
        profile.load_data()
    assert profile.budgets == (1, 3, 9, 27) and get_dsnn_profile("tiny").budgets == (1, 3, 9)


def test_energy_table_and_counts_by_hand():
    assert energy_per_op_pj("int_add", 32) == 0.1 and energy_per_op_pj("int_add", 16) == 0.05
    assert energy_per_op_pj("int_add", 24) == pytest.approx(0.075)
    assert energy_per_op_pj("int_mult", 8) == pytest.approx(3.1 / 16)
    assert energy_per_op_pj("shift", 64) == pytest.approx(0.2)
    linear = nn.Sequential(nn.Linear(4, 3))
    float_cost = inference_cost(linear, (4,))
    assert float_cost["ops"] == {"fp32_mult": 12, "fp32_add": 12, "sram_read_bits": 12 * 32}
    assert float_cost["total_pj"] == pytest.approx(12 * (3.7 + 0.9) + 12 * 32 * 10 / 64)
    shifted, _ = convert_to_shift(linear, 1, "PS", weight_bits=4, act_integer_bits=8, act_fraction_bits=8)
    with torch.no_grad():
        shifted[0].sign.copy_(torch.tensor([[1.0, 0.0, -1.0, 0.0]] * 3))  # half the weights are zero
    cost = inference_cost(shifted, (4,))
    assert cost["ops"] == {"shift_int16": 6, "add_int16": 6, "sram_read_bits": 12 * 4}
    assert cost["total_pj"] == pytest.approx(6 * 0.05 * 2 + 48 * 10 / 64)


def test_resnet20_macs():
    assert inference_cost(resnet20(), (3, 32, 32))["macs"] == 40_551_040
