"""Published NB101 test vectors (nb101-space.md): cells with their hash and trainable parameters."""

from __future__ import annotations

README_MATRIX = [
    [0, 1, 1, 1, 0, 1, 0],
    [0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 1, 0, 0],
    [0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 0, 0],
]
README_OPS = [
    "input",
    "conv1x1-bn-relu",
    "conv3x3-bn-relu",
    "conv3x3-bn-relu",
    "conv3x3-bn-relu",
    "maxpool3x3",
    "output",
]
README_HASH = "28cfc7874f6d200472e1a9dcd8650aa0"
README_PARAMS = 2694282
TWO_VERTEX_MATRIX = [[0, 1], [0, 0]]
TWO_VERTEX_OPS = ["input", "output"]
TWO_VERTEX_HASH = "043721b9c7fe8c5fad811d47d83132ec"
TWO_VERTEX_PARAMS = 882570
