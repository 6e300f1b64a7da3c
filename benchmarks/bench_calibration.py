"""Coverage of the surrogate's standard deviation on held-out cells, raw spread vs calibrated.

Per dataset, metric and seed: a fixed 20% of the cells is held out; the builder's model
(:data:`ecnas.build.fit.CROSSFIT_SETTINGS`: cross-fitted 5-member ensemble on the space's default
feature set, std calibrated on its out-of-fold residuals, split-conformal multipliers for the
ensemble mean) trains on the other 80%; the held-out cells are then scored by the share of measured
values inside mean ± 1σ (nominal 68.27%) and mean ± z95·σ (nominal 95%) for: the raw ensemble spread
(z95 = 1.96), ``corrected`` — the earlier method, the out-of-fold calibration carried to the ensemble
mean by the ensemble correction (same fitted model, z95 = 1.96) —, ``default`` — the split-conformal
std and its z95 —, and ``out-of-fold``: the training cells' own out-of-fold values with their std
(z95 = 1.96; what a table stores for measured rows). ``--calibration-fraction 0`` fits no second
ensemble (then ``default`` equals ``corrected``).

Datasets:
- ``ecnas-7v``: EC-NAS's 3,448 seven-vertex cells, 4-epoch energy (``surrogate_7v_train.csv``);
- ``ecnas-45v``: EC-NAS's 4- and 5-vertex cells (``ecnas_measured_4V_5V.csv``, repeats averaged),
  4-epoch validation/test accuracy and energy;
- ``default-table``: the measured rows (``source == measured``) of the shipped default table
  ``data/ecnas-tiny-7v.h5``, at budget 4.

    .venv/bin/python benchmarks/bench_calibration.py [--seeds 0,1] [--datasets ecnas-7v,ecnas-45v,default-table]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from ecnas.build.fit import CROSSFIT_SETTINGS
from ecnas.spaces import get_space
from ecnas.surrogate import MLPSurrogate, coverage, read_measurements_csv, regression_metrics

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = Path(os.environ.get("ECNAS_REFERENCE_DIR", ROOT.parent / "shared" / "data" / "reference"))
ACCURACIES = ("train_accuracy", "validation_accuracy", "test_accuracy")


def ecnas_7v() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    data = read_measurements_csv(REFERENCE / "surrogate_7v_train.csv")
    space = get_space("nb101")
    columns = space.encode(list(data.specs))
    return {"energy_kwh": (space.surrogate_features(columns, data.trainable_parameters), data.targets)}


def ecnas_45v() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    from ecnas.surrogate._data import _parse_cell

    rows: dict[str, list[dict[str, str]]] = {}
    with (REFERENCE / "ecnas_measured_4V_5V.csv").open(newline="", encoding="utf-8") as stream:
        for row in csv.DictReader(stream):
            rows.setdefault(row["module_hash"], []).append(row)
    specs = [_parse_cell(group[0]["adjacency"], group[0]["ops"], key) for key, group in rows.items()]
    space = get_space("nb101")
    columns = space.encode(specs)
    x = space.surrogate_features(columns, space.num_parameters(columns))
    out = {}
    for metric, column in (("validation_accuracy", "val_acc_4ep"), ("test_accuracy", "test_acc_4ep"),
                           ("energy_kwh", "energy_4ep_kwh")):  # fmt: skip
        out[metric] = (x, np.array([np.mean([float(r[column]) for r in group]) for group in rows.values()]))
    return out


def default_table(metrics: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    from ecnas.build.refit import table_measured_values
    from ecnas.table import read_table

    contents = read_table(ROOT / "data" / "ecnas-tiny-7v.h5")
    measured = table_measured_values(contents)
    space = get_space(measured.space)
    x = space.surrogate_features(measured.columns, space.num_parameters(measured.columns))
    column = list(contents.budgets).index(4)
    return {m: (x, np.nanmean(measured.metrics[m][:, column], axis=1)) for m in metrics}


def evaluate(metric: str, x: np.ndarray, y: np.ndarray, seed: int, calibration_fraction: float) -> dict:
    order = np.random.default_rng(1000 + seed).permutation(len(y))
    n_test = round(0.2 * len(y))
    test, train = order[:n_test], order[n_test:]
    transform = "standard" if metric in ACCURACIES else "scale"
    settings = {**CROSSFIT_SETTINGS, "calibration_fraction": calibration_fraction}
    start = time.perf_counter()
    model = MLPSurrogate(seed=seed, target_transform=transform, **settings).fit(x[train], y[train])
    seconds = time.perf_counter() - start
    members = model.predict_members(x[test])
    mean, raw = members.mean(axis=0), members.std(axis=0)
    calibration = model.calibration_
    corrected = replace(model.out_of_fold_calibration_, ensemble_correction=True)  # the earlier method
    oof_mean, oof_std = model.predict_out_of_fold(x[train])
    return {
        "fit_s": seconds,
        "scores": regression_metrics(y[test], mean),
        "raw": coverage(y[test], mean, raw),
        "corrected": coverage(y[test], mean, corrected.apply(raw, ensemble=True)),
        "default": coverage(y[test], mean, calibration.apply(raw, ensemble=True), z95=calibration.z(0.95)),
        "out-of-fold": coverage(y[train], oof_mean, oof_std),
        "calibration": calibration.to_json(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--datasets", default="ecnas-7v,ecnas-45v,default-table")
    parser.add_argument("--table-metrics", default="energy_kwh,validation_accuracy,test_accuracy,training_time")
    parser.add_argument(
        "--calibration-fraction", type=float, default=CROSSFIT_SETTINGS["calibration_fraction"],
        help="share of the training cells no member trains on (split calibration; 0: out-of-fold + correction)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the raw results here")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    loaders = {
        "ecnas-7v": ecnas_7v,
        "ecnas-45v": ecnas_45v,
        "default-table": lambda: default_table(args.table_metrics.split(",")),
    }
    results: dict[str, dict] = {}
    print(
        "held-out coverage of mean ± 1σ / ± z95·σ (nominal 68.3% / 95.0%; z95 = 1.96 except the default's "
        "split-conformal z95); 20% of the cells held out per seed"
    )
    print(f"{'dataset':14s} {'metric':20s} {'seed':>4s} {'raw':>13s} {'corrected':>13s} {'default':>13s} "
          f"{'out-of-fold':>13s} {'pearson':>8s} {'mae':>9s} {'fit s':>6s}")  # fmt: skip
    for name in [n for n in args.datasets.split(",") if n]:
        for metric, (x, y) in loaders[name]().items():
            for seed in seeds:
                row = evaluate(metric, x, y, seed, args.calibration_fraction)
                results.setdefault(name, {}).setdefault(metric, {})[seed] = row

                def cell(c: dict) -> str:
                    return f"{c['68'] * 100:5.1f} / {c['95'] * 100:5.1f}"

                print(
                    f"{name:14s} {metric:20s} {seed:4d} {cell(row['raw']):>13s} {cell(row['corrected']):>13s} "
                    f"{cell(row['default']):>13s} {cell(row['out-of-fold']):>13s} "
                    f"{row['scores']['pearson']:8.4f} {row['scores']['mae']:9.3g} {row['fit_s']:6.0f}",
                    flush=True,
                )
    summarise(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


def summarise(results: dict) -> None:
    """Per method: (level, case) pairs within 4 points of nominal, the largest miss, and the mean over seeds."""
    methods = ("raw", "corrected", "default", "out-of-fold")
    nominal = {"68": 68.27, "95": 95.0}
    print("\nper method: pairs (level x case) within ±4 points of nominal, largest deviation, mean coverage over cases")
    for method in methods:
        rows = [row for metrics in results.values() for seeds in metrics.values() for row in seeds.values()]
        deviations = [100 * row[method][level] - nominal[level] for row in rows for level in nominal]
        means = {level: np.mean([100 * row[method][level] for row in rows]) for level in nominal}
        within = sum(abs(d) <= 4 for d in deviations)
        print(
            f"{method:12s} {within:3d} of {len(deviations)} within ±4, largest |dev| {max(map(abs, deviations)):4.1f}, "
            f"mean {means['68']:.1f} / {means['95']:.1f}"
        )
    print("per (dataset, metric): mean coverage over seeds, default method")
    for name, metrics in results.items():
        for metric, seeds in metrics.items():
            c68 = np.mean([100 * row["default"]["68"] for row in seeds.values()])
            c95 = np.mean([100 * row["default"]["95"] for row in seeds.values()])
            z95 = np.mean([row["calibration"]["ensemble_z95"] or 1.96 for row in seeds.values()])
            print(f"  {name:14s} {metric:20s} {c68:5.1f} / {c95:5.1f}   z95 {z95:.2f}")


if __name__ == "__main__":
    main()
