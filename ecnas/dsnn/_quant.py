"""Rounding used by Deep Shift layers: powers of two for weights, fixed point for activations.

Formulas (Elhoushi et al. 2021, as restated in Sections 3.1 of the MFMO-DSNN paper):

- DeepShift-Q: ``P = log2|W|``, ``P~ = round(P)``, ``W~ = sign(W) · 2^P~`` (Eq. 3.1);
- DeepShift-PS: ``W~ = sign(round(S)) · 2^round(P)`` with trainable ``P`` and ``S`` (Eq. 3.2);
- the exponent range is set by ``weight_bits``: one bit holds the sign, the other ``weight_bits - 1`` bits
  hold ``2^(weight_bits-1)`` shift amounts ``k ∈ [-(2^(weight_bits-1) - 1), 0]`` (weights are at most 1 in
  magnitude, so the shift is a right shift of the activation);
- activations: fixed point with ``act_integer_bits`` integer bits (sign included) and ``act_fraction_bits``
  fraction bits, i.e. multiples of ``2^-f`` clamped to ``[-2^(i-1), 2^(i-1) - 2^-f]``.

Rounding is ``"deterministic"`` (to nearest) or ``"stochastic"`` (``floor(x + U)``, ``U ~ U[0, 1)``: unbiased,
``E[round(x)] = x``). Every rounding passes gradients straight through (``x + (q(x) - x).detach()``).
"""

from __future__ import annotations

import torch

__all__ = [
    "ROUNDINGS",
    "exponent_range",
    "round_fixed_point",
    "round_power_of_two",
    "round_tensor",
    "ste",
    "ternary_sign",
]

#: The two rounding modes of Table 1.
ROUNDINGS = ("deterministic", "stochastic")


def exponent_range(weight_bits: int) -> tuple[int, int]:
    """``(k_min, k_max)`` of the shift amounts representable with ``weight_bits`` (sign bit included)."""
    if isinstance(weight_bits, bool) or not isinstance(weight_bits, int) or weight_bits < 2:
        raise ValueError(f"`weight_bits` must be an integer >= 2 (one sign bit + shift bits), got {weight_bits!r}")
    return -(2 ** (weight_bits - 1) - 1), 0


def check_rounding(rounding: str) -> str:
    """Validate a rounding mode name."""
    if rounding not in ROUNDINGS:
        raise ValueError(f"`rounding` must be one of {list(ROUNDINGS)}, got {rounding!r}")
    return rounding


def round_tensor(x: torch.Tensor, rounding: str, generator: torch.Generator | None = None) -> torch.Tensor:
    """Round to integers: to nearest, or stochastically (``floor(x + U)``, unbiased in mean)."""
    if rounding == "stochastic":
        noise = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        return torch.floor(x + noise)
    return torch.round(x)


def ste(x: torch.Tensor, quantised: torch.Tensor) -> torch.Tensor:
    """``quantised`` in the forward pass, the identity's gradient in the backward pass."""
    return x + (quantised - x).detach()


def round_power_of_two(
    w: torch.Tensor, weight_bits: int, rounding: str = "deterministic", generator: torch.Generator | None = None
) -> torch.Tensor:
    """DeepShift-Q quantisation without gradient: ``sign(w) · 2^clamp(round(log2|w|))`` (0 stays 0)."""
    low, high = exponent_range(weight_bits)
    with torch.no_grad():
        magnitude = w.abs()
        exponent = torch.log2(torch.where(magnitude > 0, magnitude, torch.ones_like(magnitude)))
        exponent = round_tensor(exponent, rounding, generator).clamp(low, high)
        return torch.sign(w) * torch.pow(2.0, exponent)


def ternary_sign(
    s: torch.Tensor, rounding: str = "deterministic", generator: torch.Generator | None = None
) -> torch.Tensor:
    """DeepShift-PS sign: ``sign(round(s))`` in ``{-1, 0, 1}`` (no gradient)."""
    with torch.no_grad():
        return torch.sign(round_tensor(s, rounding, generator))


def round_fixed_point(
    x: torch.Tensor,
    integer_bits: int,
    fraction_bits: int,
    rounding: str = "deterministic",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Round ``x`` to signed fixed point with ``integer_bits`` (sign included) and ``fraction_bits`` (no gradient).

    The result is a multiple of ``2^-fraction_bits`` in
    ``[-2^(integer_bits-1), 2^(integer_bits-1) - 2^-fraction_bits]``.
    """
    if isinstance(integer_bits, bool) or not isinstance(integer_bits, int) or integer_bits < 1:
        raise ValueError(f"`integer_bits` must be a positive integer, got {integer_bits!r}")
    if isinstance(fraction_bits, bool) or not isinstance(fraction_bits, int) or fraction_bits < 0:
        raise ValueError(f"`fraction_bits` must be a non-negative integer, got {fraction_bits!r}")
    scale = 2.0**fraction_bits
    bound = 2.0 ** (integer_bits - 1)
    with torch.no_grad():
        # Scaling by a power of two is exact in floating point, so deterministic rounding is exact.
        q = round_tensor(x * scale, rounding, generator) / scale
        return q.clamp(-bound, bound - 1.0 / scale)
