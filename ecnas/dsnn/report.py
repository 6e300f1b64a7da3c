"""Outputs of an MFMO run like the paper's Section 5: front, tables, re-priced fronts, learning-rate variability.

Pure functions compute the data (:func:`pareto_front`, :func:`default_point`, :func:`front_rows`,
:func:`repriced`); ``plot_*`` functions draw it on a matplotlib Axes and return it; :func:`write_report` puts
everything in ``out/report/`` (``front.csv``, ``front.md``, ``front.png``, ``repriced.png``, ``summary.json``).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ecnas import indicators
from ecnas._io import atomic_path, atomic_write_text, jsonable
from ecnas.dsnn.cost import HOROWITZ_45NM
from ecnas.dsnn.mfmo import OBJECTIVES, SETTINGS_FILE, load_trials
from ecnas.spaces.dsnn import DSNN_PARAMETERS

__all__ = [
    "default_point",
    "front_rows",
    "pareto_front",
    "plot_front",
    "plot_lr_variability",
    "plot_repriced",
    "repriced",
    "write_report",
]


def _ok(trial: Mapping[str, Any]) -> bool:
    return trial.get("status") == "ok" and all(
        trial.get(k) is not None and math.isfinite(float(trial[k])) for k in OBJECTIVES
    )


def top_budget(trials: Sequence[Mapping[str, Any]]) -> int | None:
    """The largest budget of any successful search trial."""
    budgets = [int(t["budget"]) for t in trials if t.get("kind") == "search" and _ok(t)]
    return max(budgets) if budgets else None


def pareto_front(
    trials: Sequence[Mapping[str, Any]], *, budget: int | None = None, key: str = "inference_co2eq_g"
) -> list[Mapping[str, Any]]:
    """Non-dominated successful search trials at ``budget`` (default: the top budget), by (loss, ``key``).

    Configurations that survived a Hyperband bracket reach the top budget (Algorithm 1, line 9). Sorted by
    ``key`` ascending.
    """
    budget = top_budget(trials) if budget is None else budget
    pool = [t for t in trials if t.get("kind") == "search" and _ok(t) and int(t["budget"]) == budget]
    if not pool:
        return []
    F = np.array([[float(t["loss"]), float(_value(t, key))] for t in pool])
    mask = indicators.is_nondominated(F)
    front = [t for t, keep in zip(pool, mask, strict=True) if keep]
    return sorted(front, key=lambda t: (float(_value(t, key)), float(t["loss"])))


def _value(trial: Mapping[str, Any], key: str) -> float:
    if key == "analytic_pj":
        return float(trial["analytic"]["total_pj"])
    if key == "analytic_co2eq_g" and trial.get(key) is None:  # trials recorded before the analytic objective
        return float(trial["analytic"]["total_pj"])
    return float(trial[key])


def default_point(trials: Sequence[Mapping[str, Any]]) -> dict[str, float] | None:
    """Mean and standard deviation of loss and inference emissions over the default's evaluations (the star)."""
    runs = [t for t in trials if t.get("kind") == "default" and _ok(t)]
    if not runs:
        return None
    out: dict[str, float] = {"n": float(len(runs))}
    for k in ("loss", "inference_co2eq_g", "inference_energy_kwh", "analytic_co2eq_g"):
        if any(t.get(k) is None for t in runs):
            continue
        values = np.array([float(t[k]) for t in runs])
        out[k], out[f"{k}_std"] = float(values.mean()), float(values.std())
    out["analytic_pj"] = float(np.mean([t["analytic"]["total_pj"] for t in runs]))
    return out


def dominating(
    front: Sequence[Mapping[str, Any]], default: Mapping[str, float] | None, key: str = "inference_co2eq_g"
) -> list[Mapping[str, Any]]:
    """Front members strictly better than the default's mean in both loss and emissions (``key``)."""
    if default is None or key not in default:
        return []
    return [t for t in front if float(t["loss"]) < default["loss"] and _value(t, key) < default[key]]


