"""Analytic, hardware-independent inference cost: operations by kind and bit width, priced per operation.

A measured emission says what one inference costs on *this* machine; a DSNN is meant for hardware where a
multiplication by ``±2^k`` is a shift. :func:`inference_cost` counts the operations of classifying one image
and prices them with a table of energy per operation, so that fronts can be drawn for such a target.

Counting (one image, a dummy forward pass with hooks):

- a float convolution / linear layer: one FP32 multiply and one FP32 add per multiply-accumulate (MAC);
- a shift layer: one shift and one integer add per MAC with a **non-zero** effective weight (a PS weight whose
  sign is 0 costs nothing), both at the activation width ``act_integer_bits + act_fraction_bits``;
- weight reads: every weight once per image from on-chip SRAM, 32 bits for float layers, ``weight_bits`` for
  shift layers;
- not counted: batch norm (folded into the preceding layer at deployment), ReLU, pooling, shortcut additions,
  activation traffic — the same for every configuration of a given network.

Energy table :data:`HOROWITZ_45NM` (pJ per operation): M. Horowitz, "Computing's energy problem (and what we can
do about it)", ISSCC 2014, 45 nm at 0.9 V — integer add 0.03 (8 bit), 0.05 (16 bit), 0.1 (32 bit); integer
multiply 0.2 (8 bit), 3.1 (32 bit); FP32 add 0.9, FP32 multiply 3.7; 64-bit read from an 8 KB SRAM 10 pJ.
Other widths: adds scale linearly between the listed widths (and proportionally beyond them), multiplies
quadratically. Horowitz lists no shift; a shift is priced as an integer add of the same width (an assumption,
stated in every result as ``shift_model``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from ecnas.dsnn.layers import ShiftLayer

__all__ = ["HOROWITZ_45NM", "energy_per_op_pj", "inference_cost"]

#: Energy per operation in pJ, 45 nm, 0.9 V (Horowitz, ISSCC 2014, Fig. 1.1.9).
HOROWITZ_45NM: Mapping[str, Any] = {
    "source": "M. Horowitz, Computing's energy problem (and what we can do about it), ISSCC 2014, 45 nm 0.9 V",
    "int_add": {8: 0.03, 16: 0.05, 32: 0.1},
    "int_mult": {8: 0.2, 32: 3.1},
    "fp32_add": 0.9,
    "fp32_mult": 3.7,
    "sram_read_64bit_8kb": 10.0,
    "shift_model": "shift priced as an integer add of the same width (assumption; Horowitz lists no shift)",
}


def energy_per_op_pj(kind: str, bits: int) -> float:
    """Energy in pJ of one ``kind`` operation on ``bits``-wide operands.

    Kinds: ``int_add``, ``int_mult``, ``shift``, ``fp32_add``, ``fp32_mult`` (the float ones ignore ``bits``).
    """
    if kind in ("fp32_add", "fp32_mult"):
        return float(HOROWITZ_45NM[kind])
    if kind == "shift":
        kind = "int_add"
    if kind == "int_add":
        widths = sorted(HOROWITZ_45NM["int_add"])
        values = [HOROWITZ_45NM["int_add"][w] for w in widths]
        if bits <= widths[0]:
            return values[0] * bits / widths[0]
        if bits >= widths[-1]:
            return values[-1] * bits / widths[-1]
        return float(np.interp(bits, widths, values))
    if kind == "int_mult":
        return float(HOROWITZ_45NM["int_mult"][32]) * (bits / 32) ** 2
    raise ValueError(f"unknown operation kind {kind!r}; valid: int_add, int_mult, shift, fp32_add, fp32_mult")


def _macs(module: nn.Module, output: torch.Tensor) -> int:
    if isinstance(module, nn.Linear) or getattr(module, "in_features", None) is not None:
        return int(output.numel() * module.in_features)
    kh, kw = module.kernel_size
    return int(output.numel() * (module.in_channels // module.groups) * kh * kw)


def inference_cost(model: nn.Module, input_shape: tuple[int, ...]) -> dict[str, Any]:
    """Operations of classifying one image, by kind and bit width, and their energy under :data:`HOROWITZ_45NM`.

    Args:
        model: a network with float and/or shift layers (evaluated in eval mode; its mode is restored).
        input_shape: shape of one image, ``(channels, height, width)``.

    Returns:
        ``{"ops": {label: count}, "energy_pj": {label: pJ}, "total_pj": float, "macs": int, "shift_macs": int,
        "table": source, "shift_model": assumption}``; labels are ``fp32_mult``, ``fp32_add``,
        ``shift_int<a>``, ``add_int<a>``, ``sram_read_bits``.
    """
    ops: dict[str, int] = {}
    energy: dict[str, float] = {}
    totals = {"macs": 0, "shift_macs": 0}

    def add(label: str, count: int, pj_each: float) -> None:
        ops[label] = ops.get(label, 0) + int(count)
        energy[label] = energy.get(label, 0.0) + float(count) * pj_each

    def hook(module: nn.Module, _inputs: Any, output: torch.Tensor) -> None:
        macs = _macs(module, output)
        totals["macs"] += macs
        if isinstance(module, ShiftLayer):
            weight = module.effective_weight()
            bits = module.act_integer_bits + module.act_fraction_bits
            active = round(macs * float((weight != 0).float().mean()))
            totals["shift_macs"] += active
            add(f"shift_int{bits}", active, energy_per_op_pj("shift", bits))
            add(f"add_int{bits}", active, energy_per_op_pj("int_add", bits))
            read_bits = weight.numel() * module.weight_bits
        else:
            add("fp32_mult", macs, energy_per_op_pj("fp32_mult", 32))
            add("fp32_add", macs, energy_per_op_pj("fp32_add", 32))
            read_bits = module.weight.numel() * 32
        add("sram_read_bits", read_bits, HOROWITZ_45NM["sram_read_64bit_8kb"] / 64)

    handles = [
        module.register_forward_hook(hook)
        for module in model.modules()
        if isinstance(module, (nn.Conv2d, nn.Linear, ShiftLayer))
    ]
    was_training = model.training
    try:
        model.eval()
        parameter = next(model.parameters())
        with torch.no_grad():
            model(torch.zeros((1, *input_shape), dtype=parameter.dtype, device=parameter.device))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return {
        "ops": ops,
        "energy_pj": energy,
        "total_pj": float(sum(energy.values())),
        "macs": totals["macs"],
        "shift_macs": totals["shift_macs"],
        "table": HOROWITZ_45NM["source"],
        "shift_model": HOROWITZ_45NM["shift_model"],
    }
