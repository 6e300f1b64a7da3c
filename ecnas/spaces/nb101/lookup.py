"""Finding table rows: by NB101 hash in vectorised batches, and by cell structure without hashing.

Both indexes answer "which row holds this cell?" for :class:`ecnas.Benchmark` and the builder.

- :class:`HashIndex`: hex hashes become pairs of 64-bit integers (the hex order is the numeric order),
  so a batch is found by an integer binary search instead of comparing 32-byte strings.
- :class:`StructureIndex`: a query by CellSpec used to spend ~70 µs in NB101's hash (57 md5 rounds run
  from Python). A table already stores every cell's pruned matrix and ops in one vertex order, so the
  row can be found structurally instead: encode the query under every order of its interior vertices
  (at most 5! = 120, as 64-bit integers) and binary-search those codes among the table's codes. A
  match means the query is isomorphic to the stored cell, hence has the same NB101 hash (the hash is
  isomorphism invariant). No match proves nothing (NB101 merges the rare non-isomorphic cells its hash
  cannot tell apart), so callers fall back to the hash then.

Structure code layout (uint64): bit ``7 i + j`` = edge ``i → j`` of the zero-padded 7 x 7 matrix;
bits 49..58 = the ops of interior vertices 1..5, two bits each (feature op code - 2); bits 59..61 =
vertex count; bit 63 marks a vertex order that turns an edge backward.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np

from ecnas.spaces.nb101.cells import FEATURE_OP_CODES, INTERIOR_OPS, MAX_VERTICES, CellSpec

__all__ = ["HashIndex", "StructureIndex", "encode_padded", "hash_words"]

_OPS_SHIFT = MAX_VERTICES * MAX_VERTICES
_SIZE_SHIFT = _OPS_SHIFT + 2 * (MAX_VERTICES - 2)
_BACKWARD = np.uint64(1 << 63)
_FIRST_INTERIOR_CODE = min(FEATURE_OP_CODES[op] for op in INTERIOR_OPS)
_OP_VALUE = {op: FEATURE_OP_CODES[op] - _FIRST_INTERIOR_CODE for op in INTERIOR_OPS}


_HASH_LENGTH = 32


def _pair_table() -> np.ndarray:
    """Byte value of every pair of hex characters, indexed by the pair read as a little-endian uint16.

    Pairs that are not two lowercase hex digits map to 0x100, a flag no byte value carries.
    """
    digit = np.full(256, -1, dtype=np.int32)
    digit[np.frombuffer(b"0123456789abcdef", dtype=np.uint8)] = np.arange(16)
    high = digit[np.arange(1 << 16) & 0xFF]  # the first character is the low byte
    low = digit[np.arange(1 << 16) >> 8]
    return np.where((high >= 0) & (low >= 0), (high << 4) | low, 0x100).astype(np.uint16)


_PAIR_BYTES = _pair_table()
_PAIR_FLAGS = np.uint64(0x0100_0100_0100_0100)  # the 0x100 flag of four uint16 pairs read as one uint64
_NON_ASCII = np.uint64(0xFFFF_FF80_FFFF_FF80)  # any bit above 7 in two UCS-4 characters


def hash_words(hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """NB101 hashes (`S` or `U` array of 32 lowercase hex characters) as `N x 2` uint64, high word first.

    Sixteen lookups of a 64k-entry table per hash (one per character pair) instead of string
    comparisons: the integer order equals the string order, so sorted hash columns stay sorted.

    Returns:
        The words, and which entries are well-formed (others get arbitrary words and match nothing).
    """
    hashes = np.asarray(hashes)
    if hashes.dtype.kind not in "SU" or hashes.ndim != 1:
        raise ValueError(f"hashes must be a 1-d array of strings, got dtype {hashes.dtype} and shape {hashes.shape}")
    if not hashes.dtype.isnative:  # e.g. '>U32': the characters are read as native integers below
        hashes = hashes.astype(hashes.dtype.newbyteorder("="))
    n = len(hashes)
    unit = np.dtype(np.uint8 if hashes.dtype.kind == "S" else np.uint32)  # numpy stores U as UCS-4
    width = hashes.dtype.itemsize // unit.itemsize
    if width < _HASH_LENGTH:
        return np.zeros((n, 2), np.uint64), np.zeros(n, bool)
    characters = np.ascontiguousarray(hashes).view(unit).reshape(n, width)
    valid = np.ones(n, bool)
    if width > _HASH_LENGTH:  # a wider dtype: the characters past 32 must be padding
        valid &= ~characters[:, _HASH_LENGTH:].any(axis=1)
        characters = np.ascontiguousarray(characters[:, :_HASH_LENGTH])
    if unit.itemsize > 1:
        valid &= (np.bitwise_or.reduce(characters.view(np.uint64), axis=1) & _NON_ASCII) == 0
        characters = characters.astype(np.uint8)
    pairs = _PAIR_BYTES[characters.view("<u2")]
    quads = pairs.view(np.uint64)
    valid &= ((quads[:, 0] | quads[:, 1] | quads[:, 2] | quads[:, 3]) & _PAIR_FLAGS) == 0
    return pairs.astype(np.uint8).view(">u8").astype(np.uint64), valid


class HashIndex:
    """Rows of a table's sorted hash column, found for whole batches of hashes at once.

    Args:
        sorted_hashes: the table's `S32` hash column, strictly ascending.
    """

    def __init__(self, sorted_hashes: np.ndarray) -> None:
        words, valid = hash_words(sorted_hashes)
        if not valid.all():
            bad = np.asarray(sorted_hashes)[~valid][0]
            raise ValueError(f"sorted_hashes holds {bad!r}, not an NB101 hash (32 lowercase hex characters)")
        self._high = np.ascontiguousarray(words[:, 0])
        self._low = np.ascontiguousarray(words[:, 1])
        # Equal high words (chance ~1e-9 for a full table) would make one binary search ambiguous.
        if len(self._high) > 1 and not (self._high[1:] > self._high[:-1]).all():
            order = np.lexsort((self._low, self._high))
            if not (order == np.arange(len(order))).all():
                raise ValueError("sorted_hashes must be sorted ascending")
            self._unique_high = False
        else:
            self._unique_high = True

    def __len__(self) -> int:
        return len(self._high)

    def find(self, keys: np.ndarray) -> np.ndarray:
        """Row of each hash in ``keys`` (`S`/`U` array); -1 where the table does not hold it."""
        words, valid = hash_words(keys)
        if not len(self._high):
            return np.full(len(words), -1, dtype=np.intp)
        high, low = words[:, 0], words[:, 1]
        # Searching in sorted order keeps the table's memory access sequential: ~5x faster for big batches.
        order = np.argsort(high)
        rows = np.empty(len(order), dtype=np.intp)
        rows[order] = self._high.searchsorted(high[order])
        if not self._unique_high:  # rare: rows sharing a high word are ordered by their low word
            ends = self._high.searchsorted(high, side="right")
            for k in np.flatnonzero(ends - rows > 1).tolist():
                rows[k] += int(self._low[rows[k] : ends[k]].searchsorted(low[k]))
        np.minimum(rows, len(self._high) - 1, out=rows)
        found = valid & (self._high[rows] == high) & (self._low[rows] == low)
        return np.where(found, rows, -1)


def encode_padded(matrices: np.ndarray, op_codes: np.ndarray) -> np.ndarray:
    """Structure codes of stored cells (`N x 7 x 7` padded matrices, `N x 7` feature op codes), as stored."""
    # Column by column: numpy reductions over a short axis cost ~10x more than these whole-column steps.
    n = len(matrices)
    adjacency = np.zeros((n, 8), dtype=np.uint8)
    adjacency[:, :7] = np.packbits(np.asarray(matrices).reshape(n, _OPS_SHIFT), axis=1, bitorder="little")
    codes = adjacency.view("<u8").ravel().astype(np.uint64)
    op_codes = np.asarray(op_codes)
    sizes = np.zeros(n, dtype=np.int64)
    for column in op_codes.T:
        sizes += column != 0
    for vertex in range(1, MAX_VERTICES - 1):
        value = op_codes[:, vertex].astype(np.int64) - _FIRST_INTERIOR_CODE
        value[vertex >= sizes - 1] = 0  # the output or padding, not an interior op
        codes |= value.astype(np.uint64) << np.uint64(_OPS_SHIFT + 2 * (vertex - 1))
    codes |= sizes.astype(np.uint64) << np.uint64(_SIZE_SHIFT)
    return codes


@functools.lru_cache(maxsize=MAX_VERTICES + 1)
def _code_terms(num_vertices: int) -> np.ndarray:
    """What each feature of a ``num_vertices`` cell adds to its code, under every order of its interior vertices.

    Row ``V i + j`` = edge ``i → j``; row ``V² + 3 (t - 1) + value`` = op ``value`` on interior vertex
    ``t``; last row = the vertex count. Columns = the orders (input and output stay put). A cell's
    codes are the column-wise ORs over the rows of its edges, ops and size.
    """
    interior = range(1, num_vertices - 1)
    positions = np.array(
        [[0, *order, num_vertices - 1] for order in itertools.permutations(interior)], dtype=np.int64
    ).reshape(-1, num_vertices)
    bits = MAX_VERTICES * positions[:, :, None] + positions[:, None, :]
    # An edge an order turns backward cannot be in a stored (upper-triangular) matrix: such codes get
    # the top bit, which sorts them past every stored code so the search can skip them.
    backward = positions[:, :, None] > positions[:, None, :]
    edges = np.where(backward, _BACKWARD, np.left_shift(np.uint64(1), bits.astype(np.uint64)))
    values = np.arange(len(INTERIOR_OPS), dtype=np.uint64)
    ops = values << (_OPS_SHIFT + 2 * (positions[:, 1 : num_vertices - 1, None] - 1)).astype(np.uint64)
    size = np.full((len(positions), 1), num_vertices << _SIZE_SHIFT, dtype=np.uint64)
    terms = np.hstack([edges.reshape(len(positions), -1), ops.reshape(len(positions), -1), size])
    return np.ascontiguousarray(terms.T)


class StructureIndex:
    """Rows of a table's cells by structure: :meth:`find` returns the row of any relabelling of a stored cell.

    Args:
        matrices: `N x 7 x 7` zero-padded adjacency of the table's rows.
        op_codes: `N x 7` feature op codes of the table's rows (0 = padding).
    """

    def __init__(self, matrices: np.ndarray, op_codes: np.ndarray) -> None:
        codes = encode_padded(matrices, op_codes)
        self._order = np.argsort(codes)
        # A sentinel above every code keeps binary-search positions inside the array.
        self._codes = np.append(codes[self._order], _BACKWARD)

    def __len__(self) -> int:
        return len(self._order)

    def find(self, spec: CellSpec) -> int:
        """Row of the stored cell isomorphic to ``spec``; -1 when none is (then compare NB101 hashes)."""
        num_vertices = spec.num_vertices
        if num_vertices > MAX_VERTICES:
            return -1
        # The fewest numpy calls: each costs ~1 µs, the arithmetic itself is nothing.
        rows = np.flatnonzero(spec.matrix).tolist()
        first_op = num_vertices * num_vertices - 3
        rows += [first_op + 3 * t + _OP_VALUE[op] for t, op in enumerate(spec.ops[1:-1], start=1)]
        rows.append(-1)
        codes = np.bitwise_or.reduce(_code_terms(num_vertices)[rows], axis=0)
        codes.sort()  # sorted keys keep the binary search in cache (~18 µs for 120 scattered ones)
        codes = codes[: codes.searchsorted(_BACKWARD)]  # the orders that keep every edge forward
        if not codes.size:  # only for a matrix that is not upper-triangular, which CellSpec rejects
            return -1
        where = self._codes.searchsorted(codes)
        matched = self._codes[where] == codes
        k = int(matched.argmax())
        return int(self._order[where[k]]) if matched[k] else -1
