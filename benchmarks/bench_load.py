"""Load and query speed of an ecnas table vs streaming the equivalent TFRecord (NB101/EC-NAS's load path).

Builds, over the enumerated NB101 space (423,624 cells), a table filled with seeded random metrics
and the TFRecord file holding the same numbers in EC-NAS's record format (JSON list + base64
protobuf, three evaluations per record as in the real files). Then measures, in the same run:

- table open time (``Benchmark(path)``) and RSS, in a fresh subprocess;
- ``query`` latency by hash and by a fresh ``CellSpec`` (hash not yet computed), in the stored vertex
  order and in a random one, p50/p99; baseline in the same run: NB101's md5 hash, then query by hash
  (a Benchmark itself hashes its first 1,000 cells, then builds its structure index: timed too);
- ``query_many`` of 100,000 hashes (numpy array and list of str); baseline for its row lookup: binary
  search of 32-byte strings;
- streaming the TFRecord the way NB101's ``api.py`` loads it (every CRC checked, JSON parsed, metrics
  decoded, per-cell dicts built) with ecnas's reader and pure-Python protobuf decoder;
- the load-time ratio: streaming time / table open time.

Targets (from the table issue): open ≤ 0.2 s, RSS ≤ 150 MB, query by hash p50 ≤ 10 µs, by CellSpec
p50 ≤ 60 µs, query_many(100,000) ≤ 0.1 s. Defaults mirror NB101's ``nasbench_only108.tfrecord``
(budget 108, 3 repeats: 1,270,872 records). Run:
``.venv/bin/python benchmarks/bench_load.py [--cells N] [--budgets 108] [--repeats 3] [--workdir DIR [--reuse]]``.
Wall-clock numbers include contention from other processes; CPU times are printed beside them.
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ecnas.benchmark import Benchmark
from ecnas.channels import count_parameters_many
from ecnas.importers import ENERGY_METRICS, decode, encode, iter_records, write_records
from ecnas.importers._crc32c import BACKEND
from ecnas.lookup import StructureIndex
from ecnas.space import FEATURE_OP_CODES, CellSpec, enumerate_space, hash_cell
from ecnas.table import METRICS, SOURCE_SURROGATE, TableContents, read_table, write_table

_OP_NAMES = {code: name for name, code in FEATURE_OP_CODES.items()}
TARGETS = {"open_s": 0.2, "rss_mb": 150.0, "hash_p50_us": 10.0, "spec_p50_us": 60.0, "many_s": 0.1}


def log(message: str) -> None:
    print(message, flush=True)


# ---------------------------------------------------------------------- data
def make_contents(space: object, budgets: tuple[int, ...], repeats: int, seed: int) -> TableContents:
    """Seeded random metrics over the enumerated space (real matrices, op codes and parameter counts)."""
    rng = np.random.default_rng(seed)
    n, b = len(space), len(budgets)  # type: ignore[arg-type]
    shape = (n, b, repeats)
    scale = np.asarray(budgets, dtype=np.float64)[None, :, None]
    training_time = rng.uniform(5.0, 50.0, shape) * scale
    energy = training_time * rng.uniform(150.0, 250.0, shape) * 1.59 / 3.6e6
    metrics = {
        "training_time": training_time,
        "train_accuracy": rng.uniform(0.1, 1.0, shape),
        "validation_accuracy": rng.uniform(0.1, 0.95, shape),
        "test_accuracy": rng.uniform(0.1, 0.95, shape),
        "energy_kwh": energy,
        "total_energy_kwh": energy * rng.uniform(1.05, 1.3, shape),
    }
    return TableContents(
        hashes=np.asarray(space.hash_bytes),  # type: ignore[attr-defined]
        budgets=budgets,
        repeats=repeats,
        columns={"matrix": np.asarray(space.matrices), "op_codes": np.asarray(space.op_codes)},  # type: ignore[attr-defined]
        trainable_parameters=count_parameters_many(space.matrices, space.op_codes),  # type: ignore[attr-defined]
        source=np.full(n, SOURCE_SURROGATE, dtype=np.uint8),
        metrics=metrics,
        provenance={
            "energy_method": "random (benchmark data)",
            "carbon_intensity": 200.0,
            "intensity_source": "benchmark",
            "pue": 1.0,
            "profile": "bench_load",
        },
    )


def _evaluation(
    epochs: int, fraction: float, time_s: float, accuracies: tuple[float, float, float], energy: float, intensity: float
) -> dict:
    scale = fraction or 0.1  # accuracies at the start evaluation: about chance
    item = {
        "current_epoch": float(epochs) * fraction,
        "training_time": time_s * fraction,
        "train_accuracy": accuracies[0] * scale,
        "validation_accuracy": accuracies[1] * scale,
        "test_accuracy": accuracies[2] * scale,
        "energy_kwh": energy * fraction,
        "co2eq_g": energy * fraction * intensity,
        "avg_intensity": intensity,
        "start_timestamp": "2022-05-29 06:03:58",
        "stop_timestamp": "2022-05-29 06:16:11",
    }
    if fraction == 1.0:  # the final evaluation carries EC-NAS's predictions too
        item.update(
            predicted_energy_kwh=energy * 1.1,
            predicted_co2eq_g=energy * 1.1 * intensity,
            predicted_training_time=time_s * 1.1,
            predicted_avg_intensity=intensity,
        )
    return item


def _device(watts: float, seconds: float, name: str) -> dict:
    return {"watts": [{"value": watts}], "joules": [{"value": watts * seconds}], "devices": [{"name": name}]}


def record_payloads(contents: TableContents, rng: np.random.Generator) -> Iterator[bytes]:
    """EC-NAS-format records with the table's numbers: one per (cell, budget, repeat), cell-major."""
    hashes = contents.hashes.astype("U32")
    values = {name: contents.metrics[name].tolist() for name in METRICS}
    noise = rng.uniform(0.0, 1.0, (len(hashes), 2)).tolist()
    for i, module_hash in enumerate(hashes):
        codes = contents.columns["op_codes"][i]
        size = int(np.count_nonzero(codes))
        adjacency = "".join("1" if v else "0" for v in contents.columns["matrix"][i, :size, :size].ravel())
        operations = ",".join(_OP_NAMES[int(c)] for c in codes[:size])
        intensity = 100.0 + 100.0 * noise[i][0]
        watts = 150.0 + 100.0 * noise[i][1]
        for j, epochs in enumerate(contents.budgets):
            for k in range(contents.repeats):
                time_s = values["training_time"][i][j][k]
                energy = values["energy_kwh"][i][j][k]
                total = values["total_energy_kwh"][i][j][k]
                accuracies = tuple(
                    values[m][i][j][k] for m in ("train_accuracy", "validation_accuracy", "test_accuracy")
                )
                message = {
                    "evaluations": [
                        _evaluation(epochs, fraction, time_s, accuracies, energy, intensity)  # type: ignore[arg-type]
                        for fraction in (0.0, 0.5, 1.0)
                    ],
                    "trainable_parameters": int(contents.trainable_parameters[i]),
                    "total_time": time_s * 1.1,
                    "total_energy_kwh": total,
                    "total_co2eq_g": total * intensity,
                    "avg_intensity": intensity,
                    "power_usage": {
                        "gpu": _device(watts, time_s * 1.1, "NVIDIA Quadro RTX 6000"),
                        "cpu": _device(55.0, time_s * 1.1, "cpu:0"),
                    },
                }
                metrics = base64.b64encode(encode(message, ENERGY_METRICS)).decode("ascii")
                yield json.dumps([module_hash, int(epochs), adjacency, operations, metrics]).encode("utf-8")


