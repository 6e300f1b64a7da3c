"""Which view should `compare` and `make demo` use? Measured cells on the true fronts, per view.

In the measured view a table serves its ~1% measured cells with their measurement noise and the other 99% as the
surrogate's smooth predictions, so the extremes of a front tend to be measured cells (issue 15: 11 of the 15
true-front cells of the default table at 4 epochs). In the surrogate view every cell is the surrogate's value —
measured cells by an out-of-fold prediction — so a measured cell should sit on a front no more often than any
other cell. For each view this prints, at the top budget:

- for several objective pairs, the true front's size and how many of its cells are measured cells, against the
  table's measured base rate (and the binomial tail: the chance of that many or more under the base rate);
- the best-accuracy and lowest-energy cells: measured or predicted;
- predicted cells scoring above the best measured validation accuracy, and cells at exactly 1.0;
- the energy spread of measured vs predicted cells (noise the surrogate smooths away);
- random search (``--searches`` seeds × ``--evaluations`` uniformly drawn cells): the share of measured cells on
  the fronts it finds (unbiased: the base rate).

Decision rule (docs/table-format.md, "Views"): ``compare`` and ``make demo`` should default to the surrogate view
when the table has surrogate values, the surrogate view's true fronts hold measured cells at about the base rate
(binomial tail p >= 0.05 for the validation-error/energy front) while the measured view's do not (p < 0.05); keep the
measured view otherwise. The script prints the verdict for the table it measured.

It runs on any table with ``surrogate_values``. Without one, ``--build-dev-table`` makes a DEVELOPMENT stand-in
from the default table: a quick K-fold of :class:`ecnas.surrogate.MLPSurrogate` (few members and epochs, top budget
and three metrics only) over its measured rows gives them out-of-fold values and spreads; it is cruder than the
build's surrogate, so its figures are not the shipped table's (the refit tool of the build writes the real ones).

    python benchmarks/bench_views.py --table T.h5
    python benchmarks/bench_views.py --build-dev-table /tmp/dev-views.h5   # ~10-20 min on 2 cores, then reused
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ecnas.benchmark import Benchmark, default_table_path  # noqa: E402
from ecnas.errors import ViewUnavailableError  # noqa: E402
from ecnas.metrics import OBJECTIVES  # noqa: E402
from ecnas.table import METRICS, SOURCE_SURROGATE, read_table, write_table  # noqa: E402

PAIRS = (
    ("validation_error", "energy_kwh"),
    ("validation_error", "training_time"),
    ("validation_error", "trainable_parameters"),
    ("energy_kwh", "trainable_parameters"),
)
DEV_METRICS = ("validation_accuracy", "energy_kwh", "training_time")


# ---------------------------------------------------------------------- DEVELOPMENT stand-in (clearly not the real one)
def build_dev_table(source: Path, out: Path, *, folds: int = 5, seed: int = 0, progress: bool = True) -> Path:
    """DEVELOPMENT ONLY: ``source`` plus out-of-fold surrogate values of its measured rows from a quick K-fold.

    For each metric of :data:`DEV_METRICS` at the top budget, ``folds`` MLPSurrogates (3 members, batch 128, at
    most 100 epochs) are each fitted on the other folds' measured rows, with the builder's features (the default
    NB101 network's parameter count), and predict their fold. Predicted rows keep their stored value and spread
    (``surrogate_values`` = repeat 0). Other budgets and metrics get no out-of-fold value (NaN for measured rows).
    """
    from ecnas.surrogate import MLPSurrogate

    contents = read_table(source)
    from ecnas.spaces import get_space

    space = get_space(contents.space)
    measured = np.flatnonzero(contents.source != SOURCE_SURROGATE)
    columns = {name: values[measured] for name, values in contents.columns.items()}
    features = np.asarray(space.features(columns, space.num_parameters(columns)), dtype=np.float64)
    rng = np.random.default_rng(seed)
    fold = rng.permutation(len(measured)) % folds
    top = len(contents.budgets) - 1
    served, spread = {}, {}
    for metric in METRICS:
        served[metric] = np.array(contents.metrics[metric][:, :, 0])
        served[metric][measured] = np.nan
        stored = contents.uncertainty.get(metric)
        spread[metric] = np.full(served[metric].shape, np.nan) if stored is None else np.array(stored)
        spread[metric][measured] = np.nan
    for metric in DEV_METRICS:
        target = np.nanmean(contents.metrics[metric][measured, top, :], axis=1)
        transform = "standard" if metric.endswith("accuracy") else "scale"
        for k in range(folds):
            started = time.perf_counter()
            train, test = fold != k, fold == k
            model = MLPSurrogate(
                seed=seed + k, n_members=3, batch_size=128, max_epochs=100, patience=20, target_transform=transform
            ).fit(features[train], target[train])
            mean, std = model.predict(features[test], return_std=True)
            if metric.endswith("accuracy"):
                mean = np.clip(mean, 0.0, 1.0)
            served[metric][measured[test], top] = mean
            spread[metric][measured[test], top] = std
            if progress:
                print(f"  dev K-fold {metric} fold {k + 1}/{folds}: {time.perf_counter() - started:.0f} s", flush=True)
    provenance = dict(contents.provenance)
    provenance["surrogate_values"] = {
        "kind": "DEVELOPMENT stand-in written by benchmarks/bench_views.py (not a shipped table)",
        "method": f"{folds}-fold MLPSurrogate (3 members, batch 128, <= 100 epochs) over the measured rows",
        "metrics": list(DEV_METRICS),
        "budgets": [contents.budgets[top]],
    }
    write_table(out, dataclasses.replace(contents, surrogate_values=served, uncertainty=spread, provenance=provenance))
    return out


# ---------------------------------------------------------------------- measurements
def binomial_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p)."""
    return float(sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1)))


