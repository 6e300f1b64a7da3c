"""NB101 compute-cost features (MACs, activations, kernels of the whole network), against hand counts.

The network: 3 stacks of 3 cells, `(C_in, C_out, pixels)` = (128, 128, 32²) x 3, then (128, 256, 16²),
(256, 256, 16²) x 2, then (256, 512, 8²), (512, 512, 8²) x 2.
"""

from __future__ import annotations

import numpy as np
import pytest

from ecnas.space import CellSpec
from ecnas.spaces import get_space
from ecnas.spaces.nb101.channels import NetworkOptions, cell_channel_plan
from ecnas.spaces.nb101.cost_features import COST_FEATURE_NAMES, cost_features, network_cells

C3, C1, MP = "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"
#: (C_in, C_out, pixels) of the 9 cells, written out by hand.
CELLS = [(128, 128, 1024)] * 3 + [(128, 256, 256)] + [(256, 256, 256)] * 2 + [(256, 512, 64)] + [(512, 512, 64)] * 2


def _features(spec: CellSpec) -> dict[str, float]:
    columns = get_space("nb101").encode([spec])
    row = cost_features(columns["matrix"], columns["op_codes"])[0]
    return dict(zip(COST_FEATURE_NAMES, row, strict=True))


def _cell(edges: list[tuple[int, int]], ops: list[str]) -> CellSpec:
    matrix = np.zeros((len(ops), len(ops)), dtype=int)
    for a, b in edges:
        matrix[a, b] = 1
    return CellSpec(matrix, ops)


def test_network_cells():
    assert network_cells() == CELLS
    assert network_cells(NetworkOptions(stem_channels=16, num_stacks=2, cells_per_stack=1), image_side=28) == [
        (16, 16, 784),
        (16, 32, 196),
    ]


def test_input_to_output_cell():
    # the whole cell is the conv1x1 projection of its input to C_out
    f = _features(_cell([(0, 1)], ["input", "output"]))
    assert f["gmac_projections"] == pytest.approx(sum(ci * co * px for ci, co, px in CELLS) / 1e9)
    assert f["mact_projections"] == pytest.approx(sum(co * px for _, co, px in CELLS) / 1e6)
    assert f["kernels_conv"] == 1
    others = {k: v for k, v in f.items() if k not in ("gmac_projections", "mact_projections", "kernels_conv")}
    assert all(v == 0 for v in others.values()), others


def test_hand_counted_cell():
    # input -> conv3x3 (1) -> maxpool (2) -> output, input -> conv1x1 (3) -> output, input -> output.
    # Two vertices feed the output: C_out / 2 channels each; the conv3x3 takes its successor's C_out / 2.
    spec = _cell([(0, 1), (1, 2), (2, 4), (0, 3), (3, 4), (0, 4)], ["input", C3, MP, C1, "output"])
    f = _features(spec)
    # C_out² x pixels is 2**24 in every cell (128² x 1024 = 256² x 256 = 512² x 64)
    assert f["gmac_conv3x3"] == pytest.approx(9 * 9 * 2**24 / 4 / 1e9)
    assert f["gmac_conv1x1"] == pytest.approx(9 * 2**24 / 4 / 1e9)
    # projections into vertex 1 (C_out/2), vertex 3 (C_out/2) and the output (C_out): 2 C_in C_out pixels
    # per cell; C_in C_out pixels is 2**24 per cell except the first cell of stacks 2 and 3 (2**23)
    assert f["gmac_projections"] == pytest.approx(2 * (7 * 2**24 + 2 * 2**23) / 1e9)
    # C_out x pixels summed over the cells: 3 x 131,072 + 3 x 65,536 + 3 x 32,768 = 688,128
    assert f["mact_conv"] == pytest.approx(0.688128)  # C_out/2 + C_out/2
    assert f["mact_projections"] == pytest.approx(2 * 0.688128)  # C_out/2 + C_out/2 + C_out
    assert f["mact_maxpool"] == pytest.approx(0.688128 / 2)
    assert f["mact_sums"] == pytest.approx(0.688128)  # the output adds its projection
    assert f["mact_concat"] == pytest.approx(0.688128)
    assert f["mact_truncation"] == 0
    assert [f[f"kernels_{k}"] for k in ("conv", "maxpool", "sums", "concat", "truncation")] == [5, 1, 1, 1, 0]