def stream_like_nb101(path: Path) -> tuple[dict, dict, int]:
    """NB101 ``api.py``'s load loop on ecnas's reader: CRCs, JSON, base64, protobuf, per-cell dicts."""
    fixed: dict[str, dict] = {}
    computed: dict[str, dict[int, list[dict]]] = {}
    count = 0
    for _, data in iter_records(path):
        module_hash, epochs, adjacency, operations, raw = json.loads(data)
        dim = math.isqrt(len(adjacency))
        message = decode(base64.b64decode(raw), ENERGY_METRICS)
        if module_hash not in fixed:
            fixed[module_hash] = {
                "module_adjacency": np.array([int(e) for e in adjacency], dtype=np.int8).reshape(dim, dim),
                "module_operations": operations.split(","),
                "trainable_parameters": message["trainable_parameters"],
            }
        final = message["evaluations"][-1]
        computed.setdefault(module_hash, {}).setdefault(epochs, []).append(
            {
                "final_training_time": final["training_time"],
                "final_train_accuracy": final["train_accuracy"],
                "final_validation_accuracy": final["validation_accuracy"],
                "final_test_accuracy": final["test_accuracy"],
                "energy_kwh": final["energy_kwh"],
                "total_energy_kwh": message["total_energy_kwh"],
            }
        )
        count += 1
    return fixed, computed, count


