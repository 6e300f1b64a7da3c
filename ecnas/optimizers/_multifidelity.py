"""Budget ladders for the multi-fidelity algorithms (successive halving, Hyperband)."""

from __future__ import annotations

import math
import numbers
from typing import Any

from ecnas._validation import check_int

__all__ = ["check_eta", "eta_of_rungs", "geometric_rungs", "hyperband_brackets", "rungs", "table_budget"]


def check_eta(value: Any) -> int:
    """Validate the halving rate η (an int >= 2)."""
    return check_int("eta", value, 2)


def eta_of_rungs(rungs: tuple[int, ...]) -> int:
    """The halving rate that fits a budget ladder: its mean ratio between consecutive budgets, rounded (>= 2).

    Successive halving keeps ``1/eta`` of the cells per rung because each rung costs ``eta`` times the last; on
    a ladder whose budgets double (1/2/4 epochs) η = 2, on NB101's 4/12/36/108 η = 3. A mismatched η (3 on a
    doubling ladder) discards too many cells for the little a higher budget costs.
    """
    if len(rungs) < 2:
        return 2
    ratio = (rungs[-1] / rungs[0]) ** (1.0 / (len(rungs) - 1))
    return max(2, round(ratio))


def rungs(budgets: tuple[int, ...], budget: int, min_budget: Any) -> tuple[int, ...]:
    """The table's budgets from ``min_budget`` (default: the smallest) up to the target ``budget``.

    Raises:
        ValueError: ``min_budget`` is not one of the table's budgets or exceeds ``budget``.
    """
    if min_budget is None:
        min_budget = budgets[0]
    if isinstance(min_budget, bool) or min_budget not in budgets or min_budget > budget:
        allowed = [b for b in budgets if b <= budget]
        raise ValueError(
            f"min_budget must be one of the table's budgets up to budget={budget}: {allowed}; got {min_budget!r}"
        )
    return tuple(b for b in budgets if min_budget <= b <= budget)


def geometric_rungs(rungs: tuple[int, ...], eta: int) -> tuple[int, ...]:
    """The rungs of Hyperband's geometric ladder: SMAC3's budgets ``top * eta**-k``, served by table budgets.

    Each budget ``top * eta**-k`` (down to the lowest rung) is served by the table budget nearest at or below it,
    as :func:`table_budget` serves an outside optimizer's request.

    On a 1/2/4 ladder with η = 3 that is 1 and 4 (2 is skipped: ``4/3`` is served by 1); on 4/12/36/108 every rung.
    """
    top, low = rungs[-1], rungs[0]
    chosen: list[int] = []
    k = 0
    while top * float(eta) ** -k >= low * (1 - 1e-9):
        budget = table_budget(rungs, top * float(eta) ** -k)
        if budget not in chosen:
            chosen.append(budget)
        k += 1
    return tuple(sorted(chosen))


def hyperband_brackets(n_rungs: int, eta: int) -> list[list[tuple[int, int]]]:
    """Hyperband's brackets over ``n_rungs`` budgets, most exploratory first.

    Bracket ``s`` (``s = n_rungs - 1 … 0``) starts ``ceil(n_rungs / (s + 1) * eta**s)`` configurations at
    rung ``n_rungs - 1 - s`` and keeps ``1/eta`` of them at every higher rung (Li et al. 2017).

    Returns:
        One list per bracket of ``(rung index, configurations)`` steps.
    """
    s_max = n_rungs - 1
    brackets = []
    for s in range(s_max, -1, -1):
        n = math.ceil((s_max + 1) / (s + 1) * eta**s)
        steps = []
        for i in range(s + 1):
            steps.append((s_max - s + i, max(1, math.floor(n * eta ** (-i)))))
        brackets.append(steps)
    return brackets


def table_budget(budgets: tuple[int, ...], budget: Any) -> int:
    """The table budget an outside optimizer's (possibly fractional) budget maps to: the nearest at or below it.

    SMAC3's Hyperband asks for budgets such as ``108 / 3**k`` or ``4 / 3``; a table holds only its own budgets,
    so a request is served by the largest table budget not exceeding it (never by a larger, costlier one).
    A budget within 1e-9 of a table budget counts as that budget.

    Raises:
        ValueError: ``budget`` is not a number or lies below the table's smallest budget.
    """
    if isinstance(budget, bool) or not isinstance(budget, numbers.Real) or not math.isfinite(budget):
        raise ValueError(f"budget must be a finite number of epochs, got {budget!r}")
    below = [b for b in budgets if b <= budget * (1 + 1e-9)]
    if not below:
        raise ValueError(
            f"budget {budget} lies below the table's smallest budget {budgets[0]}; set the optimizer's minimum "
            f"budget to at least {budgets[0]} (table budgets: {list(budgets)})"
        )
    return int(below[-1])
