"""NB101 network: channel allocation, analytic parameter count vs the EC-NAS measurements, the module."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch

from ecnas.spaces.nb101.cells import CONV1X1, CONV3X3, FEATURE_OP_CODES, INTERIOR_OPS, MAXPOOL3X3, CellSpec, pad_cells
from ecnas.spaces.nb101.channels import (
    NetworkOptions,
    cell_channel_plan,
    count_parameters,
    count_parameters_many,
    vertex_channels,
)
from ecnas.spaces.nb101.network import BN_EPSILON, BN_MOMENTUM, NB101Network
from ecnas.spaces.nb101.network import count_parameters as reexported_count
from tests.reference import reference_file
from tests.vectors import README_MATRIX, README_OPS

TINY = {"stem_channels": 8, "num_stacks": 3, "cells_per_stack": 1, "in_channels": 1, "num_classes": 10}


def _trainable(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def _csv_cells(name: str, column: str) -> list[tuple[CellSpec, int, str]]:
    rows = []
    with reference_file(name).open(newline="") as handle:
        for row in csv.DictReader(handle):
            bits = row["adjacency"]
            size = round(len(bits) ** 0.5)
            matrix = np.array([int(c) for c in bits], dtype=np.int64).reshape(size, size)
            spec = CellSpec(matrix, row["ops"].split(","))
            rows.append((spec, int(row[column]), row["module_hash"]))
    return rows


def _generated_cells(name: str) -> list[CellSpec]:
    with reference_file(name).open() as handle:
        graphs = json.load(handle)
    return [CellSpec.from_labeling(matrix, labeling) for matrix, labeling in graphs.values()]


# --- test vectors ------------------------------------------------------------------------------


def test_two_vertex_cell_has_882570_parameters() -> None:
    spec = CellSpec([[0, 1], [0, 0]], ["input", "output"])
    assert count_parameters(spec) == 882_570
    assert _trainable(NB101Network(spec)) == 882_570


def test_readme_example_has_2694282_parameters() -> None:
    spec = CellSpec(README_MATRIX, README_OPS)
    assert spec.hash == "28cfc7874f6d200472e1a9dcd8650aa0"
    assert count_parameters(spec) == 2_694_282
    network = NB101Network(spec)
    assert _trainable(network) == 2_694_282
    assert network.num_trainable_parameters() == 2_694_282


def test_network_module_reexports_count_parameters() -> None:
    assert reexported_count is count_parameters


@pytest.mark.parametrize(
    ("name", "column"),
    [("ecnas_measured_4V_5V.csv", "trainable_params"), ("surrogate_7v_train.csv", "trainable_parameters")],
)
def test_parameter_counts_match_ecnas_measurements(name: str, column: str) -> None:
    rows = _csv_cells(name, column)
    assert len(rows) > 1000
    mismatches = [(h, expected, count_parameters(s)) for s, expected, h in rows if count_parameters(s) != expected]
    assert not mismatches, f"{len(mismatches)} of {len(rows)} rows differ, e.g. {mismatches[:3]}"
    matrices, codes = pad_cells([spec for spec, _, _ in rows])
    np.testing.assert_array_equal(count_parameters_many(matrices, codes), [expected for _, expected, _ in rows])


def test_parameter_range_over_the_whole_space() -> None:
    """NB101's published range 227,274..49,979,274 over every pruned matrix.

    Parameters grow with the op (max-pool < conv1x1 < conv3x3) while channels depend only on the
    matrix, so the extremes over the space are over all-max-pool and all-conv3x3 cells.
    """
    low, high = np.inf, 0
    for size in range(2, 8):
        rows, cols = np.triu_indices(size, 1)
        masks = np.arange(2 ** len(rows), dtype=np.int64)
        popcount = np.zeros_like(masks)
        for bit in range(len(rows)):
            popcount += (masks >> bit) & 1
        masks = masks[popcount <= 9]
        matrices = np.zeros((len(masks), 7, 7), dtype=np.uint8)
        for bit, (r, c) in enumerate(zip(rows, cols, strict=True)):
            matrices[:, r, c] = (masks >> bit) & 1
        # Pruned cells: every vertex but the output has a successor, every vertex but the input a predecessor.
        block = matrices[:, :size, :size]
        keep = np.all(block[:, : size - 1, :].any(axis=2), axis=1) & np.all(block[:, :, 1:].any(axis=1), axis=1)
        matrices = matrices[keep]
        for code in (FEATURE_OP_CODES[MAXPOOL3X3], FEATURE_OP_CODES[CONV3X3]):
            codes = np.zeros((len(matrices), 7), dtype=np.int8)
            codes[:, 0], codes[:, 1 : size - 1], codes[:, size - 1] = 1, code, FEATURE_OP_CODES["output"]
            counts = count_parameters_many(matrices, codes)
            low, high = min(low, int(counts.min())), max(high, int(counts.max()))
    assert (low, high) == (227_274, 49_979_274)


def test_extreme_cells_module_counts() -> None:
    smallest = CellSpec(
        [
            [0, 1, 0, 0, 0, 0],
            [0, 0, 1, 1, 1, 1],
            [0, 0, 0, 0, 0, 1],
            [0, 0, 0, 0, 0, 1],
            [0, 0, 0, 0, 0, 1],
            [0, 0, 0, 0, 0, 0],
        ],
        ["input"] + [MAXPOOL3X3] * 4 + ["output"],
    )
    assert count_parameters(smallest) == _trainable(NB101Network(smallest)) == 227_274


# --- channel allocation ------------------------------------------------------------------------


def test_vertex_channels_readme_example() -> None:
    # Vertices 1, 2, 4, 5 feed the output (128 // 4 each); vertex 3 takes its successor 4's count.
    assert vertex_channels(README_MATRIX, 64, 128) == [64, 32, 32, 32, 32, 32, 128]


def test_vertex_channels_remainder_goes_to_first_vertices() -> None:
    assert vertex_channels(README_MATRIX, 64, 130) == [64, 33, 33, 32, 32, 32, 130]
    assert vertex_channels(README_MATRIX, 64, 131) == [64, 33, 33, 33, 33, 32, 131]


def test_vertex_channels_interior_vertex_takes_max_of_successors() -> None:
    # 1 -> {2, 3}, 2 and 3 feed the output with 3 and 2 channels of 5: vertex 1 gets max(3, 2) = 3.
    matrix = [[0, 1, 0, 0, 0], [0, 0, 1, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]
    assert vertex_channels(matrix, 7, 5) == [7, 3, 3, 2, 5]


def test_vertex_channels_two_vertex_cell() -> None:
    assert vertex_channels([[0, 1], [0, 0]], 16, 32) == [16, 32]


def test_vertex_channels_invariants_on_generated_cells() -> None:
    """NB101's own sanity checks: positive, non-increasing along interior edges, output fan-in adds up."""
    for spec in _generated_cells("generated_graphs_5V9E.json"):
        m = spec.matrix
        last = spec.num_vertices - 1
        for c_out in (5, 8, 13, 128, 256):
            channels = vertex_channels(m, 3, c_out)
            interior = range(1, last)
            assert all(channels[v] > 0 for v in interior)
            if last > 1:
                assert sum(channels[v] for v in interior if m[v, last]) == c_out
            for v in interior:
                for w in range(v + 1, last):
                    if m[v, w]:
                        assert channels[v] >= channels[w]


