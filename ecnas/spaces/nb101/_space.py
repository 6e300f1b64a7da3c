"""NAS-Bench-101 as a :class:`~ecnas.spaces.SearchSpace`: cells, NB101 hashes, EC-NAS features, the NB101 network.

ConfigSpace naming follows HPOBench/NASLib: ``edge_0`` … ``edge_20`` are the 21 entries of the 7x7 upper
triangle, row by row, each a categorical over ``[0, 1]``; ``op_node_0`` … ``op_node_4`` are the interior ops
(``conv1x1-bn-relu``, ``conv3x3-bn-relu``, ``maxpool3x3``). A cell of fewer than 7 vertices is laid out with
its input at vertex 0, its interior vertices in order, its output at vertex 6, and the unused vertices
disconnected (they are pruned on the way back, so config → ConfigSpace → config is exact).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ecnas.errors import InvalidCellError
from ecnas.spaces._base import Column, SearchSpace, import_configspace
from ecnas.spaces.nb101.cells import (
    FEATURE_OP_CODES,
    INPUT,
    INTERIOR_OPS,
    MAX_EDGES,
    MAX_VERTICES,
    NUM_FEATURES,
    OUTPUT,
    CellSpec,
    encode_features,
    labels_of_codes,
    pad_cells,
)

if TYPE_CHECKING:
    from ConfigSpace import Configuration, ConfigurationSpace

    from ecnas.spaces.nb101.enumeration import EnumeratedSpace

__all__ = ["CONFIGSPACE_OPS", "NB101Space"]

#: Choices of ``op_node_k`` in HPOBench's order.
CONFIGSPACE_OPS: tuple[str, ...] = ("conv1x1-bn-relu", "conv3x3-bn-relu", "maxpool3x3")
_INTERIOR_CODES = [FEATURE_OP_CODES[op] for op in INTERIOR_OPS]
#: Metrics whose surrogate is fitted on the network's compute cost (:meth:`NB101Space.surrogate_setup`).
_COST_METRICS = frozenset({"energy_kwh", "total_energy_kwh", "training_time"})


class NB101Space(SearchSpace[CellSpec]):
    """The NAS-Bench-101 cell space (≤ ``max_vertices`` vertices, ≤ ``max_edges`` edges).

    Args:
        max_vertices: largest cell, input and output included (NB101: 7).
        max_edges: most edges (NB101: 9).
    """

    description: ClassVar[str] = "NAS-Bench-101 cells: DAGs of ≤7 vertices and ≤9 edges, 3 interior ops"
    features_description: ClassVar[str] = (
        "EC-NAS 36 features (upper-triangular 7x7 adjacency, op codes, default NB101 parameters / 1e6)"
    )
    can_enumerate: ClassVar[bool] = True
    can_mutate: ClassVar[bool] = True
    vector_integer: ClassVar[bool] = True
    config_fields: ClassVar[tuple[str, ...]] = ("matrix", "ops")

    def __init__(self, *, max_vertices: int = MAX_VERTICES, max_edges: int = MAX_EDGES) -> None:
        if not 2 <= int(max_vertices) <= MAX_VERTICES or not 0 <= int(max_edges) <= MAX_EDGES:
            raise ValueError(
                f"max_vertices must be in [2, {MAX_VERTICES}] and max_edges in [0, {MAX_EDGES}], "
                f"got {max_vertices}, {max_edges}"
            )
        self.max_vertices = int(max_vertices)
        self.max_edges = int(max_edges)
        self._upper = np.triu_indices(self.max_vertices, 1)
        self._edge_cache: dict[bytes, CellSpec | None] = {}

    def __repr__(self) -> str:
        return f"NB101Space(max_vertices={self.max_vertices}, max_edges={self.max_edges})"

    # ------------------------------------------------------------------ identity
    def validate(self, raw: Any) -> CellSpec:
        """A CellSpec from a CellSpec, a ``(matrix, ops)`` pair, a mapping or a ConfigSpace configuration.

        Mappings hold ``matrix`` and ``ops``, or ``edge_k``/``op_node_k`` values.

        Raises:
            InvalidCellError: not a valid NB101 cell within this space's limits.
        """
        if isinstance(raw, CellSpec):
            return raw  # validated when it was made, under the limits its maker chose
        if isinstance(raw, Mapping) and {"matrix", "ops"} <= set(raw):
            raw = (raw["matrix"], raw["ops"])
        elif isinstance(raw, Mapping) and "edge_0" in raw:
            return self.from_configspace(raw)
        if isinstance(raw, tuple) and len(raw) == 2:
            return CellSpec(raw[0], raw[1], max_vertices=self.max_vertices, max_edges=self.max_edges)
        raise InvalidCellError(
            f"an NB101 cell must be a CellSpec, a (matrix, ops) pair or a mapping with 'matrix' and 'ops', "
            f"got {type(raw).__name__}"
        )

    def key(self, config: CellSpec) -> str:
        """NB101's canonical hash: the same for every vertex order of the cell."""
        return config.hash

    def known_key(self, config: CellSpec) -> str | None:
        """The hash if already computed (or handed over when the cell was read from a table)."""
        return config.known_hash

    def structure_index(self, columns: Mapping[str, np.ndarray]) -> Any:
        """:class:`~ecnas.spaces.nb101.lookup.StructureIndex`: finds a cell in any vertex order without md5."""
        from ecnas.spaces.nb101.lookup import StructureIndex

        return StructureIndex(columns["matrix"], columns["op_codes"])

    def relabel(self, config: CellSpec, rng: np.random.Generator) -> CellSpec:
        """The same cell with its vertices in a random topological order (:meth:`CellSpec.shuffled`)."""
        return config.shuffled(rng)

    def config_to_json(self, config: CellSpec) -> dict[str, Any]:
        """``{"matrix": [[...]], "ops": [...]}`` of the pruned cell (the fields NB101 build records carry)."""
        return {"matrix": config.matrix.astype(int).tolist(), "ops": list(config.ops)}

    def config_from_json(self, fields: Mapping[str, Any]) -> CellSpec:
        """The cell of ``matrix`` and ``ops`` fields."""
        if not isinstance(fields, Mapping) or "matrix" not in fields or "ops" not in fields:
            raise InvalidCellError("an nb101 configuration record needs 'matrix' and 'ops' fields")
        return self.validate((fields["matrix"], fields["ops"]))

    def default(self) -> CellSpec:
        """The cell of NB101's example: input → conv3x3 → conv3x3 → output with a maxpool branch."""
        matrix = [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]]
        return self.validate((matrix, [INPUT, INTERIOR_OPS[0], INTERIOR_OPS[2], OUTPUT]))

    # ------------------------------------------------------------------ storage
    @property
    def columns(self) -> tuple[Column, ...]:
        """The pruned cell zero-padded to 7 vertices: adjacency and op codes (0 = padding)."""
        return (Column("matrix", "uint8", (MAX_VERTICES, MAX_VERTICES)), Column("op_codes", "int8", (MAX_VERTICES,)))

    def encode(self, configs: Sequence[CellSpec]) -> dict[str, np.ndarray]:
        """``matrix`` and ``op_codes`` arrays of cells."""
        matrices, op_codes = pad_cells(configs)
        return {"matrix": matrices, "op_codes": op_codes}

    def decode(self, columns: Mapping[str, np.ndarray], row: int, key: str | None = None) -> CellSpec:
        """The CellSpec stored at ``row``."""
        return CellSpec.from_padded(columns["matrix"][row], columns["op_codes"][row], key)

    def check_columns(self, columns: Mapping[str, np.ndarray]) -> tuple[int, str] | None:
        """The first row whose stored cell is malformed (vectorised per vertex count), or None."""
        matrices, op_codes = columns["matrix"], columns["op_codes"]
        sizes = np.count_nonzero(op_codes, axis=1)
        for size in np.unique(sizes).tolist():
            rows = np.flatnonzero(sizes == size)
            cells = matrices[rows, :size, :size]
            codes = op_codes[rows, :size].astype(np.int64)
            well_formed = (
                (size >= 2)
                & (codes[:, 0] == FEATURE_OP_CODES[INPUT])
                & (codes[:, -1] == FEATURE_OP_CODES[OUTPUT])
                & np.isin(codes[:, 1:-1], _INTERIOR_CODES).all(axis=1)
                & (cells <= 1).all(axis=(1, 2))
                & ~np.tril(cells).any(axis=(1, 2))
            )
            for row in rows[~well_formed][:1].tolist():
                try:
                    CellSpec.from_padded(matrices[row], op_codes[row])
                    problem = "its op codes or matrix are malformed"
                except (InvalidCellError, KeyError) as error:
                    problem = str(error)
                return row, problem
        return None

    def keys(self, columns: Mapping[str, np.ndarray]) -> np.ndarray:
        """NB101 hashes of every stored row with batched md5 rounds (~15 s for the whole space)."""
        from ecnas.spaces.nb101._batch_hash import hash_candidates

        matrices, op_codes = columns["matrix"], columns["op_codes"]
        sizes = np.count_nonzero(op_codes, axis=1)
        out = np.empty(len(sizes), dtype="S32")
        for size in np.unique(sizes).tolist():
            rows = np.flatnonzero(sizes == size)
            cells = np.ascontiguousarray(matrices[rows, :size, :size])
            codes = op_codes[rows, :size].astype(np.int64)
            out[rows] = hash_candidates(cells, labels_of_codes(codes), lambda: None)
        return out

    def for_table(self, columns: Mapping[str, np.ndarray]) -> NB101Space:
        """The space bounded by the table's largest cell (mutation and the box encoding never grow beyond it)."""
        op_codes = columns["op_codes"]
        largest = int(np.count_nonzero(op_codes, axis=1).max()) if len(op_codes) else MAX_VERTICES
        if largest == self.max_vertices:
            return self
        return NB101Space(max_vertices=largest, max_edges=self.max_edges)

    # ------------------------------------------------------------------ features
    @property
    def num_features(self) -> int:
        """EC-NAS's 36 features."""
        return NUM_FEATURES

    def features(self, columns: Mapping[str, np.ndarray], parameters: np.ndarray) -> np.ndarray:
        """28 upper-triangle entries, 7 op codes, parameters in millions (:func:`encode_features`)."""
        return encode_features(columns["matrix"], columns["op_codes"], parameters)

    #: ``graph`` (default for new surrogates): the 36 EC-NAS features and 29 graph features (size, ops
    #: per depth, channels, log parameters; :mod:`ecnas.spaces.nb101.graph_features`); ``features``:
    #: EC-NAS's 36 alone (surrogates fitted before the graph features); ``graph-paths``: ``graph``
    #: plus the 364-column path encoding (for tree models; it did not pay for the MLP); ``cost``: the 14
    #: compute-cost features of the whole network alone (MACs, activations, kernels;
    #: :mod:`ecnas.spaces.nb101.cost_features`) — for energy and time, which depend on what the network
    #: computes and not on how the cell is drawn; ``graph-cost``: ``graph`` plus the 14.
    surrogate_feature_sets: ClassVar[tuple[str, ...]] = ("graph", "features", "graph-paths", "cost", "graph-cost")

    def _surrogate_features(
        self, columns: Mapping[str, np.ndarray], parameters: np.ndarray, feature_set: str
    ) -> np.ndarray:
        from ecnas.spaces.nb101.cost_features import cost_features
        from ecnas.spaces.nb101.graph_features import graph_features

        if feature_set == "cost":
            return cost_features(columns["matrix"], columns["op_codes"])
        base = self.features(columns, parameters)
        if feature_set == "features":
            return base
        extra = graph_features(columns["matrix"], columns["op_codes"], parameters, paths=feature_set == "graph-paths")
        parts = [base, extra]
        if feature_set == "graph-cost":
            parts.append(cost_features(columns["matrix"], columns["op_codes"]))
        return np.concatenate(parts, axis=1)

    def surrogate_setup(self, metric: str) -> tuple[str, dict[str, Any]]:
        """Energies and training time on ``cost`` with standardised inputs, everything else on ``graph``.

        On EC-NAS's 3,448 measured 7-vertex energies (20% held out, seeds 0-4) the builder's model on ``cost``
        has MAE 0.214 vs 0.245 Wh on ``graph``; on the default table's own measured energies (seeds 0-1)
        Pearson 0.640 vs 0.608. ``cost`` says nothing about accuracy (``docs/surrogate.md``).
        """
        if metric in _COST_METRICS:
            return "cost", {"input_scaling": "standard"}
        return "graph", {}

    def feature_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Adjacency entries in [0, 1], op codes in [0, 5]; the parameter count has no natural bound (NaN)."""
        n_upper = MAX_VERTICES * (MAX_VERTICES + 1) // 2
        largest_code = float(max(FEATURE_OP_CODES.values()))
        high = np.concatenate([np.ones(n_upper), np.full(MAX_VERTICES, largest_code), [np.nan]])
        return np.zeros(NUM_FEATURES), high

    def num_parameters(self, columns: Mapping[str, np.ndarray], **options: Any) -> np.ndarray:
        """Trainable parameters of the NB101 network with ``options`` (default: NB101's network), vectorised."""
        from ecnas.spaces.nb101.channels import count_parameters_many

        return count_parameters_many(columns["matrix"], columns["op_codes"], **options)

    # ------------------------------------------------------------------ sampling, enumeration, mutation
    def sample(self, n: int, seed: int | np.random.Generator | None = None) -> list[CellSpec]:
        """NB101's ``random_spec``: random upper-triangular matrix and ops, redrawn until the cell is valid."""
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        size = self.max_vertices
        cells: list[CellSpec] = []
        while len(cells) < int(n):
            matrix = np.triu(rng.integers(0, 2, size=(size, size)), 1)
            labels = rng.integers(0, len(INTERIOR_OPS), size=size - 2)
            try:
                cells.append(self.validate((matrix, [INPUT, *(INTERIOR_OPS[k] for k in labels), OUTPUT])))
            except InvalidCellError:
                continue
        return cells

    def enumerate(self) -> EnumeratedSpace:
        """Every unique cell (91 / 2,532 / 423,624 for ≤4 / ≤5 / ≤7 vertices), cached on disk."""
        from ecnas.spaces.nb101.enumeration import enumerate_cells

        return enumerate_cells(max_vertices=self.max_vertices, max_edges=self.max_edges)

    def enumerated_columns(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Keys and columns of every cell, sorted by hash, straight from the (cached) enumeration arrays."""
        cells = self.enumerate()
        columns = {
            "matrix": np.asarray(cells.matrices, dtype=np.uint8),
            "op_codes": np.asarray(cells.op_codes, dtype=np.int8),
        }
        return np.asarray(cells.hash_bytes, dtype="S32"), columns

    def padded(self, config: CellSpec, rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
        """A cell laid out on :attr:`max_vertices` vertices: matrix and interior op labels (0..2).

        The input stays at vertex 0, interior vertices keep their order, the output moves to the last vertex;
        unused vertices get no edges and random ops (label 0 without ``rng``), so they are pruned unless a
        mutation connects them.
        """
        size = self.max_vertices
        v = config.num_vertices
        matrix = np.zeros((size, size), dtype=np.int8)
        index = np.arange(v)
        index[-1] = size - 1
        matrix[np.ix_(index, index)] = config.matrix
        labels = rng.integers(0, len(INTERIOR_OPS), size=size - 2) if rng is not None else np.zeros(size - 2, np.int64)
        labels[: v - 2] = [INTERIOR_OPS.index(op) for op in config.ops[1:-1]]
        return matrix, labels

    def mutate(self, config: CellSpec, rng: np.random.Generator, *, rate: float = 1.0) -> CellSpec | None:
        """NB101's ``mutate_spec`` on the cell padded to :attr:`max_vertices` vertices.

        Each possible edge flips with probability ``rate / V``, each interior op is redrawn with probability
        ``rate / (V - 2)``.

        Returns:
            The child (the parent itself when nothing changed), or None when the child is not a valid cell.
        """
        size = self.max_vertices
        matrix, labels = self.padded(config, rng)
        iu = self._upper
        flips = rng.random(iu[0].size) < rate / size
        matrix[iu[0][flips], iu[1][flips]] ^= 1
        changed = bool(flips.any())
        if labels.size:
            change = rng.random(labels.size) < rate / max(size - 2, 1)
            if change.any():
                labels[change] = (labels[change] + rng.integers(1, len(INTERIOR_OPS), size=int(change.sum()))) % len(
                    INTERIOR_OPS
                )
                changed = True
        if not changed:
            return config
        return self._cell_of(matrix, labels)

    def _cell_of(self, matrix: np.ndarray, labels: np.ndarray) -> CellSpec | None:
        """Validated cell of a padded layout, memoised (optimizers revisit the same children often)."""
        cache_key = matrix.tobytes() + np.asarray(labels, dtype=np.int8).tobytes()
        if cache_key in self._edge_cache:
            return self._edge_cache[cache_key]
        try:
            cell: CellSpec | None = CellSpec(
                matrix,
                [INPUT, *(INTERIOR_OPS[int(k)] for k in labels), OUTPUT],
                max_vertices=self.max_vertices,
                max_edges=self.max_edges,
            )
        except InvalidCellError:
            cell = None
        if len(self._edge_cache) > 500_000:
            self._edge_cache.clear()
        self._edge_cache[cache_key] = cell
        return cell

    # ------------------------------------------------------------------ box encoding
    def vector_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Upper-triangle edges in {0, 1}, then interior ops in {0, 1, 2} (conv3x3, conv1x1, maxpool)."""
        n_edges = self._upper[0].size
        upper = np.concatenate([np.ones(n_edges), np.full(self.max_vertices - 2, len(INTERIOR_OPS) - 1)])
        return np.zeros(upper.size), upper

    def to_vector(self, config: CellSpec) -> np.ndarray:
        """Edges of the padded layout, then its interior op labels."""
        matrix, labels = self.padded(config)
        return np.concatenate([matrix[self._upper], labels]).astype(np.float64)

    def from_vector(self, x: np.ndarray) -> CellSpec | None:
        """The cell of a (rounded, clipped) vector; None when it is not a valid cell (or not a finite vector)."""
        low, high = self.vector_bounds()
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        if x.shape != low.shape or not np.isfinite(x).all():
            return None
        values = np.clip(np.rint(x), low, high).astype(np.int64)
        matrix = np.zeros((self.max_vertices, self.max_vertices), dtype=np.int8)
        n_edges = self._upper[0].size
        matrix[self._upper] = values[:n_edges]
        return self._cell_of(matrix, values[n_edges:])

    # ------------------------------------------------------------------ ConfigSpace
    def configspace(self, seed: int | None = None) -> ConfigurationSpace:
        """HPOBench/NASLib naming: categorical ``edge_k`` over [0, 1] and ``op_node_k`` over the three ops."""
        cs = import_configspace()
        n_edges = self._upper[0].size
        space = cs.ConfigurationSpace(name="nb101", seed=seed)
        space.add([cs.Categorical(f"edge_{k}", [0, 1], default=0) for k in range(n_edges)])
        space.add(
            [
                cs.Categorical(f"op_node_{k}", list(CONFIGSPACE_OPS), default=CONFIGSPACE_OPS[0])
                for k in range(self.max_vertices - 2)
            ]
        )
        return space

    def _configspace(self) -> ConfigurationSpace:
        cached = getattr(self, "_cs_cache", None)
        if cached is None:
            cached = self._cs_cache = self.configspace()
        return cached

    def to_configspace(self, config: CellSpec) -> Configuration:
        """The configuration of a cell laid out on the space's vertices (unused vertices: no edges, conv3x3)."""
        cs = import_configspace()
        matrix, labels = self.padded(config)
        values: dict[str, Any] = {f"edge_{k}": int(e) for k, e in enumerate(matrix[self._upper])}
        values |= {f"op_node_{k}": INTERIOR_OPS[int(label)] for k, label in enumerate(labels)}
        return cs.Configuration(self._configspace(), values=values)

    def from_configspace(self, configuration: Configuration | Mapping[str, Any]) -> CellSpec:
        """The cell of an ``edge_k``/``op_node_k`` configuration.

        Raises:
            InvalidCellError: a name is missing or the cell is not valid (disconnected, too many edges, …).
        """
        values = dict(configuration)
        n_edges = self._upper[0].size
        try:
            edges = [int(values[f"edge_{k}"]) for k in range(n_edges)]
            ops = [str(values[f"op_node_{k}"]) for k in range(self.max_vertices - 2)]
        except (KeyError, TypeError, ValueError) as error:
            raise InvalidCellError(
                f"an nb101 configuration needs edge_0..edge_{n_edges - 1} (0/1) and "
                f"op_node_0..op_node_{self.max_vertices - 3} ({list(CONFIGSPACE_OPS)}): {error}"
            ) from None
        if any(e not in (0, 1) for e in edges):
            raise InvalidCellError(f"edge_k values must be 0 or 1, got {sorted(set(edges))}")
        matrix = np.zeros((self.max_vertices, self.max_vertices), dtype=np.int8)
        matrix[self._upper] = edges
        return self.validate((matrix, [INPUT, *ops, OUTPUT]))

    # ------------------------------------------------------------------ model
    def build_model(self, config: CellSpec, *, generator: Any = None, **options: Any) -> Any:
        """NB101's network for the cell (:class:`~ecnas.spaces.nb101.network.NB101Network`).

        Initialised as NB101 does (truncated-normal convolutions) from the torch ``generator``.
        """
        from ecnas.spaces.nb101.network import NB101Network

        net = NB101Network(config, **options)
        net.reset_parameters(generator=generator)
        return net

