"""Every unique cell of the NB101 space, fast: NB101's enumeration with its md5 hash, vectorised.

NB101's ``generate_graphs.py`` walks, for ``V = 2..7``, every upper-triangular matrix (bit ``j(j-1)/2 + i``
of a counter is edge ``i→j``) whose vertices all lie on an input→output path and that has at most 9
edges, times every labelling of the interior vertices (``itertools.product`` order), hashes each with
:func:`ecnas.spaces.nb101.cells.hash_cell` and keeps the first ``(matrix, labeling)`` seen per hash. That takes
minutes in pure Python. This module computes the same hashes and the same first-seen representatives:

1. A matrix isomorphic to an earlier one (same graph with the interior vertices renamed) yields only
   hashes already seen, each first seen on the earlier matrix, so it is skipped (exact: canonical form
   over all interior permutations).
2. The hash's rounds run for all remaining ``(matrix, labelling)`` candidates at once: messages are built
   with numpy from the previous round's hex digests, and only the md5 itself runs per message. While a
   round has few distinct messages (the early rounds), each distinct message is hashed only once
   (:mod:`ecnas.spaces.nb101._batch_hash`).
3. Cells are deduplicated on the final hash string, keeping the first candidate: NB101's rule exactly.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import logging
import os
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ecnas._io import atomic_path
from ecnas.spaces.nb101._batch_hash import hash_candidates
from ecnas.spaces.nb101.cells import (
    INTERIOR_OPS,
    LABEL_OF_CODE,
    MAX_EDGES,
    MAX_VERTICES,
    CellSpec,
    encode_features,
    hash_cell,
    labels_of_codes,
)

__all__ = ["EnumeratedSpace", "cache_dir", "enumerate_cells", "enumerate_space"]

_logger = logging.getLogger(__name__)

_NUM_OPS = len(INTERIOR_OPS)
#: Labels of the generated-graphs format → EC-NAS feature op codes.
_LABEL_TO_CODE = {label: code for code, label in LABEL_OF_CODE.items()}


# ---------------------------------------------------------------------------------------------- candidates
def _candidate_matrices(num_vertices: int, max_edges: int) -> np.ndarray:
    """NB101's valid matrices for one vertex count, in its counter order: `n x V x V` uint8."""
    positions = [(i, j) for j in range(num_vertices) for i in range(j)]  # bit k ↔ edge positions[k]
    counter = np.arange(1 << len(positions), dtype=np.int64)
    edges = np.zeros(counter.shape, dtype=np.int64)
    for bit in range(len(positions)):
        edges += (counter >> bit) & 1
    keep = edges <= max_edges
    for vertex in range(num_vertices):
        out_mask = sum(1 << k for k, (i, _) in enumerate(positions) if i == vertex)
        in_mask = sum(1 << k for k, (_, j) in enumerate(positions) if j == vertex)
        if vertex < num_vertices - 1:
            keep &= (counter & out_mask) != 0
        if vertex > 0:
            keep &= (counter & in_mask) != 0
    counter = counter[keep]
    matrices = np.zeros((counter.size, num_vertices, num_vertices), dtype=np.uint8)
    for bit, (i, j) in enumerate(positions):
        matrices[:, i, j] = (counter >> bit) & 1
    return matrices


def _labelings(num_vertices: int) -> np.ndarray:
    """``[-1] + list(labels) + [-2]`` for every ``itertools.product`` labelling, in its order: `L x V`."""
    products = list(itertools.product(range(_NUM_OPS), repeat=num_vertices - 2))
    interior = np.array(products, dtype=np.int64).reshape(len(products), num_vertices - 2)
    ends = np.ones((interior.shape[0], 1), dtype=np.int64)
    return np.concatenate([-ends, interior, -2 * ends], axis=1)


