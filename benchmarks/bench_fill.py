"""Fill speed: predict every cell of the 423,624-cell space at 4 budgets (goal: <= 10 s on this machine).

Steps timed separately: enumerating the space, the default network's parameter counts (vectorised),
the 36 features, predicting 4 budgets with the default 5-member ensemble (one fitted model per
budget), and a complete ``fill_table`` of a 6-metric x 4-budget bundle (24 models) written to HDF5.
Baseline in the same run: predicting cell by cell (``CellSpec.features()`` + a 1-row predict) on a
sample, extrapolated to the whole space.

    .venv/bin/python benchmarks/bench_fill.py [--max-vertices 7] [--skip-table]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from ecnas.build.fill import fill_table
from ecnas.channels import count_parameters_many
from ecnas.space import enumerate_space
from ecnas.surrogate import MeasuredValues, MLPSurrogate, SurrogateBundle
from ecnas.table import METRICS

BUDGETS = (4, 12, 36, 108)


def timed(label: str, function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    seconds = time.perf_counter() - start
    print(f"{label:52s} {seconds:8.2f} s", flush=True)
    return result, seconds


def quick_model(x: np.ndarray, y: np.ndarray, seed: int) -> MLPSurrogate:
    """Default architecture and ensemble size; 2 epochs suffice to time inference."""
    return MLPSurrogate(seed=seed, max_epochs=2, batch_size=256).fit(x, y)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-vertices", type=int, default=7)
    parser.add_argument("--skip-table", action="store_true", help="skip the full fill_table run")
    args = parser.parse_args()

    space, _ = timed(f"enumerate space (max_vertices={args.max_vertices})", enumerate_space, args.max_vertices)
    n = len(space)
    params, t_params = timed(f"parameter counts, {n:,} cells", count_parameters_many, space.matrices, space.op_codes)
    features, t_feat = timed("features [N, 36]", space.features, params)
    features = np.asarray(features, dtype=np.float64)

    rng = np.random.default_rng(0)
    sample = rng.choice(n, size=min(2000, n), replace=False)
    energy = 1e-3 * (1 + features[sample, -1]) * (1 + 0.05 * rng.standard_normal(len(sample))) ** 2
    models = {budget: quick_model(features[sample], energy * budget / 4, seed) for seed, budget in enumerate(BUDGETS)}

    def predict_all() -> list[tuple[np.ndarray, np.ndarray]]:
        return [models[budget].predict(features, return_std=True) for budget in BUDGETS]

    _, t_pred = timed(f"predict {n:,} cells x {len(BUDGETS)} budgets (5 members)", predict_all)
    probe = [space.cell(int(i)) for i in sample[:500]]
    start = time.perf_counter()
    for spec in probe:
        for budget in BUDGETS:
            models[budget].predict(spec.features()[None, :], return_std=True)
    per_cell = (time.perf_counter() - start) / len(probe)
    baseline = per_cell * n
    print(f"{'baseline: cell by cell (extrapolated from 500 cells)':52s} {baseline:8.2f} s")
    total = t_params + t_feat + t_pred
    print(
        f"\nfeatures + prediction: {total:.2f} s (goal <= 10 s for prediction: {t_pred:.2f} s); "
        f"speed-up vs cell by cell: {baseline / t_pred:.0f}x"
    )

    if args.skip_table:
        return
    bundle_models = {}
    for index, metric in enumerate(METRICS):
        for budget in BUDGETS:
            bundle_models[(metric, budget)] = models[budget]
            models[budget].metadata_ = {"metric": metric, "budget": budget, "index": index}
    picked = space.cell(int(sample[0]))
    measured = MeasuredValues(
        hashes=np.array([picked.hash], dtype="S32"),
        columns={
            "matrix": np.asarray(space.matrices[sample[:1]], dtype=np.uint8),
            "op_codes": np.asarray(space.op_codes[sample[:1]], dtype=np.int8),
        },
        trainable_parameters=params[sample[:1]].astype(np.int64),
        metrics={metric: np.full((1, len(BUDGETS), 1), 0.5) for metric in METRICS},
    )
    bundle = SurrogateBundle(BUDGETS, bundle_models, measured, {"profile": "benchmark", "network": None})
    with tempfile.TemporaryDirectory() as folder:
        surrogate = bundle.save(Path(folder) / "s.h5")
        timed(
            f"fill_table: {len(bundle_models)} models, write HDF5",
            fill_table, surrogate, Path(folder) / "t.h5", max_vertices=args.max_vertices, progress=False,
        )  # fmt: skip
        size = (Path(folder) / "t.h5").stat().st_size / 2**20
    print(f"table size: {size:.1f} MiB")


if __name__ == "__main__":
    main()
