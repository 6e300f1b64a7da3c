"""Build profiles: what data, which network size and which training recipe a build uses.

A profile is a frozen dataclass registered by name; its fields are the options a recipe (TOML) or
the command line may override, validated once with errors naming the option.

- ``nb101-cifar10`` — the NAS-Bench-101 protocol on CIFAR-10 from a local directory (binary layout):
  full NB101 network (stem 128, 3 stacks x 3 cells), budgets 4/12/36/108 epochs, a separate run per
  budget, 3 repeats, RMSProp lr 0.2 (momentum 0.9, epsilon 1.0), cosine decay by step, weight decay
  1e-4, batch 256, pad-crop-flip augmentation. Meant for GPUs (CUDA is used when present).
- ``tiny`` — scikit-learn's digits (8x8 grey, shipped inside scikit-learn) and a scaled-down NB101
  network; the recipe of the embedded default table, sized for a 2-core CPU (see the class docstring).
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from ecnas._registry import Registry
from ecnas.build.data import DataSplits, load_cifar10_binary, load_digits_splits

__all__ = ["PROFILES", "NB101Cifar10Profile", "Profile", "TinyProfile", "get_profile", "register_profile"]


_P = TypeVar("_P", bound="type[Profile]")


def register_profile(name: str) -> Callable[[_P], _P]:
    """Class decorator registering a profile under ``name`` (duplicates are rejected)."""
    return PROFILES.class_decorator(name)


@dataclass(frozen=True, kw_only=True)
class Profile(ABC):
    """Base of every build profile: training recipe + network size (all fields are options).

    Attributes:
        budgets: training budgets in epochs, strictly increasing.
        repeats: independent training runs per (cell, budget).
        schedule: ``"per-budget"`` (a separate run per budget, NB101) or ``"single-run"`` (one run to
            the largest budget, evaluated at each budget; cumulative time and energy).
        stem_channels, num_stacks, cells_per_stack: NB101 network size.
        optimizer: ``"rmsprop"`` or ``"sgd"`` (Nesterov momentum).
        learning_rate: initial learning rate, decayed to 0 by a cosine over the run's steps.
        momentum, epsilon, weight_decay: optimiser settings (epsilon is RMSProp's).
        bn_momentum: PyTorch batch-norm momentum (NB101's TF decay 0.997 is 0.003).
        batch_size, eval_batch_size: training and evaluation batch sizes.
        train_eval_size: training images used for train accuracy (None = all).
        augment: pad-4 random crop + horizontal flip.
        device: ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``.
    """

    name: ClassVar[str] = ""
    #: The search space whose models the profile trains (registry name).
    space: ClassVar[str] = "nb101"
    in_channels: ClassVar[int] = 3
    num_classes: ClassVar[int] = 10
    dataset: ClassVar[str] = ""

    budgets: tuple[int, ...]
    repeats: int = 1
    schedule: str = "per-budget"
    stem_channels: int = 128
    num_stacks: int = 3
    cells_per_stack: int = 3
    optimizer: str = "rmsprop"
    learning_rate: float = 0.2
    momentum: float = 0.9
    epsilon: float = 1.0
    weight_decay: float = 1e-4
    bn_momentum: float = 0.003
    batch_size: int = 256
    eval_batch_size: int = 1024
    train_eval_size: int | None = None
    augment: bool = False
    device: str = "auto"

    def __post_init__(self) -> None:
        budgets = self.budgets
        if (
            not isinstance(budgets, tuple)
            or not budgets
            or any(not isinstance(b, int) or isinstance(b, bool) or b < 1 for b in budgets)
            or list(budgets) != sorted(set(budgets))
        ):
            raise ValueError(
                f"profile option 'budgets' must be strictly increasing positive epoch counts, got {budgets!r}."
            )
        for key in ("repeats", "stem_channels", "num_stacks", "cells_per_stack", "batch_size", "eval_batch_size"):
            _check(key, getattr(self, key), lambda v: v >= 1, "a positive integer")
        if self.train_eval_size is not None:
            _check("train_eval_size", self.train_eval_size, lambda v: v >= 1, "a positive integer or None")
        _check_choice("schedule", self.schedule, ("per-budget", "single-run"))
        _check_choice("optimizer", self.optimizer, ("rmsprop", "sgd"))
        _check_choice("device", self.device, ("auto", "cpu", "cuda"))
        for key in ("learning_rate", "epsilon"):
            _check(key, getattr(self, key), lambda v: v > 0, "a positive number")
        for key in ("momentum", "weight_decay"):
            _check(key, getattr(self, key), lambda v: v >= 0, "a non-negative number")
        _check("bn_momentum", self.bn_momentum, lambda v: 0 < v <= 1, "a number in (0, 1]")

    @abstractmethod
    def load_data(self) -> DataSplits:
        """The train/validation/test splits of this profile (read from local files only)."""

    def network_options(self) -> dict[str, int]:
        """Model options for :meth:`ecnas.spaces.SearchSpace.build_model` (NB101: :class:`NB101Network`'s)."""
        return {
            "stem_channels": self.stem_channels,
            "num_stacks": self.num_stacks,
            "cells_per_stack": self.cells_per_stack,
            "num_classes": self.num_classes,
            "in_channels": self.in_channels,
        }

    def options(self) -> dict[str, Any]:
        """All options as a JSON-able dict (tuples become lists)."""
        out: dict[str, Any] = {}
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            out[item.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def option_names(cls) -> list[str]:
        """Names of the options this profile accepts."""
        return [item.name for item in dataclasses.fields(cls)]


def _check(key: str, value: Any, rule: Callable[[Any], bool], what: str) -> None:
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    if what.startswith("a positive integer") and not isinstance(value, int):
        numeric = False
    if not numeric or not rule(value):
        raise ValueError(f"profile option {key!r} must be {what}, got {value!r}.")


def _check_choice(key: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"profile option {key!r} must be one of {list(choices)}, got {value!r}.")


#: Registered profiles by name.
PROFILES: Registry[type[Profile]] = Registry("build profile", sort_names=True, base=Profile)


@register_profile("tiny")
@dataclass(frozen=True, kw_only=True)
class TinyProfile(Profile):
    """scikit-learn digits on a scaled-down NB101 network: the recipe of the embedded default table.

    Sized on this project's 2-core CPU (one torch thread per worker process), where a training step
    costs ~0.15 ms of CPU per image: a 7-vertex cell costs 0.2–1 s, ~0.6 s on average. Choices (each
    an option; see ``builders/tiny-default.toml``):

    - data: digits (1,797 images of 8x8), split seeded and stratified into 1,077 train / 360 validation
      / 360 test, standardised with training statistics; train accuracy on a fixed 360-image subset.
    - network: stem 8 channels, 3 stacks of 1 cell (8/16/32 channels, 8x8 → 4x4 → 2x2), 1 input channel.
    - budgets 1, 2, 4 epochs — a scaled-down analogue of NB101's 4/12/36/108 with ×2 steps instead of
      ×3 (×3 from 1 would cost 9+ epochs per cell, too much for the default build here); one run per
      cell to the largest budget with evaluations at every budget (``single-run``); one repeat.
    - training: SGD with Nesterov momentum 0.9, lr 0.1 with cosine decay by step over the 4 epochs,
      weight decay 1e-4, batch 128 (8 full batches + one of 53 per epoch), no augmentation; batch-norm
      momentum 0.1 (NB101's 0.003 barely moves the running statistics in a few dozen steps, which
      would make evaluation meaningless).
    """

    in_channels: ClassVar[int] = 1
    dataset: ClassVar[str] = "digits"

    budgets: tuple[int, ...] = (1, 2, 4)
    repeats: int = 1
    schedule: str = "single-run"
    stem_channels: int = 8
    num_stacks: int = 3
    cells_per_stack: int = 1
    optimizer: str = "sgd"
    learning_rate: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-4
    bn_momentum: float = 0.1
    batch_size: int = 128
    eval_batch_size: int = 512
    train_eval_size: int | None = 360
    device: str = "cpu"
    split_sizes: tuple[int, ...] = (1077, 360, 360)
    split_seed: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        sizes = self.split_sizes
        if (
            not isinstance(sizes, tuple)
            or len(sizes) != 3
            or any(not isinstance(s, int) or isinstance(s, bool) or s < 1 for s in sizes)
            or sum(sizes) > 1797
        ):
            raise ValueError(
                f"profile option 'split_sizes' must be three positive counts (train, validation, test) summing "
                f"to at most 1797, got {sizes!r}."
            )
        if not isinstance(self.split_seed, int) or isinstance(self.split_seed, bool):
            raise ValueError(f"profile option 'split_seed' must be an integer, got {self.split_seed!r}.")

    def load_data(self) -> DataSplits:
        """Digits split ``split_sizes`` with ``split_seed``."""
        sizes = (int(self.split_sizes[0]), int(self.split_sizes[1]), int(self.split_sizes[2]))
        return load_digits_splits(sizes, seed=self.split_seed)


@register_profile("nb101-cifar10")
@dataclass(frozen=True, kw_only=True)
class NB101Cifar10Profile(Profile):
    """The NB101 protocol on CIFAR-10 read from ``data_dir`` (binary layout; never downloaded).

    40k train / 10k validation (the last 10k of the training batches) / 10k test; budgets 4/12/36/108,
    separate runs, 3 repeats, RMSProp lr 0.2 cosine, batch 256, augmentation. ``data_dir`` is required.
    """

    in_channels: ClassVar[int] = 3
    dataset: ClassVar[str] = "cifar10"

    budgets: tuple[int, ...] = (4, 12, 36, 108)
    repeats: int = 3
    augment: bool = True
    data_dir: str = ""
    validation_size: int = 10_000

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.data_dir, str) or not self.data_dir:
            raise ValueError(
                "profile option 'data_dir' is required by profile 'nb101-cifar10': the folder holding CIFAR-10's "
                "binary batches (data_batch_1.bin … test_batch.bin), e.g. --option data_dir=/data/cifar10."
            )
        _check("validation_size", self.validation_size, lambda v: v >= 1, "a positive integer")

    def load_data(self) -> DataSplits:
        """CIFAR-10 from ``data_dir`` (binary layout)."""
        return load_cifar10_binary(self.data_dir, validation_size=self.validation_size)


def _coerce(name: str, value: Any, default: Any, optional: bool = False) -> Any:
    """Convert a recipe/CLI value to the type of the option's default (lists → tuples, '1,2' → ints)."""
    if optional and (value is None or (isinstance(value, str) and value.lower() in {"none", "null"})):
        return None
    if isinstance(default, tuple):
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, (list, tuple)):
            try:
                return tuple(int(v) for v in value)
            except (TypeError, ValueError):
                pass
        raise ValueError(f"profile option {name!r} must be a list of integers, got {value!r}.")
    if isinstance(default, bool):
        if isinstance(value, str) and value.lower() in {"true", "1", "yes", "false", "0", "no"}:
            return value.lower() in {"true", "1", "yes"}
        if isinstance(value, bool):
            return value
        raise ValueError(f"profile option {name!r} must be true or false, got {value!r}.")
    if isinstance(value, str) and (default is None or isinstance(default, (int, float))):
        if default is None and value.lower() in {"none", "null", ""}:
            return None
        try:
            return int(value) if isinstance(default, int) or default is None else float(value)
        except ValueError:
            raise ValueError(f"profile option {name!r} must be a number, got {value!r}.") from None
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def get_profile(name: str, options: Mapping[str, Any] | None = None) -> Profile:
    """The profile registered as ``name`` with ``options`` overriding its defaults.

    Args:
        name: a registered profile name (see :data:`PROFILES`).
        options: option name → value (TOML/CLI values are coerced: ``"1,2,4"`` or ``[1, 2, 4]`` for
            tuples, ``"true"`` for booleans, numeric strings for numbers).

    Raises:
        ValueError: unknown profile name (the message lists the valid ones), unknown option (lists the
            valid options) or an invalid value (names the option).
    """
    cls = PROFILES.get(name)
    defaults = {item.name: _default(item) for item in dataclasses.fields(cls)}
    optional = {item.name for item in dataclasses.fields(cls) if "None" in str(item.type)}
    kwargs: dict[str, Any] = {}
    for key, value in (options or {}).items():
        if key not in defaults:
            raise ValueError(f"unknown option {key!r} for build profile {name!r}; valid options: {sorted(defaults)}.")
        kwargs[key] = _coerce(key, value, defaults[key], key in optional)
    return cls(**kwargs)


def _default(item: dataclasses.Field[Any]) -> Any:
    if item.default is not dataclasses.MISSING:
        return item.default
    if item.default_factory is not dataclasses.MISSING:
        return item.default_factory()
    return None

