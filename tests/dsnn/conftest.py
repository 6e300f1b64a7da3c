"""Small, fast settings for the DSNN objective and run tests."""

from __future__ import annotations

import pytest

#: tiny profile cut down: 300/100/100 digits, width 4, budgets 1 and 3, no measurement window.
FAST = {
    "width": 4,
    "split_sizes": (300, 100, 100),
    "min_budget": 1,
    "max_budget": 3,
    "min_window_s": 0.0,
    "max_passes": 2,
}


@pytest.fixture
def fast_options():
    return dict(FAST)


@pytest.fixture(scope="session")
def cpu_meter():
    from ecnas.energy import CpuTimeMeter

    return CpuTimeMeter(carbon_intensity=300.0)


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """One torch thread, as in the run's workers (small tensors are slower on threads fighting for 2 cores)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
