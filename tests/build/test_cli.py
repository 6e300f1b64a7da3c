from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ecnas.cli import main


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["run", "--profile", "huge", "--out", "t.h5"], "unknown build profile 'huge'"),
        (["run", "--profile", "tiny", "-O", "epochs=3", "--out", "t.h5"], "unknown option 'epochs'"),
        (["run", "--profile", "tiny", "-O", "budgets=4,2", "--out", "t.h5"], "'budgets'"),
        (["run", "--profile", "tiny", "-O", "budgets", "--out", "t.h5"], "KEY=VALUE"),
        (["run", "--profile", "tiny"], "--out"),
        (["run", "--out", "t.h5"], "--profile"),
        (["run", "--recipe", "missing.toml", "--out", "t.h5"], "does not exist"),
        (["run", "--profile", "nb101-cifar10", "--out", "t.h5"], "'data_dir' is required"),
        (["status", "--workdir", "nowhere"], "no build plan"),
        (["measure", "--workdir", "nowhere", "--shard", "3/2"], "0 <= i < N"),
    ],
)
def test_user_errors_are_messages_not_tracebacks(
    runner: CliRunner, args: list[str], needle: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["build", *args])
    assert result.exit_code != 0
    assert needle in result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, (AttributeError, KeyError, TypeError))


def test_bad_recipe_key_is_named(runner: CliRunner, tmp_path: Path) -> None:
    recipe = tmp_path / "r.toml"
    recipe.write_text('[build]\nprofile = "tiny"\nworkerz = 2\n')
    result = runner.invoke(main, ["build", "run", "--recipe", str(recipe), "--out", str(tmp_path / "t.h5")])
    assert result.exit_code != 0 and "[build].workerz" in result.output


def test_measure_status_merge_on_a_plan(runner: CliRunner, hand_plan: tuple[Path, object]) -> None:
    workdir, plan = hand_plan
    result = runner.invoke(main, ["build", "measure", "--workdir", str(workdir), "--shard", "1/2", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert f"{len(plan.shard_indices(1, 2))} measured" in result.output
    result = runner.invoke(main, ["build", "status", "--workdir", str(workdir)])
    assert result.exit_code == 0 and f"{len(plan.shard_indices(1, 2))}/{len(plan)} cells" in result.output
    result = runner.invoke(main, ["build", "status", "--workdir", str(workdir), "--json"])
    info = json.loads(result.output)
    assert info["planned"] == len(plan) and info["shards"]["records-1-of-2.jsonl"]["done"] == 4
    result = runner.invoke(main, ["build", "merge", "--workdir", str(workdir)])
    assert result.exit_code == 0 and "merged 4 complete cells" in result.output
    assert (workdir / "records.jsonl").is_file()


def test_help_lists_every_stage(runner: CliRunner) -> None:
    result = runner.invoke(main, ["build", "--help"])
    assert result.exit_code == 0
    for name in ("run", "sample", "measure", "merge", "status", "fit", "fill"):
        assert name in result.output
