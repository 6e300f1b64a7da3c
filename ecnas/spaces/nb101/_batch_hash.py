"""NB101's md5 hash for many ``(matrix, labeling)`` candidates at once: the engine of the enumeration.

The hash's rounds run for all candidates together: messages are built with numpy from the previous
round's hex digests, and only the md5 itself runs per message. While a round has few distinct messages
(the early rounds), each distinct message is hashed only once. Work can be spread over forked processes.
"""

from __future__ import annotations

import functools
import multiprocessing
import threading
from collections.abc import Callable

import numpy as np

from ecnas.spaces.nb101.cells import INTERIOR_OPS, md5_digest

__all__ = ["hash_candidates"]

_NUM_OPS = len(INTERIOR_OPS)
#: Byte value → its two hex characters, as one little-endian uint16 (so `.view(uint8)` reads them in order).
_HEX_PAIRS = np.array([ord(f"{b:02x}"[0]) | ord(f"{b:02x}"[1]) << 8 for b in range(256)], dtype="<u2")
_BAR = ord("|")
#: Hash a round's messages once per distinct message while the previous round had fewer distinct
#: digests than this fraction of all (candidate, vertex) pairs; later rounds have few repeats.
_DEDUPE_FRACTION = 0.05
#: Messages built and hashed per batch (bounds the memory of one batch to a few tens of MB).
_BATCH_ROWS = 1 << 15


# --------------------------------------------------------------------------------------------------- md5
def _md5_rows(messages: np.ndarray) -> np.ndarray:
    """md5 of each row of a `G x L` uint8 array → `G x 16` uint8 digests."""
    count, length = messages.shape
    data = messages.tobytes()
    digests = b"".join([md5_digest(data[i : i + length]).digest() for i in range(0, count * length, length)])
    return np.frombuffer(digests, dtype=np.uint8).reshape(count, 16)


class _Digests:
    """One round's digests: hex text (`K x 32` uint8) and two sort keys (big-endian halves)."""

    def __init__(self, size: int) -> None:
        self.hex = np.empty((size, 32), dtype=np.uint8)
        self.high = np.empty(size, dtype=np.uint64)
        self.low = np.empty(size, dtype=np.uint64)

    @property
    def size(self) -> int:
        return self.high.size

    def fill(self, start: int, digests: np.ndarray) -> None:
        """Store `G x 16` uint8 digests as rows ``start .. start + G``."""
        rows = slice(start, start + digests.shape[0])
        self.hex[rows] = _HEX_PAIRS.take(digests).view(np.uint8)
        halves = digests.view(">u8")
        self.high[rows] = halves[:, 0]
        self.low[rows] = halves[:, 1]

    def sort_rows(self, ids: np.ndarray) -> np.ndarray:
        """Each row of `ids` reordered by ascending hex digest (the order of Python's ``sorted``)."""
        width = ids.shape[1]
        if width < 2:
            return ids
        high = self.high.take(ids)
        if width == 2:
            swap = high[:, 0] > high[:, 1]
            ids = ids.copy()
            ids[swap] = ids[swap][:, ::-1]
        else:
            ids = np.take_along_axis(ids, np.argsort(high, axis=1, kind="stable"), axis=1)
        high, low = self.high.take(ids), self.low.take(ids)
        ties = np.flatnonzero(np.any((high[:, 1:] == high[:, :-1]) & (low[:, 1:] != low[:, :-1]), axis=1))
        for row in ties:  # different digests with equal first halves: practically never, fixed exactly
            ids[row] = sorted(ids[row].tolist(), key=lambda i: (int(self.high[i]), int(self.low[i])))
        return ids


