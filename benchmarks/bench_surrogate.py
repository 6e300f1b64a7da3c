"""Surrogate quality on EC-NAS's real measurements: the EC-NAS baseline vs ecnas's default, same run.

Data: ``surrogate_7v_train.csv`` (3,448 seven-vertex cells, 4-epoch training energy measured by EC-NAS
on a Quadro RTX 6000). Protocol per seed: a fixed 20% held-out test split; both models train on the
other 80%, each holding out 12.5% of it (10% of the total) for early stopping — EC-NAS's 70/10/20.
Prints Pearson, MAE (Wh), Kendall tau and fit time per configuration (mean ± std over seeds), then the
learning curve (held-out MAE against the number of training cells).

    .venv/bin/python benchmarks/bench_surrogate.py [--seeds 5] [--sizes 250,500,1000,2000,2758]
    .venv/bin/python benchmarks/bench_surrogate.py --test-fraction 0.1 --sizes 2000,2758,3103  # curve's end
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from ecnas.surrogate import MLPSurrogate, read_measurements_csv, regression_metrics

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = Path(os.environ.get("ECNAS_REFERENCE_DIR", ROOT.parent / "shared" / "data" / "reference"))
CONFIGS = {"ecnas-baseline": MLPSurrogate.ecnas_baseline, "ecnas-default": MLPSurrogate}


TEST_FRACTION = 0.2


def split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(1000 + seed).permutation(n)
    n_test = round(TEST_FRACTION * n)
    return order[n_test:], order[:n_test]


def evaluate(name: str, seed: int, x: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray) -> dict:
    start = time.perf_counter()
    model = CONFIGS[name](seed=seed).fit(x[train], y[train])
    seconds = time.perf_counter() - start
    scores = regression_metrics(y[test] * 1000, model.predict(x[test]) * 1000)  # kWh -> Wh
    return {**scores, "fit_s": seconds, "n_train": len(train), "epochs": float(np.mean(model.best_epochs_))}


def summary(rows: list[dict], key: str) -> str:
    values = np.array([row[key] for row in rows])
    return f"{values.mean():.4f} ± {values.std():.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--sizes", default="250,500,1000,2000,2758", help="learning-curve training sizes")
    parser.add_argument("--curve-configs", default="ecnas-baseline,ecnas-default")
    parser.add_argument("--test-fraction", type=float, default=0.2, help="held-out share (EC-NAS: 0.2)")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw results here")
    args = parser.parse_args()
    global TEST_FRACTION
    TEST_FRACTION = args.test_fraction

    data = read_measurements_csv(REFERENCE / "surrogate_7v_train.csv")
    x, y = data.features, data.targets
    print(f"data: {len(y)} cells, energy {y.min() * 1000:.2f}-{y.max() * 1000:.2f} Wh (mean {y.mean() * 1000:.2f})")
    n_test = round(TEST_FRACTION * len(y))
    print(f"protocol: {TEST_FRACTION:.0%} held out per seed ({n_test} cells), seeds 0..{args.seeds - 1}\n")

    results: dict[str, dict] = {"holdout": {}, "curve": {}}
    for name in CONFIGS:
        rows = []
        for seed in range(args.seeds):
            train, test = split(len(y), seed)
            rows.append(evaluate(name, seed, x, y, train, test))
        results["holdout"][name] = rows
    print(f"{'config':16s} {'Pearson':>18s} {'MAE (Wh)':>18s} {'Kendall tau':>18s} {'fit (s)':>10s}")
    for name, rows in results["holdout"].items():
        print(
            f"{name:16s} {summary(rows, 'pearson'):>18s} {summary(rows, 'mae'):>18s} "
            f"{summary(rows, 'kendall_tau'):>18s} {np.mean([r['fit_s'] for r in rows]):10.1f}"
        )
    base, ours = (np.mean([r["mae"] for r in results["holdout"][k]]) for k in CONFIGS)
    print(f"MAE ratio default / baseline: {ours / base:.3f}   (EC-NAS paper: Pearson 0.9977 on its own split)\n")

    sizes = [int(s) for s in args.sizes.split(",")]
    names = [n for n in args.curve_configs.split(",") if n]
    print("learning curve: held-out MAE (Wh) vs training cells (incl. the 12.5% validation share)")
    print(f"{'n_train':>8s} " + " ".join(f"{n:>20s}" for n in names))
    for size in sizes:
        cells = []
        for name in names:
            rows = []
            for seed in range(args.seeds):
                train, test = split(len(y), seed)
                if size >= len(train):
                    rows.append(results["holdout"][name][seed])
                    continue
                subset = np.random.default_rng(2000 + seed).permutation(train)[:size]
                rows.append(evaluate(name, seed, x, y, subset, test))
            results["curve"].setdefault(name, {})[size] = rows
            cells.append(summary(rows, "mae"))
        print(f"{min(size, len(y) - n_test):8d} " + " ".join(f"{c:>20s}" for c in cells), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
