"""The ``dsnn`` space: exactly Table 1 of the paper, and the generic space checks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ecnas.errors import InvalidConfigError
from ecnas.spaces import Categorical, Float, Integer, get_space, space_names

TABLE1 = {
    "batch_size": ("int", 32, 128, 128, False),
    "optimizer": ("cat", ("SGD", "Adam", "Adagrad", "Adadelta", "RMSProp", "RAdam", "Ranger"), "SGD"),
    "learning_rate": ("float", 0.001, 0.1, 0.1, True),
    "momentum": ("float", 0.0, 0.9, 0.9, False),
    "weight_decay": ("float", 1e-6, 1e-2, 1e-4, True),
    "weight_bits": ("int", 2, 8, 5, False),
    "act_integer_bits": ("int", 2, 32, 16, False),
    "act_fraction_bits": ("int", 2, 32, 16, False),
    "shift_depth": ("int", 0, 20, 20, False),
    "shift_type": ("cat", ("Q", "PS"), "PS"),
    "rounding": ("cat", ("deterministic", "stochastic"), "deterministic"),
}


@pytest.fixture(scope="module")
def space():
    return get_space("dsnn")


def test_registered(space):
    assert "dsnn" in space_names()
    assert space.name == "dsnn"


def test_exactly_table_1(space):
    assert [p.name for p in space.parameters] == list(TABLE1)
    for p in space.parameters:
        row = TABLE1[p.name]
        if row[0] == "cat":
            assert isinstance(p, Categorical) and p.choices == row[1] and p.default == row[2]
        else:
            assert isinstance(p, Integer if row[0] == "int" else Float), p.name
            assert (p.low, p.high, p.default, p.log) == row[1:], p.name
    assert dict(space.default()) == {name: row[-1] if row[0] == "cat" else row[3] for name, row in TABLE1.items()}


def test_configspace_round_trip(space):
    cs = space.configspace(seed=0)
    assert set(cs.keys()) == set(TABLE1)
    assert dict(cs.get_default_configuration()) == dict(space.default())
    for config in [*space.sample(50, seed=1), space.default()]:
        assert space.from_configspace(space.to_configspace(config)) == config
        assert space.is_valid(dict(config))
    for configuration in cs.sample_configuration(20):
        assert space.is_valid(configuration)


def test_sample_is_seeded_and_covers_the_space(space):
    a, b, c = space.sample(40, seed=3), space.sample(40, seed=3), space.sample(40, seed=4)
    assert a == b and a != c
    assert {config["optimizer"] for config in space.sample(200, seed=0)} == set(TABLE1["optimizer"][1])
    depths = [config["shift_depth"] for config in space.sample(400, seed=0)]
    assert min(depths) == 0 and max(depths) == 20


def test_mutate_stays_in_the_space(space):
    rng = np.random.default_rng(0)
    config = space.default()
    for _ in range(200):
        child = space.mutate(config, rng)
        assert child is not None
        assert space.validate(dict(child)) == child
        config = child


def test_vector_and_features(space):
    configs = space.sample(10, seed=0)
    for config in configs:
        assert space.from_vector(space.to_vector(config)) == config
    X = space.features(space.encode(configs), np.zeros(len(configs)))
    assert X.shape == (10, space.num_features) and (X >= 0).all() and (X <= 1).all()


def test_bad_configurations_are_refused(space):
    raw = dict(space.default())
    with pytest.raises(InvalidConfigError, match="shift_depth"):
        space.validate({**raw, "shift_depth": 21})
    with pytest.raises(InvalidConfigError, match="optimizer"):
        space.validate({**raw, "optimizer": "LBFGS"})
    with pytest.raises(InvalidConfigError, match="missing"):
        space.validate({k: v for k, v in raw.items() if k != "rounding"})


def test_declaration_does_not_import_torch():
    code = "import sys, ecnas.spaces; s = ecnas.spaces.get_space('dsnn'); s.default(); print('torch' in sys.modules)"
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=root)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env, cwd=root)
    assert out.stdout.strip() == "False"


def test_build_model_converts_the_configured_layers(space):
    from ecnas.dsnn import shift_layers

    config = space.validate({**dict(space.default()), "shift_depth": 3, "shift_type": "Q", "weight_bits": 3})
    model = space.build_model(config, num_classes=10, in_channels=1, width=4, seed=0)
    layers = shift_layers(model)
    assert [name for name, _ in layers] == ["layer3.2.conv1", "layer3.2.conv2", "linear"]
    assert all(layer.shift_type == "Q" and layer.weight_bits == 3 for _, layer in layers)
