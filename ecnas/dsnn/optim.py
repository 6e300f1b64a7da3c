"""The optimizers of Table 1, including Ranger (RAdam + Lookahead).

Ranger (Wright 2019) is RAdam (Liu et al. 2020) wrapped in Lookahead (Zhang et al. 2019): every ``k`` steps the
slow weights move ``alpha`` of the way towards the fast weights and the fast weights restart from them.
No maintained PyPI package provides Lookahead for current torch, so :class:`Lookahead` is a small wrapper.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch

__all__ = ["OPTIMIZERS", "Lookahead", "make_optimizer"]

#: Optimizer names of Table 1, as the configuration space spells them.
OPTIMIZERS = ("SGD", "Adam", "Adagrad", "Adadelta", "RMSProp", "RAdam", "Ranger")


class Lookahead(torch.optim.Optimizer):
    """Lookahead around any torch optimizer (Zhang et al. 2019, Algorithm 1).

    Args:
        base: the inner ("fast") optimizer.
        k: fast steps between synchronisations (>= 1).
        alpha: slow-weight step size in (0, 1].
    """

    def __init__(self, base: torch.optim.Optimizer, *, k: int = 6, alpha: float = 0.5) -> None:
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"`k` must be a positive integer, got {k!r}")
        if not 0.0 < float(alpha) <= 1.0:
            raise ValueError(f"`alpha` must lie in (0, 1], got {alpha!r}")
        self.base = base
        self.k, self.alpha = k, float(alpha)
        self.param_groups = base.param_groups
        self.defaults = base.defaults
        self.state = base.state
        self._steps = 0
        self._slow = [[p.detach().clone() for p in group["params"]] for group in base.param_groups]

    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """One fast step; every ``k``-th also moves the slow weights and resets the fast ones to them."""
        loss = self.base.step(closure)
        self._steps += 1
        if self._steps % self.k == 0:
            with torch.no_grad():
                for group, slow_group in zip(self.base.param_groups, self._slow, strict=True):
                    for p, slow in zip(group["params"], slow_group, strict=True):
                        slow.add_(p.detach() - slow, alpha=self.alpha)
                        p.copy_(slow)
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the inner optimizer's gradients."""
        self.base.zero_grad(set_to_none=set_to_none)

    def state_dict(self) -> dict[str, Any]:
        """Inner state plus the slow weights and step count."""
        return {"base": self.base.state_dict(), "slow": self._slow, "steps": self._steps}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` output."""
        self.base.load_state_dict(state_dict["base"])
        self._slow = state_dict["slow"]
        self._steps = int(state_dict["steps"])


def make_optimizer(
    name: str,
    params: Iterable[Any],
    *,
    learning_rate: float,
    momentum: float = 0.0,
    weight_decay: float = 0.0,
) -> torch.optim.Optimizer:
    """The torch optimizer of a Table 1 name.

    ``momentum`` is used by the optimizers that have one (SGD, RMSProp); the adaptive ones (Adam, Adagrad,
    Adadelta, RAdam, Ranger) keep their own defaults and ignore it. Ranger is ``Lookahead(RAdam, k=6,
    alpha=0.5)``, Ranger's published defaults.

    Raises:
        ValueError: unknown name (the message lists the valid ones).
    """
    common = {"lr": float(learning_rate), "weight_decay": float(weight_decay)}
    if name == "SGD":
        return torch.optim.SGD(params, momentum=float(momentum), **common)
    if name == "RMSProp":
        return torch.optim.RMSprop(params, momentum=float(momentum), **common)
    if name == "Adam":
        return torch.optim.Adam(params, **common)
    if name == "Adagrad":
        return torch.optim.Adagrad(params, **common)
    if name == "Adadelta":
        return torch.optim.Adadelta(params, **common)
    if name == "RAdam":
        return torch.optim.RAdam(params, **common)
    if name == "Ranger":
        return Lookahead(torch.optim.RAdam(params, **common), k=6, alpha=0.5)
    raise ValueError(f"unknown optimizer {name!r}; valid optimizers: {list(OPTIMIZERS)}")