def test_truncated_inputs():
    # input -> conv3x3 (1); 1 -> maxpool (2), 1 -> conv1x1 (3), 1, 2, 3 -> output. Three vertices feed the
    # output: at C_out 128 they get 43, 43, 42 channels; at 256: 86, 85, 85; at 512: 171, 171, 170.
    # A wider source is cut to its target's width: 1 -> 3 at every width, 1 -> 2 at 256 only.
    spec = _cell([(0, 1), (1, 2), (1, 3), (1, 4), (2, 4), (3, 4)], ["input", C3, MP, C1, "output"])
    f = _features(spec)
    assert f["gmac_conv3x3"] == pytest.approx(9 * 3 * (43**2 * 1024 + 86**2 * 256 + 171**2 * 64) / 1e9)
    assert f["gmac_conv1x1"] == pytest.approx(3 * (42**2 * 1024 + 85**2 * 256 + 170**2 * 64) / 1e9)
    projections = 3 * 128 * 43 * 1024 + (128 + 2 * 256) * 86 * 256 + (256 + 2 * 512) * 171 * 64
    assert f["gmac_projections"] == pytest.approx(projections / 1e9)
    assert f["mact_conv"] == pytest.approx(3 * ((43 + 42) * 1024 + (86 + 85) * 256 + (171 + 170) * 64) / 1e6)
    assert f["mact_projections"] == pytest.approx(3 * (43 * 1024 + 86 * 256 + 171 * 64) / 1e6)
    assert f["mact_maxpool"] == pytest.approx(3 * (43 * 1024 + 85 * 256 + 171 * 64) / 1e6)
    assert f["mact_sums"] == 0  # every vertex has one input, the input does not feed the output
    assert f["mact_truncation"] == pytest.approx(3 * (42 * 1024 + (85 + 85) * 256 + 170 * 64) / 1e6)
    assert f["kernels_truncation"] == pytest.approx((3 * 1 + 3 * 2 + 3 * 1) / 9)
    assert [f[f"kernels_{k}"] for k in ("conv", "maxpool", "sums", "concat")] == [3, 1, 0, 1]


def test_sums_of_several_inputs():
    # input -> conv1x1 (1) -> conv3x3 (2) -> output, input -> 2: vertex 2 adds its projection to vertex 1
    spec = _cell([(0, 1), (1, 2), (0, 2), (2, 3)], ["input", C1, C3, "output"])
    f = _features(spec)
    assert f["mact_sums"] == pytest.approx(0.688128) and f["kernels_sums"] == 1
    assert f["mact_concat"] == 0 and f["kernels_concat"] == 0
    assert f["kernels_conv"] == 4  # two ops, two projections


def test_same_cost_whatever_the_drawing():
    # the same two branches in the other vertex order cost the same
    a = _cell([(0, 1), (1, 3), (0, 2), (2, 3)], ["input", C3, C1, "output"])
    b = _cell([(0, 1), (1, 3), (0, 2), (2, 3)], ["input", C1, C3, "output"])
    np.testing.assert_allclose(list(_features(a).values()), list(_features(b).values()))


def _reference(spec: CellSpec) -> list[float]:
    """The features counted cell by cell from the network's plans (what NB101Network builds)."""
    f = dict.fromkeys(COST_FEATURE_NAMES, 0.0)
    for c_in, c_out, px in network_cells():
        plan = cell_channel_plan(spec.matrix, spec.ops, c_in, c_out)
        width = {0: c_in, **{v.index: v.channels for v in plan.vertices}}
        for v in plan.vertices:
            c = v.channels
            if v.op == MP:
                f["mact_maxpool"] += c * px
                f["kernels_maxpool"] += 1
            else:
                f["gmac_conv3x3" if v.op == C3 else "gmac_conv1x1"] += (9 if v.op == C3 else 1) * c * c * px
                f["mact_conv"] += c * px
                f["kernels_conv"] += 1
            if v.from_input:
                f["gmac_projections"] += c_in * c * px
                f["mact_projections"] += c * px
                f["kernels_conv"] += 1
            extra = len(v.interior_inputs) + v.from_input - 1
            f["mact_sums"] += extra * c * px
            f["kernels_sums"] += extra
            cut = sum(width[s] > c for s in v.interior_inputs)
            f["mact_truncation"] += cut * c * px
            f["kernels_truncation"] += cut
        if plan.input_to_output:
            f["gmac_projections"] += c_in * c_out * px
            f["mact_projections"] += c_out * px
            f["kernels_conv"] += 1
            if plan.output_inputs:
                f["mact_sums"] += c_out * px
                f["kernels_sums"] += 1
        if len(plan.output_inputs) > 1:
            f["mact_concat"] += c_out * px
            f["kernels_concat"] += 1
    units = {"gmac": 1e9, "mact": 1e6, "kernels": 9}
    return [value / units[name.split("_")[0]] for name, value in f.items()]


def test_vectorised_over_padded_cells():
    space = get_space("nb101")
    specs = space.sample(40, seed=1) + get_space("nb101", max_vertices=5).sample(10, seed=2)
    columns = space.encode(specs)
    rows = cost_features(columns["matrix"], columns["op_codes"])
    assert rows.shape == (50, len(COST_FEATURE_NAMES)) and np.isfinite(rows).all()
    for spec, row in zip(specs, rows, strict=True):
        np.testing.assert_allclose(row, _reference(spec), rtol=1e-12)
    assert cost_features(columns["matrix"][:0], columns["op_codes"][:0]).shape == (0, len(COST_FEATURE_NAMES))
    with pytest.raises(ValueError, match=r"matrices must be \(N, 7, 7\)"):
        cost_features(columns["matrix"][:, :6, :6], columns["op_codes"])


def test_cost_feature_sets_of_the_space():
    space = get_space("nb101")
    columns = space.encode(space.sample(20, seed=3))
    params = space.num_parameters(columns)
    cost = space.surrogate_features(columns, params, "cost")
    np.testing.assert_array_equal(cost, cost_features(columns["matrix"], columns["op_codes"]))
    both = space.surrogate_features(columns, params, "graph-cost")
    width = len(COST_FEATURE_NAMES)
    np.testing.assert_array_equal(both[:, :-width], space.surrogate_features(columns, params, "graph"))
    np.testing.assert_array_equal(both[:, -width:], cost)
