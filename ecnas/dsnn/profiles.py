"""Dataset profiles of the live DSNN objective: data, network width, fidelities and measurement settings.

- ``tiny`` — scikit-learn's digits (the NB101 builder's ``tiny`` data: :func:`ecnas.build.data.load_digits_splits`,
  1,077 train / 360 validation / 360 test, 8x8 grey), ResNet20 at width 8 (stages 8/16/32), CPU, budgets 1, 3, 9
  epochs (η = 3). One evaluation takes seconds on one core.
- ``cifar10`` — CIFAR-10 from a local folder in the binary layout (:func:`ecnas.build.data.load_cifar10_binary`;
  never downloaded), ResNet20 at width 16 (the paper's 0.27 M parameters), budgets 1, 3, 9, 27 epochs, CUDA
  when present. Meant for a GPU node (``docs/dsnn.md`` has a Slurm recipe).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

from ecnas.build.data import DataSplits, load_cifar10_binary, load_digits_splits

__all__ = ["DSNN_PROFILES", "Cifar10DSNNProfile", "DSNNProfile", "TinyDSNNProfile", "get_dsnn_profile"]


@dataclass(frozen=True, kw_only=True)
class DSNNProfile:
    """Base of the DSNN profiles (every field is an option).

    Attributes:
        width: ResNet20 first-stage channels.
        min_budget, max_budget: smallest and largest fidelity in epochs.
        eta: Hyperband's halving rate; the budgets are ``min_budget · eta^i`` up to ``max_budget``.
        eval_batch_size: batch size of evaluation and of the inference measurement.
        bn_momentum: batch-norm momentum.
        device: ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``.
        min_window_s: the inference pass over the test set is repeated until the measured window lasts this long.
        max_passes: upper bound of those repetitions.
    """

    name: ClassVar[str] = ""
    dataset: ClassVar[str] = ""
    in_channels: ClassVar[int] = 3
    num_classes: ClassVar[int] = 10

    width: int = 16
    min_budget: int = 1
    max_budget: int = 27
    eta: int = 3
    eval_batch_size: int = 1000
    bn_momentum: float = 0.1
    device: str = "auto"
    min_window_s: float = 2.0
    max_passes: int = 1000

    def __post_init__(self) -> None:
        for key in ("width", "min_budget", "max_budget", "eval_batch_size", "max_passes"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"DSNN profile option {key!r} must be a positive integer, got {value!r}")
        if self.width % 2:
            raise ValueError(f"DSNN profile option 'width' must be even, got {self.width}")
        if isinstance(self.eta, bool) or not isinstance(self.eta, int) or self.eta < 2:
            raise ValueError(f"DSNN profile option 'eta' must be an integer >= 2, got {self.eta!r}")
        if self.max_budget < self.min_budget:
            raise ValueError(
                f"DSNN profile options need min_budget <= max_budget, got ({self.min_budget}, {self.max_budget})"
            )
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(
                f"DSNN profile option 'device' must be one of ['auto', 'cpu', 'cuda'], got {self.device!r}"
            )
        if not isinstance(self.min_window_s, (int, float)) or not self.min_window_s >= 0:
            raise ValueError(f"DSNN profile option 'min_window_s' must be a number >= 0, got {self.min_window_s!r}")

    @property
    def budgets(self) -> tuple[int, ...]:
        """The Hyperband rungs: ``min_budget · eta^i`` up to ``max_budget`` (epochs)."""
        out = [self.min_budget]
        while out[-1] * self.eta <= self.max_budget:
            out.append(out[-1] * self.eta)
        return tuple(out)

    def load_data(self) -> DataSplits:
        """Train/validation/test splits (local files only)."""
        raise NotImplementedError

    def model_options(self) -> dict[str, Any]:
        """Keyword arguments of :func:`ecnas.dsnn.resnet20` for this profile."""
        return {
            "num_classes": self.num_classes,
            "in_channels": self.in_channels,
            "width": self.width,
            "bn_momentum": self.bn_momentum,
        }

    def options(self) -> dict[str, Any]:
        """All options as a JSON-able dict, with the profile name."""
        return {"name": self.name, **dataclasses.asdict(self)}


@dataclass(frozen=True, kw_only=True)
class TinyDSNNProfile(DSNNProfile):
    """Digits on a width-8 ResNet20, CPU, budgets 1/3/9 epochs (see the module docstring)."""

    name: ClassVar[str] = "tiny"
    dataset: ClassVar[str] = "digits"
    in_channels: ClassVar[int] = 1

    width: int = 8
    min_budget: int = 1
    max_budget: int = 9
    eval_batch_size: int = 360
    device: str = "cpu"
    min_window_s: float = 0.5
    split_sizes: tuple[int, int, int] = (1077, 360, 360)
    split_seed: int = 0

    def load_data(self) -> DataSplits:
        """The builder's digits splits."""
        return load_digits_splits(tuple(int(s) for s in self.split_sizes), seed=self.split_seed)  # type: ignore[arg-type]


@dataclass(frozen=True, kw_only=True)
class Cifar10DSNNProfile(DSNNProfile):
    """CIFAR-10 (binary layout) from ``data_dir`` on the paper's ResNet20 (width 16), GPU when present."""

    name: ClassVar[str] = "cifar10"
    dataset: ClassVar[str] = "cifar10"

    data_dir: str = ""
    validation_size: int = 5000

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.data_dir, str) or not self.data_dir:
            raise ValueError(
                "DSNN profile 'cifar10' needs option 'data_dir': the folder with CIFAR-10's binary batches "
                "(data_batch_1.bin … test_batch.bin), e.g. --option data_dir=/data/cifar-10-batches-bin"
            )

    def load_data(self) -> DataSplits:
        """CIFAR-10 from ``data_dir`` (clear error when the folder or a batch is missing)."""
        return load_cifar10_binary(self.data_dir, validation_size=self.validation_size)


#: Profiles by name.
DSNN_PROFILES: dict[str, type[DSNNProfile]] = {"tiny": TinyDSNNProfile, "cifar10": Cifar10DSNNProfile}


def get_dsnn_profile(name: str | DSNNProfile, **options: Any) -> DSNNProfile:
    """The profile called ``name`` with ``options`` overriding its defaults (a profile passes through).

    Raises:
        ValueError: unknown profile (the message lists the valid ones), unknown option, bad value.
    """
    if isinstance(name, DSNNProfile):
        return dataclasses.replace(name, **options) if options else name
    if name not in DSNN_PROFILES:
        raise ValueError(f"unknown DSNN profile {name!r}; valid profiles: {sorted(DSNN_PROFILES)}")
    cls = DSNN_PROFILES[name]
    valid = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(options) - valid)
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} for DSNN profile {name!r}; valid options: {sorted(valid)}")
    if "split_sizes" in options:
        options["split_sizes"] = tuple(options["split_sizes"])
    return cls(**options)