def front_rows(front: Sequence[Mapping[str, Any]], default: Mapping[str, float] | None) -> list[dict[str, Any]]:
    """One row per Pareto-optimal configuration (Tables 2–7), then the default with its mean objectives."""
    names = [p.name for p in DSNN_PARAMETERS]
    rows = []
    for t in front:
        row = {"config": f"trial {t['trial']}", **{n: t["config"][n] for n in names}}
        row.update(
            loss=float(t["loss"]),
            inference_co2eq_g=float(t["inference_co2eq_g"]),
            analytic_co2eq_g=t.get("analytic_co2eq_g"),
            analytic_pj=float(t["analytic"]["total_pj"]),
            energy_kind=t.get("energy_kind", ""),
        )
        rows.append(row)
    if default is not None:
        defaults = {p.name: p.default for p in DSNN_PARAMETERS}
        rows.append(
            {
                "config": f"default (mean of {int(default['n'])})",
                **defaults,
                "loss": default["loss"],
                "inference_co2eq_g": default["inference_co2eq_g"],
                "analytic_co2eq_g": default.get("analytic_co2eq_g"),
                "analytic_pj": default["analytic_pj"],
                "energy_kind": "",
            }
        )
    return rows


def repriced(trials: Sequence[Mapping[str, Any]], carbon_intensity: float, pue: float = 1.0) -> list[dict[str, Any]]:
    """Copies of the trials with emissions re-priced for another grid: ``energy × pue × carbon_intensity``.

    Energy does not depend on the grid, so a front re-priced is the same configurations on a rescaled axis
    (the paper's Limitations); the analytic 45 nm emissions (``analytic_co2eq_g``) are re-priced too.
    """
    if not (isinstance(carbon_intensity, (int, float)) and carbon_intensity > 0):
        raise ValueError(f"`carbon_intensity` must be a positive number of gCO2eq/kWh, got {carbon_intensity!r}")
    out = []
    for t in trials:
        copy = dict(t)
        if _ok(t):
            copy["inference_co2eq_g"] = float(t["inference_energy_kwh"]) * pue * carbon_intensity
            if t.get("analytic_co2eq_g") is not None and t.get("carbon_intensity"):
                old_pue = float((t.get("inference_window") or {}).get("pue") or 1.0)
                scale = pue * carbon_intensity / (old_pue * float(t["carbon_intensity"]))
                copy["analytic_co2eq_g"] = float(t["analytic_co2eq_g"]) * scale
            copy["carbon_intensity"] = carbon_intensity
        out.append(copy)
    return out


# ---------------------------------------------------------------------- drawing
def plot_front(ax: Any, trials: Sequence[Mapping[str, Any]], *, key: str = "inference_co2eq_g", label: str = "") -> Any:
    """Figure 1: every top-budget evaluation, the Pareto front as a step line, the default as a star.

    The emissions axis is in a unit chosen from the data (µg/mg/g CO2eq, or pJ/nJ/µJ for the analytic cost),
    so no axis multiplier is needed.
    """
    from ecnas.units import mass_unit, picojoule_unit

    budget = top_budget(trials)
    pool = [t for t in trials if t.get("kind") == "search" and _ok(t) and int(t["budget"]) == budget]
    front = pareto_front(trials, key=key)
    defaults = [t for t in trials if t.get("kind") == "default" and _ok(t)]
    values = [_value(t, key) for t in (*pool, *front, *defaults)]
    unit = picojoule_unit(values) if key == "analytic_pj" else mass_unit(values)
    if pool:
        ax.scatter(
            unit([_value(t, key) for t in pool]),
            [100 * float(t["loss"]) for t in pool],
            s=12,
            c="0.7",
            label=f"evaluated at {budget} epochs",
        )
    if front:
        xs, ys = unit([_value(t, key) for t in front]), [100 * float(t["loss"]) for t in front]
        ax.step(xs, ys, where="post", color="C0")
        ax.scatter(xs, ys, color="C0", label=f"Pareto front{label}")
    if defaults:
        x = float(unit(np.mean([_value(t, key) for t in defaults])))
        y = 100 * float(np.mean([float(t["loss"]) for t in defaults]))
        ax.scatter([x], [y], marker="*", s=250, color="C3", zorder=5, label=f"default (mean of {len(defaults)})")
    what = f"{unit.name} per image (45 nm table)" if key == "analytic_pj" else f"{unit.name} CO2eq per test-set pass"
    ax.set_xlabel(f"inference {what}")
    ax.set_ylabel("loss (1 − test accuracy) %")
    ax.legend(fontsize=8)
    return ax


