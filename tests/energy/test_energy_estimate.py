"""The CPU-time estimate, carbon intensity, PUE, the Reading record, the registry and validation."""

from __future__ import annotations

import csv
import importlib.resources
import json
import math
import subprocess
import sys
import threading
import time

import pytest

from ecnas.energy import (
    ComponentReading,
    CpuTimeMeter,
    Meter,
    Reading,
    auto_meter,
    describe_hardware,
    get_meter_class,
    make_meter,
    meter_names,
    register_meter,
    resolve_intensity,
)
from ecnas.testing.fake_power import FakeClock, FakeNvml, patched_nvml
from ecnas.testing.meters import burn_cpu


class FakeCpu:
    """Process-tree CPU seconds that move only when told."""

    def __init__(self):
        self.seconds = 100.0

    def __call__(self):
        return self.seconds


def table_value(code):
    """gCO2/kWh of ``code`` read straight from Carbontracker's bundled CSV."""
    path = importlib.resources.files("carbontracker").joinpath("data", "carbon-intensities.csv")
    with path.open() as handle:
        for row in csv.DictReader(handle):
            if row["alpha-2"] == code:
                return float(row["Carbon intensity of electricity (gCO2eq/kWh)"])
    raise AssertionError(code)


def test_auto_meter_without_hardware_is_a_labelled_estimate(tmp_path):
    with patched_nvml(FakeNvml(init_error="NVML Shared Library Not Found")):
        meter = auto_meter(rapl_dir=tmp_path / "absent")
    assert isinstance(meter, CpuTimeMeter)
    info = meter.describe()
    assert info["kind"] == "estimated" and info["measured"] is False
    assert info["method"] == "estimated:cpu-time×4.0W/thread"
    assert any("no powercap directory" in p for p in info["probe_problems"])
    assert any("NVML" in p for p in info["probe_problems"])


def test_estimate_is_cpu_seconds_times_watts_per_thread():
    clock, cpu = FakeClock(), FakeCpu()
    meter = CpuTimeMeter(watts_per_thread=2.5, carbon_intensity=300.0, pue=1.5, clock=clock, cpu_timer=cpu)
    with meter.measure() as reading:
        cpu.seconds += 36.0  # e.g. 4 threads busy for 9 s
        clock.advance(10.0)
    assert reading.cpu_seconds == 36.0 and reading.duration_s == 10.0
    assert reading.energy_kwh == pytest.approx(36.0 * 2.5 / 3.6e6)
    assert reading.method == "estimated:cpu-time×2.5W/thread" and reading.kind == "estimated"
    assert reading.components["cpu"].devices[0].mean_power_w == pytest.approx(9.0)
    assert reading.co2eq_g == pytest.approx(reading.energy_kwh * 1.5 * 300.0)
    assert reading.pue == 1.5 and reading.intensity_source == "configured"


def test_estimate_counts_other_threads():
    meter = CpuTimeMeter()
    spent = []

    def worker():
        start = time.thread_time()
        burn_cpu(0.3)
        spent.append(time.thread_time() - start)

    with meter.measure() as reading:
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
    assert reading.cpu_seconds >= 0.9 * spent[0] > 0.2


def test_estimate_counts_child_processes():
    meter = CpuTimeMeter()
    busy = "import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass\n"
    with meter.measure() as reading:
        subprocess.run([sys.executable, "-c", busy], check=True)  # exits and is reaped
    assert reading.cpu_seconds >= 0.38

    child = busy + "print('done', flush=True)\ntime.sleep(30)\n"
    with meter.measure() as reading:  # child still alive when the block ends
        proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True)
        line = proc.stdout.readline().strip()
    proc.kill()
    proc.wait()
    proc.stdout.close()
    assert line == "done"
    assert reading.cpu_seconds >= 0.38


def test_estimate_covers_torch_threads():
    torch = pytest.importorskip("torch")
    meter = CpuTimeMeter()
    old = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        a = torch.randn(320, 320)
        with meter.measure() as reading:
            start, main = time.process_time(), time.thread_time()
            for _ in range(40):
                a = torch.tanh(a @ a)
            process = time.process_time() - start  # every thread of the process, torch's pool included
            main = time.thread_time() - main
    finally:
        torch.set_num_threads(old)
    if process - main < 0.02:
        pytest.skip("torch ran its matmuls on the calling thread only here")
    assert reading.cpu_seconds == pytest.approx(process, abs=0.05)
    assert reading.cpu_seconds > main + 0.5 * (process - main)


