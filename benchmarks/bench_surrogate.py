"""Surrogate quality on EC-NAS's real measurements: the EC-NAS baseline vs ecnas's default, same run.

Data: ``surrogate_7v_train.csv`` (3,448 seven-vertex cells, 4-epoch training energy measured by EC-NAS
on a Quadro RTX 6000). Protocol per seed: a fixed 20% held-out test split; both models train on the
other 80%, each holding out 12.5% of it (10% of the total) for early stopping — EC-NAS's 70/10/20.
Prints Pearson, MAE (Wh), Kendall tau and fit time per configuration (mean ± std over seeds), then the
learning curve (held-out MAE against the number of training cells).

Configurations: ``ecnas-baseline`` (EC-NAS's MLP), ``ecnas-default`` (the 5-member ensemble on EC-NAS's
36 features), ``graph`` (the same ensemble on NB101's ``graph`` feature set: the 36 plus 29 graph
features — size, ops per depth, channels, log parameters; :mod:`ecnas.spaces.nb101.graph_features`),
``crossfit`` (the builder's model: ``graph`` features, cross-fitting folds, cosine decay, calibrated
std; :data:`ecnas.build.fit.CROSSFIT_SETTINGS`), ``cost`` (the energy model of issue 15 §4: the
ensemble on NB101's 14 ``cost`` features — MACs, activations and kernels of the whole network,
:mod:`ecnas.spaces.nb101.cost_features` — with standardised inputs and cosine decay, :data:`COST_SETTINGS`),
``cost-crossfit`` (the builder's model on them), ``cost+linear`` (a ridge base, the ``cost`` MLP on its
residuals), ``graph-cost-crossfit`` (the builder's model on ``graph`` plus ``cost``), and with ``--trees``
``hgb`` (scikit-learn ``HistGradientBoostingRegressor`` on ``graph-paths``) and ``graph+hgb`` (0.7/0.3 average).
``--noise`` prints the MAE a perfect model of the computation would still make: cells with identical
``cost`` rows compute the same, so their energies differ by measurement noise (0.196 Wh).

Issue 15 §4, one run, seeds 0-4 (``--seeds 5 --configs ecnas-baseline,graph,cost,cost-crossfit,cost+linear
--sizes "" --noise``), Pearson / MAE Wh / tau: ecnas-baseline 0.99784 / 0.3287 ± 0.0135 / 0.9471;
``graph`` 0.99865 / 0.2401 ± 0.0079 / 0.9596; ``cost`` 0.99883 ± 0.00026 / 0.2136 ± 0.0067 / 0.9652 ± 0.0019
(MAE ratio 0.650 to the baseline, 0.889 to ``graph``; the target MAE <= 0.22 Wh with Pearson >= 0.9988 is met
on the means, Pearson narrowly: three of five seeds are below 0.9988); ``cost-crossfit`` 0.99882 / 0.2143 /
0.9651; ``cost+linear`` 0.99879 / 0.2174 / 0.9647 (did not pay). Settings were chosen on inner splits (20% of
each seed's training cells, the test split untouched; ``docs/surrogate.md`` lists them): standardised inputs
and cosine decay paid (0.2136 → 0.2087 → 0.2037 Wh inner); more members, other learning rates, a wider
network, weight decay, Huber loss, the parameter count as a column, residual learning on a ridge base and
trees on the cost features (0.242 inner) did not.

What was tried for the issue-15 energy model (seed 0 split unless noted, MAE in Wh / Pearson / tau):
ecnas-default 0.266 / 0.99814 / 0.956 → ``graph`` 0.242 / 0.99852 / 0.961 (kept);
``crossfit`` 0.241 / 0.99854 / 0.961 (kept for the builder: same quality, every row out-of-fold,
fits in 40% of the time as it runs no validation passes). Did not pay: the 364-column BANANAS path
encoding as MLP input (0.304); gradient-boosted trees (``HistGradientBoostingRegressor``, 800
iterations, learning rate 0.05, 15 leaves) on ``graph-paths`` 0.289 (3 seeds 0.313), on ``graph``
0.305, with log target 0.294; averaging trees into the MLP 0.5/0.5 0.252, 0.7/0.3 0.244 (0.248 with
``graph`` trees); the ``graph`` MLP with log target 0.246; averaging the 36- and full-feature MLPs
0.262. Seeds 0-2 (``--seeds 3 --configs graph,crossfit --sizes ""``): ``graph`` 0.9987 ± 0.0002 /
0.2445 ± 0.0057 / 0.9597; ``crossfit`` 0.9987 ± 0.0002 / 0.2451 ± 0.0037 / 0.9591 (59 s vs 106 s).
With these features the issue's target (MAE <= 0.22 Wh, Pearson >= 0.9988) was not reached: ``graph``
cuts the default's MAE (0.265) by 8% and its Kendall tau gains 0.004; the ``cost`` features reach it.

    .venv/bin/python benchmarks/bench_surrogate.py [--seeds 5] [--sizes 250,500,1000,2000,2758]
    .venv/bin/python benchmarks/bench_surrogate.py --seeds 3 --configs ecnas-default,graph,crossfit --sizes ""
    .venv/bin/python benchmarks/bench_surrogate.py --seeds 5 --configs ecnas-baseline,graph,cost --sizes "" --noise

``--table T.h5 --metric M --budget B`` runs the same protocol on a table's own measured rows (``source ==
measured``, repeat 0) instead of EC-NAS's CSV — e.g. the default table before and after a refit, same split:

    .venv/bin/python benchmarks/bench_surrogate.py --table data/ecnas-tiny-7v.h5 --metric validation_accuracy \
        --budget 4 --seeds 1 --configs ecnas-default,crossfit --sizes ""
    .venv/bin/python benchmarks/bench_surrogate.py --test-fraction 0.1 --sizes 2000,2758,3103  # curve's end
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from ecnas.build.fit import CROSSFIT_SETTINGS
from ecnas.metrics import METRIC_UNITS
from ecnas.spaces import get_space
from ecnas.surrogate import MLPSurrogate, read_measurements_csv, regression_metrics

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = Path(os.environ.get("ECNAS_REFERENCE_DIR", ROOT.parent / "shared" / "data" / "reference"))


class _Trees:
    """scikit-learn's HistGradientBoostingRegressor with the settings tried (not part of ecnas)."""

    def __init__(self, seed: int) -> None:
        from sklearn.ensemble import HistGradientBoostingRegressor

        self.model = HistGradientBoostingRegressor(
            random_state=seed, max_iter=800, learning_rate=0.05, max_leaf_nodes=15, early_stopping=False
        )
        self.best_epochs_ = [0]

    def fit(self, x: np.ndarray, y: np.ndarray) -> _Trees:
        self.model.fit(x, y)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.model.predict(x)