def _unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact `(first_index, inverse)` of the distinct rows of a non-negative int array."""
    width = rows.shape[1]
    bits = max(1, int(rows.max(initial=0)).bit_length())
    if bits * width <= 63:
        packed = np.zeros(rows.shape[0], dtype=np.int64)
        for column in range(width):
            packed = (packed << bits) | rows[:, column]
        _, first, inverse = np.unique(packed, return_index=True, return_inverse=True)
        return first, inverse.ravel()
    # A random linear fingerprint, then an exact check that equal fingerprints mean equal rows.
    multipliers = np.random.default_rng(101).integers(1, 2**63, size=width, dtype=np.uint64) | np.uint64(1)
    fingerprint = rows.astype(np.uint64) @ multipliers
    _, first, inverse = np.unique(fingerprint, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    if not np.array_equal(rows[first][inverse], rows):  # pragma: no cover - a 64-bit collision
        _, first, inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
    return first, inverse.ravel()


# ------------------------------------------------------------------------------------------- hash rounds
class _Group:
    """The (candidate, vertex) pairs with one in- and out-degree, as flat indices `c * V + v`."""

    def __init__(self, own: np.ndarray, predecessors: np.ndarray, successors: np.ndarray) -> None:
        self.own, self.predecessors, self.successors = own, predecessors, successors


def _degree_groups(matrices: np.ndarray) -> list[_Group]:
    """Group every (candidate, vertex) of the candidates' `C x V x V` matrices by degree."""
    size = matrices.shape[1]
    in_degree = matrices.sum(axis=1, dtype=np.int64).ravel()
    out_degree = matrices.sum(axis=2, dtype=np.int64).ravel()
    degree_key = in_degree * (size + 1) + out_degree
    order = np.argsort(degree_key, kind="stable")
    keys, starts = np.unique(degree_key[order], return_index=True)
    groups = []
    for key, flat in zip(keys.tolist(), np.split(order, starts[1:]), strict=True):
        n_in, n_out = divmod(key, size + 1)
        cells, vertices = np.divmod(flat, size)
        base = (cells * size).astype(np.int32)[:, None]
        # Neighbours in ascending vertex order; each round sorts them by digest.
        preds = np.nonzero(matrices[cells, :, vertices])[1].reshape(flat.size, n_in)
        succs = np.nonzero(matrices[cells, vertices, :])[1].reshape(flat.size, n_out)
        groups.append(_Group(flat.astype(np.int32), base + preds.astype(np.int32), base + succs.astype(np.int32)))
    return groups


def _messages(digests: _Digests, preds: np.ndarray, succs: np.ndarray, own: np.ndarray) -> np.ndarray:
    """NB101's round message ``''.join(preds) + '|' + ''.join(succs) + '|' + own`` (neighbours pre-sorted)."""
    count, n_in, n_out = own.size, preds.shape[1], succs.shape[1]
    message = np.empty((count, 32 * (n_in + n_out + 1) + 2), dtype=np.uint8)
    split = 32 * n_in
    message[:, :split] = digests.hex.take(preds, axis=0).reshape(count, split)
    message[:, split] = _BAR
    message[:, split + 1 : split + 1 + 32 * n_out] = digests.hex.take(succs, axis=0).reshape(count, 32 * n_out)
    message[:, -33] = _BAR
    message[:, -32:] = digests.hex.take(own, axis=0)
    return message


def _round_unit(digests: _Digests, ids: np.ndarray, group: _Group, batch: slice) -> np.ndarray:
    preds = digests.sort_rows(ids.take(group.predecessors[batch]))
    succs = digests.sort_rows(ids.take(group.successors[batch]))
    return _md5_rows(_messages(digests, preds, succs, ids.take(group.own[batch])))


def _message_unit(digests: _Digests, preds: np.ndarray, succs: np.ndarray, own: np.ndarray) -> np.ndarray:
    return _md5_rows(_messages(digests, preds, succs, own))


def _final_unit(digests: _Digests, rows: np.ndarray) -> np.ndarray:
    size = rows.shape[1]
    rows = digests.sort_rows(rows)
    template = np.frombuffer(str(["0" * 32] * size).encode(), dtype=np.uint8)  # "['h0', 'h1', …]"
    message = np.broadcast_to(template, (rows.shape[0], template.size)).copy()
    for vertex in range(size):
        message[:, 2 + 36 * vertex : 34 + 36 * vertex] = digests.hex.take(rows[:, vertex], axis=0)
    return _md5_rows(message)


