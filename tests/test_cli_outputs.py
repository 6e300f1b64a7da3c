"""CLI output: `--plugin` optimizers in search/compare, `search` prints each quantity once, import of a non-TFRecord."""

from __future__ import annotations

import sys
import textwrap

import pytest
from click.testing import CliRunner

from ecnas.cli import main

PLUGIN = textwrap.dedent(
    '''
    """A user's optimizer living outside ecnas."""
    from ecnas.optimizers import register
    from ecnas.optimizers._random import RandomSearch


    @register("plugin-rs")
    class PluginRandomSearch(RandomSearch):
        """Random search registered by a plug-in module."""
    '''
)


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    (tmp_path / "ecnas_test_plugin.py").write_text(PLUGIN)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "ecnas_test_plugin"
    from ecnas.optimizers import _base

    _base._REGISTRY._entries.pop("plugin-rs", None)  # the test leaves the registry as it found it
    sys.modules.pop("ecnas_test_plugin", None)


def test_search_and_compare_run_a_plugin_optimizer(plugin, tmp_path):
    runner = CliRunner()
    args = ["search", "plugin-rs", "--plugin", plugin, "--table", "ecnas-4v-rtx3090", "--max-evaluations", "15"]
    out = runner.invoke(main, args)
    assert out.exit_code == 0, out.output
    assert "plugin-rs on ecnas-4v-rtx3090.h5, seed 0: 15 evaluations" in out.output
    compare = ["compare", "plugin-rs", "rs", "--plugin", plugin, "--table", "ecnas-4v-rtx3090", "--seeds", "2"]
    settings = ["--max-evaluations", "10", "--jobs", "2", "--no-plots", "--no-progress", "--out", str(tmp_path / "c")]
    out = runner.invoke(main, [*compare, *settings])
    assert out.exit_code == 0, out.output  # spawned workers imported the plug-in too
    assert "| highest accuracy | plugin-rs |" in out.output


def test_plugin_errors_are_clean(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "broken_plugin_mod.py").write_text("raise RuntimeError('boom')\n")
    runner = CliRunner()
    out = runner.invoke(main, ["search", "rs", "--plugin", "no_such_plugin_mod"])
    assert out.exit_code == 2 and "cannot import plug-in module 'no_such_plugin_mod'" in out.output
    out = runner.invoke(main, ["search", "rs", "--plugin", "broken_plugin_mod"])
    assert out.exit_code == 2 and "RuntimeError: boom" in out.output and "Traceback" not in out.output
    sys.modules.pop("broken_plugin_mod", None)


def test_search_prints_each_quantity_once():
    out = CliRunner().invoke(main, ["search", "rs", "--table", "ecnas-5v", "--max-evaluations", "30"])
    assert out.exit_code == 0, out.output
    header = out.output.splitlines()[1].split()
    assert header[1] == "source"  # measured / surrogate / out-of-fold, beside the values (issue 15)
    header.remove("source")
    assert header[:2] + header[3:7] == ["hash", "|θ|", "T", "(s)", "P_v", "E"]  # no objective columns repeated
    assert header[2] in ("(k)", "(M)") and header[7] == "(Wh)" and len(header) == 8
    out = CliRunner().invoke(
        main, ["search", "rs", "--table", "ecnas-5v", "--max-evaluations", "30", "--objectives", "test_error,co2eq_g"]
    )
    assert out.output.splitlines()[1].split()[-2:] == ["test_error", "co2eq_g"]


def test_import_of_a_file_that_is_not_a_tfrecord(tmp_path):
    runner = CliRunner()
    text = tmp_path / "runs.csv"
    text.write_text("hash,energy\nabc,1\n")
    out = runner.invoke(main, ["import", "ecnas", str(text), "-o", str(tmp_path / "t.h5"), "--no-progress"])
    assert out.exit_code == 1 and "is not a TFRecord file (it starts with text" in out.output
    assert "CRC mismatch" not in out.output and not (tmp_path / "t.h5").exists()
    hdf5 = tmp_path / "table.h5"
    hdf5.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(64))
    out = runner.invoke(main, ["import", "nasbench101", str(hdf5), "-o", str(tmp_path / "t.h5"), "--no-progress"])
    assert out.exit_code == 1 and "is an HDF5 file" in out.output
