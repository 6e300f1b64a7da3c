"""The MFMO run of the DSNN paper: ParEGO inside Hyperband (Algorithm 1) on the live objective.

``run(out, profile="tiny", trials=N, seed=S, workers=K)`` evaluates up to ``N`` (configuration, budget) trials:

- **Hyperband** (Li et al. 2017) cycles through its brackets over the profile's budgets (``tiny``: 1, 3, 9
  epochs, η = 3); each bracket starts ``n`` configurations at its lowest rung and promotes the best ``1/η`` by
  non-dominated sorting and hypervolume contribution of (loss, inference emissions) to the next rung; every
  trial trains from scratch for its budget.
- **ParEGO** (Knowles 2006) chooses every configuration a bracket starts: a weight vector from the simplex
  lattice, the augmented Tchebycheff scalarisation of the normalised objectives, a Gaussian process on the
  space's features (numeric parameters on [0, 1], categoricals one-hot) and the candidate of largest expected
  improvement among random configurations and mutants of the best ones. The model uses the highest budget with
  at least ``initial_design`` observations; until then configurations are sampled from the space (``D_init``).
  A failed evaluation enters the model with the worst values seen (loss 1, the largest emissions), never zero.
- the **default configuration** of Table 1 is evaluated ``default_repeats`` times at the top budget with
  other seeds (the paper's star: mean over seeds); these are not counted in ``N``.

The scalarisation weights (:func:`ecnas.optimizers.simplex_lattice`), ParEGO's ``rho``, the expected
improvement, the GP, the bracket ladder and the rank selection are the table optimizers' own functions,
imported. Every finished trial is appended to ``out/trials.jsonl`` (CRC-checked lines, fsync'd, as the
builder's records); a restarted run replays the same decisions from those records and evaluates only what is
missing, so ``kill -9`` loses at most the trials in flight.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ecnas._io import atomic_write_text, jsonable
from ecnas.build.records import RecordWriter, read_lines
from ecnas.dsnn._parego import ParEGOSelector
from ecnas.dsnn._pool import EvaluationPool
from ecnas.dsnn.profiles import DSNNProfile, get_dsnn_profile
from ecnas.errors import EcnasError
from ecnas.optimizers import hyperband_brackets, rank_select, single_threaded_blas
from ecnas.spaces import get_space

__all__ = ["EMISSIONS", "OBJECTIVES", "RUN_OPTIMIZERS", "RunResult", "load_trials", "lr_variability", "run"]

#: The two minimised objectives (record keys): 1 − test accuracy and gCO2eq of one inference pass (measured).
OBJECTIVES = ("loss", "inference_co2eq_g")
#: ``emissions=`` of :func:`run` → the record key of the second objective.
EMISSIONS = {"measured": "inference_co2eq_g", "analytic": "analytic_co2eq_g"}
#: Optimizer names of :func:`run`.
RUN_OPTIMIZERS = ("parego-hb", "smac-parego-hb")
TRIALS_FILE = "trials.jsonl"
_LOG = logging.getLogger(__name__)
SETTINGS_FILE = "run.json"


@dataclass
class RunResult:
    """What :func:`run` did.

    Attributes:
        out: the run directory.
        trials: every trial record (search and default), in trial order.
        seconds: wall time of this call.
        optimizer_seconds: time spent choosing configurations (model fits, acquisition) in this call.
        evaluated: trials evaluated by this call (the rest were replayed from ``trials.jsonl``).
    """

    out: Path
    trials: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    optimizer_seconds: float = 0.0
    evaluated: int = 0

    def search_trials(self) -> list[dict[str, Any]]:
        """Trials chosen by the optimizer (not the default's reference evaluations)."""
        return [t for t in self.trials if t.get("kind") == "search"]


def load_trials(out: str | Path) -> list[dict[str, Any]]:
    """Every complete trial record of a run directory, in trial order (torn lines dropped).

    A trial id written twice (a resumed run whose replay chose differently, which a deterministic replay does not
    do) keeps its last record, the one the run went on with.
    """
    path = Path(out) / TRIALS_FILE
    if not path.is_file():
        return []
    records, _ = read_lines(path)
    by_trial: dict[int, dict[str, Any]] = {}
    for record in records:
        by_trial[int(record["trial"])] = record
    return [by_trial[k] for k in sorted(by_trial)]


def _seed_of(seed: int, key: str, budget: int, repeat: int = 0) -> int:
    digest = hashlib.sha256(f"{seed}:{key}:{budget}:{repeat}".encode()).hexdigest()
    return int(digest[:8], 16)


def _check_settings(out: Path, settings: dict[str, Any]) -> None:
    path = out / SETTINGS_FILE
    if path.is_file():
        stored = json.loads(path.read_text(encoding="utf-8"))
        fixed = {k: v for k, v in stored.items() if k != "trials"}
        wanted = {k: v for k, v in jsonable(settings).items() if k != "trials"}
        if fixed != wanted:
            changed = sorted(k for k in set(fixed) | set(wanted) if fixed.get(k) != wanted.get(k))
            raise EcnasError(
                f"{out} holds a run with other settings ({', '.join(changed)} differ); resume with the same "
                f"settings (only --trials may change) or choose another --out directory"
            )
    atomic_write_text(path, json.dumps(jsonable(settings), indent=2, sort_keys=True))


class _Runner:
    """Replays stored trials and evaluates the missing ones, appending each as it finishes."""

    def __init__(self, out: Path, pool: EvaluationPool, job_base: dict[str, Any], trials: list[dict[str, Any]]):
        self.out = out
        self.pool = pool
        self.job_base = job_base
        self.stored = {int(t["trial"]): t for t in trials}
        self.writer = RecordWriter(out / TRIALS_FILE)
        self.evaluated = 0
        self.progress = None

    def evaluate(self, jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Records of ``jobs`` (each with ``trial``), stored ones replayed; returned in the jobs' order."""
        results: dict[int, dict[str, Any]] = {}
        futures = {}
        for job in jobs:
            stored = self.stored.get(job["trial"])
            if stored is not None and stored.get("key") == job["key"] and stored.get("budget") == job["budget"]:
                results[job["trial"]] = stored
            else:
                if stored is not None:
                    _LOG.warning(
                        "trial %d: the replay chose another configuration than stored; evaluating it", job["trial"]
                    )
                futures[self.pool.submit({**self.job_base, **job})] = job
        for future in as_completed(futures):
            job = futures[future]
            record = jsonable({**future.result(), **{k: job[k] for k in ("trial", "kind", "bracket", "rung")}})
            self.writer.append([record])
            self.evaluated += 1
            results[job["trial"]] = record
            if self.progress is not None:
                self.progress(record)
        return [results[job["trial"]] for job in jobs]

    def close(self) -> None:
        self.writer.close()


def _objectives(record: Mapping[str, Any], keys: Sequence[str] = OBJECTIVES) -> np.ndarray | None:
    if record.get("status") != "ok":
        return None
    values = [record.get(k) for k in keys]
    if any(v is None or not math.isfinite(float(v)) for v in values):
        return None
    return np.array(values, dtype=np.float64)


def run(
    out: str | Path,
    *,
    profile: str | DSNNProfile = "tiny",
    optimizer: str = "parego-hb",
    trials: int = 60,
    seed: int = 0,
    workers: int = 1,
    threads: int = 1,
    profile_options: Mapping[str, Any] | None = None,
    energy: Mapping[str, Any] | None = None,
    initial_design: int = 8,
    pool_size: int = 300,
    mutants: int = 30,
    default_repeats: int = 3,
    emissions: str = "measured",
    progress: Any = None,
) -> RunResult:
    """Run the MFMO search and keep every trial in ``out``; a second call with the same settings resumes.

    Args:
        out: run directory (created).
        profile: ``"tiny"``, ``"cifar10"`` or a profile object.
        optimizer: ``"parego-hb"`` (ecnas) or ``"smac-parego-hb"`` (SMAC3's MultiFidelityFacade + ParEGO +
            Hyperband, needs ``pip install smac``).
        trials: number of (configuration, budget) evaluations of the search.
        seed: seed of the optimizer and of every evaluation.
        workers: local evaluation processes (``parego-hb`` only; with a whole-machine meter — RAPL/NVML — only 1).
        threads: torch threads per evaluation.
        profile_options: profile options overriding its defaults (e.g. ``{"data_dir": ...}`` for cifar10).
        energy: :func:`ecnas.energy.auto_meter` options (``carbon_intensity``, ``country``, ``pue``, …).
        initial_design: observations at a budget before ParEGO's model is used there.
        pool_size: random candidates scored per choice.
        mutants: mutants of the five best configurations (under the current weights) added to the candidates.
        default_repeats: evaluations of the default configuration at the top budget (other seeds).
        emissions: the second objective: ``"measured"`` (inference gCO2eq measured on this machine, the paper's)
            or ``"analytic"`` (the 45 nm per-operation energy of the test-set pass, priced alike: for a
            target accelerator with real shift arithmetic).
        progress: optional callable receiving each new trial record.

    Returns:
        A :class:`RunResult`.

    Raises:
        ValueError: a bad argument (named). EcnasError: ``out`` holds a run with other settings.
    """
    started = time.perf_counter()
    if optimizer not in RUN_OPTIMIZERS:
        raise ValueError(f"`optimizer` must be one of {list(RUN_OPTIMIZERS)}, got {optimizer!r}")
    if emissions not in EMISSIONS:
        raise ValueError(f"`emissions` must be one of {list(EMISSIONS)}, got {emissions!r}")
    for name, value, low in (
        ("trials", trials, 1),
        ("workers", workers, 1),
        ("threads", threads, 1),
        ("initial_design", initial_design, 2),
        ("pool_size", pool_size, 1),
        ("mutants", mutants, 0),
        ("default_repeats", default_repeats, 0),
        ("seed", seed, 0),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"`{name}` must be an integer >= {low}, got {value!r}")
    prof = get_dsnn_profile(profile, **dict(profile_options or {}))
    prof.load_data()  # a missing data folder fails here, clearly, before any worker starts
    energy = dict(energy or {})
    if workers > 1:
        from ecnas.energy import auto_meter

        description = auto_meter(**energy).describe()
        if description.get("kind") != "estimated":
            raise ValueError(
                f"workers={workers} with a whole-machine meter ({description.get('method')}) would count every "
                "worker's energy in every reading; use workers=1 on this machine"
            )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    settings = {
        "optimizer": optimizer,
        "seed": seed,
        "trials": trials,
        "profile": prof.options(),
        "energy": energy,
        "initial_design": initial_design,
        "pool_size": pool_size,
        "mutants": mutants,
        "default_repeats": default_repeats,
        "objectives": ["loss", EMISSIONS[emissions]],
        "budgets": list(prof.budgets),
    }
    _check_settings(out, settings)
    job_base = {"profile": prof.name, "profile_options": {k: v for k, v in dataclasses.asdict(prof).items()}}
    pool = EvaluationPool(workers=workers if optimizer == "parego-hb" else 1, threads=threads, energy=energy)
    runner = _Runner(out, pool, job_base, load_trials(out))
    runner.progress = progress
    result = RunResult(out=out)
    try:
        if optimizer == "parego-hb":
            records, result.optimizer_seconds = _parego_hb(runner, prof, settings)
        else:
            from ecnas.dsnn._smac import smac_parego_hb

            records, result.optimizer_seconds = smac_parego_hb(runner, prof, settings)
    finally:
        runner.close()
        pool.close()
    result.trials = records
    result.evaluated = runner.evaluated
    result.seconds = time.perf_counter() - started
    return result


def default_jobs(prof: DSNNProfile, seed: int, repeats: int, first_trial: int) -> list[dict[str, Any]]:
    """Jobs evaluating the Table 1 default at the top budget ``repeats`` times (seeds differ)."""
    default = get_space("dsnn").default()
    top = prof.budgets[-1]
    return [
        {
            "trial": first_trial + r,
            "kind": "default",
            "bracket": -1,
            "rung": len(prof.budgets) - 1,
            "key": default.key,
            "config": dict(default),
            "budget": top,
            "seed": _seed_of(seed, default.key, top, r + 1),
        }
        for r in range(repeats)
    ]


def _parego_hb(runner: _Runner, prof: DSNNProfile, settings: Mapping[str, Any]) -> tuple[list[dict[str, Any]], float]:
    seed, trials = int(settings["seed"]), int(settings["trials"])
    budgets = prof.budgets
    brackets = hyperband_brackets(len(budgets), prof.eta)
    rng = np.random.default_rng(seed)
    parego = ParEGOSelector(
        rng, initial_design=settings["initial_design"], pool_size=settings["pool_size"], mutants=settings["mutants"]
    )
    records = runner.evaluate(default_jobs(prof, seed, settings["default_repeats"], 0))
    observed: dict[int, list[tuple[Any, np.ndarray | None]]] = {b: [] for b in budgets}
    seen: dict[int, set[str]] = {b: set() for b in budgets}
    trial = settings["default_repeats"]
    done = 0
    optimizer_seconds = 0.0
    bracket_index = 0
    while done < trials:
        steps = brackets[bracket_index % len(brackets)]
        configs: list[Any] = []
        for step, (rung, n) in enumerate(steps):
            budget = budgets[rung]
            if step == 0:
                tic = time.perf_counter()
                with single_threaded_blas():
                    configs = parego.select(n, observed, seen[budget])
                optimizer_seconds += time.perf_counter() - tic
            configs = configs[: trials - done]
            if not configs:
                break
            jobs = [
                {
                    "trial": trial + k,
                    "kind": "search",
                    "bracket": bracket_index,
                    "rung": rung,
                    "key": c.key,
                    "config": dict(c),
                    "budget": budget,
                    "seed": _seed_of(seed, c.key, budget),
                }
                for k, c in enumerate(configs)
            ]
            results = runner.evaluate(jobs)
            trial += len(jobs)
            done += len(jobs)
            records.extend(results)
            F = []
            for config, record in zip(configs, results, strict=True):
                f = _objectives(record, settings["objectives"])
                observed[budget].append((config, f))
                seen[budget].add(config.key)
                F.append(f)
            if step + 1 < len(steps):
                tic = time.perf_counter()
                configs = _promote(configs, F, steps[step + 1][1])
                optimizer_seconds += time.perf_counter() - tic
        bracket_index += 1
    return records, optimizer_seconds


def _promote(configs: list[Any], F: list[np.ndarray | None], k: int) -> list[Any]:
    """The best ``k`` successful configurations by non-dominated sorting and hypervolume contribution."""
    ok = [i for i, f in enumerate(F) if f is not None]
    if not ok:
        return []
    keep = rank_select(np.array([F[i] for i in ok]), min(k, len(ok)), ordered=True)
    return [configs[ok[int(i)]] for i in keep]


def lr_variability(
    out: str | Path,
    *,
    profile: str | DSNNProfile = "tiny",
    n: int = 20,
    budget: int | None = None,
    seed: int = 0,
    workers: int = 1,
    threads: int = 1,
    profile_options: Mapping[str, Any] | None = None,
    energy: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The paper's Figure 4 experiment: how much the learning rate alone moves the inference emissions.

    The default configuration is trained with ``n`` learning rates drawn from the space, and ``n`` times with
    the default learning rate (one seed for all: only the learning rate, or nothing, varies).

    Writes ``out/lr_variability.json`` (``varied``/``fixed`` inference gCO2eq per pass, the learning rates and
    the records) and returns it.
    """
    for name, value in (("n", n), ("workers", workers), ("threads", threads)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"`{name}` must be a positive integer, got {value!r}")
    prof = get_dsnn_profile(profile, **dict(profile_options or {}))
    budget = prof.budgets[0] if budget is None else budget
    space = get_space("dsnn")
    default = dict(space.default())
    rng = np.random.default_rng(seed)
    rates = [float(c["learning_rate"]) for c in space.sample(n, seed=rng)]
    job_base = {"profile": prof.name, "profile_options": dataclasses.asdict(prof), "budget": budget, "seed": seed}
    jobs = [{**job_base, "config": {**default, "learning_rate": lr}} for lr in rates]
    jobs += [{**job_base, "config": default} for _ in range(n)]
    with EvaluationPool(workers=workers, threads=threads, energy=energy) as pool:
        records = [jsonable(f.result()) for f in [pool.submit(job) for job in jobs]]
    co2 = [r.get("inference_co2eq_g") if r.get("status") == "ok" else None for r in records]
    data = {
        "budget": budget,
        "learning_rates": rates,
        "varied": [c for c in co2[:n] if c is not None],
        "fixed": [c for c in co2[n:] if c is not None],
        "failed": sum(c is None for c in co2),
        "records": records,
    }
    for group in ("varied", "fixed"):
        values = np.array(data[group], dtype=np.float64)
        data[f"{group}_mean"] = float(values.mean()) if values.size else None
        data[f"{group}_std"] = float(values.std()) if values.size else None
    atomic_write_text(Path(out) / "lr_variability.json", json.dumps(jsonable(data), indent=1))
    return data
