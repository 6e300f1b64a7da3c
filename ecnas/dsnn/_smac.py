"""``smac-parego-hb``: SMAC3's MultiFidelityFacade with ParEGO and Hyperband on the same live objective.

The reference implementation of the paper (it extends SMAC3). Driven through SMAC's ask/tell interface, so
every trial goes through the same durable, replayable records as ``parego-hb``; evaluations run one at a
time in this process. SMAC 2.4's default incumbent selection crashes with ParEGO (SMAC3 issue 1050), hence
``incumbent_selection="highest_budget"``. A failed evaluation is told as the worst values seen (loss 1, the
largest emissions so far), never zero.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ecnas.dsnn.profiles import DSNNProfile
from ecnas.spaces import get_space

if TYPE_CHECKING:
    from ecnas.dsnn.mfmo import _Runner

__all__ = ["smac_parego_hb"]


def _import_smac() -> Any:
    try:
        import smac
    except ImportError:
        raise ImportError(
            "optimizer 'smac-parego-hb' needs SMAC3: pip install 'smac>=2.4' (or use --optimizer parego-hb)"
        ) from None
    return smac


def smac_parego_hb(
    runner: _Runner, prof: DSNNProfile, settings: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], float]:
    """Run SMAC3 ParEGO + Hyperband for ``settings["trials"]`` trials; returns (records, optimizer seconds)."""
    smac = _import_smac()
    from smac.multi_objective.parego import ParEGO
    from smac.runhistory.dataclasses import TrialValue

    from ecnas.dsnn.mfmo import _objectives, _seed_of, default_jobs

    seed, trials = int(settings["seed"]), int(settings["trials"])
    space = get_space("dsnn")
    records = runner.evaluate(default_jobs(prof, seed, settings["default_repeats"], 0))
    scenario = smac.Scenario(
        space.configspace(seed=seed),
        name="dsnn",
        output_directory=runner.out / "smac",
        deterministic=True,
        objectives=list(settings["objectives"]),
        n_trials=trials,
        min_budget=prof.budgets[0],
        max_budget=prof.budgets[-1],
        seed=seed,
    )
    facade = smac.MultiFidelityFacade
    intensifier = facade.get_intensifier(scenario, eta=prof.eta, incumbent_selection="highest_budget")
    optimizer = facade(
        scenario,
        lambda config, seed=0, budget=1.0: [0.0, 0.0],  # never called: trials are told through ask/tell
        initial_design=facade.get_initial_design(scenario, n_configs=settings["initial_design"]),
        intensifier=intensifier,
        multi_objective_algorithm=ParEGO(scenario),
        overwrite=True,
        logging_level=40,
    )
    optimizer_seconds = 0.0
    worst = 0.0
    trial = int(settings["default_repeats"])
    for _ in range(trials):
        tic = time.perf_counter()
        info = optimizer.ask()
        optimizer_seconds += time.perf_counter() - tic
        config = space.from_configspace(info.config)
        budget = round(info.budget)
        job = {
            "trial": trial,
            "kind": "search",
            "bracket": -1,
            "rung": prof.budgets.index(budget) if budget in prof.budgets else -1,
            "key": config.key,
            "config": dict(config),
            "budget": budget,
            "seed": _seed_of(seed, config.key, budget),
        }
        (record,) = runner.evaluate([job])
        records.append(record)
        trial += 1
        f = _objectives(record, settings["objectives"])
        if f is not None:
            worst = max(worst, float(f[1]))
            cost = [float(f[0]), float(f[1])]
        else:
            cost = [1.0, worst if worst > 0 else 1.0]
        seconds = float(record.get("seconds") or 0.0)
        tic = time.perf_counter()
        optimizer.tell(info, TrialValue(cost=cost, time=seconds if math.isfinite(seconds) else 0.0))
        optimizer_seconds += time.perf_counter() - tic
    return records, optimizer_seconds
