from __future__ import annotations

from pathlib import Path

import pytest

from ecnas.build.profiles import PROFILES, NB101Cifar10Profile, Profile, TinyProfile, get_profile, register_profile
from ecnas.build.recipe import load_recipe, parse_recipe
from ecnas.errors import EcnasError

BUILDERS = Path(__file__).resolve().parents[2] / "builders"


def test_registry_has_both_profiles() -> None:
    assert PROFILES["tiny"] is TinyProfile and PROFILES["nb101-cifar10"] is NB101Cifar10Profile


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_every_profile_options_round_trip(name: str) -> None:
    options = {"data_dir": "/nowhere"} if name == "nb101-cifar10" else {}
    profile = get_profile(name, options)
    assert isinstance(profile, Profile)
    again = get_profile(name, profile.options())
    assert again == profile
    assert set(profile.network_options()) == {
        "stem_channels",
        "num_stacks",
        "cells_per_stack",
        "num_classes",
        "in_channels",
    }


def test_nb101_defaults_follow_the_protocol() -> None:
    p = get_profile("nb101-cifar10", {"data_dir": "/x"})
    assert p.budgets == (4, 12, 36, 108) and p.repeats == 3 and p.schedule == "per-budget"
    assert (p.optimizer, p.learning_rate, p.momentum, p.epsilon, p.weight_decay, p.batch_size) == (
        "rmsprop",
        0.2,
        0.9,
        1.0,
        1e-4,
        256,
    )
    assert p.network_options() == {
        "stem_channels": 128,
        "num_stacks": 3,
        "cells_per_stack": 3,
        "num_classes": 10,
        "in_channels": 3,
    }
    assert p.augment and p.bn_momentum == pytest.approx(0.003)


def test_unknown_profile_lists_valid_names() -> None:
    with pytest.raises(ValueError, match=r"unknown build profile 'cifar'.*'nb101-cifar10', 'tiny'"):
        get_profile("cifar")


def test_unknown_option_is_named_with_valid_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown option 'epochs' for build profile 'tiny'.*'budgets'"):
        get_profile("tiny", {"epochs": 3})


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        ({"budgets": [4, 2]}, "'budgets'"),
        ({"budgets": "1,x"}, "'budgets'"),
        ({"budgets": []}, "'budgets'"),
        ({"batch_size": 0}, "'batch_size'"),
        ({"learning_rate": "fast"}, "'learning_rate'"),
        ({"optimizer": "adam"}, "'optimizer'"),
        ({"schedule": "once"}, "'schedule'"),
        ({"bn_momentum": 2}, "'bn_momentum'"),
        ({"split_sizes": [2000, 10, 10]}, "'split_sizes'"),
        ({"augment": "maybe"}, "'augment'"),
    ],
)
def test_bad_option_values_name_the_option(options: dict, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        get_profile("tiny", options)


def test_cifar_requires_data_dir() -> None:
    with pytest.raises(ValueError, match="'data_dir' is required"):
        get_profile("nb101-cifar10")


def test_cli_strings_are_coerced() -> None:
    p = get_profile(
        "tiny",
        {"budgets": "1,3", "augment": "true", "train_eval_size": "none", "learning_rate": "0.05", "batch_size": "32"},
    )
    assert p.budgets == (1, 3) and p.augment and p.train_eval_size is None
    assert p.learning_rate == 0.05 and p.batch_size == 32


def test_duplicate_registration_is_refused() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_profile("tiny")(TinyProfile)


@pytest.mark.parametrize("recipe", sorted(BUILDERS.glob("*.toml")), ids=lambda p: p.name)
def test_shipped_recipes_are_valid(recipe: Path) -> None:
    loaded = load_recipe(recipe)
    get_profile(loaded.profile, loaded.profile_options)


def test_default_recipe_is_the_tiny_7v_build() -> None:
    recipe = load_recipe(BUILDERS / "tiny-default.toml")
    assert (recipe.profile, recipe.max_vertices, recipe.sample_fraction) == ("tiny", 7, 0.01)
    assert get_profile("tiny", recipe.profile_options) == get_profile("tiny")


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"build": {"profile": "tiny"}, "trainer": {}}, r"unknown section \[trainer\]"),
        ({"build": {"profile": "tiny", "vertices": 4}}, r"unknown key \[build\]\.vertices"),
        ({"build": {"profile": "tiny", "seed": "zero"}}, r"\[build\]\.seed must be an integer"),
        ({"build": {"profile": "tiny", "max_vertices": 9}}, r"\[build\]\.max_vertices must be in 2\.\.7"),
        ({"build": {"profile": "tiny", "sample_fraction": 0}}, r"sample_fraction must be in \(0, 1\]"),
        ({"build": {"profile": "big"}}, "unknown build profile 'big'"),
        ({"build": {"profile": "tiny"}, "profile": {"budget": [1]}}, "unknown option 'budget'"),
        ({"build": {"profile": "tiny"}, "energy": {"watts": 3}}, r"unknown key \[energy\]\.watts"),
        ({"build": {}}, r"\[build\]\.profile is required"),
        ({"build": {"profile": "tiny"}, "energy": {"meter": "rapl"}}, r"\[energy\]\.meter .*'cpu-time'"),
    ],
)
def test_bad_recipes_name_the_key(data: dict, needle: str) -> None:
    with pytest.raises(EcnasError, match=needle):
        parse_recipe(data, source="r.toml")


def test_recipe_chooses_the_meter_by_registry_name() -> None:
    from ecnas.energy import CpuTimeMeter, meter_from_settings

    recipe = parse_recipe({"build": {"profile": "tiny"}, "energy": {"meter": "cpu-time", "pue": 1.2}})
    meter = meter_from_settings(**recipe.energy)
    assert isinstance(meter, CpuTimeMeter) and meter.describe()["pue"] == 1.2
    with pytest.raises(ValueError, match="do not fit meter 'cpu-time'"):
        meter_from_settings(meter="cpu-time", rapl_dir="/nope")
    with pytest.raises(ValueError, match="unknown meter 'rapl'"):
        meter_from_settings(meter="rapl")


def test_recipe_file_errors(tmp_path: Path) -> None:
    with pytest.raises(EcnasError, match="does not exist"):
        load_recipe(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[build\nprofile = 1\n")
    with pytest.raises(EcnasError, match="not valid TOML"):
        load_recipe(bad)
