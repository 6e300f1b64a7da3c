"""Contract suite for energy meters, run for every meter in the registry.

Each registered meter needs a *contract factory*: a context manager building a cheap instance in a
temporary directory (the Carbontracker one runs on a :class:`~ecnas.testing.fake_power.FakePowercap`).
A plug-in registers its own with :func:`register_contract_factory` and gets every check for free::

    @pytest.mark.parametrize("name", meter_names())
    @pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
    def test_meter_contract(name, check, tmp_path):
        check(name, tmp_path)
"""

from __future__ import annotations

import json
import math
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from ecnas._registry import Registry
from ecnas.energy import KINDS, CarbontrackerMeter, CpuTimeMeter, Meter, Reading
from ecnas.testing.fake_power import FakeClock, FakeNvml, FakePowercap, patched_nvml

__all__ = [
    "CHECKS",
    "CONTRACT_FACTORIES",
    "burn_cpu",
    "check_exception_finalises",
    "check_monotone_on_fake_clock",
    "check_no_network",
    "check_reading",
    "check_reusable_without_thread_leak",
    "contract_meter",
    "no_network",
    "register_contract_factory",
]

ContractFactory = Callable[[Path, "Callable[[], float] | None"], AbstractContextManager[Meter]]
CONTRACT_FACTORIES: Registry[ContractFactory] = Registry("meter contract factory")


def register_contract_factory(name: str) -> Callable[[ContractFactory], ContractFactory]:
    """Register how to build a cheap instance of meter ``name`` for the contract checks.

    The factory takes ``(tmp_path, clock)`` (clock may be None) and returns a context manager yielding
    the meter; whatever it sets up (fake hardware) must be torn down on exit.
    """
    return CONTRACT_FACTORIES.decorator(name)


def contract_meter(
    name: str, tmp_path: Path, clock: Callable[[], float] | None = None
) -> AbstractContextManager[Meter]:
    """The contract instance of meter ``name``.

    Raises:
        LookupError: If no contract factory was registered for ``name``.
    """
    if name not in CONTRACT_FACTORIES:
        raise LookupError(
            f"meter {name!r} has no contract factory; register one with "
            "ecnas.testing.meters.register_contract_factory({name!r})"
        )
    return CONTRACT_FACTORIES.get(name)(tmp_path, clock)


@register_contract_factory("cpu-time")
@contextmanager
def _cpu_time_meter(tmp_path: Path, clock: Callable[[], float] | None) -> Iterator[Meter]:
    yield CpuTimeMeter(carbon_intensity=250.0, pue=1.2, clock=clock)


@register_contract_factory("carbontracker")
@contextmanager
def _carbontracker_meter(tmp_path: Path, clock: Callable[[], float] | None) -> Iterator[Meter]:
    with FakePowercap(tmp_path / "powercap") as tree, patched_nvml(FakeNvml(init_error="no driver (fake)")):
        meter = CarbontrackerMeter(rapl_dir=tree.root, window_s=0.1, carbon_intensity=250.0, pue=1.2, clock=clock)
        try:
            yield meter
        finally:
            meter.close()


def burn_cpu(seconds: float) -> None:
    """Keep this thread busy until the process has used ``seconds`` more CPU time.

    The loop yields the GIL after every 0.2 ms of CPU: a loop that never does starves the meter's
    sampling thread and the fake RAPL writer, and the contract meter then read its fake 55 W as 4–91 W
    (median 13 W; 50–62 W when yielding, 54–56 W when yielding on every turn, which burns slowly).
    """
    end = time.process_time() + seconds
    while (now := time.process_time()) < end:
        step = min(end, now + 0.0002)
        while time.process_time() < step:
            pass
        time.sleep(0)


@contextmanager
def no_network() -> Iterator[list[str]]:
    """Make every socket connect / name lookup fail; yields the list of attempts."""
    attempts: list[str] = []

    def refuse(kind: str) -> Callable[..., Any]:
        def fail(*args: Any, **kwargs: Any) -> Any:
            attempts.append(f"{kind}{args[1:] if kind.startswith('socket.') else args}")
            raise OSError(f"network disabled in test ({kind})")

        return fail

    saved = (socket.socket.connect, socket.socket.connect_ex, socket.create_connection, socket.getaddrinfo)
    socket.socket.connect = refuse("socket.connect")  # type: ignore[method-assign]
    socket.socket.connect_ex = refuse("socket.connect_ex")  # type: ignore[method-assign]
    socket.create_connection = refuse("create_connection")
    socket.getaddrinfo = refuse("getaddrinfo")
    try:
        yield attempts
    finally:
        (socket.socket.connect, socket.socket.connect_ex, socket.create_connection, socket.getaddrinfo) = saved


