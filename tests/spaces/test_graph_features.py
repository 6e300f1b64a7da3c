"""NB101 graph features (path encoding, ops per depth, channels) and the space's surrogate feature sets."""

from __future__ import annotations

import numpy as np
import pytest

from ecnas.space import CellSpec
from ecnas.spaces import get_space
from ecnas.spaces.nb101.graph_features import GRAPH_FEATURE_NAMES, NUM_SUMMARY_FEATURES, graph_features


def _features(spec: CellSpec) -> dict[str, float]:
    space = get_space("nb101")
    columns = space.encode([spec])
    row = graph_features(columns["matrix"], columns["op_codes"], space.num_parameters(columns))[0]
    return dict(zip(GRAPH_FEATURE_NAMES, row, strict=True))


def test_hand_counted_cell():
    # input -> conv3x3 -> maxpool -> output, input -> conv1x1 -> output, input -> output
    matrix = np.zeros((5, 5), dtype=int)
    matrix[0, 1] = matrix[1, 2] = matrix[2, 4] = matrix[0, 3] = matrix[3, 4] = matrix[0, 4] = 1
    spec = CellSpec(matrix, ["input", "conv3x3-bn-relu", "maxpool3x3", "conv1x1-bn-relu", "output"])
    f = _features(spec)
    assert f["interior_vertices"] == 3 and f["edges"] == 6 and f["depth"] == 3
    assert f["count_conv3x3-bn-relu"] == 1 and f["count_maxpool3x3"] == 1 and f["count_conv1x1-bn-relu"] == 1
    assert f["depth1_conv3x3-bn-relu"] == 1 and f["depth2_maxpool3x3"] == 1 and f["depth1_conv1x1-bn-relu"] == 1
    assert f["path_direct"] == 1 and f["path_c3-mp"] == 1 and f["path_c1"] == 1
    paths = [v for k, v in f.items() if k.startswith("path_")]
    assert sum(paths) == 3  # exactly three input->output paths
    # two vertices feed the output: 64 channels each; the conv3x3 takes its successor's 64
    assert f["channels_conv3x3-bn-relu"] == pytest.approx(0.5) and f["channels_conv1x1-bn-relu"] == pytest.approx(0.5)
    assert f["conv_cost"] == pytest.approx((9 * 64**2 + 64**2) / (9 * 128**2))
    assert f["input_projections"] == 2 and f["output_inputs"] == 2
    assert f["log_parameters"] == pytest.approx(np.log(spec.features()[-1]))


def test_feature_sets_of_the_space():
    space = get_space("nb101")
    specs = space.sample(20, seed=0)
    columns = space.encode(specs)
    params = space.num_parameters(columns)
    assert space.surrogate_feature_sets[0] == "graph"
    np.testing.assert_array_equal(
        space.surrogate_features(columns, params, "features"), space.features(columns, params)
    )
    graph = space.surrogate_features(columns, params)
    assert graph.shape == (20, space.num_features + NUM_SUMMARY_FEATURES) and np.isfinite(graph).all()
    assert space.surrogate_features(columns, params, "graph-paths").shape[1] == space.num_features + len(
        GRAPH_FEATURE_NAMES
    )
    with pytest.raises(ValueError, match="feature_set must be one of"):
        space.surrogate_features(columns, params, "nope")
