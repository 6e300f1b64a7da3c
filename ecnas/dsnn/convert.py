"""``convert_to_shift``: turn the last ``shift_depth`` weight layers of a network into Deep Shift layers."""

from __future__ import annotations

import copy

from torch import nn

from ecnas.dsnn._quant import check_rounding, exponent_range
from ecnas.dsnn.layers import SHIFT_TYPES, ShiftConv2d, ShiftLayer, ShiftLinear

__all__ = ["convert_to_shift", "shift_layers", "weight_layers"]


def weight_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(name, module)`` of every convolution and linear layer (float or shift), in forward order."""
    return [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(module, (nn.Conv2d, nn.Linear, ShiftLayer))
    ]


def shift_layers(model: nn.Module) -> list[tuple[str, ShiftLayer]]:
    """``(name, layer)`` of every shift layer of ``model``, in forward order."""
    return [(name, module) for name, module in model.named_modules() if isinstance(module, ShiftLayer)]


def _replace(model: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, new)


def convert_to_shift(
    model: nn.Module,
    shift_depth: int,
    shift_type: str,
    weight_bits: int = 5,
    act_integer_bits: int = 16,
    act_fraction_bits: int = 16,
    rounding: str = "deterministic",
) -> tuple[nn.Module, int]:
    """A copy of ``model`` whose last ``shift_depth`` weight layers are shift layers (Algorithm 1, step 8.1).

    Weight layers are counted from the output: the classifier first, then the convolutions backwards (module
    registration order is taken as forward order, true of :func:`ecnas.dsnn.resnet20`). Each converted layer
    starts from the float layer's weights; ``model`` itself is left unchanged.

    Args:
        model: the float network.
        shift_depth: how many weight layers to convert, ``0 … number of weight layers``.
        shift_type: ``"Q"`` (DeepShift-Q) or ``"PS"`` (DeepShift-PS).
        weight_bits: bits per weight, sign included (see :class:`ecnas.dsnn.ShiftLayer`).
        act_integer_bits: integer bits of the fixed-point activations.
        act_fraction_bits: fraction bits of the fixed-point activations.
        rounding: ``"deterministic"`` or ``"stochastic"``.

    Returns:
        ``(converted model, number of converted layers)``.

    Raises:
        ValueError: ``shift_depth`` outside ``0 … number of weight layers``, or a bad shift option.
    """
    layers = [(name, module) for name, module in weight_layers(model) if not isinstance(module, ShiftLayer)]
    if isinstance(shift_depth, bool) or not isinstance(shift_depth, int) or not 0 <= shift_depth <= len(layers):
        raise ValueError(
            f"`shift_depth` must be an integer in [0, {len(layers)}] (the float weight layers of the model), "
            f"got {shift_depth!r}"
        )
    if shift_type not in SHIFT_TYPES:
        raise ValueError(f"`shift_type` must be one of {list(SHIFT_TYPES)}, got {shift_type!r}")
    exponent_range(weight_bits)
    check_rounding(rounding)
    for name, value, low in (("act_integer_bits", act_integer_bits, 1), ("act_fraction_bits", act_fraction_bits, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"`{name}` must be an integer >= {low}, got {value!r}")
    options = {
        "shift_type": shift_type,
        "weight_bits": weight_bits,
        "act_integer_bits": act_integer_bits,
        "act_fraction_bits": act_fraction_bits,
        "rounding": rounding,
    }
    converted = copy.deepcopy(model)
    chosen = list(reversed(layers))[:shift_depth]
    for name, _ in chosen:
        module = converted.get_submodule(name)
        new: ShiftLayer = (
            ShiftLinear(module, **options) if isinstance(module, nn.Linear) else ShiftConv2d(module, **options)
        )  # type: ignore[arg-type]
        new.train(module.training)
        _replace(converted, name, new)
    return converted, len(chosen)
