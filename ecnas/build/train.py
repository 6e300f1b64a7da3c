"""Train one configuration under an energy meter and evaluate it at every budget of a profile.

The model is the one the profile's search space builds (:meth:`ecnas.spaces.SearchSpace.build_model`).

Two schedules (a profile option):

- ``per-budget`` — NB101's protocol: one separate run per budget, each with its own cosine schedule;
  the record of budget *b* holds the time and energy of that run.
- ``single-run`` — one run to the largest budget with an evaluation at every budget checkpoint; the
  record of budget *b* holds the cumulative training time and energy at that checkpoint. The learning
  rate then follows one cosine over the largest budget, so a smaller budget is a snapshot of a longer
  run, not a run annealed to that budget. It costs the largest budget only, which is what makes the
  tiny build affordable.

``energy_kwh`` and ``training_time`` count the training steps only; ``total_energy_kwh`` adds the
evaluations (NB101/EC-NAS convention).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

from ecnas.spaces import get_space

if TYPE_CHECKING:
    from ecnas.build.data import DataSplits
    from ecnas.build.profiles import Profile

__all__ = ["TensorData", "derive_seed", "train_cell"]


def derive_seed(seed: int, cell_hash: str, repeat: int) -> int:
    """The seed of one (cell, repeat) run: a 63-bit digest of (global seed, hash, repeat).

    Identical in every process, so shards and a single process train identically.
    """
    import hashlib

    digest = hashlib.sha256(f"ecnas-build:{int(seed)}:{cell_hash}:{int(repeat)}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


@dataclass
class TensorData:
    """Splits as tensors on the training device (plus a fixed subset of train for train accuracy)."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    train_eval_x: torch.Tensor
    train_eval_y: torch.Tensor
    valid_x: torch.Tensor
    valid_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor

    @classmethod
    def from_splits(cls, splits: DataSplits, device: torch.device, train_eval_size: int | None = None) -> TensorData:
        """Move ``splits`` to ``device``; train accuracy uses a seeded subset of ``train_eval_size`` images."""

        def tensor(array: np.ndarray) -> torch.Tensor:
            out = torch.from_numpy(np.ascontiguousarray(array)).to(device)
            return out.contiguous(memory_format=torch.channels_last) if out.dim() == 4 else out

        n_train = len(splits.train_y)
        if train_eval_size is None or train_eval_size >= n_train:
            subset = np.arange(n_train)
        else:
            subset = np.sort(np.random.default_rng(0).choice(n_train, size=train_eval_size, replace=False))
        return cls(
            tensor(splits.train_x),
            tensor(splits.train_y),
            tensor(splits.train_x[subset]),
            tensor(splits.train_y[subset]),
            tensor(splits.valid_x),
            tensor(splits.valid_y),
            tensor(splits.test_x),
            tensor(splits.test_y),
        )


@dataclass
class _EnergyLog:
    """Accumulates meter readings of training and evaluation segments."""

    train_kwh: float = 0.0
    eval_kwh: float = 0.0
    duration_s: float = 0.0
    components: dict[str, float] = field(default_factory=dict)
    last: dict[str, Any] = field(default_factory=dict)
    segments: int = 0

    def add(self, reading: Any, *, training: bool) -> None:
        kwh = float(reading.energy_kwh)
        if training:
            self.train_kwh += kwh
        else:
            self.eval_kwh += kwh
        self.duration_s += float(getattr(reading, "duration_s", 0.0) or 0.0)
        components = getattr(reading, "components", None) or {}
        if isinstance(components, dict):
            for name, value in components.items():
                kwh = getattr(value, "energy_kwh", value)
                if isinstance(kwh, (int, float)) and math.isfinite(kwh):
                    self.components[name] = self.components.get(name, 0.0) + float(kwh)
        self.last = reading.as_dict() if hasattr(reading, "as_dict") else {}
        self.segments += 1

    def snapshot(self) -> dict[str, Any]:
        """The cumulative energy description stored in a record's ``energy`` key."""
        total = self.train_kwh + self.eval_kwh
        intensity = self.last.get("carbon_intensity")
        out = dict(self.last)
        out.update(
            energy_kwh=total,
            training_energy_kwh=self.train_kwh,
            evaluation_energy_kwh=self.eval_kwh,
            duration_s=self.duration_s,
            components=dict(self.components),
            segments=self.segments,
            cumulative=True,
        )
        pue = self.last.get("pue")
        pue = float(pue) if isinstance(pue, (int, float)) and math.isfinite(pue) and pue > 0 else 1.0
        if isinstance(intensity, (int, float)):
            out["co2eq_g"] = total * pue * float(intensity)  # same rule as Reading.co2eq_g and Benchmark
        return out