def _reduced_candidates(matrices: np.ndarray, labelings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The candidates that can be the first seen of their hash: `(matrix_index, labeling_index)`, in order.

    Renaming interior vertices does not change a hash, so a matrix equal to an earlier one up to such a
    renaming only repeats earlier hashes, and a labelling mapped by an automorphism of its matrix onto
    an earlier labelling repeats that one's hash. Dropping both is exact; what remains is in NB101's order.
    """
    count, size = matrices.shape[:2]
    flat = matrices.reshape(count, -1).astype(np.int64)
    weights = np.left_shift(np.int64(1), np.arange(size * size, dtype=np.int64))
    own_code = flat @ weights
    canonical = own_code.copy()
    automorphisms: list[tuple[list[int], np.ndarray]] = []
    for interior in itertools.permutations(range(1, size - 1)):
        order = [0, *interior, size - 1]
        code = matrices[:, order][:, :, order].reshape(count, -1).astype(np.int64) @ weights
        np.minimum(canonical, code, out=canonical)
        if order != sorted(order):
            automorphisms.append((order, code == own_code))
    _, first = np.unique(canonical, return_index=True)
    first.sort()
    num_labelings = labelings.shape[0]
    place = _NUM_OPS ** np.arange(size - 3, -1, -1, dtype=np.int64)  # labelling index from interior labels
    keep = np.ones((first.size, num_labelings), dtype=bool)
    indices = np.arange(num_labelings)
    for order, fixes in automorphisms:
        rows = np.flatnonzero(fixes[first])
        if rows.size:
            keep[rows] &= (labelings[:, order][:, 1:-1] @ place) >= indices
    kept_matrix, kept_labeling = np.nonzero(keep)
    return first[kept_matrix], kept_labeling


def _first_seen(
    matrices: np.ndarray, labels: np.ndarray, tick: Callable[[], object] = lambda: None, n_jobs: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Hash candidates given in NB101's order; `(unique hashes ascending, index of each one's first candidate)`."""
    candidate_hashes = hash_candidates(matrices, labels, tick, n_jobs)
    unique_hashes, first = np.unique(candidate_hashes, return_index=True)  # stable: first occurrence
    return unique_hashes, first


def _enumerate_arrays(
    max_vertices: int, max_edges: int, advance: Callable[[int], object], n_jobs: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`(hash_bytes, matrices, op_codes, num_vertices)` of every unique cell, sorted by hash.

    ``advance`` is told the total work (in vertex-rounds) first, as a negative number, then each step done.
    """
    code_of_label = np.zeros(_NUM_OPS + 2, dtype=np.int8)  # indexed by label + 2
    for label, code in _LABEL_TO_CODE.items():
        code_of_label[label + 2] = code
    sizes_and_candidates = []
    for size in range(2, max_vertices + 1):
        candidates = _candidate_matrices(size, max_edges)
        if candidates.shape[0]:
            labelings = _labelings(size)
            matrix_index, labeling_index = _reduced_candidates(candidates, labelings)
            sizes_and_candidates.append((size, candidates[matrix_index], labelings[labeling_index]))
    advance(-sum(_work(size, labels.shape[0]) for size, _, labels in sizes_and_candidates))
    hashes, matrices, op_codes, sizes = [], [], [], []
    for size, cell_matrices, cell_labels in sizes_and_candidates:
        tick = functools.partial(advance, cell_labels.size)
        unique_hashes, first = _first_seen(cell_matrices, cell_labels, tick, n_jobs)
        advance(cell_labels.shape[0])
        padded = np.zeros((first.size, MAX_VERTICES, MAX_VERTICES), dtype=np.uint8)
        padded[:, :size, :size] = cell_matrices[first]
        codes = np.zeros((first.size, MAX_VERTICES), dtype=np.int8)
        codes[:, :size] = code_of_label[cell_labels[first] + 2]
        hashes.append(unique_hashes)
        matrices.append(padded)
        op_codes.append(codes)
        sizes.append(np.full(first.size, size, dtype=np.uint8))
    if not hashes:
        return (
            np.zeros(0, dtype="S32"),
            np.zeros((0, MAX_VERTICES, MAX_VERTICES), dtype=np.uint8),
            np.zeros((0, MAX_VERTICES), dtype=np.int8),
            np.zeros(0, dtype=np.uint8),
        )
    # Cells of different sizes never share a hash (the final list has one entry per vertex); the
    # stable unique would keep NB101's first-seen rule even so.
    all_hashes = np.concatenate(hashes)
    _, first = np.unique(all_hashes, return_index=True)
    return (
        all_hashes[first],
        np.concatenate(matrices)[first],
        np.concatenate(op_codes)[first],
        np.concatenate(sizes)[first],
    )


def _work(size: int, count: int) -> int:
    """Progress units of hashing `count` candidates of `size` vertices: V + 1 rounds of V digests, + 1."""
    return count * (size * (size + 1) + 1)


# ------------------------------------------------------------------------------------------- public API
class EnumeratedSpace:
    """Every unique cell of an enumerated space, as columnar arrays ordered by hash (ascending).

    Each cell is NB101's first-seen representative of its hash (the ``[matrix, labeling]`` values of
    NB101's ``generated_graphs.json``). Arrays are read-only.

    Args:
        hash_bytes: `N` hashes as `S32`, strictly ascending.
        matrices: `N x 7 x 7` uint8 adjacency matrices, zero-padded past each cell's vertices.
        op_codes: `N x 7` int8 EC-NAS op codes (:data:`ecnas.spaces.nb101.cells.FEATURE_OP_CODES`; 0 = padding).
        num_vertices: `N` uint8 vertex counts.

    Raises:
        ValueError: the arrays' shapes disagree or the hashes are not strictly ascending.
    """

    def __init__(
        self, hash_bytes: np.ndarray, matrices: np.ndarray, op_codes: np.ndarray, num_vertices: np.ndarray
    ) -> None:
        hash_bytes = np.asarray(hash_bytes, dtype="S32")
        if hash_bytes.ndim != 1:
            raise ValueError(f"hash_bytes must be a 1-D array of hashes, got shape {hash_bytes.shape}")
        count = hash_bytes.shape[0]
        arrays = {
            "matrices": (np.asarray(matrices, dtype=np.uint8), (count, MAX_VERTICES, MAX_VERTICES)),
            "op_codes": (np.asarray(op_codes, dtype=np.int8), (count, MAX_VERTICES)),
            "num_vertices": (np.asarray(num_vertices, dtype=np.uint8), (count,)),
        }
        for name, (array, shape) in arrays.items():
            if array.shape != shape:
                raise ValueError(f"{name} must have shape {shape} to match {count} hashes, got {array.shape}")
        if count > 1 and not np.all(hash_bytes[1:] > hash_bytes[:-1]):
            raise ValueError("hash_bytes must be strictly ascending (sorted, no duplicates)")
        # Read-only views: the caller's own arrays keep their flags.
        self._hash_bytes = hash_bytes.view()
        self._matrices, self._op_codes, self._num_vertices = (array.view() for array, _ in arrays.values())
        for array in (self._hash_bytes, self._matrices, self._op_codes, self._num_vertices):
            array.setflags(write=False)
        self._hashes: list[str] | None = None

    def __len__(self) -> int:
        return int(self._hash_bytes.shape[0])

    def __iter__(self) -> Iterator[CellSpec]:
        for index in range(len(self)):
            yield self.cell(index)

    def __contains__(self, item: object) -> bool:
        try:
            self.index_of(item)  # type: ignore[arg-type]
        except (KeyError, TypeError):
            return False
        return True

    def __repr__(self) -> str:
        largest = int(self._num_vertices.max()) if len(self) else 0
        return f"EnumeratedSpace({len(self)} cells, up to {largest} vertices)"

    @property
    def hashes(self) -> list[str]:
        """The `N` hashes as Python strings, ascending."""
        if self._hashes is None:
            self._hashes = np.char.decode(self._hash_bytes, "ascii").tolist()
        return self._hashes

    @property
    def hash_bytes(self) -> np.ndarray:
        """The `N` hashes as an `S32` array, ascending (binary-searchable)."""
        return self._hash_bytes

    @property
    def matrices(self) -> np.ndarray:
        """`N x 7 x 7` uint8 adjacency matrices, zero-padded."""
        return self._matrices

    @property
    def op_codes(self) -> np.ndarray:
        """`N x 7` int8 EC-NAS op codes (input 1, conv1x1 2, conv3x3 3, maxpool 4, output 5, padding 0)."""
        return self._op_codes

    @property
    def num_vertices(self) -> np.ndarray:
        """`N` uint8 vertex counts (input and output included)."""
        return self._num_vertices

    def index_of(self, cell: str | bytes | CellSpec) -> int:
        """Position of a cell (its hash, or a :class:`CellSpec`) by binary search.

        Raises:
            KeyError: the hash is not in this space.
            TypeError: ``cell`` is neither a hash string nor a CellSpec.
        """
        key = cell.hash if isinstance(cell, CellSpec) else cell
        if isinstance(key, str):
            key = key.encode("ascii", errors="replace")
        if not isinstance(key, bytes):
            raise TypeError(f"cell must be a 32-character hash string or a CellSpec, got {type(cell).__name__}")
        position = int(np.searchsorted(self._hash_bytes, key))
        if len(key) != 32 or position >= len(self) or self._hash_bytes[position] != key:
            raise KeyError(f"hash {cell!r} is not in this space of {len(self)} cells")
        return position

    def labeling(self, index: int) -> list[int]:
        """NB101's labeling of cell `index`: ``[-1] + interior op labels + [-2]``."""
        index = self._check_index(index)
        codes = self._op_codes[index, : self._vertex_count(index)]
        return [LABEL_OF_CODE[int(code)] for code in codes]

    def cell(self, index: int) -> CellSpec:
        """Cell `index` as a :class:`CellSpec` (its hash is the stored one, not recomputed)."""
        index = self._check_index(index)
        return CellSpec.from_padded(self._matrices[index], self._op_codes[index], self.hashes[index])

    def features(self, param_counts: np.ndarray | None = None) -> np.ndarray:
        """EC-NAS's 36 features of every cell, vectorised (same values as :meth:`CellSpec.features`).

        Args:
            param_counts: `N` trainable-parameter counts; None counts them for the default NB101
                network with ``ecnas.spaces.nb101.channels.count_parameters_many``.

        Returns:
            `N x 36` float64: the 28 upper-triangular entries (diagonal included) of the padded matrix,
            row-major; the 7 op codes; the parameter count in millions.

        Raises:
            ValueError: ``param_counts`` does not hold `N` finite values.
        """
        if param_counts is None:
            from ecnas.spaces.nb101.channels import count_parameters_many

            param_counts = count_parameters_many(self._matrices, self._op_codes)
        counts = np.asarray(param_counts, dtype=np.float64)
        if counts.shape != (len(self),) or not np.all(np.isfinite(counts)):
            raise ValueError(
                f"param_counts must hold {len(self)} finite values, one per cell; got shape {counts.shape}"
            )
        return encode_features(self._matrices, self._op_codes, counts)

    def generated_graphs_items(self) -> Iterator[tuple[str, list]]:
        """``(hash, [matrix, labeling])`` per cell in hash order: the entries of NB101's ``generated_graphs.json``."""
        hashes = self.hashes
        for start in range(0, len(self), 4096):
            chunk = slice(start, start + 4096)
            matrices = self._matrices[chunk].tolist()
            labelings = labels_of_codes(self._op_codes[chunk]).tolist()
            sizes = self._num_vertices[chunk].tolist()
            for cell_hash, matrix, labeling, size in zip(hashes[chunk], matrices, labelings, sizes, strict=True):
                yield cell_hash, [[row[:size] for row in matrix[:size]], labeling[:size]]

    def to_generated_graphs(self) -> dict[str, list]:
        """NB101's ``generated_graphs.json`` content: ``{hash: [matrix, labeling]}``, in hash order."""
        return dict(self.generated_graphs_items())

    def _check_index(self, index: int) -> int:
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"index must be an integer, got {type(index).__name__}")
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} is out of range for a space of {len(self)} cells")
        return int(index) % len(self)

    def _vertex_count(self, index: int) -> int:
        return int(self._num_vertices[index])


