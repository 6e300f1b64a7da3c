"""The live objective of the MFMO run: train one DSNN configuration for ``b`` epochs and measure it.

:func:`evaluate` returns one JSON-able record per evaluation (Algorithm 1, step 8):

- ``loss`` = 1 − test accuracy (the paper's objective) and ``cross_entropy`` (test); validation figures too;
- ``inference_co2eq_g`` / ``inference_energy_kwh``: **one** pass classifying the test set, measured with an
  :mod:`ecnas.energy` meter over a window of ``min_window_s`` or more (the pass is repeated and the reading
  divided by the number of passes), with ``energy_kind`` / ``energy_method`` saying whether it was measured
  (RAPL/NVML) or estimated (CPU time × W per thread, on machines without a readable meter);
- ``train_*``: energy, emissions and seconds of the training;
- ``analytic``: :func:`ecnas.dsnn.cost.inference_cost` of one image (hardware independent, 45 nm table), and
  ``analytic_co2eq_g``: that energy for one pass over the test set, priced with the same intensity and PUE;
- ``num_weights`` (weights of the deployed network), ``trainable_parameters``, ``shift_layers``.

A training whose loss becomes NaN or infinite, or that raises, gives ``status="failed"`` and a ``reason``: no
objective values (never a zero cost), and the run goes on.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

from ecnas.dsnn.convert import shift_layers
from ecnas.dsnn.cost import inference_cost
from ecnas.dsnn.layers import ShiftLayer
from ecnas.dsnn.optim import make_optimizer
from ecnas.dsnn.profiles import DSNNProfile, get_dsnn_profile
from ecnas.spaces import get_space

if TYPE_CHECKING:
    from ecnas.build.data import DataSplits
    from ecnas.energy import Meter, Reading

__all__ = ["TrainingDiverged", "evaluate"]


class TrainingDiverged(ArithmeticError):
    """The training loss became NaN or infinite."""


@functools.lru_cache(maxsize=2)
def _data(profile: DSNNProfile) -> DataSplits:
    return profile.load_data()


def _device(profile: DSNNProfile) -> torch.device:
    if profile.device == "cuda" or (profile.device == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise RuntimeError("DSNN profile option device='cuda' but torch sees no CUDA device; use device='cpu'")
        return torch.device("cuda")
    return torch.device("cpu")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _reading(reading: Reading) -> dict[str, Any]:
    return {
        "energy_kwh": reading.energy_kwh,
        "co2eq_g": reading.co2eq_g,
        "duration_s": reading.duration_s,
        "kind": reading.kind,
        "method": reading.method,
        "carbon_intensity": reading.carbon_intensity,
        "intensity_source": reading.intensity_source,
        "pue": reading.pue,
        "warnings": list(reading.warnings),
    }


def _param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Weight decay on float weights and Q weights; none on PS shifts and signs (decay would pull shifts to 2^0)."""
    plain, free = [], []
    for module in model.modules():
        for name, parameter in module.named_parameters(recurse=False):
            (free if isinstance(module, ShiftLayer) and name in ("shift", "sign") else plain).append(parameter)
    return [{"params": plain, "weight_decay": weight_decay}, {"params": free, "weight_decay": 0.0}]


def _scores(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int) -> tuple[float, float]:
    """(accuracy, mean cross-entropy) on ``x``, ``y``."""
    model.eval()
    correct, total_loss = 0, 0.0
    with torch.no_grad():
        for start in range(0, len(y), batch):
            logits = model(x[start : start + batch])
            target = y[start : start + batch]
            total_loss += float(F.cross_entropy(logits, target, reduction="sum"))
            correct += int((logits.argmax(1) == target).sum())
    return correct / len(y), total_loss / len(y)


def _train(
    model: torch.nn.Module,
    config: Mapping[str, Any],
    budget: int,
    x: torch.Tensor,
    y: torch.Tensor,
    generator: torch.Generator,
) -> int:
    """Train ``budget`` epochs (cosine-decayed learning rate by step); returns the number of steps."""
    batch = int(config["batch_size"])
    optimizer = make_optimizer(
        str(config["optimizer"]),
        _param_groups(model, float(config["weight_decay"])),
        learning_rate=float(config["learning_rate"]),
        momentum=float(config["momentum"]),
        weight_decay=float(config["weight_decay"]),
    )
    steps_per_epoch = math.ceil(len(y) / batch)
    total = budget * steps_per_epoch
    base_lr = float(config["learning_rate"])
    step = 0
    for epoch in range(budget):
        model.train()
        order = torch.randperm(len(y), generator=generator).to(x.device)
        for start in range(0, len(y), batch):
            index = order[start : start + batch]
            for group in optimizer.param_groups:
                group["lr"] = 0.5 * base_lr * (1.0 + math.cos(math.pi * step / total))
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x[index]), y[index])
            if not torch.isfinite(loss):
                raise TrainingDiverged(f"training loss became {loss.item()} at epoch {epoch + 1}, step {step + 1}")
            loss.backward()
            optimizer.step()
            step += 1
    return step