def test_country_and_default_intensity_come_from_carbontrackers_table():
    dk = resolve_intensity(country="dk")
    assert dk.value == table_value("DK") and dk.source.startswith("country:DK (Denmark")
    assert resolve_intensity(country="DNK") == dk
    default = resolve_intensity()
    assert default.value == 445.0 and default.source.startswith("default:world average")
    meter = CpuTimeMeter(country="FR")
    with meter.measure() as reading:
        burn_cpu(0.01)
    assert reading.carbon_intensity == table_value("FR") and reading.intensity_source.startswith("country:FR")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"pue": 0.9}, ValueError, r"`pue` must be finite and >= 1"),
        ({"pue": "1.2"}, TypeError, r"`pue` must be a number"),
        ({"pue": math.nan}, ValueError, r"`pue`"),
        ({"watts_per_thread": 0}, ValueError, r"`watts_per_thread` must be finite and > 0"),
        ({"carbon_intensity": -1.0}, ValueError, r"`carbon_intensity` must be finite and >= 0"),
        ({"carbon_intensity": 100.0, "country": "DK"}, ValueError, r"either `carbon_intensity`"),
        ({"country": "XX"}, ValueError, r"'XX' is not in Carbontracker.*DK"),
        ({"country": 45}, TypeError, r"ISO 3166"),
        ({"clock": 3}, TypeError, r"`clock` must be a callable"),
    ],
)
def test_settings_are_validated_with_helpful_messages(kwargs, error, match):
    with pytest.raises(error, match=match):
        CpuTimeMeter(**kwargs)
    if "clock" not in kwargs:  # auto_meter validates before probing anything
        with pytest.raises(error, match=match):
            auto_meter(**kwargs)


def test_reading_is_pending_until_the_block_exits_and_round_trips_json():
    meter = CpuTimeMeter(carbon_intensity=100.0)
    with meter.measure() as reading:
        assert reading.kind == "pending"
        with pytest.raises(RuntimeError, match="after the block"):
            reading.as_dict()
    data = json.loads(json.dumps(reading.as_dict(), allow_nan=False))
    assert data["measured"] is False and data["kind"] == "estimated" and data["pue"] == 1.0
    assert Reading.from_dict(data).as_dict() == data


def test_unknown_cpu_time_is_null_in_json():
    def broken():
        raise OSError("no /proc")

    meter = CpuTimeMeter(cpu_timer=broken)
    with meter.measure() as reading:
        pass
    # never 0 kWh for an unknown figure: NaN, labelled unavailable
    assert math.isnan(reading.cpu_seconds) and math.isnan(reading.energy_kwh) and math.isnan(reading.co2eq_g)
    assert reading.kind == "unavailable" and reading.method.startswith("unavailable:") and not reading.measured
    assert any("CPU time unavailable" in w for w in reading.warnings)
    data = json.loads(json.dumps(reading.as_dict(), allow_nan=False))
    assert data["cpu_seconds"] is None and data["energy_kwh"] is None
    assert math.isnan(Reading.from_dict(data).cpu_seconds)


class _Broken(Meter):
    """A backend whose hooks fail (not registered: the contract suite would ask for a factory)."""

    name = "broken"

    def __init__(self, fail_in, **kwargs):
        super().__init__(**kwargs)
        self.fail_in = fail_in

    def _start(self):
        if self.fail_in == "start":
            raise RuntimeError("sensor gone")

    def _read(self, session, duration_s, cpu_seconds, warnings):
        raise RuntimeError("sensor gone")

    def _planned_components(self):
        return [ComponentReading("gpu", "measured", "broken[x]", 0.0)]


@pytest.mark.parametrize("fail_in", ["start", "read"])
def test_backend_faults_never_reach_the_training_code(fail_in):
    meter = _Broken(fail_in, cpu_timer=FakeCpu())
    with meter.measure() as reading:
        result = "trained"
    assert result == "trained"
    assert reading.finalised and reading.kind == "estimated"
    assert any("sensor gone" in w for w in reading.warnings)
    assert meter.describe()["method"] == "measured:broken[x]"


def test_registry_by_name():
    assert {"carbontracker", "cpu-time"} <= set(meter_names())
    assert get_meter_class("cpu-time") is CpuTimeMeter
    assert isinstance(make_meter("cpu-time", pue=1.1), CpuTimeMeter)
    with pytest.raises(ValueError, match=r"unknown meter 'rapl'; valid names are \['carbontracker', 'cpu-time'\]"):
        get_meter_class("rapl")
    with pytest.raises(ValueError, match="already registered"):
        register_meter("cpu-time")(CpuTimeMeter)


def test_describe_hardware_is_json():
    with patched_nvml(FakeNvml(init_error="none")):
        info = describe_hardware()
    assert info["logical_cores"] >= 1 and info["ram_bytes"] > 0 and info["gpus"] == []
    assert info["cpu_model"] and info["python"] == ".".join(map(str, sys.version_info[:3]))
    json.dumps(info)