# ------------------------------------------------------------------------------------------------- cache
_CACHE_FORMAT = 1
#: Spaces this small take well under a second: they are never written to disk.
_CACHE_MIN_VERTICES = 6
_CACHE_ARRAYS = ("hash_bytes", "matrices", "op_codes", "num_vertices")
_SPOT_CHECKS = 16
_MEMO: dict[tuple[int, int], EnumeratedSpace] = {}


def cache_dir() -> Path:
    """Folder of the on-disk enumeration cache: ``$ECNAS_CACHE_DIR``, else ``~/.cache/ecnas``.

    ``$XDG_CACHE_HOME/ecnas`` replaces ``~/.cache/ecnas`` when that variable is set.
    """
    if os.environ.get("ECNAS_CACHE_DIR"):
        return Path(os.environ["ECNAS_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "ecnas"


def _cache_path(max_vertices: int, max_edges: int) -> Path:
    return cache_dir() / f"space-{max_vertices}v-{max_edges}e-format{_CACHE_FORMAT}.npz"


def _checksum(arrays: dict[str, np.ndarray]) -> bytes:
    digest = hashlib.md5()
    for name in _CACHE_ARRAYS:
        digest.update(np.ascontiguousarray(arrays[name]).tobytes())
    return digest.hexdigest().encode("ascii")


def _save_cache(path: Path, space: EnumeratedSpace, max_vertices: int, max_edges: int) -> None:
    arrays = {name: getattr(space, name) for name in _CACHE_ARRAYS}
    meta = np.array([_CACHE_FORMAT, max_vertices, max_edges], dtype=np.int64)
    try:
        with atomic_path(path) as temporary, temporary.open("wb") as file:
            np.savez(file, meta=meta, checksum=np.array(_checksum(arrays), dtype="S32"), **arrays)
    except OSError as error:
        _logger.warning("could not write the enumeration cache %s (%s); continuing without it", path, error)


def _load_cache(path: Path, max_vertices: int, max_edges: int) -> EnumeratedSpace | None:
    """The cached space if the file is intact and matches this request, else None (with a warning)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            if data["meta"].tolist() != [_CACHE_FORMAT, max_vertices, max_edges]:
                raise ValueError("it was written for other parameters or by another version")
            arrays = {name: data[name] for name in _CACHE_ARRAYS}
            checksum = data["checksum"].item()
        if checksum != _checksum(arrays):
            raise ValueError("its checksum does not match its contents")
        space = EnumeratedSpace(**arrays)
        for index in np.linspace(0, len(space) - 1, _SPOT_CHECKS).astype(int).tolist():
            size = space._vertex_count(index)
            if hash_cell(space.matrices[index, :size, :size], space.labeling(index)) != space.hashes[index]:
                raise ValueError(f"cell {index} does not hash to its stored hash")
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        _logger.warning("ignoring the enumeration cache %s: %s; recomputing it", path, error)
        return None
    return space


# ---------------------------------------------------------------------------------------------- entry
def _check_limit(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer in {low}..{high}, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be in {low}..{high}, got {value}")
    return int(value)


def enumerate_cells(
    max_vertices: int = MAX_VERTICES,
    max_edges: int = MAX_EDGES,
    *,
    show_progress_bar: bool = False,
    use_cache: bool = True,
    n_jobs: int = 1,
) -> EnumeratedSpace:
    """Every unique cell with at most ``max_vertices`` vertices and ``max_edges`` edges.

    Exactly NB101's ``generate_graphs.py`` result: 91 cells (≤4 vertices), 2,532 (≤5), 423,624 (≤7),
    each the first ``(matrix, labeling)`` NB101 meets with that hash. The full space takes some
    seconds; the result is then kept in memory and, for 6 or more vertices, in
    ``cache_dir()`` (an ``.npz`` file checked on load, recomputed when damaged).

    Args:
        max_vertices: vertex limit, 2..7 (input and output included).
        max_edges: edge limit, 1..9.
        show_progress_bar: draw a tqdm progress bar while computing.
        use_cache: reuse an earlier result (in memory and on disk) and store this one; False always
            recomputes and stores nothing.
        n_jobs: processes hashing in parallel (forked; -1 = one per available CPU). The result does
            not depend on it.

    Returns:
        The cells as an :class:`EnumeratedSpace`, ordered by hash.

    Raises:
        ValueError: a limit is out of range.
        TypeError: a limit is not an integer.
    """
    max_vertices = _check_limit("max_vertices", max_vertices, 2, MAX_VERTICES)
    max_edges = _check_limit("max_edges", max_edges, 1, MAX_EDGES)
    if n_jobs == -1:
        n_jobs = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    n_jobs = _check_limit("n_jobs", n_jobs, 1, 1024)
    key = (max_vertices, max_edges)
    if use_cache and key in _MEMO:
        return _MEMO[key]
    path = _cache_path(*key) if use_cache and max_vertices >= _CACHE_MIN_VERTICES else None
    space = _load_cache(path, *key) if path is not None else None
    if space is None:
        with tqdm(
            desc=f"Enumerating cells (≤{max_vertices} vertices)",
            unit=" vertex-rounds",
            unit_scale=True,
            disable=not show_progress_bar,
        ) as bar:

            def advance(amount: int) -> None:
                if amount < 0:
                    bar.reset(total=-amount)
                else:
                    bar.update(amount)

            space = EnumeratedSpace(*_enumerate_arrays(max_vertices, max_edges, advance, n_jobs))
        if path is not None:
            _save_cache(path, space, max_vertices, max_edges)
    if use_cache:
        _MEMO[key] = space
    return space


def enumerate_space(max_vertices: int = MAX_VERTICES, max_edges: int = MAX_EDGES) -> EnumeratedSpace:
    """Every unique cell with at most ``max_vertices`` vertices and ``max_edges`` edges.

    Counts: 91 (≤4 vertices), 2,532 (≤5), 423,624 (≤7). See :class:`EnumeratedSpace`.
    """
    return enumerate_cells(max_vertices=max_vertices, max_edges=max_edges)