# ---------------------------------------------------------------------- measurements
_CHILD = r"""
import json, sys, time
def rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
from ecnas.benchmark import Benchmark
import h5py, numpy
before = rss_mb()
start = time.perf_counter()
bench = Benchmark(sys.argv[1])
first_open = time.perf_counter() - start
after_open = rss_mb()
bench.query(bench.hash_array[0].decode(), budget=int(sys.argv[2]))
after_query = rss_mb()
opens = []
for _ in range(5):
    start = time.perf_counter()
    Benchmark(sys.argv[1]).close()
    opens.append(time.perf_counter() - start)
print(json.dumps({"first_open_s": first_open, "best_open_s": min(opens), "rss_before_mb": before,
                  "rss_open_mb": after_open, "rss_first_query_mb": after_query}))
"""


def measure_open(table: Path, budget: int) -> dict[str, float]:
    output = subprocess.run(
        [sys.executable, "-c", _CHILD, str(table), str(budget)], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def percentiles(samples: list[float]) -> tuple[float, float]:
    values = np.asarray(samples) * 1e6
    return float(np.percentile(values, 50)), float(np.percentile(values, 99))


def _timed(run: Callable[[Any], object], items: list[Any]) -> tuple[list[float], float]:
    """Per-item wall times and the mean CPU time per item (µs; includes the timer calls)."""
    clock, cpu = time.perf_counter, time.process_time
    samples = []
    c0 = cpu()
    for item in items:
        t0 = clock()
        run(item)
        samples.append(clock() - t0)
    return samples, (cpu() - c0) / len(items) * 1e6


def _best_of(runs: int, run: Callable[[], object]) -> float:
    best = math.inf
    for _ in range(runs):
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
    return best


def _string_search(sorted_hashes: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """The previous row lookup of query_many (baseline): binary search of 32-byte strings."""
    encoded = keys.astype("S32")
    rows = np.minimum(np.searchsorted(sorted_hashes, encoded), len(sorted_hashes) - 1)
    return np.where(sorted_hashes[rows] == encoded, rows, -1)


def measure_queries(table: Path, contents: TableContents, space: object, seed: int, count: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    n = len(contents)
    budget = contents.budgets[-1]
    picks = rng.integers(0, n, count)
    hashes = contents.hashes[picks].astype("U32").tolist()
    cells = [space.cell(int(i)) for i in picks[: min(count, 20000)]]  # type: ignore[attr-defined]
    # Fresh CellSpecs: their hash is not computed yet. The stored vertex order, another random vertex
    # order (what an optimizer's mutation produces), and the baseline: NB101's md5 hash, then by hash.
    fresh = [CellSpec(c.matrix, c.ops) for c in cells]
    shuffled = [CellSpec(c.matrix, c.ops).shuffled(rng) for c in cells]
    baseline = [CellSpec(c.matrix, c.ops).shuffled(rng) for c in cells]
    result: dict[str, float] = {}
    with Benchmark(table) as bench:
        start = time.perf_counter()
        bench.query(hashes[0], budget=budget)
        result["first_query_s"] = time.perf_counter() - start  # reads and averages the budget's block
        start = time.perf_counter()
        StructureIndex(bench._cells("matrix"), bench._cells("op_codes"))
        result["index_build_s"] = time.perf_counter() - start  # what the 1,001st CellSpec query pays
        samples, result["hash_cpu_us"] = _timed(lambda key: bench.query(key, budget=budget), hashes)
        result["hash_p50_us"], result["hash_p99_us"] = percentiles(samples)
        samples, result["spec_cpu_us"] = _timed(lambda spec: bench.query(spec, budget=budget), fresh)
        result["spec_p50_us"], result["spec_p99_us"] = percentiles(samples)
        samples, result["shuffled_cpu_us"] = _timed(lambda spec: bench.query(spec, budget=budget), shuffled)
        result["shuffled_p50_us"], result["shuffled_p99_us"] = percentiles(samples)
        samples, result["md5_cpu_us"] = _timed(
            lambda spec: bench.query(hash_cell(spec.matrix, spec.labeling), budget=budget), baseline
        )
        result["md5_p50_us"], result["md5_p99_us"] = percentiles(samples)
        for spec, moved in zip(fresh[:1000], shuffled[:1000], strict=True):
            assert bench.query(moved)["hash"] == hash_cell(spec.matrix, spec.labeling)

        many = contents.hashes[rng.integers(0, n, 100_000)].astype("U32")
        many_list = many.tolist()
        columns = bench.query_many(many, budget=budget)  # the first call builds the hash index
        result["many_s"] = _best_of(5, lambda: bench.query_many(many, budget=budget))
        c0 = time.process_time()
        bench.query_many(many, budget=budget)
        result["many_cpu_s"] = time.process_time() - c0
        result["many_list_s"] = _best_of(5, lambda: bench.query_many(many_list, budget=budget))
        result["rows_strings_s"] = _best_of(5, lambda: _string_search(bench.hash_array, many))
        result["rows_words_s"] = _best_of(5, lambda: bench._rows(many))
        assert np.array_equal(bench._rows(many)[0], _string_search(bench.hash_array, many))
        # correctness: the mean over repeats equals the table's numbers
        j = contents.budgets.index(budget)
        rows = np.searchsorted(contents.hashes, many[:1000].astype("S32"))
        expected = np.nanmean(contents.metrics["validation_accuracy"][rows, j], axis=1)
        assert np.array_equal(columns["validation_accuracy"][:1000], expected)
    return result


def verdict(value: float, target: float) -> str:
    return "ok" if value <= target else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cells", type=int, default=None, help="use only the first N cells (smoke runs)")
    parser.add_argument("--budgets", default="108", help="comma-separated epochs (default: NB101 only108)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--queries", type=int, default=50_000, help="single queries timed (p50/p99)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=None, help="where to write the table and TFRecord")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    parser.add_argument("--reuse", action="store_true", help="reuse the table and TFRecord already in --workdir")
    args = parser.parse_args()
    budgets = tuple(sorted(int(b) for b in args.budgets.split(",")))

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="ecnas-bench-load-"))
    workdir.mkdir(parents=True, exist_ok=True)
    table, tfrecord = workdir / "bench.h5", workdir / "bench.tfrecord"

    log(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    start = time.perf_counter()
    space = enumerate_space()
    log(f"enumerated {len(space):,} cells in {time.perf_counter() - start:.1f} s")
    if args.cells is not None:
        space = _Subset(space, min(args.cells, len(space)))
    expected_records = len(space) * len(budgets) * args.repeats
    reuse = args.reuse and table.is_file() and tfrecord.is_file()
    if reuse:
        contents = read_table(table)
        if len(contents) != len(space) or contents.budgets != budgets or contents.repeats != args.repeats:
            raise SystemExit(f"--reuse: {table} does not match --cells/--budgets/--repeats; drop --reuse")
        count = expected_records
        log(f"reusing {table} and {tfrecord} ({tfrecord.stat().st_size / 1e6:.1f} MB)")
    else:
        contents = make_contents(space, budgets, args.repeats, args.seed)
        start = time.perf_counter()
        write_table(table, contents)
        log(f"table: {len(contents):,} cells x budgets {list(budgets)} x {args.repeats} repeats, "
            f"{table.stat().st_size / 1e6:.1f} MB, written in {time.perf_counter() - start:.1f} s")  # fmt: skip
        start = time.perf_counter()
        count = write_records(tfrecord, record_payloads(contents, np.random.default_rng(args.seed + 1)))
        log(f"TFRecord: {count:,} EC-NAS-format records, {tfrecord.stat().st_size / 1e6:.1f} MB, "
            f"written in {time.perf_counter() - start:.1f} s (CRC-32C backend: {BACKEND})")  # fmt: skip

    opened = measure_open(table, budgets[-1])
    queries = measure_queries(table, contents, space, args.seed + 2, args.queries)
    start, start_cpu = time.perf_counter(), time.process_time()
    fixed, computed, streamed = stream_like_nb101(tfrecord)
    stream_s, stream_cpu = time.perf_counter() - start, time.process_time() - start_cpu
    assert streamed == count and len(fixed) == len(contents)
    probe = contents.hashes[len(contents) // 2].decode()
    j = len(budgets) - 1
    assert [r["final_validation_accuracy"] for r in computed[probe][budgets[-1]]] == (
        contents.metrics["validation_accuracy"][len(contents) // 2, j].tolist()
    )

    log("")
    log(f"{'measure':<44} {'value':>14} {'target':>10}")
    rss = opened["rss_open_mb"]
    rows = [
        ("table open, first in a fresh process", f"{opened['first_open_s'] * 1e3:.1f} ms", "≤ 200 ms",
         verdict(opened["first_open_s"], TARGETS["open_s"])),
        ("table open, best of 5", f"{opened['best_open_s'] * 1e3:.1f} ms", "", ""),
        ("RSS after open (whole process)", f"{rss:.0f} MB", "≤ 150 MB", verdict(rss, TARGETS["rss_mb"])),
        ("  of which the table (RSS after imports)", f"+{rss - opened['rss_before_mb']:.0f} MB",
         f"({opened['rss_before_mb']:.0f})", ""),
        ("RSS after the first query (budget block)", f"{opened['rss_first_query_mb']:.0f} MB", "", ""),
        ("first query (reads + averages one budget)", f"{queries['first_query_s'] * 1e3:.1f} ms", "", ""),
        ("query by hash, p50", f"{queries['hash_p50_us']:.1f} µs", "≤ 10 µs",
         verdict(queries["hash_p50_us"], TARGETS["hash_p50_us"])),
        ("query by hash, p99", f"{queries['hash_p99_us']:.1f} µs", "", ""),
        ("query by hash, mean CPU time", f"{queries['hash_cpu_us']:.1f} µs", "", ""),
        ("structure index build (1,001st CellSpec)", f"{queries['index_build_s'] * 1e3:.1f} ms", "", ""),
        ("query by fresh CellSpec, stored order, p50", f"{queries['spec_p50_us']:.1f} µs", "≤ 60 µs",
         verdict(queries["spec_p50_us"], TARGETS["spec_p50_us"])),
        ("query by fresh CellSpec, shuffled, p50", f"{queries['shuffled_p50_us']:.1f} µs", "≤ 60 µs",
         verdict(queries["shuffled_p50_us"], TARGETS["spec_p50_us"])),
        ("query by fresh CellSpec, shuffled, p99", f"{queries['shuffled_p99_us']:.1f} µs", "", ""),
        ("query by fresh CellSpec, shuffled, mean CPU", f"{queries['shuffled_cpu_us']:.1f} µs", "", ""),
        ("  baseline: md5 hash then query by hash, p50", f"{queries['md5_p50_us']:.1f} µs", "", ""),
        ("  ratio baseline / shuffled (p50)", f"{queries['md5_p50_us'] / queries['shuffled_p50_us']:.1f}x", "", ""),
        ("query_many, 100,000 hashes (numpy array)", f"{queries['many_s'] * 1e3:.1f} ms", "≤ 100 ms",
         verdict(queries["many_s"], TARGETS["many_s"])),
        ("query_many, 100,000 hashes, CPU time", f"{queries['many_cpu_s'] * 1e3:.1f} ms", "", ""),
        ("query_many, 100,000 hashes (list of str)", f"{queries['many_list_s'] * 1e3:.1f} ms", "≤ 100 ms",
         verdict(queries["many_list_s"], TARGETS["many_s"])),
        ("  rows of 100,000 hashes: 64-bit words", f"{queries['rows_words_s'] * 1e3:.1f} ms", "", ""),
        ("  baseline: string binary search", f"{queries['rows_strings_s'] * 1e3:.1f} ms", "", ""),
        ("  ratio baseline / words", f"{queries['rows_strings_s'] / queries['rows_words_s']:.1f}x", "", ""),
        ("baseline: stream the TFRecord (NB101 path)", f"{stream_s:.1f} s", "", ""),
        ("  CPU time", f"{stream_cpu:.1f} s", "", ""),
        ("  records per second", f"{count / stream_s:,.0f}", "", ""),
    ]  # fmt: skip
    for name, value, target, mark in rows:
        log(f"{name:<44} {value:>14} {target:>10} {mark}")
    log(f"load-time ratio (TFRecord streaming / table open): {stream_s / opened['first_open_s']:,.0f}x "
        f"(vs best open: {stream_s / opened['best_open_s']:,.0f}x)")  # fmt: skip
    log(f"load average at end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (wall times include contention)")
    if not args.keep and args.workdir is None:
        for path in (table, tfrecord):
            path.unlink(missing_ok=True)
        workdir.rmdir()


class _Subset:
    """The first ``n`` cells of an enumerated space (for ``--cells`` smoke runs)."""

    def __init__(self, space: object, n: int) -> None:
        self._space, self._n = space, n
        self.hash_bytes = space.hash_bytes[:n]  # type: ignore[attr-defined]
        self.matrices = space.matrices[:n]  # type: ignore[attr-defined]
        self.op_codes = space.op_codes[:n]  # type: ignore[attr-defined]

    def __len__(self) -> int:
        return self._n

    def cell(self, i: int) -> CellSpec:
        return self._space.cell(i)  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
