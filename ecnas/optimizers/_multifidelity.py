"""Budget ladders for the multi-fidelity algorithms (successive halving, Hyperband)."""

from __future__ import annotations

import math
from typing import Any

from ecnas._validation import check_int

__all__ = ["check_eta", "hyperband_brackets", "rungs"]


def check_eta(value: Any) -> int:
    """Validate the halving rate η (an int >= 2)."""
    return check_int("eta", value, 2)


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