def view_figures(path: Path, view: str, *, searches: int, evaluations: int) -> dict[str, Any]:
    """Everything printed for one view of one table."""
    with Benchmark(path, view=view) as bench:
        budget = bench.budgets[-1]
        sources = bench._sources  # the table's row flags: measured/imported rows are the measured cells
        measured_row = sources != SOURCE_SURROGATE
        base_rate = float(measured_row.mean())
        row_of = {key: i for i, key in enumerate(bench.hashes)}
        out: dict[str, Any] = {"view": view, "budget": budget, "base_rate": base_rate, "fronts": {}}
        for pair in PAIRS:
            try:
                front = bench.pareto_front(pair, budget)
            except (KeyError, ValueError) as error:
                out["fronts"]["/".join(pair)] = {"error": str(error)}
                continue
            rows = np.array([row_of[h] for h in front["hash"]], dtype=np.intp)
            k, n = int(measured_row[rows].sum()), len(rows)
            out["fronts"]["/".join(pair)] = {
                "size": n,
                "measured": k,
                "share": k / n if n else math.nan,
                "p_value": binomial_tail(k, n, base_rate),
            }
        columns = bench.to_frame(budget)
        accuracy = columns["validation_accuracy"].to_numpy()
        energy = columns["energy_kwh"].to_numpy()
        finite = np.isfinite(accuracy) & np.isfinite(energy)
        best, lowest = np.nanargmax(accuracy), np.nanargmin(np.where(finite, energy, np.nan))
        best_measured = np.nanmax(np.where(measured_row, accuracy, np.nan))
        out["extremes"] = {
            "best_accuracy_cell_measured": bool(measured_row[best]),
            "lowest_energy_cell_measured": bool(measured_row[lowest]),
            "predicted_above_best_measured_accuracy": int(np.sum((accuracy > best_measured) & ~measured_row)),
            "cells_at_accuracy_1": int(np.sum(accuracy == 1.0)),
            "energy_std_measured": float(np.nanstd(energy[measured_row])),
            "energy_std_predicted": float(np.nanstd(energy[~measured_row])),
            "energy_min_measured": float(np.nanmin(energy[measured_row])),
            "energy_min_predicted": float(np.nanmin(energy[~measured_row])),
        }
        F = np.column_stack([OBJECTIVES[o].values(columns) for o in PAIRS[0]])
        usable = np.flatnonzero(np.isfinite(F).all(axis=1))
        shares = []
        for seed in range(searches):
            import moocore

            picked = np.random.default_rng(seed).choice(usable, evaluations, replace=False)
            on_front = picked[np.asarray(moocore.is_nondominated(F[picked]), dtype=bool)]
            shares.append(float(measured_row[on_front].mean()))
        out["random_search"] = {
            "searches": searches,
            "evaluations": evaluations,
            "measured_share_on_found_fronts": float(np.mean(shares)) if shares else math.nan,
        }
    return out