def _assert_valid(reading: Reading, meter: Meter) -> None:
    assert reading.finalised, "reading not finalised after the block"
    assert math.isfinite(reading.energy_kwh) and reading.energy_kwh >= 0, reading.energy_kwh
    assert reading.duration_s >= 0, reading.duration_s
    assert reading.components, "a reading must have at least one component"
    total = sum(c.energy_kwh for c in reading.components.values())
    assert math.isclose(reading.energy_kwh, total, rel_tol=1e-9, abs_tol=1e-15), (reading.energy_kwh, total)
    for comp in reading.components.values():
        assert comp.kind in ("measured", "estimated"), comp.kind
        assert comp.energy_kwh >= 0 and all(d.energy_kwh >= 0 for d in comp.devices), comp
    assert reading.kind in KINDS, reading.kind
    assert reading.method.startswith(reading.kind + ":"), reading.method
    assert reading.measured == (reading.kind == "measured")
    assert reading.pue == meter.pue and reading.carbon_intensity == meter.intensity.value
    assert reading.intensity_source == meter.intensity.source and reading.intensity_source
    expected_co2 = reading.energy_kwh * reading.pue * reading.carbon_intensity
    assert math.isclose(reading.co2eq_g, expected_co2, rel_tol=1e-12, abs_tol=1e-15)
    data = json.loads(json.dumps(reading.as_dict(), allow_nan=False))
    assert data["kind"] == reading.kind and data["measured"] == reading.measured
    again = Reading.from_dict(data)
    assert again.energy_kwh == reading.energy_kwh and again.method == reading.method
    assert again.components.keys() == reading.components.keys()


def check_reading(name: str, tmp_path: Path) -> None:
    """A block doing CPU work gives a complete, consistent, JSON-serialisable reading."""
    with contract_meter(name, tmp_path) as meter:
        with meter.measure() as reading:
            assert not reading.finalised
            burn_cpu(0.1)
        _assert_valid(reading, meter)
        assert reading.interrupted_by is None
        assert reading.energy_kwh > 0, "CPU work must cost energy"
        assert reading.cpu_seconds >= 0.08, reading.cpu_seconds
        description = json.loads(json.dumps(meter.describe(), allow_nan=False))
        assert description["method"] == meter.method and description["kind"] in KINDS


def check_reusable_without_thread_leak(name: str, tmp_path: Path, repeats: int = 4) -> None:
    """Many consecutive measurements with one meter; no thread outlives its measurement."""
    with contract_meter(name, tmp_path) as meter:
        before = set(threading.enumerate())
        readings = []
        for _ in range(repeats):
            with meter.measure() as reading:
                burn_cpu(0.01)
            readings.append(reading)
            leaked = set(threading.enumerate()) - before
            assert not leaked, f"threads left running after a measurement: {leaked}"
        for reading in readings:
            _assert_valid(reading, meter)


def check_exception_finalises(name: str, tmp_path: Path) -> None:
    """A block that raises: the exception propagates, the reading is finalised, no thread is left."""

    class TrainingFailed(RuntimeError):
        pass

    with contract_meter(name, tmp_path) as meter:
        before = set(threading.enumerate())
        reading = None
        try:
            with meter.measure() as reading:
                burn_cpu(0.01)
                raise TrainingFailed("diverged")
        except TrainingFailed:
            pass
        else:  # pragma: no cover - the contract is broken
            raise AssertionError("the training exception was swallowed by the meter")
        assert reading is not None
        _assert_valid(reading, meter)
        assert reading.interrupted_by == "TrainingFailed"
        assert not set(threading.enumerate()) - before


def check_no_network(name: str, tmp_path: Path) -> None:
    """Neither construction nor measurement opens a connection or resolves a name."""
    with no_network() as attempts, contract_meter(name, tmp_path) as meter:
        with meter.measure() as reading:
            burn_cpu(0.01)
        _assert_valid(reading, meter)
    assert not attempts, f"network calls attempted: {attempts}"


def check_monotone_on_fake_clock(name: str, tmp_path: Path) -> None:
    """On a fake clock, durations are the clock's and more work (and time) never costs less energy."""
    clock = FakeClock()
    with contract_meter(name, tmp_path, clock) as meter:
        energies = []
        for seconds, work in ((0.0, 0.0), (1.0, 0.05), (3.0, 0.2)):
            with meter.measure() as reading:
                burn_cpu(work)
                clock.advance(seconds)
            assert reading.duration_s == seconds, (reading.duration_s, seconds)
            assert reading.energy_kwh >= 0
            energies.append(reading.energy_kwh)
        assert energies == sorted(energies), f"energy not monotone in work and time: {energies}"
        assert energies[-1] > 0


#: Every contract check; each takes ``(meter_name, tmp_path)``.
CHECKS: tuple[Callable[[str, Path], None], ...] = (
    check_reading,
    check_reusable_without_thread_leak,
    check_exception_finalises,
    check_no_network,
    check_monotone_on_fake_clock,
)