class _LinearBase:
    """Stacking tried for issue 15 (not part of ecnas): ridge on the features, the ``cost`` MLP on its residuals."""

    def __init__(self, seed: int) -> None:
        self.mlp = MLPSurrogate(seed=seed, input_scaling="standard", target_transform="standard", lr_schedule="cosine")
        self.best_epochs_ = [0]

    def fit(self, x: np.ndarray, y: np.ndarray) -> _LinearBase:
        from sklearn.linear_model import RidgeCV

        self.offset, self.scale = x.mean(axis=0), np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
        self.ridge = RidgeCV(alphas=np.logspace(-4, 3, 15)).fit((x - self.offset) / self.scale, y)
        self.mlp.fit(x, y - self.ridge.predict((x - self.offset) / self.scale))
        self.best_epochs_ = self.mlp.best_epochs_
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.ridge.predict((x - self.offset) / self.scale) + self.mlp.predict(x)


class _Average:
    def __init__(self, seed: int) -> None:
        self.parts = [(MLPSurrogate(seed=seed), "graph", 0.7), (_Trees(seed), "graph-paths", 0.3)]
        self.best_epochs_ = [0]

    def fit(self, inputs: dict[str, np.ndarray], y: np.ndarray) -> _Average:
        for model, name, _ in self.parts:
            model.fit(inputs[name], y)
        return self

    def predict(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        return sum(weight * model.predict(inputs[name]) for model, name, weight in self.parts)


#: The energy model of issue 15 §4: the default ensemble on NB101's 14 ``cost`` features, standardised
#: inputs, cosine learning-rate decay.
COST_SETTINGS = {"input_scaling": "standard", "lr_schedule": "cosine"}

#: name → (constructor of a seed, feature set of the NB101 space; None: every set, as a dict).
CONFIGS = {
    "ecnas-baseline": (MLPSurrogate.ecnas_baseline, "features"),
    "ecnas-default": (MLPSurrogate, "features"),
    "graph": (MLPSurrogate, "graph"),
    "crossfit": (lambda seed: MLPSurrogate(seed=seed, **CROSSFIT_SETTINGS), "graph"),
    "cost": (lambda seed: MLPSurrogate(seed=seed, **COST_SETTINGS), "cost"),
    "cost-crossfit": (lambda seed: MLPSurrogate(seed=seed, **{**CROSSFIT_SETTINGS, **COST_SETTINGS}), "cost"),
    "cost+linear": (_LinearBase, "cost"),
    "graph-cost-crossfit": (lambda seed: MLPSurrogate(seed=seed, **CROSSFIT_SETTINGS), "graph-cost"),
    "hgb": (_Trees, "graph-paths"),
    "graph+hgb": (_Average, None),
}
INPUTS: dict[str, np.ndarray] = {}


TEST_FRACTION = 0.2


def split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(1000 + seed).permutation(n)
    n_test = round(TEST_FRACTION * n)
    return order[n_test:], order[:n_test]


#: Printed unit of errors: EC-NAS's energies in Wh; a table's metric in its own unit (``--table``).
UNIT = ("Wh", 1000.0)


def evaluate(name: str, seed: int, y: np.ndarray, train: np.ndarray, test: np.ndarray) -> dict:
    make, feature_set = CONFIGS[name]
    if feature_set is None:
        x_train = {k: v[train] for k, v in INPUTS.items()}
        x_test = {k: v[test] for k, v in INPUTS.items()}
    else:
        x_train, x_test = INPUTS[feature_set][train], INPUTS[feature_set][test]
    start = time.perf_counter()
    model = make(seed=seed).fit(x_train, y[train])
    seconds = time.perf_counter() - start
    scale = UNIT[1]
    scores = regression_metrics(y[test] * scale, model.predict(x_test) * scale)
    return {**scores, "fit_s": seconds, "n_train": len(train), "epochs": float(np.mean(model.best_epochs_))}


def _table_data(path: Path, metric: str, budget: int | None) -> tuple[np.ndarray, dict, np.ndarray]:
    """A table's measured rows (repeat 0) at ``budget``: targets, space columns, parameter counts."""
    from ecnas.table import SOURCE_MEASURED, read_table

    contents = read_table(path)
    if contents.space != "nb101":
        raise SystemExit(f"--table: {path} is a {contents.space!r} table; this benchmark uses NB101 features")
    if metric not in contents.metrics:
        raise SystemExit(f"--metric: {metric!r} is not a metric of {path}; choose from {sorted(contents.metrics)}")
    budget = contents.budgets[-1] if budget is None else budget
    if budget not in contents.budgets:
        raise SystemExit(f"--budget: {budget} is not a budget of {path}; choose from {list(contents.budgets)}")
    values = contents.metrics[metric][:, contents.budgets.index(budget), 0]
    rows = np.flatnonzero((np.asarray(contents.source) == SOURCE_MEASURED) & np.isfinite(values))
    columns = {name: np.asarray(column)[rows] for name, column in contents.columns.items()}
    return values[rows], columns, np.asarray(contents.trainable_parameters)[rows]


def noise_floor(y: np.ndarray, cost: np.ndarray) -> tuple[float, int, int]:
    """MAE of a perfect model of the computation: cells with identical ``cost`` features, measured apart.

    Two such cells run the same kernels at the same sizes, so their energies differ by measurement noise
    (and whatever the features miss): for independent errors of equal spread the mean absolute difference
    is sqrt(2) times the mean absolute error of the true value (exact for Gaussian errors).
    """
    _, group = np.unique(np.round(cost, 9), axis=0, return_inverse=True)
    group = group.ravel()
    differences = []
    for g in np.flatnonzero(np.bincount(group) > 1):
        values = y[group == g]
        differences.append(np.abs(values[:, None] - values[None, :])[np.triu_indices(len(values), 1)])
    every = np.concatenate(differences)
    return float(every.mean() / np.sqrt(2)), len(every), len(differences)


def summary(rows: list[dict], key: str) -> str:
    values = np.array([row[key] for row in rows])
    return f"{values.mean():.4g} ± {values.std():.2g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--sizes", default="250,500,1000,2000,2758", help="learning-curve training sizes")
    parser.add_argument("--configs", default="ecnas-baseline,ecnas-default,graph,crossfit,cost", help="held-out")
    parser.add_argument("--noise", action="store_true", help="also print the measurement-noise floor of the MAE")
    parser.add_argument("--trees", action="store_true", help="also run hgb and graph+hgb (what did not pay)")
    parser.add_argument("--curve-configs", default="ecnas-baseline,ecnas-default")
    parser.add_argument("--test-fraction", type=float, default=0.2, help="held-out share (EC-NAS: 0.2)")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw results here")
    parser.add_argument("--table", type=Path, default=None, help="use this table's measured rows instead of EC-NAS's")
    parser.add_argument("--metric", default="energy_kwh", help="with --table: the metric to predict")
    parser.add_argument("--budget", type=int, default=None, help="with --table: the budget (default: the largest)")
    args = parser.parse_args()
    global TEST_FRACTION, UNIT
    TEST_FRACTION = args.test_fraction

    space = get_space("nb101")
    if args.table is None:
        data = read_measurements_csv(REFERENCE / "surrogate_7v_train.csv")
        y, parameters = data.targets, data.trainable_parameters
        columns = space.encode(list(data.specs))
        label = "energy"
    else:
        y, columns, parameters = _table_data(args.table, args.metric, args.budget)
        UNIT = (METRIC_UNITS[args.metric], 1.0)
        label = f"{args.table.name} measured rows, {args.metric}"
    for feature_set in space.surrogate_feature_sets:
        INPUTS[feature_set] = space.surrogate_features(columns, parameters, feature_set)
    names = [n for n in args.configs.split(",") if n] + (["hgb", "graph+hgb"] if args.trees else [])
    unit, scale = UNIT
    low, high, mean = y.min() * scale, y.max() * scale, y.mean() * scale
    print(f"data: {len(y)} cells, {label} {low:.4g}-{high:.4g} {unit} (mean {mean:.4g})")
    n_test = round(TEST_FRACTION * len(y))
    print(f"protocol: {TEST_FRACTION:.0%} held out per seed ({n_test} cells), seeds 0..{args.seeds - 1}\n")

    results: dict[str, dict] = {"holdout": {}, "curve": {}}
    for name in names:
        rows = []
        for seed in range(args.seeds):
            train, test = split(len(y), seed)
            rows.append(evaluate(name, seed, y, train, test))
        results["holdout"][name] = rows
    print(f"{'config':16s} {'Pearson':>18s} {f'MAE ({unit})':>18s} {'Kendall tau':>18s} {'fit (s)':>10s}")
    for name, rows in results["holdout"].items():
        print(
            f"{name:16s} {summary(rows, 'pearson'):>18s} {summary(rows, 'mae'):>18s} "
            f"{summary(rows, 'kendall_tau'):>18s} {np.mean([r['fit_s'] for r in rows]):10.1f}"
        )
    maes = {k: np.mean([r["mae"] for r in rows]) for k, rows in results["holdout"].items()}
    if "ecnas-baseline" in maes:
        ratios = ", ".join(f"{k} {v / maes['ecnas-baseline']:.3f}" for k, v in maes.items() if k != "ecnas-baseline")
        print(f"MAE ratio to baseline: {ratios}   (EC-NAS paper: Pearson 0.9977 on its own split)")
    if "graph" in maes:
        others = [k for k in maes if k not in ("graph", "ecnas-baseline")]
        ratios = ", ".join(f"{k} {maes[k] / maes['graph']:.3f}" for k in others)
        print(f"MAE ratio to graph: {ratios}")
    if args.noise:
        floor, pairs, groups = noise_floor(y * scale, INPUTS["cost"])
        print(
            f"noise floor: {floor:.4g} {unit} (mean |difference| / sqrt 2 over {pairs} pairs of cells in {groups} "
            "groups with identical cost features: the same computation measured twice)"
        )
    print()

    sizes = [int(s) for s in args.sizes.split(",") if s]
    names = [n for n in args.curve_configs.split(",") if n]
    print(f"learning curve: held-out MAE ({unit}) vs training cells (incl. the 12.5% validation share)")
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
                rows.append(evaluate(name, seed, y, subset, test))
            results["curve"].setdefault(name, {})[size] = rows
            cells.append(summary(rows, "mae"))
        print(f"{min(size, len(y) - n_test):8d} " + " ".join(f"{c:>20s}" for c in cells), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