def verdict(figures: dict[str, dict[str, Any]]) -> str:
    """The decision rule applied to the measured figures."""
    if "surrogate" not in figures:
        return "measured (the table has no surrogate values: the surrogate view is unavailable)"
    key = "/".join(PAIRS[0])
    measured, surrogate = figures["measured"]["fronts"][key], figures["surrogate"]["fronts"][key]
    if "p_value" not in surrogate:
        return "measured (the surrogate view has no validation-error/energy front)"
    if surrogate["p_value"] >= 0.05 and measured["p_value"] < 0.05:
        return (
            f"surrogate: its {key} front holds {surrogate['measured']}/{surrogate['size']} measured cells "
            f"(p = {surrogate['p_value']:.2g} under the base rate), the measured view's {measured['measured']}/"
            f"{measured['size']} (p = {measured['p_value']:.2g})"
        )
    return (
        f"measured: the surrogate view does not remove the measured cells' advantage ({surrogate['measured']}/"
        f"{surrogate['size']}, p = {surrogate['p_value']:.2g}) or the measured view shows none "
        f"({measured['measured']}/{measured['size']}, p = {measured['p_value']:.2g})"
    )


def main() -> int:
    """Parse arguments, (build the development table,) measure both views, print a report and JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", type=Path, default=None, help="table with surrogate values (default: the default)")
    parser.add_argument(
        "--build-dev-table",
        type=Path,
        default=None,
        metavar="OUT",
        help="write (or reuse) a DEVELOPMENT table with quick K-fold out-of-fold values at OUT",
    )
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--searches", type=int, default=20, help="random searches per view")
    parser.add_argument("--evaluations", type=int, default=1000, help="cells per random search")
    args = parser.parse_args()
    path = args.table or default_table_path()
    if args.build_dev_table is not None:
        if not args.build_dev_table.is_file():
            print(f"building the DEVELOPMENT table {args.build_dev_table} from {path} ({args.folds}-fold)", flush=True)
            build_dev_table(path, args.build_dev_table, folds=args.folds)
        path = args.build_dev_table
    figures: dict[str, dict[str, Any]] = {}
    for view in ("measured", "surrogate"):
        try:
            figures[view] = view_figures(path, view, searches=args.searches, evaluations=args.evaluations)
        except ViewUnavailableError as error:
            print(f"{view} view: unavailable ({error})")
    first = next(iter(figures.values()))
    print(f"\n{path.name}: {100 * first['base_rate']:.2f}% of cells measured; top budget {first['budget']} epochs")
    print("| view | front | size | measured cells | share | P(≥ that many at base rate) |")
    print("|---|---|---:|---:|---:|---:|")
    for view, result in figures.items():
        for key, front in result["fronts"].items():
            if "error" in front:
                print(f"| {view} | {key} | – | – | – | {front['error'][:60]} |")
                continue
            print(
                f"| {view} | {key} | {front['size']} | {front['measured']} | {100 * front['share']:.0f}% | "
                f"{front['p_value']:.2g} |"
            )
    print(
        "\n| view | best-P_v cell | lowest-E cell | predicted > best measured P_v | P_v = 1.0 | "
        "E std measured / predicted | min E measured / predicted | random search: measured share of found fronts |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for view, result in figures.items():
        x = result["extremes"]
        kind = {True: "measured", False: "predicted"}
        print(
            f"| {view} | {kind[x['best_accuracy_cell_measured']]} | {kind[x['lowest_energy_cell_measured']]} | "
            f"{x['predicted_above_best_measured_accuracy']} | {x['cells_at_accuracy_1']} | "
            f"{x['energy_std_measured']:.3g} / {x['energy_std_predicted']:.3g} | "
            f"{x['energy_min_measured']:.3g} / {x['energy_min_predicted']:.3g} | "
            f"{100 * result['random_search']['measured_share_on_found_fronts']:.1f}% |"
        )
    print(f"\ndefault view for compare / make demo by the rule: {verdict(figures)}")
    print("\n" + json.dumps({"table": str(path), "figures": figures, "verdict": verdict(figures)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
