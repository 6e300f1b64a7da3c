"""The NAS-Bench-101 network in PyTorch, with NB101's exact wiring and trainable-parameter count.

Stem conv3x3 + BN + ReLU, then ``num_stacks`` stacks of ``cells_per_stack`` cells (max-pool 2x2
stride 2 and doubled channels before every stack but the first), then global average pooling and a
dense layer with bias. Every cell is built from the same :class:`~ecnas.spaces.nb101.cells.CellSpec`; its wiring
(channels, truncations, projections) is computed once at construction by
:func:`ecnas.spaces.nb101.channels.cell_channel_plan`, so the forward pass only indexes precomputed tuples.

Matches NB101's TensorFlow model: convs have no bias and use "same" padding, batch norm uses
epsilon 1e-5 and TF momentum 0.997 (PyTorch momentum 0.003), initialisation is TF's
``variance_scaling_initializer`` for convs and Glorot-uniform for the dense layer.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

try:
    import torch
    from torch import nn
except ImportError as _error:  # pragma: no cover - torch is a declared dependency
    raise ImportError(
        "ecnas.spaces.nb101.network needs PyTorch; install the CPU build with `pip install torch` "
        "(ecnas.spaces.nb101.channels.count_parameters works without it)"
    ) from _error

from ecnas.spaces.nb101.cells import CONV1X1, CONV3X3, MAXPOOL3X3, CellSpec
from ecnas.spaces.nb101.channels import CellPlan, NetworkOptions, as_cell_spec, cell_channel_plan, count_parameters

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["BN_EPSILON", "BN_MOMENTUM", "NB101Cell", "NB101Network", "count_parameters"]

#: PyTorch batch-norm momentum equal to TF's 0.997 decay used by NB101.
BN_MOMENTUM = 0.003
BN_EPSILON = 1e-5
# Ratio between the standard deviation of a unit normal truncated at ±2 and of the normal (TF's constant).
_TRUNCATED_NORMAL_STD = 0.87962566103423978


def _truncated_normal_(tensor: torch.Tensor, std: float, generator: torch.Generator | None) -> None:
    """Fill with a normal(0, std) truncated at ±2 std by resampling (≈5% redrawn per round).

    Same distribution as ``nn.init.trunc_normal_`` but an order of magnitude faster on CPU, which
    matters for the 50M-parameter cells of the space.
    """
    if tensor.is_meta:  # shape-only module (e.g. built under ``torch.device("meta")``)
        return
    with torch.no_grad():
        flat = tensor.view(-1)
        flat.normal_(0.0, std, generator=generator)
        redraw = (flat.abs() > 2.0 * std).nonzero().squeeze(1)
        while redraw.numel():
            values = torch.empty(redraw.numel(), dtype=flat.dtype, device=flat.device)
            values.normal_(0.0, std, generator=generator)
            flat[redraw] = values
            redraw = redraw[values.abs() > 2.0 * std]


class ConvBnRelu(nn.Sequential):
    """Conv (no bias, "same" padding, stride 1) + batch norm + ReLU, NB101's ``conv_bn_relu``.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: 1 or 3.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False),
            nn.BatchNorm2d(out_channels, eps=BN_EPSILON, momentum=BN_MOMENTUM),
            nn.ReLU(inplace=True),
        )


def _op_module(op: str, channels: int) -> nn.Module:
    if op == CONV3X3:
        return ConvBnRelu(channels, channels, 3)
    if op == CONV1X1:
        return ConvBnRelu(channels, channels, 1)
    if op == MAXPOOL3X3:
        return nn.MaxPool2d(kernel_size=3, stride=1, padding=1)
    raise ValueError(f"unknown op {op!r}")  # unreachable for a validated CellSpec