def _augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Pad 4 + random crop + random horizontal flip (NB101's CIFAR augmentation), batched."""
    batch, channels, height, width = x.shape
    padded = F.pad(x, (4, 4, 4, 4))
    oy = torch.randint(0, 9, (batch,), generator=generator).to(x.device)
    ox = torch.randint(0, 9, (batch,), generator=generator).to(x.device)
    rows = (oy[:, None] + torch.arange(height, device=x.device))[:, None, :, None]
    cols = (ox[:, None] + torch.arange(width, device=x.device))[:, None, None, :]
    out = padded[
        torch.arange(batch, device=x.device)[:, None, None, None],
        torch.arange(channels, device=x.device)[None, :, None, None],
        rows,
        cols,
    ]
    flip = (torch.rand(batch, generator=generator) < 0.5).to(x.device)[:, None, None, None]
    return torch.where(flip, out.flip(3), out).contiguous(memory_format=torch.channels_last)


@torch.no_grad()
def _accuracy(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> float:
    correct = 0
    for start in range(0, len(y), batch_size):
        logits = net(x[start : start + batch_size])
        correct += int((logits.argmax(dim=1) == y[start : start + batch_size]).sum())
    return correct / max(1, len(y))


def _build(spec: Any, profile: Profile, seed: int, device: torch.device) -> torch.nn.Module:
    generator = torch.Generator().manual_seed(seed)
    net = get_space(profile.space).build_model(spec, generator=generator, **profile.network_options())
    for module in net.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.momentum = profile.bn_momentum
    return net.to(device=device, memory_format=torch.channels_last)


def _optimizer(net: torch.nn.Module, profile: Profile) -> torch.optim.Optimizer:
    params = [p for p in net.parameters() if p.requires_grad]
    if profile.optimizer == "rmsprop":
        # TF RMSProp (NB101): decay 0.9, momentum 0.9, epsilon 1.0.
        return torch.optim.RMSprop(
            params,
            lr=profile.learning_rate,
            alpha=0.9,
            eps=profile.epsilon,
            momentum=profile.momentum,
            weight_decay=profile.weight_decay,
        )
    return torch.optim.SGD(
        params,
        lr=profile.learning_rate,
        momentum=profile.momentum,
        weight_decay=profile.weight_decay,
        nesterov=profile.momentum > 0,
    )


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class _Run:
    """One training run: network, optimiser, cosine schedule by step over ``epochs``."""

    def __init__(
        self, spec: Any, profile: Profile, data: TensorData, seed: int, epochs: int, device: torch.device
    ) -> None:
        self.profile, self.data, self.device = profile, data, device
        self.net = _build(spec, profile, seed, device)
        self.optimizer = _optimizer(self.net, profile)
        n = len(data.train_y)
        self.batches = [(start, min(n, start + profile.batch_size)) for start in range(0, n, profile.batch_size)]
        if len(self.batches) > 1 and self.batches[-1][1] - self.batches[-1][0] < 2:
            self.batches.pop()  # a batch of one image breaks batch norm in training mode
        self.total_steps = len(self.batches) * epochs
        self.step = 0
        self.generator = torch.Generator().manual_seed(seed ^ 0x5DEECE66D)

    def train_epochs(self, epochs: int) -> None:
        net, data, profile = self.net, self.data, self.profile
        net.train()
        n = len(data.train_y)
        base_lr = profile.learning_rate
        for _ in range(epochs):
            order = torch.randperm(n, generator=self.generator).to(self.device)
            for start, stop in self.batches:
                index = order[start:stop]
                x = data.train_x[index]
                if profile.augment:
                    x = _augment(x, self.generator)
                lr = 0.5 * base_lr * (1.0 + math.cos(math.pi * self.step / self.total_steps))
                for group in self.optimizer.param_groups:
                    group["lr"] = lr
                loss = F.cross_entropy(net(x), data.train_y[index])
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
                self.step += 1

    def evaluate(self) -> dict[str, float]:
        net, data, size = self.net, self.data, self.profile.eval_batch_size
        net.eval()
        return {
            "train_accuracy": _accuracy(net, data.train_eval_x, data.train_eval_y, size),
            "validation_accuracy": _accuracy(net, data.valid_x, data.valid_y, size),
            "test_accuracy": _accuracy(net, data.test_x, data.test_y, size),
        }


def train_cell(
    spec: Any,
    profile: Profile,
    data: TensorData,
    *,
    seed: int,
    meter: Any,
    device: torch.device,
    budgets: Sequence[int] | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """Train ``spec`` under ``meter`` and evaluate it at every budget.

    Args:
        spec: the configuration (a CellSpec for NB101), trained as the profile's space builds it.
        profile: training settings (schedule, optimiser, network size).
        data: the splits on ``device``.
        seed: seed of initialisation, shuffling and augmentation.
        meter: an :mod:`ecnas.energy` meter (``with meter.measure() as reading``).
        device: torch device.
        budgets: budgets in epochs (default: the profile's).

    Returns:
        Trainable parameters and, per budget (ascending), a dict with ``budget``, ``training_time``,
        ``train_accuracy``, ``validation_accuracy``, ``test_accuracy``, ``energy_kwh``,
        ``total_energy_kwh`` and ``energy``.
    """
    budgets = tuple(sorted(budgets or profile.budgets))
    results: list[dict[str, Any]] = []
    params = 0
    if profile.schedule == "single-run":
        run = _Run(spec, profile, data, seed, budgets[-1], device)
        params = sum(p.numel() for p in run.net.parameters() if p.requires_grad)
        log, train_time, done = _EnergyLog(), 0.0, 0
        for budget in budgets:
            with meter.measure() as reading:
                start = time.perf_counter()
                run.train_epochs(budget - done)
                _sync(device)
                train_time += time.perf_counter() - start
            log.add(reading, training=True)
            done = budget
            with meter.measure() as reading:
                accuracies = run.evaluate()
            log.add(reading, training=False)
            results.append(_result(budget, train_time, accuracies, log))
    else:
        for budget in budgets:
            run = _Run(spec, profile, data, seed, budget, device)
            params = sum(p.numel() for p in run.net.parameters() if p.requires_grad)
            log = _EnergyLog()
            with meter.measure() as reading:
                start = time.perf_counter()
                run.train_epochs(budget)
                _sync(device)
                train_time = time.perf_counter() - start
            log.add(reading, training=True)
            with meter.measure() as reading:
                accuracies = run.evaluate()
            log.add(reading, training=False)
            results.append(_result(budget, train_time, accuracies, log))
    return params, results


def _result(budget: int, train_time: float, accuracies: dict[str, float], log: _EnergyLog) -> dict[str, Any]:
    return {
        "budget": int(budget),
        "training_time": float(train_time),
        **accuracies,
        "energy_kwh": log.train_kwh,
        "total_energy_kwh": log.train_kwh + log.eval_kwh,
        "energy": log.snapshot(),
    }
