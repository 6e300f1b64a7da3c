"""Contract suite for search spaces, parametrised over the registry, and a toy mixed space with an analytic table.

Use from a test module (also for spaces registered by other packages)::

    from ecnas.testing.spaces import check_space_parameters

    @pytest.mark.parametrize(("name", "check"), check_space_parameters())
    def test_contract(name, check):
        check(name)

Every check takes a registered space name and raises ``AssertionError`` on a violation. Options that keep a
check cheap (e.g. a small NB101 for enumeration) live in :data:`CHEAP_OPTIONS`.

:class:`ToySpace` (registered as ``"toy"`` when this module is imported) is a small float/int/categorical space
whose metrics are closed-form functions (:func:`toy_metrics`), so a table of it can be written without training
(:func:`write_toy_table`); the seam tests run it through every layer of ecnas.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ecnas.errors import InvalidConfigError, SpaceCapabilityError
from ecnas.spaces import Categorical, Float, HyperparameterSpace, Integer, get_space, register_space, space_names

__all__ = [
    "CHEAP_OPTIONS",
    "SPACE_CHECKS",
    "ToySpace",
    "check_space_parameters",
    "toy_contents",
    "toy_metrics",
    "write_toy_table",
]

#: Constructor options per space that keep a check cheap (enumeration of NB101 ≤ 4 vertices: 91 cells).
CHEAP_OPTIONS: dict[str, dict[str, Any]] = {"nb101": {"max_vertices": 4}}
_KEY = re.compile(r"[0-9a-f]{32}")
_N = 60


@register_space("toy")
class ToySpace(HyperparameterSpace):
    """Five mixed hyperparameters of a pretend network; metrics in :func:`toy_metrics`."""

    description = "toy mixed space for tests: 2 floats (one log), 2 integers (one log), 1 categorical"
    parameters = (
        Float("dropout", 0.0, 0.9, default=0.1),
        Float("learning_rate", 1e-4, 1e-1, default=1e-2, log=True),
        Integer("width", 4, 256, default=32, log=True),
        Integer("depth", 1, 8, default=2),
        Categorical("activation", ("relu", "tanh", "gelu"), default="relu"),
    )


def toy_metrics(config: Any, budget: int) -> dict[str, float]:
    """Closed-form metrics of a toy configuration after ``budget`` epochs (a real accuracy/energy trade-off).

    Error falls with size (``width · depth``) and budget and is smallest at dropout 0.3 and learning rate 1e-2;
    energy grows linearly with size and budget.
    """
    size = config["width"] * config["depth"]
    penalty = (config["dropout"] - 0.3) ** 2 + (math.log10(config["learning_rate"]) + 2.0) ** 2 / 9.0
    penalty += {"relu": 0.0, "tanh": 0.05, "gelu": 0.02}[config["activation"]]
    error = min(0.9, 0.05 + 0.5 * penalty + 2.0 / math.sqrt(size) / (1.0 + math.log(budget)))
    energy = 1e-7 * size * budget
    return {
        "training_time": 0.01 * size * budget,
        "train_accuracy": 1.0 - 0.8 * error,
        "validation_accuracy": 1.0 - error,
        "test_accuracy": 1.0 - 1.02 * error,
        "energy_kwh": energy,
        "total_energy_kwh": 1.1 * energy,
    }


def toy_contents(n: int = 300, *, budgets: Sequence[int] = (1, 3, 9), seed: int = 0) -> Any:
    """A :class:`~ecnas.table.TableContents` of ``n`` distinct sampled toy configurations, metrics analytic."""
    from ecnas.table import METRICS, SOURCE_MEASURED, TableContents

    space = get_space("toy")
    configs: dict[str, Any] = {}
    rng = np.random.default_rng(seed)
    while len(configs) < n:
        for config in space.sample(n - len(configs), rng):
            configs.setdefault(space.key(config), config)
    chosen = list(configs.values())
    metrics = {m: np.empty((n, len(budgets), 1)) for m in METRICS}
    for i, config in enumerate(chosen):
        for b, budget in enumerate(budgets):
            for name, value in toy_metrics(config, budget).items():
                metrics[name][i, b, 0] = value
    return TableContents(
        hashes=np.array(list(configs), dtype="S32"),
        budgets=tuple(budgets),
        repeats=1,
        space="toy",
        columns=space.encode(chosen),
        trainable_parameters=np.array([c["width"] ** 2 * c["depth"] for c in chosen], dtype=np.int64),
        source=np.full(n, SOURCE_MEASURED, dtype=np.uint8),
        metrics=metrics,
        provenance={"energy_method": "analytic:toy", "carbon_intensity": 100.0, "intensity_source": "test", "pue": 1.0},
    )


def write_toy_table(path: str | os.PathLike[str], **kwargs: Any) -> Path:
    """Write :func:`toy_contents` as an ecnas table (format v2, space ``toy``)."""
    from ecnas.table import write_table

    return write_table(path, toy_contents(**kwargs))


# ------------------------------------------------------------------------------------------------ the checks
def _space(name: str, cheap: bool = False) -> Any:
    return get_space(name, **(CHEAP_OPTIONS.get(name, {}) if cheap else {}))


def _configs(space: Any, seed: int = 0) -> list[Any]:
    configs = space.sample(_N, seed=seed)
    with contextlib.suppress(SpaceCapabilityError):  # a space without a default configuration
        configs.append(space.default())
    return configs


def check_keys_are_hex_and_canonical(name: str) -> None:
    """Keys are 32 lowercase hex characters and survive re-validation and :meth:`relabel` (NB101: vertex order)."""
    space = _space(name)
    rng = np.random.default_rng(1)
    for config in _configs(space):
        key = space.key(config)
        assert _KEY.fullmatch(key), f"{name}: key {key!r} is not 32 lowercase hex characters"
        assert space.key(space.validate(config)) == key, f"{name}: validate changed the key of {config!r}"
        for _ in range(3):
            assert space.key(space.relabel(config, rng)) == key, f"{name}: relabelling changed the key of {config!r}"


def check_encode_decode_round_trip(name: str) -> None:
    """``decode(encode(configs), row)`` gives back every config; columns have the declared dtypes and shapes."""
    space = _space(name)
    configs = _configs(space)
    columns = space.encode(configs)
    assert set(columns) == {c.name for c in space.columns}, f"{name}: encode gave columns {sorted(columns)}"
    for column in space.columns:
        array = np.asarray(columns[column.name])
        assert array.shape == (len(configs), *column.shape), f"{name}: column {column.name} has shape {array.shape}"
        assert np.can_cast(array.dtype, np.dtype(column.dtype), "same_kind"), f"{name}: {column.name} {array.dtype}"
    for row, config in enumerate(configs):
        back = space.decode(columns, row)
        assert space.key(back) == space.key(config), f"{name}: row {row} decodes to another configuration"
    keys = space.keys(columns).astype("U32").tolist()
    assert keys == [space.key(c) for c in configs], f"{name}: keys(columns) disagrees with key(config)"
    assert space.check_columns(columns) is None, f"{name}: check_columns rejects valid rows"


def check_json_round_trip(name: str) -> None:
    """``config_from_json(config_to_json(config))`` is the same config, through real JSON text."""
    space = _space(name)
    for config in _configs(space):
        fields = json.loads(json.dumps(space.config_to_json(config)))
        assert tuple(fields) == space.config_fields, f"{name}: config_to_json fields differ from config_fields"
        assert space.key(space.config_from_json(fields)) == space.key(config), f"{name}: JSON round trip failed"


def check_configspace_round_trip(name: str) -> None:
    """Config → ConfigSpace configuration → config is exact; sampled ConfigSpace configurations are handled."""
    space = _space(name)
    cs = space.configspace(seed=0)
    for config in _configs(space):
        configuration = space.to_configspace(config)
        assert configuration.config_space == cs, f"{name}: to_configspace used another ConfigurationSpace"
        back = space.from_configspace(configuration)
        assert space.key(back) == space.key(config), f"{name}: ConfigSpace round trip changed {config!r}"
        assert space.is_valid(configuration) and space.is_valid(dict(configuration)), f"{name}: valid reported invalid"
    valid = 0
    for configuration in cs.sample_configuration(200):
        ok = space.is_valid(configuration)
        assert isinstance(ok, bool), f"{name}: is_valid returned {ok!r}"
        if ok:
            valid += 1
            config = space.from_configspace(configuration)
            assert dict(space.to_configspace(config)) == dict(space.to_configspace(space.validate(config)))
        else:
            try:
                space.from_configspace(configuration)
            except InvalidConfigError:
                continue
            raise AssertionError(f"{name}: is_valid is False but from_configspace accepts {configuration!r}")
    assert valid > 0, f"{name}: none of 200 sampled ConfigSpace configurations is valid"


def check_is_valid_never_raises(name: str) -> None:
    """``is_valid`` answers False for garbage instead of raising."""
    space = _space(name)
    for garbage in (None, 42, "text", {"bogus": 1}, {}, [1, 2, 3], {"edge_0": "x"}, float("nan")):
        assert space.is_valid(garbage) is False, f"{name}: is_valid({garbage!r}) is not False"


def check_mutation_stays_in_space(name: str) -> None:
    """Mutants are None (invalid, to be redrawn) or valid configurations; mutation draws only from ``rng``."""
    space = _space(name)
    if not space.can_mutate:
        try:
            space.mutate(space.sample(1, seed=0)[0], np.random.default_rng(0))
        except SpaceCapabilityError as error:
            assert name in str(error), f"{name}: the refusal does not name the space: {error}"
            return
        raise AssertionError(f"{name}: can_mutate is False but mutate did not refuse")
    changed = 0
    for seed, config in enumerate(_configs(space)):
        child = space.mutate(config, np.random.default_rng(seed), rate=1.0)
        again = space.mutate(config, np.random.default_rng(seed), rate=1.0)
        assert (child is None) == (again is None), f"{name}: mutation is not determined by its generator"
        if child is not None:
            assert space.key(space.validate(child)) == space.key(again), f"{name}: same generator, other child"
            changed += space.key(child) != space.key(config)
    assert changed > 0, f"{name}: no mutation changed its parent"


def check_features_have_the_declared_width(name: str) -> None:
    """``features`` rows are finite and ``num_features`` wide; ``feature_bounds`` match that width."""
    space = _space(name)
    configs = _configs(space)
    columns = space.encode(configs)
    features = space.features(columns, space.num_parameters(columns))
    assert features.shape == (len(configs), space.num_features), f"{name}: features shape {features.shape}"
    assert np.isfinite(features).all(), f"{name}: non-finite features"
    bounds = space.feature_bounds()
    if bounds is not None:
        low, high = bounds
        assert len(low) == len(high) == space.num_features, f"{name}: feature_bounds have the wrong width"
        known = np.isfinite(high)
        assert (features[:, known] <= high[known] + 1e-12).all(), f"{name}: a feature exceeds its bound"


def check_sampling_is_seeded(name: str) -> None:
    """Same seed, same configurations; another seed, others; every sample is valid."""
    space = _space(name)
    first = [space.key(c) for c in space.sample(20, seed=3)]
    assert first == [space.key(c) for c in space.sample(20, seed=3)], f"{name}: sampling is not seeded"
    assert first != [space.key(c) for c in space.sample(20, seed=4)], f"{name}: seeds 3 and 4 sample alike"
    for config in space.sample(20, seed=5):
        space.validate(config)


def check_vector_round_trip(name: str) -> None:
    """``from_vector(to_vector(config))`` is the config; vectors lie within ``vector_bounds``."""
    space = _space(name)
    low, high = space.vector_bounds()
    assert low.shape == high.shape and (low <= high).all(), f"{name}: bad vector bounds"
    for config in _configs(space):
        x = space.to_vector(config)
        assert x.shape == low.shape and (x >= low).all() and (x <= high).all(), f"{name}: vector outside bounds"
        back = space.from_vector(x)
        assert back is not None and space.key(back) == space.key(config), f"{name}: vector round trip failed"
    assert space.from_vector(np.full(low.shape, np.nan)) is None, f"{name}: a NaN vector was accepted"


def check_enumeration_or_refusal(name: str) -> None:
    """A finite space enumerates distinct valid configurations; any other refuses, naming the space."""
    space = _space(name, cheap=True)
    if not space.can_enumerate:
        try:
            space.enumerate()
        except SpaceCapabilityError as error:
            assert name in str(error), f"{name}: the refusal does not name the space: {error}"
            return
        raise AssertionError(f"{name}: can_enumerate is False but enumerate did not refuse")
    keys = [space.key(c) for c in space.enumerate()]
    assert keys and len(set(keys)) == len(keys), f"{name}: enumeration is empty or repeats configurations"


#: Every check by short name.
SPACE_CHECKS: dict[str, Callable[[str], None]] = {
    "keys": check_keys_are_hex_and_canonical,
    "encode_decode": check_encode_decode_round_trip,
    "json": check_json_round_trip,
    "configspace": check_configspace_round_trip,
    "is_valid": check_is_valid_never_raises,
    "mutation": check_mutation_stays_in_space,
    "features": check_features_have_the_declared_width,
    "sampling": check_sampling_is_seeded,
    "vector": check_vector_round_trip,
    "enumeration": check_enumeration_or_refusal,
}


def check_space_parameters(
    names: Iterable[str] | None = None, checks: Iterable[str] | None = None
) -> list[tuple[str, Callable[[str], None]]]:
    """``(space name, check)`` pairs for ``pytest.mark.parametrize`` (default: every space, every check)."""
    import pytest

    chosen = list(SPACE_CHECKS) if checks is None else list(checks)
    return [
        pytest.param(name, SPACE_CHECKS[check], id=f"{name}-{check}")
        for name in (space_names() if names is None else names)
        for check in chosen
    ]