def plot_repriced(ax: Any, trials: Sequence[Mapping[str, Any]], intensities: Sequence[float]) -> Any:
    """The same front priced for several carbon intensities (gCO2eq/kWh)."""
    for k, intensity in enumerate(intensities):
        front = pareto_front(repriced(trials, intensity))
        xs = [float(t["inference_co2eq_g"]) for t in front]
        ys = [100 * float(t["loss"]) for t in front]
        ax.step(xs, ys, where="post", color=f"C{k}", marker="o", label=f"{intensity:g} gCO2eq/kWh")
    ax.set_xscale("log")
    ax.set_xlabel("inference gCO2eq per test-set pass (log)")
    ax.set_ylabel("loss (1 − test accuracy) %")
    ax.legend(fontsize=8)
    return ax


def plot_lr_variability(ax: Any, varied: Sequence[float], fixed: Sequence[float]) -> Any:
    """Figure 4: inference emissions of the default with random learning rates vs the default learning rate."""
    ax.boxplot([list(varied), list(fixed)])
    ax.set_xticks([1, 2], ["random learning rate", "default learning rate"])
    ax.set_ylabel("inference gCO2eq per test-set pass")
    return ax


# ---------------------------------------------------------------------- files
def _markdown(rows: Sequence[Mapping[str, Any]]) -> str:
    if not rows:
        return "(no Pareto-optimal configuration yet)\n"
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [f"{v:.4g}" if isinstance(v, float) else str(v) for v in row.values()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _save(fig: Any, path: Path) -> None:
    with atomic_path(path, suffix=".png") as temporary:
        fig.savefig(temporary, dpi=120, bbox_inches="tight", format="png")


def write_report(out: str | Path, *, intensities: Sequence[float] = (30.0, 445.0, 800.0)) -> dict[str, Any]:
    """Write ``out/report/``: the paper's Section 5 outputs for the run in ``out``.

    Files: front.csv/md (Tables 2–7), front.png (Figure 1, measured and analytic), repriced.png,
    lr_variability.png (Figure 4, when :func:`ecnas.dsnn.mfmo.lr_variability` was run), summary.json.

    Returns:
        The summary (also in ``summary.json``): front size, default, whether the front dominates it, counts.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    trials = load_trials(out)
    report = out / "report"
    report.mkdir(parents=True, exist_ok=True)
    settings_file = out / SETTINGS_FILE
    settings = json.loads(settings_file.read_text(encoding="utf-8")) if settings_file.is_file() else {}
    key = str((settings.get("objectives") or OBJECTIVES)[1])
    front = pareto_front(trials, key=key)
    default = default_point(trials)
    rows = front_rows(front, default)
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    atomic_write_text(report / "front.csv", buffer.getvalue())
    atomic_write_text(report / "front.md", _markdown(rows))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    plot_front(axes[0], trials)
    axes[0].set_title("measured on this machine")
    plot_front(axes[1], trials, key="analytic_pj")
    axes[1].set_title("analytic, 45 nm energy per operation")
    _save(fig, report / "front.png")
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 4.2))
    plot_repriced(ax, trials, intensities)
    _save(fig, report / "repriced.png")
    plt.close(fig)
    lr_file = out / "lr_variability.json"
    if lr_file.is_file():
        data = json.loads(lr_file.read_text(encoding="utf-8"))
        fig, ax = plt.subplots(figsize=(5, 4.2))
        plot_lr_variability(ax, data["varied"], data["fixed"])
        _save(fig, report / "lr_variability.png")
        plt.close(fig)
    search = [t for t in trials if t.get("kind") == "search"]
    better = dominating(front, default, key)
    budgets = sorted({int(t["budget"]) for t in search})
    summary = {
        "trials": len(search),
        "failed": sum(t.get("status") != "ok" for t in search),
        "top_budget": top_budget(trials),
        "objectives": ["loss", key],
        "front_size": len(front),
        "default": default,
        "front_dominates_default": bool(better),
        "dominating_trials": [int(t["trial"]) for t in better],
        "energy_kinds": sorted({str(t.get("energy_kind")) for t in trials if _ok(t)}),
        "energy_methods": sorted({str(t.get("energy_method")) for t in trials if _ok(t)}),
        "seconds_per_trial_by_budget": {
            b: float(np.mean([t["seconds"] for t in search if int(t["budget"]) == b and t.get("seconds")]))
            for b in budgets
        },
        "analytic_table": HOROWITZ_45NM["source"],
    }
    atomic_write_text(report / "summary.json", json.dumps(jsonable(summary), indent=2))
    return summary