def _next_round(digests: _Digests, ids: np.ndarray, groups: list[_Group], n_jobs: int) -> tuple[_Digests, np.ndarray]:
    """One round of the hash. `ids` maps each flat (candidate, vertex) to its row of `digests`."""
    new_ids = np.empty_like(ids)
    units: list[Callable[[], np.ndarray]] = []
    if digests.size < _DEDUPE_FRACTION * ids.size:
        # Few distinct inputs: equal (sorted preds, sorted succs, own) rows have equal messages.
        total = 0
        for group in groups:
            preds = digests.sort_rows(ids.take(group.predecessors))
            succs = digests.sort_rows(ids.take(group.successors))
            own = ids.take(group.own)
            first, inverse = _unique_rows(np.concatenate([preds, succs, own[:, None]], axis=1))
            new_ids[group.own] = total + inverse
            for start in range(0, first.size, _BATCH_ROWS):
                batch = first[start : start + _BATCH_ROWS]
                units.append(functools.partial(_message_unit, digests, preds[batch], succs[batch], own[batch]))
            total += first.size
    else:
        total = ids.size
        new_ids[np.concatenate([group.own for group in groups])] = np.arange(total)  # rows in group order
        for group in groups:
            for start in range(0, group.own.size, _BATCH_ROWS):
                units.append(functools.partial(_round_unit, digests, ids, group, slice(start, start + _BATCH_ROWS)))
    new = _Digests(total)
    stored = 0
    for hashed in _run(units, n_jobs):
        new.fill(stored, hashed)
        stored += hashed.shape[0]
    return new, new_ids


def _final_hashes(digests: _Digests, ids: np.ndarray, size: int, n_jobs: int) -> np.ndarray:
    """``md5(str(sorted(h)))`` per candidate → hex hashes (`S32`)."""
    rows = ids.reshape(-1, size)
    units = [
        functools.partial(_final_unit, digests, rows[start : start + _BATCH_ROWS])
        for start in range(0, rows.shape[0], _BATCH_ROWS)
    ]
    hashes = _Digests(rows.shape[0])
    stored = 0
    for hashed in _run(units, n_jobs):
        hashes.fill(stored, hashed)
        stored += hashed.shape[0]
    return hashes.hex.view("S32").ravel()


# ------------------------------------------------------------------------------------- worker processes
_UNITS: list[Callable[[], np.ndarray]] = []
_UNITS_LOCK = threading.Lock()


def _run_units(bounds: tuple[int, int]) -> list[np.ndarray]:
    """In a forked worker: run the inherited units ``start .. stop``."""
    return [_UNITS[index]() for index in range(*bounds)]


def _run(units: list[Callable[[], np.ndarray]], n_jobs: int) -> list[np.ndarray]:
    """Run independent units of work, results in order; with ``n_jobs > 1`` spread over forked processes.

    Forked workers inherit the units (and the arrays they hold) instead of receiving them pickled;
    only digests travel back.
    """
    if n_jobs == 1 or len(units) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return [unit() for unit in units]
    global _UNITS
    parts = [part.tolist() for part in np.array_split(np.arange(len(units)), min(n_jobs, len(units)))]
    with _UNITS_LOCK:
        _UNITS = units
        try:
            with multiprocessing.get_context("fork").Pool(len(parts) - 1) as pool:
                pending = pool.map_async(_run_units, [(part[0], part[-1] + 1) for part in parts[1:]])
                results = [units[index]() for index in parts[0]]
                for part_results in pending.get():
                    results.extend(part_results)
        finally:
            _UNITS = []
    return results


def hash_candidates(
    matrices: np.ndarray, labels: np.ndarray, tick: Callable[[], object], n_jobs: int = 1
) -> np.ndarray:
    """NB101's hash of every candidate (`C x V x V` matrices, `C x V` labelings) → `C` hashes (`S32`)."""
    size = matrices.shape[1]
    # Round 0: md5(str((out_degree, in_degree, label))), once per distinct triple.
    out_degree = matrices.sum(axis=2).astype(np.int64)
    in_degree = matrices.sum(axis=1).astype(np.int64)
    codes = ((out_degree * size + in_degree) * (_NUM_OPS + 2) + labels + 2).ravel()
    present = np.flatnonzero(np.bincount(codes))
    lookup = np.zeros(present[-1] + 1, dtype=np.int32)
    lookup[present] = np.arange(present.size)
    ids = lookup[codes].astype(np.int32)
    triples = []
    for code in present.tolist():
        degrees, label = divmod(code, _NUM_OPS + 2)
        triples.append(md5_digest(str((*divmod(degrees, size), label - 2)).encode()).digest())
    digests = _Digests(present.size)
    digests.fill(0, np.frombuffer(b"".join(triples), dtype=np.uint8).reshape(-1, 16))
    tick()
    groups = _degree_groups(matrices)
    for _ in range(size):
        digests, ids = _next_round(digests, ids, groups, n_jobs)
        tick()
    return _final_hashes(digests, ids, size, n_jobs)
