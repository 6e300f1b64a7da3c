"""Deep Shift layers: convolutions and linear layers whose weights are signed powers of two.

Two training methods (Elhoushi et al. 2021, DeepShift; Section 3.1 of the MFMO-DSNN paper):

- **DeepShift-Q** (:attr:`ShiftLayer.shift_type` ``"Q"``): the layer keeps a float weight ``W``; every forward
  pass multiplies by ``sign(W) · 2^round(log2|W|)`` (exponent clamped to the ``weight_bits`` range) and the
  gradient reaches ``W`` straight through the rounding.
- **DeepShift-PS** (``"PS"``): the layer trains a shift ``P`` and a sign ``S`` directly; the forward pass
  multiplies by ``2^round(P) · sign(round(S))``, a ternary sign (−1, 0, +1), again with straight-through
  gradients to ``P`` and ``S``.

Both round their input activations (and their bias) to fixed point with ``act_integer_bits`` integer and
``act_fraction_bits`` fraction bits. ``rounding="stochastic"`` rounds stochastically while the layer trains;
in evaluation mode every rounding is deterministic, so the deployed network — and :meth:`ShiftLayer.effective_weight`,
the tensor an evaluation forward pass multiplies by — is fixed. The shift arithmetic is simulated with float
tensors: the layers compute exactly what shift hardware computes, not at its speed (see ``docs/dsnn.md``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ecnas.dsnn._quant import (
    check_rounding,
    exponent_range,
    round_fixed_point,
    round_power_of_two,
    round_tensor,
    ste,
    ternary_sign,
)

__all__ = ["SHIFT_TYPES", "ShiftConv2d", "ShiftLayer", "ShiftLinear"]

#: The two shift types of Table 1.
SHIFT_TYPES = ("Q", "PS")


class ShiftLayer(nn.Module):
    """Base of :class:`ShiftConv2d` and :class:`ShiftLinear`, built from a trained or initialised float layer.

    Args:
        source: the ``nn.Conv2d`` / ``nn.Linear`` whose weights initialise the shift layer (not modified).
        shift_type: ``"Q"`` or ``"PS"``.
        weight_bits: bits per weight, sign included (>= 2); shifts ``k ∈ [-(2^(weight_bits-1) - 1), 0]``.
        act_integer_bits: integer bits of the fixed-point activations (sign included, >= 1).
        act_fraction_bits: fraction bits of the fixed-point activations (>= 0).
        rounding: ``"deterministic"`` or ``"stochastic"`` (stochastic applies while training only).
    """

    def __init__(
        self,
        source: nn.Module,
        *,
        shift_type: str,
        weight_bits: int = 5,
        act_integer_bits: int = 16,
        act_fraction_bits: int = 16,
        rounding: str = "deterministic",
    ) -> None:
        super().__init__()
        if shift_type not in SHIFT_TYPES:
            raise ValueError(f"`shift_type` must be one of {list(SHIFT_TYPES)}, got {shift_type!r}")
        self.shift_range = exponent_range(weight_bits)
        for name, value, low in (
            ("act_integer_bits", act_integer_bits, 1),
            ("act_fraction_bits", act_fraction_bits, 0),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"`{name}` must be an integer >= {low}, got {value!r}")
        self.shift_type = shift_type
        self.weight_bits = weight_bits
        self.act_integer_bits = act_integer_bits
        self.act_fraction_bits = act_fraction_bits
        self.rounding = check_rounding(rounding)
        weight = source.weight.detach().clone()
        if shift_type == "Q":
            self.weight = nn.Parameter(weight)
        else:
            low, high = self.shift_range
            magnitude = weight.abs()
            log2 = torch.log2(torch.where(magnitude > 0, magnitude, torch.ones_like(magnitude)))
            self.shift = nn.Parameter(log2.clamp(low, high))
            self.sign = nn.Parameter(torch.sign(weight))
        bias = getattr(source, "bias", None)
        self.bias = nn.Parameter(bias.detach().clone()) if bias is not None else None

    # ------------------------------------------------------------------ rounding
    def _mode(self) -> str:
        return self.rounding if self.training else "deterministic"

    def _fixed(self, x: torch.Tensor) -> torch.Tensor:
        q = round_fixed_point(x, self.act_integer_bits, self.act_fraction_bits, self._mode())
        return ste(x, q)

    def _weight(self) -> torch.Tensor:
        """The weight of this forward pass, with straight-through gradients to the trained parameters."""
        mode = self._mode()
        if self.shift_type == "Q":
            return ste(self.weight, round_power_of_two(self.weight, self.weight_bits, mode))
        low, high = self.shift_range
        with torch.no_grad():
            shift_q = round_tensor(self.shift, mode).clamp(low, high)
        shift = ste(self.shift, shift_q)
        sign = ste(self.sign, ternary_sign(self.sign, mode))
        return sign * torch.pow(2.0, shift)

    def effective_weight(self) -> torch.Tensor:
        """The weight an evaluation forward pass multiplies by: entries 0 or ``±2^k``, ``k`` in :attr:`shift_range`."""
        with torch.no_grad():
            if self.shift_type == "Q":
                return round_power_of_two(self.weight, self.weight_bits, "deterministic")
            low, high = self.shift_range
            return ternary_sign(self.sign) * torch.pow(2.0, torch.round(self.shift).clamp(low, high))

    def effective_sign(self) -> torch.Tensor:
        """Signs of the effective weight, in ``{-1, 0, 1}``."""
        return torch.sign(self.effective_weight())

    def _bias(self) -> torch.Tensor | None:
        return None if self.bias is None else self._fixed(self.bias)

    def extra_repr(self) -> str:
        """The shift options, shown in ``repr(model)``."""
        return (
            f"shift_type={self.shift_type}, weight_bits={self.weight_bits}, act_integer_bits={self.act_integer_bits}, "
            f"act_fraction_bits={self.act_fraction_bits}, rounding={self.rounding}"
        )


class ShiftConv2d(ShiftLayer):
    """A 2-D convolution with shift weights (DeepShift-Q or -PS); see :class:`ShiftLayer` for the arguments."""

    def __init__(self, source: nn.Conv2d, **options: object) -> None:
        if not isinstance(source, nn.Conv2d):
            raise TypeError(f"ShiftConv2d is built from an nn.Conv2d, got {type(source).__name__}")
        super().__init__(source, **options)  # type: ignore[arg-type]
        self.in_channels, self.out_channels = source.in_channels, source.out_channels
        self.kernel_size, self.stride = source.kernel_size, source.stride
        self.padding, self.dilation, self.groups = source.padding, source.dilation, source.groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Fixed-point input convolved with the shift weight."""
        return F.conv2d(
            self._fixed(x), self._weight(), self._bias(), self.stride, self.padding, self.dilation, self.groups
        )


class ShiftLinear(ShiftLayer):
    """A linear layer with shift weights (DeepShift-Q or -PS); see :class:`ShiftLayer` for the arguments."""

    def __init__(self, source: nn.Linear, **options: object) -> None:
        if not isinstance(source, nn.Linear):
            raise TypeError(f"ShiftLinear is built from an nn.Linear, got {type(source).__name__}")
        super().__init__(source, **options)  # type: ignore[arg-type]
        self.in_features, self.out_features = source.in_features, source.out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Fixed-point input times the shift weight."""
        return F.linear(self._fixed(x), self._weight(), self._bias())