def test_vertex_channels_rejects_too_few_output_channels() -> None:
    with pytest.raises(ValueError, match="out_channels=3"):
        vertex_channels(README_MATRIX, 8, 3)


# --- module vs analytic count ----------------------------------------------------------------


def _random_valid_cells(count: int, seed: int) -> list[CellSpec]:
    rng = np.random.default_rng(seed)
    cells: list[CellSpec] = []
    while len(cells) < count:
        size = int(rng.integers(2, 8))
        matrix = np.triu(rng.integers(0, 2, size=(size, size)), 1)
        ops = ["input", *rng.choice(INTERIOR_OPS, size=size - 2).tolist(), "output"]
        try:
            cells.append(CellSpec(matrix, ops))
        except ValueError:
            continue
    return cells


@pytest.mark.parametrize(
    "options",
    [
        TINY,
        {"stem_channels": 16, "num_stacks": 2, "cells_per_stack": 1, "in_channels": 1, "num_classes": 10},
        {"stem_channels": 5, "num_stacks": 2, "cells_per_stack": 2, "in_channels": 3, "num_classes": 7},
        {"stem_channels": 11, "num_stacks": 1, "cells_per_stack": 3, "in_channels": 2, "num_classes": 3},
    ],
)
def test_module_parameters_equal_count_for_random_cells(options: dict[str, int]) -> None:
    cells = _random_valid_cells(40, seed=sum(options.values()))
    for spec in cells:
        expected = count_parameters(spec, **options)
        assert _trainable(NB101Network(spec, **options)) == expected, spec
    matrices, codes = pad_cells(cells)
    np.testing.assert_array_equal(
        count_parameters_many(matrices, codes, **options), [count_parameters(s, **options) for s in cells]
    )


def test_module_parameters_equal_count_default_options() -> None:
    # Shape-only modules on the meta device: no memory or init cost for the 50M-parameter cells.
    for spec in _random_valid_cells(25, seed=7):
        with torch.device("meta"):
            network = NB101Network(spec)
        assert _trainable(network) == count_parameters(spec), spec


