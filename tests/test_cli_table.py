from __future__ import annotations

import json

from click.testing import CliRunner

from ecnas.cli import main
from tests.tables import write_synthetic


def test_info_and_query(tmp_path):
    path, _ = write_synthetic(tmp_path / "t.h5")
    runner = CliRunner()
    out = runner.invoke(main, ["info", str(path), "--verify"])
    assert out.exit_code == 0, out.output
    assert "budgets:" in out.output and "sha256 OK" in out.output
    out = runner.invoke(main, ["info", str(path), "--json"])
    assert json.loads(out.output)["num_cells"] == 5
    out = runner.invoke(
        main, ["query", "--table", str(path), "--matrix", "[[0,1],[0,0]]", "--ops", "input,output", "--json"]
    )
    assert out.exit_code == 0, out.output
    result = json.loads(out.output)
    assert result["hash"] == "043721b9c7fe8c5fad811d47d83132ec" and result["budget"] == 12
    out = runner.invoke(
        main, ["query", "--table", str(path), "--hash", result["hash"], "--budget", "4", "--repeat", "1"]
    )
    assert out.exit_code == 0 and "repeat" in out.output


def test_user_errors_are_clean(tmp_path):
    path, _ = write_synthetic(tmp_path / "t.h5")
    runner = CliRunner()
    cases = [
        (["info", str(tmp_path / "missing.h5")], "no such table"),
        (["query", "--table", str(path), "--hash", "0" * 32], "not in table"),
        (["query", "--table", str(path), "--hash", "zz"], "not an NB101 hash"),
        (["query", "--table", str(path), "--matrix", "[[0,1],[1,0]]", "--ops", "input,output"], "invalid cell"),
        (["query", "--table", str(path), "--matrix", "[[0,1]", "--ops", "input,output"], "not valid JSON"),
        (["query", "--table", str(path), "--hash", "0" * 32, "--budget", "5"], "budget"),
        (["query", "--table", str(path), "--hash", "0" * 32, "--repeat", "x"], "--repeat"),
        (["query", "--table", str(path)], "exactly one"),
    ]
    for args, message in cases:
        out = runner.invoke(main, args)
        assert out.exit_code != 0, args
        assert message in out.output, (args, out.output)
        assert "Traceback" not in out.output
    broken = tmp_path / "broken.h5"
    broken.write_bytes(path.read_bytes()[:1000])
    out = runner.invoke(main, ["info", str(broken)])
    assert out.exit_code != 0 and "broken.h5" in out.output
