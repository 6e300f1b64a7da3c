"""User and environment errors give clear messages: deep JSON, malformed files, counters, query_many misuse."""

from __future__ import annotations

import json
import threading

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from ecnas import Benchmark
from ecnas._io import ATTRIBUTES_DIGEST, tree_sha256
from ecnas.build.fit import measured_values
from ecnas.build.plan import read_plan
from ecnas.build.records import decode_line, encode_line
from ecnas.cli import main
from ecnas.errors import CorruptRecordError, EcnasError, TableFormatError
from ecnas.importers._records import parse_record
from ecnas.optimizers import Result
from ecnas.table import write_table
from tests.tables import synthetic_contents, write_synthetic

DEEP = "[" * 20_000 + "]" * 20_000


def test_deep_matrix_is_a_bad_parameter(tmp_path):
    path, _ = write_synthetic(tmp_path / "t.h5")
    out = CliRunner().invoke(main, ["query", "--table", str(path), "--matrix", DEEP, "--ops", "input,output"])
    assert out.exit_code == 2 and "--matrix" in out.output and "Traceback" not in out.output


def test_deep_json_in_files_is_a_clear_error(tmp_path):
    with pytest.raises(CorruptRecordError):
        parse_record(DEEP.encode(), path=tmp_path / "x.tfrecord", index=0, offset=0)
    run = tmp_path / "seed0.json"
    run.write_text(DEEP)
    with pytest.raises(ValueError, match="not a readable ecnas optimizer result"):
        Result.load(run)
    (tmp_path / "plan.json").write_text(DEEP)
    with pytest.raises(EcnasError, match="unreadable"):
        read_plan(tmp_path)
    line = encode_line({"hash": "x"}).replace(b'{"hash":"x"}', DEEP.encode())
    assert decode_line(line) is None  # a damaged record line is dropped like a torn one


@pytest.mark.parametrize("models", [[1, 2], {"energy_kwh@4": [1]}, {"energy_kwh@4": {"holdout": {"pearson": "x"}}}])
def test_info_with_odd_provenance_has_no_traceback(tmp_path, models):
    contents = synthetic_contents()
    contents.provenance["surrogate"] = {"models": models}
    contents.provenance["hardware"] = {"gpus": [1, None]}
    write_table(tmp_path / "t.h5", contents)
    out = CliRunner().invoke(main, ["info", str(tmp_path / "t.h5")])
    assert out.exit_code == 0, out.output


def test_directory_and_symlink_loop_are_named(tmp_path):
    out = CliRunner().invoke(main, ["info", str(tmp_path)])
    assert out.exit_code != 0 and "directory" in out.output
    loop = tmp_path / "loop.h5"
    loop.symlink_to(loop)
    out = CliRunner().invoke(main, ["info", str(loop)])
    assert out.exit_code != 0 and "Traceback" not in out.output


def test_query_many_refuses_a_single_string(tmp_path):
    path, _ = write_synthetic(tmp_path / "t.h5")
    with Benchmark(path) as bench, pytest.raises(TypeError, match="sequence"):
        bench.query_many(bench.hashes[0])


def test_to_frame_is_not_an_evaluation(tmp_path):
    pytest.importorskip("pandas")
    path, _ = write_synthetic(tmp_path / "t.h5")
    with Benchmark(path) as bench:
        bench.query(bench.hashes[0])
        before = dict(bench.counters)
        frame = bench.to_frame()
        assert len(frame) == 5 and bench.counters == before


def test_counters_are_exact_under_threads(tmp_path):
    path, _ = write_synthetic(tmp_path / "t.h5")
    with Benchmark(path) as bench:
        hashes = bench.hashes
        expected_time = sum(bench.query(h)["training_time"] for h in hashes)
        bench.reset_counters()

        def work():
            for _ in range(400):
                for h in hashes:
                    bench.query(h)
                bench.query_many(hashes)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert bench.counters["queries"] == 8 * 400 * 10
        assert bench.counters["training_time_s"] == pytest.approx(8 * 400 * 2 * expected_time, rel=1e-12)


@pytest.mark.parametrize(
    ("metric", "value"),
    [("validation_accuracy", 5.0), ("energy_kwh", -1.0), ("training_time", 1e300), ("energy_kwh", 10**400)],
)
def test_implausible_build_records_are_refused(metric, value):
    from tests.test_fill import make_records, small_cells

    records = make_records(small_cells()[:2], budgets=(4,), repeats=1)
    records[1][metric] = value
    with pytest.raises(ValueError, match=metric):
        measured_values(records, (4,))


def test_huge_provenance_is_refused_before_decoding(tmp_path):
    path, _ = write_synthetic(tmp_path / "t.h5")
    try:
        with h5py.File(path, "r+", libver="latest") as h5:
            h5.attrs["provenance"] = json.dumps({"note": "x" * (17 * 2**20)})
            h5.attrs[ATTRIBUTES_DIGEST] = tree_sha256(h5)
    except (OSError, RuntimeError, ValueError):
        pytest.skip("this HDF5 cannot store a 17 MiB attribute")
    with pytest.raises(TableFormatError, match="larger than"):
        Benchmark(path)


def test_numpy_scalar_intensity_from_the_api_still_works(tmp_path):
    path, _ = write_synthetic(tmp_path / "t.h5")
    with Benchmark(path, carbon_intensity=np.float64(100.0)) as bench:
        assert bench.carbon_intensity == 100.0


def test_table_locked_by_a_writer_is_named_as_such(tmp_path):
    import subprocess
    import sys

    path, _ = write_synthetic(tmp_path / "t.h5")
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import h5py, time; f = h5py.File({str(path)!r}, 'r+'); print('ok', flush=True); "
         "time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "ok"
        with pytest.raises(TableFormatError, match="locked by another process"):
            Benchmark(path)
    finally:
        holder.kill()
        holder.wait()
