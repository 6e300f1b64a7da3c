"""Deep Shift Neural Networks (DSNN) and the MFMO system of the DSNN paper.

- layers and networks (torch): :class:`ShiftConv2d`, :class:`ShiftLinear` (DeepShift-Q / -PS),
  :func:`resnet20`, :func:`convert_to_shift`, :class:`Lookahead` / :func:`make_optimizer` (Ranger);
- the analytic inference cost: :func:`inference_cost` (operations by kind and bit width, priced per operation);
- the live objective: :func:`evaluate` on a :class:`DSNNProfile` (``tiny``, ``cifar10``);
- the multi-fidelity multi-objective run: :func:`run` (ParEGO inside Hyperband), its report
  (:func:`write_report`) and the learning-rate experiment (:func:`lr_variability`).

Names load on first use (PEP 562), so ``import ecnas.dsnn`` does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "OPTIMIZERS",
    "SHIFT_TYPES",
    "DSNNProfile",
    "Lookahead",
    "ShiftConv2d",
    "ShiftLayer",
    "ShiftLinear",
    "convert_to_shift",
    "evaluate",
    "get_dsnn_profile",
    "inference_cost",
    "lr_variability",
    "make_optimizer",
    "resnet20",
    "round_fixed_point",
    "round_power_of_two",
    "run",
    "shift_layers",
    "weight_layers",
    "write_report",
]

_WHERE = {
    "OPTIMIZERS": "ecnas.dsnn.optim",
    "Lookahead": "ecnas.dsnn.optim",
    "make_optimizer": "ecnas.dsnn.optim",
    "SHIFT_TYPES": "ecnas.dsnn.layers",
    "ShiftConv2d": "ecnas.dsnn.layers",
    "ShiftLayer": "ecnas.dsnn.layers",
    "ShiftLinear": "ecnas.dsnn.layers",
    "convert_to_shift": "ecnas.dsnn.convert",
    "shift_layers": "ecnas.dsnn.convert",
    "weight_layers": "ecnas.dsnn.convert",
    "resnet20": "ecnas.dsnn.resnet",
    "round_fixed_point": "ecnas.dsnn._quant",
    "round_power_of_two": "ecnas.dsnn._quant",
    "inference_cost": "ecnas.dsnn.cost",
    "DSNNProfile": "ecnas.dsnn.profiles",
    "get_dsnn_profile": "ecnas.dsnn.profiles",
    "evaluate": "ecnas.dsnn.objective",
    "run": "ecnas.dsnn.mfmo",
    "lr_variability": "ecnas.dsnn.mfmo",
    "write_report": "ecnas.dsnn.report",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'ecnas.dsnn' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)


def __dir__() -> list[str]:
    return sorted(__all__)
