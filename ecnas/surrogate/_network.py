"""An ensemble of equally shaped MLPs held as stacked weight tensors, trained in one pass.

Layer ``i`` of all ``K`` members is one `K x fan_in x fan_out` weight tensor and one `K x 1 x fan_out`
bias tensor; a batched matrix product runs every member at once on its own mini-batch, so an
ensemble of five trains in far less than five times the time of one network. Adam is elementwise,
so optimising the stacked tensors is exactly optimising each member on its own.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["ACTIVATIONS", "LOSSES", "forward", "init_layers", "layer_sizes", "predict_member"]

#: Activation name → elementwise torch function.
ACTIVATIONS = {"gelu": F.gelu, "relu": F.relu, "silu": F.silu, "tanh": torch.tanh}
#: Loss name → elementwise torch function of (prediction, target).
LOSSES = {
    "l1": lambda pred, target: (pred - target).abs(),
    "mse": lambda pred, target: (pred - target).square(),
    "huber": lambda pred, target: F.smooth_l1_loss(pred, target, reduction="none"),
}

Layers = list[tuple[torch.Tensor, torch.Tensor]]


def layer_sizes(n_inputs: int, hidden_layers: tuple[int, ...]) -> list[tuple[int, int]]:
    """``(fan_in, fan_out)`` of every linear layer, the scalar output layer last."""
    widths = [n_inputs, *hidden_layers, 1]
    return list(itertools.pairwise(widths))


def init_layers(n_members: int, sizes: list[tuple[int, int]], generator: torch.Generator) -> Layers:
    """Weights and biases drawn as ``torch.nn.Linear`` does: uniform in ±1/sqrt(fan_in)."""
    layers = []
    for fan_in, fan_out in sizes:
        bound = 1.0 / math.sqrt(fan_in)
        weight = (torch.rand(n_members, fan_in, fan_out, generator=generator) * 2 - 1) * bound
        bias = (torch.rand(n_members, 1, fan_out, generator=generator) * 2 - 1) * bound
        layers.append((weight.requires_grad_(), bias.requires_grad_()))
    return layers


def forward(layers: Layers, inputs: torch.Tensor, activation: str) -> torch.Tensor:
    """All members at once: `K x B x F` inputs (member ``k`` gets row ``k``) → `K x B` outputs."""
    act = ACTIVATIONS[activation]
    hidden = inputs
    last = len(layers) - 1
    for index, (weight, bias) in enumerate(layers):
        hidden = torch.baddbmm(bias, hidden, weight)
        if index < last:
            hidden = act(hidden)
    return hidden[..., 0]


def predict_member(
    layers: list[tuple[np.ndarray, np.ndarray]] | Layers,
    member: int,
    inputs: torch.Tensor,
    activation: str,
    batch_size: int = 65536,
) -> np.ndarray:
    """One member's `n` float32 outputs for `n x F` inputs, in large batches without autograd."""
    act = ACTIVATIONS[activation]
    params = [(torch.as_tensor(w[member]), torch.as_tensor(b[member][0])) for w, b in layers]
    out = np.empty(inputs.shape[0], dtype=np.float32)
    last = len(params) - 1
    with torch.inference_mode():
        for start in range(0, inputs.shape[0], batch_size):
            hidden = inputs[start : start + batch_size]
            for index, (weight, bias) in enumerate(params):
                hidden = torch.addmm(bias, hidden, weight)
                if index < last:
                    hidden = act(hidden)
            out[start : start + batch_size] = hidden[:, 0].numpy()
    return out
