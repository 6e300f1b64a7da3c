"""The search-space contract suite (ecnas.testing.spaces) for every registered space, the toy space included."""

from __future__ import annotations

from typing import Any

import pytest

from ecnas.testing.spaces import check_space_parameters


@pytest.mark.parametrize(("name", "check"), check_space_parameters())
def test_space_contract(name: str, check: Any) -> None:
    check(name)


def test_cli_lists_spaces_and_exports_configspace(tmp_path) -> None:
    from click.testing import CliRunner
    from ConfigSpace import ConfigurationSpace

    from ecnas.cli import main

    listed = CliRunner().invoke(main, ["space", "list"])
    assert listed.exit_code == 0 and "nb101:" in listed.output and "toy:" in listed.output
    out = tmp_path / "cs.json"
    written = CliRunner().invoke(main, ["space", "configspace", "nb101", "-o", str(out)])
    assert written.exit_code == 0, written.output
    cs = ConfigurationSpace.from_json(out)
    assert {f"edge_{k}" for k in range(21)} | {f"op_node_{k}" for k in range(5)} == set(cs)
    unknown = CliRunner().invoke(main, ["space", "configspace", "nope"])
    assert unknown.exit_code == 2 and "valid names are" in unknown.output


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: __import__("ecnas.spaces").spaces.Float("x", 1.0, 1.0, 1.0), "low < high"),
        (lambda: __import__("ecnas.spaces").spaces.Integer("n", 0, 8, 2, log=True), "log scale needs low > 0"),
        (lambda: __import__("ecnas.spaces").spaces.Integer("n", 1, 8, 9), "outside"),
        (lambda: __import__("ecnas.spaces").spaces.Categorical("c", ("a",), "a"), "two distinct choices"),
        (lambda: __import__("ecnas.spaces").spaces.Categorical("c", ("a", "b"), "z"), "not one of"),
    ],
)
def test_parameter_declarations_are_validated(make: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()