class NB101Cell(nn.Module):
    """One NB101 cell (NB101's ``build_module``) from a precomputed :class:`~ecnas.spaces.nb101.channels.CellPlan`.

    Each interior vertex sums its interior predecessors (sliced to its channel count when they have
    more) and, when the input feeds it, a conv1x1 + BN + ReLU projection of the cell input, then applies
    its op. The output concatenates the interior vertices feeding it and adds a projection of the input
    when the input feeds the output directly (or is only that projection when no interior vertex does).

    Args:
        plan: wiring and channels of the cell.
    """

    def __init__(self, plan: CellPlan) -> None:
        super().__init__()
        self.plan = plan
        channels = {0: plan.in_channels}
        for vertex in plan.vertices:
            channels[vertex.index] = vertex.channels
        self.ops = nn.ModuleList(_op_module(vertex.op, vertex.channels) for vertex in plan.vertices)
        projected = [vertex for vertex in plan.vertices if vertex.from_input]
        self.input_projections = nn.ModuleList(ConvBnRelu(plan.in_channels, vertex.channels, 1) for vertex in projected)
        projection_slot = {vertex.index: slot for slot, vertex in enumerate(projected)}
        # Per interior vertex: ((source, channels to keep or None), ...), projection slot or -1.
        self._wiring: tuple[tuple[tuple[tuple[int, int | None], ...], int], ...] = tuple(
            (
                tuple(
                    (src, vertex.channels if channels[src] > vertex.channels else None)
                    for src in vertex.interior_inputs
                ),
                projection_slot.get(vertex.index, -1),
            )
            for vertex in plan.vertices
        )
        self._output_inputs = plan.output_inputs
        self.output_projection = ConvBnRelu(plan.in_channels, plan.out_channels, 1) if plan.input_to_output else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the cell to a `batch x in_channels x H x W` tensor; returns `batch x out_channels x H x W`."""
        tensors = [x]
        for (sources, slot), op in zip(self._wiring, self.ops, strict=True):
            total: torch.Tensor | None = None
            for src, keep in sources:
                value = tensors[src] if keep is None else tensors[src][:, :keep]
                total = value if total is None else total + value
            if slot >= 0:
                value = self.input_projections[slot](x)
                total = value if total is None else total + value
            tensors.append(op(total))
        if not self._output_inputs:
            return self.output_projection(x)
        if len(self._output_inputs) == 1:
            out = tensors[self._output_inputs[0]]
        else:
            out = torch.cat([tensors[v] for v in self._output_inputs], dim=1)
        if self.output_projection is not None:
            out = out + self.output_projection(x)
        return out


class NB101Network(nn.Module):
    """The NB101 image classifier built from one cell.

    Args:
        spec: the cell, repeated in every stack.
        stem_channels: output channels of the stem conv3x3 and of the first stack (NB101: 128).
        num_stacks: number of stacks (NB101: 3).
        cells_per_stack: cells per stack (NB101: 3).
        num_classes: outputs of the dense head (CIFAR-10: 10).
        in_channels: image channels (3 for RGB, 1 for grey images).

    Raises:
        TypeError: ``spec`` is not a :class:`~ecnas.spaces.nb101.cells.CellSpec`.
        ValueError: an option is not a positive int, or ``stem_channels`` is smaller than the number of
            interior vertices feeding the cell output.

    Example:
        >>> spec = CellSpec([[0, 1], [0, 0]], ["input", "output"])
        >>> sum(p.numel() for p in NB101Network(spec).parameters())
        882570
    """

    def __init__(
        self,
        spec: CellSpec,
        stem_channels: int = 128,
        num_stacks: int = 3,
        cells_per_stack: int = 3,
        num_classes: int = 10,
        in_channels: int = 3,
    ) -> None:
        as_cell_spec(spec)
        options = NetworkOptions(stem_channels, num_stacks, cells_per_stack, num_classes, in_channels)
        super().__init__()
        self.spec = spec
        self.options = options
        plans: dict[tuple[int, int], CellPlan] = {}
        layers: list[nn.Module] = []
        for index, (c_in, c_out) in enumerate(options.cell_channels()):
            if index > 0 and index % options.cells_per_stack == 0:
                # TF max_pooling2d 2x2 stride 2 "same" padding == ceil mode in PyTorch.
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2, ceil_mode=True))
            if (c_in, c_out) not in plans:
                try:
                    plans[(c_in, c_out)] = cell_channel_plan(spec.matrix, spec.ops, c_in, c_out)
                except ValueError as error:
                    raise ValueError(
                        f"stem_channels={options.stem_channels} is too small for cell {spec.hash}: {error}"
                    ) from None
            layers.append(NB101Cell(plans[(c_in, c_out)]))
        self.stem = ConvBnRelu(options.in_channels, options.stem_channels, 3)
        self.cells = nn.Sequential(*layers)
        self.classifier = nn.Linear(options.output_channels(), options.num_classes)
        self.reset_parameters()

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Initialise as NB101's TF model: truncated-normal fan-in convs, Glorot dense, BN 1/0.

        Args:
            generator: optional torch generator for a reproducible initialisation without touching the
                global RNG.
        """
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                fan_in = module.in_channels * module.kernel_size[0] * module.kernel_size[1]
                _truncated_normal_(module.weight, math.sqrt(1.0 / fan_in) / _TRUNCATED_NORMAL_STD, generator)
            elif isinstance(module, nn.BatchNorm2d):
                module.reset_running_stats()
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight, generator=generator)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of a `batch x in_channels x H x W` image batch; returns `batch x num_classes`."""
        if x.dim() != 4 or x.shape[1] != self.options.in_channels:
            raise ValueError(
                f"expected a batch x {self.options.in_channels} x H x W image tensor, got shape {tuple(x.shape)}"
            )
        x = self.cells(self.stem(x))
        return self.classifier(x.mean(dim=(2, 3)))

    def num_trainable_parameters(self) -> int:
        """Trainable parameters of the module (equals :func:`count_parameters` with the same options)."""
        return sum(p.numel() for p in self._trainable())

    def _trainable(self) -> Iterator[nn.Parameter]:
        return (p for p in self.parameters() if p.requires_grad)

    def extra_repr(self) -> str:
        """Options and cell hash shown by ``print(network)``."""
        o = self.options
        return (
            f"cell={self.spec.hash}, stem_channels={o.stem_channels}, num_stacks={o.num_stacks}, "
            f"cells_per_stack={o.cells_per_stack}, num_classes={o.num_classes}, in_channels={o.in_channels}"
        )