def test_count_parameters_many_matches_scalar_on_generated_cells() -> None:
    cells = _generated_cells("generated_graphs_5V9E.json")
    matrices, codes = pad_cells(cells)
    for options in ({}, TINY):
        np.testing.assert_array_equal(
            count_parameters_many(matrices, codes, **options), [count_parameters(s, **options) for s in cells]
        )


def test_count_parameters_many_empty_and_bad_input() -> None:
    assert count_parameters_many(np.zeros((0, 7, 7)), np.zeros((0, 7))).shape == (0,)
    with pytest.raises(ValueError, match="matrices must have shape"):
        count_parameters_many(np.zeros((2, 6, 6)), np.zeros((2, 6)))
    with pytest.raises(ValueError, match="op_codes must have shape"):
        count_parameters_many(np.zeros((2, 7, 7)), np.zeros((3, 7)))
    codes = np.array([[1, 5, 0, 0, 0, 0, 0]])
    with pytest.raises(ValueError, match="exactly one output"):
        count_parameters_many(np.zeros((1, 7, 7)), np.array([[1, 3, 0, 0, 0, 0, 0]]))
    with pytest.raises(ValueError, match="padding"):
        bad = np.zeros((1, 7, 7))
        bad[0, 0, 3] = 1
        count_parameters_many(bad, codes)
    two = np.zeros((1, 7, 7))
    two[0, 0, 1] = 2
    with pytest.raises(ValueError, match="0/1"):
        count_parameters_many(two, codes)
    with pytest.raises(ValueError, match="upper-triangular"):
        count_parameters_many(np.transpose(two / 2, (0, 2, 1)), codes)
    # input -> 1 -> output plus vertex 2 fed by the input but feeding nothing: not pruned.
    unpruned = np.zeros((1, 7, 7))
    unpruned[0, 0, 1] = unpruned[0, 1, 3] = unpruned[0, 0, 2] = 1
    with pytest.raises(ValueError, match="not a pruned cell"):
        count_parameters_many(unpruned, np.array([[1, 3, 3, 5, 0, 0, 0]]))


# --- network module ---------------------------------------------------------------------------


def test_forward_backward_tiny_profile() -> None:
    torch.manual_seed(0)
    for spec in [CellSpec(README_MATRIX, README_OPS), *_random_valid_cells(6, seed=3)]:
        network = NB101Network(spec, **TINY)
        images = torch.randn(4, 1, 8, 8)
        logits = network(images)
        assert logits.shape == (4, 10)
        torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1, 2, 3])).backward()
        for name, parameter in network.named_parameters():
            assert parameter.grad is not None, name
            assert torch.isfinite(parameter.grad).all(), name