def _inference(model: torch.nn.Module, x: torch.Tensor, profile: DSNNProfile, meter: Meter) -> dict[str, Any]:
    """Classify the test set repeatedly inside one measured window; per-pass figures."""
    device = x.device
    model.eval()
    passes = 0
    with torch.no_grad():
        model(x[: profile.eval_batch_size])  # warm-up outside the window
        _sync(device)
        with meter.measure() as reading:
            start = time.perf_counter()
            while True:
                for begin in range(0, len(x), profile.eval_batch_size):
                    model(x[begin : begin + profile.eval_batch_size])
                _sync(device)
                passes += 1
                if passes >= profile.max_passes or time.perf_counter() - start >= profile.min_window_s:
                    break
    out = _reading(reading)
    return {
        "inference_co2eq_g": out["co2eq_g"] / passes,
        "inference_energy_kwh": out["energy_kwh"] / passes,
        "inference_seconds": out["duration_s"] / passes,
        "inference_passes": passes,
        "inference_window": out,
    }


def evaluate(
    config: Mapping[str, Any],
    budget: int,
    *,
    profile: str | DSNNProfile = "tiny",
    seed: int = 0,
    meter: Meter | None = None,
    profile_options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Train ``config`` for ``budget`` epochs on ``profile`` and measure loss, emissions and cost.

    Args:
        config: a configuration of the ``dsnn`` space (a mapping of its 11 parameters).
        budget: epochs (>= 1).
        profile: ``"tiny"``, ``"cifar10"`` or a :class:`~ecnas.dsnn.profiles.DSNNProfile`.
        seed: seed of the initialisation, batch order and stochastic rounding (the global torch RNG is restored).
        meter: the energy meter (default: :func:`ecnas.energy.auto_meter`).
        profile_options: options overriding the profile's defaults.

    Returns:
        The evaluation record (see the module docstring); ``status`` is ``"ok"`` or ``"failed"``.

    Raises:
        InvalidConfigError: ``config`` is not in the space. ValueError: bad budget or profile.
    """
    space = get_space("dsnn")
    config = space.validate(config)
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1:
        raise ValueError(f"`budget` must be a positive number of epochs, got {budget!r}")
    budget = int(budget)
    prof = get_dsnn_profile(profile, **dict(profile_options or {}))
    if meter is None:
        from ecnas.energy import auto_meter

        meter = auto_meter()
    data = _data(prof)
    device = _device(prof)
    record: dict[str, Any] = {
        "key": config.key,
        "config": dict(config),
        "budget": budget,
        "seed": int(seed),
        "profile": prof.options(),
        "device": str(device),
    }
    started = time.perf_counter()
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(int(seed))
        generator = torch.Generator().manual_seed(int(seed))
        model = space.build_model(config, seed=int(seed), **prof.model_options()).to(device)
        record["num_weights"] = int(
            sum(
                m.weight.numel() if not isinstance(m, ShiftLayer) else m.effective_weight().numel()
                for m in model.modules()
                if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear, ShiftLayer))
            )
        )
        record["trainable_parameters"] = int(sum(p.numel() for p in model.parameters() if p.requires_grad))
        record["shift_layers"] = len(shift_layers(model))
        tx, ty = (torch.as_tensor(a).to(device) for a in (data.train_x, data.train_y))
        try:
            with meter.measure() as train_reading:
                record["train_steps"] = _train(model, config, budget, tx, ty, generator)
                _sync(device)
        except (TrainingDiverged, RuntimeError, ValueError) as error:
            record.update(status="failed", reason=f"{type(error).__name__}: {error}")
            record["seconds"] = time.perf_counter() - started
            return record
        train = _reading(train_reading)
        record.update(
            train_energy_kwh=train["energy_kwh"],
            train_co2eq_g=train["co2eq_g"],
            train_seconds=train["duration_s"],
            train_energy=train,
        )
        vx, vy = (torch.as_tensor(a).to(device) for a in (data.valid_x, data.valid_y))
        sx, sy = (torch.as_tensor(a).to(device) for a in (data.test_x, data.test_y))
        valid_acc, valid_ce = _scores(model, vx, vy, prof.eval_batch_size)
        test_acc, test_ce = _scores(model, sx, sy, prof.eval_batch_size)
        if not (math.isfinite(test_ce) and math.isfinite(valid_ce)):
            record.update(status="failed", reason=f"evaluation cross-entropy is not finite ({test_ce})")
            record["seconds"] = time.perf_counter() - started
            return record
        record.update(
            test_accuracy=test_acc,
            loss=1.0 - test_acc,
            cross_entropy=test_ce,
            validation_accuracy=valid_acc,
            validation_loss=1.0 - valid_acc,
            validation_cross_entropy=valid_ce,
        )
        record.update(_inference(model, sx, prof, meter))
        record["analytic"] = inference_cost(model, tuple(data.test_x.shape[1:]))
    window = record["inference_window"]
    # The analytic energy priced like the measured one (same intensity and PUE): gCO2eq of one test-set pass.
    record["analytic_co2eq_g"] = (
        record["analytic"]["total_pj"] * len(data.test_y) * 1e-12 / 3.6e6 * window["pue"] * window["carbon_intensity"]
    )
    record.update(
        status="ok",
        energy_kind=window["kind"],
        energy_method=window["method"],
        carbon_intensity=window["carbon_intensity"],
        intensity_source=window["intensity_source"],
        seconds=time.perf_counter() - started,
    )
    return record