def test_forward_default_network_on_cifar_shape() -> None:
    network = NB101Network(CellSpec(README_MATRIX, README_OPS)).eval()
    with torch.no_grad():
        assert network(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_odd_resolution_pools_like_tf_same_padding() -> None:
    # TF 'same' max-pool 2x2/2 gives ceil(n / 2): 7 -> 4 -> 2.
    network = NB101Network(CellSpec([[0, 1], [0, 0]], ["input", "output"]), **TINY).eval()
    seen = []
    for layer in network.cells:
        if isinstance(layer, torch.nn.MaxPool2d):
            layer.register_forward_hook(lambda _m, _i, out: seen.append(tuple(out.shape[2:])))
    with torch.no_grad():
        network(torch.randn(1, 1, 7, 7))
    assert seen == [(4, 4), (2, 2)]


def test_batch_norm_matches_tf_settings() -> None:
    network = NB101Network(CellSpec(README_MATRIX, README_OPS), **TINY)
    norms = [m for m in network.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms
    assert all(m.momentum == pytest.approx(0.003) and m.eps == 1e-5 for m in norms)
    assert pytest.approx(0.003) == BN_MOMENTUM
    assert BN_EPSILON == 1e-5
    assert all(m.bias is None for m in network.modules() if isinstance(m, torch.nn.Conv2d))
    assert network.classifier.bias is not None


def _reference_cell_forward(cell: torch.nn.Module, spec: CellSpec, x: torch.Tensor, c_out: int) -> torch.Tensor:
    """NB101's build_module written out directly from the matrix, reusing the cell's submodules."""
    m = spec.matrix
    last = spec.num_vertices - 1
    channels = vertex_channels(m, x.shape[1], c_out)
    tensors = [x]
    projection = iter(cell.input_projections)
    for t in range(1, last):
        inputs = [tensors[src][:, : channels[t]] for src in range(1, t) if m[src, t]]
        if m[0, t]:
            inputs.append(next(projection)(x))
        tensors.append(cell.ops[t - 1](sum(inputs)))
    fan_in = [tensors[t] for t in range(1, last) if m[t, last]]
    if not fan_in:
        return cell.output_projection(x)
    out = torch.cat(fan_in, dim=1)
    if m[0, last]:
        out = out + cell.output_projection(x)
    return out


def test_cell_forward_matches_nb101_semantics_with_truncation() -> None:
    # Vertices 2, 3, 4 feed the output: 8 channels -> 3, 3, 2; vertex 1 takes max(3, 2) = 3 and feeds
    # vertex 4 (2 channels), so NB101 slices its first 2 channels; the input also feeds the output.
    matrix = [
        [0, 1, 1, 0, 0, 1],
        [0, 0, 0, 1, 1, 0],
        [0, 0, 0, 1, 0, 1],
        [0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0],
    ]
    spec = CellSpec(matrix, ["input", CONV3X3, MAXPOOL3X3, CONV1X1, CONV3X3, "output"])
    plan = cell_channel_plan(spec.matrix, spec.ops, 6, 8)
    assert [v.channels for v in plan.vertices] == [3, 3, 3, 2]
    network = NB101Network(spec, stem_channels=8, num_stacks=1, cells_per_stack=1, in_channels=2).eval()
    cell = network.cells[0]
    x = torch.randn(3, 8, 5, 5)
    with torch.no_grad():
        torch.testing.assert_close(cell(x), _reference_cell_forward(cell, spec, x, 8))


def test_cell_forward_matches_reference_on_random_cells() -> None:
    for spec in _random_valid_cells(15, seed=11):
        network = NB101Network(spec, stem_channels=13, num_stacks=1, cells_per_stack=1, in_channels=1).eval()
        cell = network.cells[0]
        x = torch.randn(2, 13, 4, 4)
        with torch.no_grad():
            torch.testing.assert_close(cell(x), _reference_cell_forward(cell, spec, x, 13))


def test_reset_parameters_with_generator_is_reproducible() -> None:
    spec = CellSpec(README_MATRIX, README_OPS)
    a, b = NB101Network(spec, **TINY), NB101Network(spec, **TINY)
    a.reset_parameters(torch.Generator().manual_seed(5))
    b.reset_parameters(torch.Generator().manual_seed(5))
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(pa, pb)


# --- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["stem_channels", "num_stacks", "cells_per_stack", "num_classes", "in_channels"])
@pytest.mark.parametrize("value", [0, -1, 2.0, True, "8", None])
def test_options_are_validated(name: str, value: object) -> None:
    spec = CellSpec([[0, 1], [0, 0]], ["input", "output"])
    with pytest.raises(ValueError, match=name):
        count_parameters(spec, **{name: value})
    with pytest.raises(ValueError, match=name):
        NB101Network(spec, **{name: value})
    with pytest.raises(ValueError, match=name):
        count_parameters_many(np.zeros((0, 7, 7)), np.zeros((0, 7)), **{name: value})


def test_numpy_integer_options_are_accepted() -> None:
    spec = CellSpec(README_MATRIX, README_OPS)
    assert count_parameters(spec, stem_channels=np.int64(8), num_stacks=np.int32(3)) == count_parameters(
        spec, stem_channels=8, num_stacks=3
    )
    assert NetworkOptions(stem_channels=np.int16(8)).stem_channels == 8


@pytest.mark.parametrize("spec", [None, "abc", ([[0, 1], [0, 0]], ["input", "output"]), 3])
def test_spec_must_be_a_cellspec(spec: object) -> None:
    with pytest.raises(TypeError, match="CellSpec"):
        NB101Network(spec)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="CellSpec"):
        count_parameters(spec)  # type: ignore[arg-type]


def test_too_few_stem_channels_is_a_clear_error() -> None:
    spec = CellSpec(README_MATRIX, README_OPS)  # 4 interior vertices feed the output
    with pytest.raises(ValueError, match="stem_channels=3"):
        NB101Network(spec, stem_channels=3)
    with pytest.raises(ValueError, match="stem_channels=3"):
        count_parameters(spec, stem_channels=3)
    matrices, codes = pad_cells([spec])
    with pytest.raises(ValueError, match="stem_channels=3"):
        count_parameters_many(matrices, codes, stem_channels=3)
    assert count_parameters(spec, stem_channels=4) == _trainable(NB101Network(spec, stem_channels=4))


def test_forward_rejects_wrong_image_channels() -> None:
    network = NB101Network(CellSpec([[0, 1], [0, 0]], ["input", "output"]), **TINY)
    with pytest.raises(ValueError, match="1 x H x W"):
        network(torch.randn(2, 3, 8, 8))
