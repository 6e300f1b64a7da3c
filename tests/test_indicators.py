"""ecnas.indicators against moocore and against independent brute-force computations."""

from __future__ import annotations

import itertools

import moocore
import numpy as np
import pytest

from ecnas import indicators as ind

# ------------------------------------------------------------------------------------ brute force


def brute_nondominated(F: np.ndarray, keep_duplicates: bool) -> np.ndarray:
    n = F.shape[0]
    mask = np.ones(n, dtype=bool)
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            dominates = np.all(F[j] <= F[i]) and np.any(F[j] < F[i])
            earlier_copy = not keep_duplicates and j < i and np.all(F[j] == F[i])
            if dominates or earlier_copy:
                mask[i] = False
    return mask


def brute_hv_2d(F: np.ndarray, ref: np.ndarray) -> float:
    """Union of boxes on the grid of all coordinates: sum the cells some point dominates."""
    pts = [p for p in np.asarray(F, dtype=float) if p[0] < ref[0] and p[1] < ref[1]]
    if not pts:
        return 0.0
    xs = sorted({p[0] for p in pts} | {ref[0]})
    ys = sorted({p[1] for p in pts} | {ref[1]})
    total = 0.0
    for (x_lo, x_hi), (y_lo, y_hi) in itertools.product(itertools.pairwise(xs), itertools.pairwise(ys)):
        if any(p[0] <= x_lo and p[1] <= y_lo for p in pts):
            total += (x_hi - x_lo) * (y_hi - y_lo)
    return total


def brute_contributions_2d(F: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """HV(S) - HV(S without p) over S = distinct non-dominated points; duplicates and dominated get 0."""
    out = np.zeros(len(F))
    nd = brute_nondominated(F, keep_duplicates=True)
    unique_front = {tuple(p) for p in F[nd]}
    full = brute_hv_2d(np.array(sorted(unique_front)), ref) if unique_front else 0.0
    for i, p in enumerate(F):
        if not nd[i] or int(np.equal(F, p).all(axis=1).sum()) > 1:
            continue
        rest = [q for q in unique_front if q != tuple(p)]
        out[i] = full - (brute_hv_2d(np.array(rest), ref) if rest else 0.0)
    return out


def brute_attainment(fronts: list[np.ndarray], level: int) -> np.ndarray:
    """Minimal grid points attained by at least `level` runs (grid = all coordinates that occur)."""
    allpts = np.vstack([f for f in fronts if len(f)])
    gx, gy = np.meshgrid(np.unique(allpts[:, 0]), np.unique(allpts[:, 1]), indexing="ij")
    grid = np.c_[gx.ravel(), gy.ravel()]
    count = np.zeros(len(grid), dtype=int)
    for f in fronts:
        if len(f):
            count += ((f[None, :, 0] <= grid[:, None, 0]) & (f[None, :, 1] <= grid[:, None, 1])).any(axis=1)
    arr = grid[count >= level]
    # a grid point is minimal when no other attained grid point is <= in both coordinates
    le = (arr[None, :, 0] <= arr[:, None, 0]) & (arr[None, :, 1] <= arr[:, None, 1])
    minimal = le.sum(axis=1) == 1
    arr = arr[minimal]
    return arr[np.lexsort((arr[:, 1], arr[:, 0]))]


def random_front(rng: np.random.Generator, n: int, m: int = 2, integer: bool = False) -> np.ndarray:
    if integer:  # many ties and duplicates
        return rng.integers(0, 6, size=(n, m)).astype(float)
    return rng.random((n, m))


# --------------------------------------------------------------------------------- non-dominated


@pytest.mark.parametrize("m", [2, 3, 4])
@pytest.mark.parametrize("integer", [False, True])
def test_is_nondominated_matches_brute_force(m: int, integer: bool) -> None:
    rng = np.random.default_rng(10 * m + integer)
    for _ in range(20):
        F = random_front(rng, int(rng.integers(1, 40)), m, integer)
        for keep in (False, True):
            np.testing.assert_array_equal(ind.is_nondominated(F, keep_duplicates=keep), brute_nondominated(F, keep))


def test_duplicates_keep_first_copy_by_default() -> None:
    F = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    assert ind.is_nondominated(F).tolist() == [True, False, True, False, False]
    assert ind.is_nondominated(F, keep_duplicates=True).tolist() == [True, False, True, True, True]
    np.testing.assert_array_equal(ind.nondominated(F), [[1.0, 0.0], [0.0, 1.0]])
    assert ind.nondominated(np.zeros((0, 2))).shape == (0, 2)
    assert ind.is_nondominated(np.zeros((0, 3))).shape == (0,)


# ----------------------------------------------------------------------------------- hypervolume


@pytest.mark.parametrize("integer", [False, True])
def test_hypervolume_matches_moocore_and_brute_force(integer: bool) -> None:
    rng = np.random.default_rng(1 + integer)
    for _ in range(40):
        F = random_front(rng, int(rng.integers(1, 30)), 2, integer)
        ref = np.array([5.0, 4.0]) if integer else rng.uniform(0.5, 1.2, size=2)
        hv = ind.hypervolume(F, ref)
        assert hv == pytest.approx(moocore.hypervolume(F, ref=ref), rel=1e-12, abs=1e-12)
        assert hv == pytest.approx(brute_hv_2d(F, ref), rel=1e-10, abs=1e-12)


def test_hypervolume_hand_made_and_ignores_points_outside_ref() -> None:
    F = np.array([[5, 5], [4, 6], [2, 7], [7, 4]])
    assert ind.hypervolume(F, [10, 10]) == 38.0  # moocore's documented example
    assert ind.hypervolume([[1, 1], [2, 0.5], [0.5, 5], [3, 3]], [3, 3]) == pytest.approx(4.5)
    assert ind.hypervolume([[3, 1], [4, 0]], [3, 3]) == 0.0  # on / beyond the reference: nothing
    assert ind.hypervolume(np.zeros((0, 2)), [1, 1]) == 0.0


def test_hypervolume_3d_matches_moocore() -> None:
    rng = np.random.default_rng(3)
    F = rng.random((50, 3))
    assert ind.hypervolume(F, np.ones(3)) == pytest.approx(moocore.hypervolume(F, ref=np.ones(3)))


@pytest.mark.parametrize(
    ("F", "ref", "match"),
    [
        ([1.0, 2.0], [3, 3], "`F` must be a 2-D"),
        ([[1.0, np.nan]], [3, 3], "`F` must hold finite"),
        ([[1.0, 2.0]], [3, 3, 3], r"`ref` must be a vector with one entry per objective \(shape \(2,\)\)"),
        ([[1.0, 2.0]], [3, np.inf], "`ref` must hold finite"),
        ([["a", 2.0]], [3, 3], "`F` must be a numeric"),
    ],
)
def test_hypervolume_validation_names_the_argument(F: object, ref: object, match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        ind.hypervolume(F, ref)


# --------------------------------------------------------------------------------- contributions


@pytest.mark.parametrize("integer", [False, True])
def test_contributions_2d_match_moocore_and_brute_force(integer: bool) -> None:
    rng = np.random.default_rng(7 + integer)
    for _ in range(40):
        F = random_front(rng, int(rng.integers(1, 25)), 2, integer)
        ref = np.array([5.0, 5.0]) if integer else np.array([0.9, 1.1])
        c = ind.hypervolume_contributions(F, ref)
        np.testing.assert_allclose(c, moocore.hv_contributions(F, ref=ref), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(c, brute_contributions_2d(F, ref), rtol=1e-10, atol=1e-12)


def test_contributions_hand_made() -> None:
    F = np.array([[5, 1], [1, 5], [4, 2], [4, 4], [5, 1]], dtype=float)
    # duplicates (5,1) -> 0; (1,5): 3 x 1; (4,2): 1 x 3; (4,4) dominated -> 0 (moocore's example)
    np.testing.assert_allclose(ind.hypervolume_contributions(F, [6, 6]), [0, 3, 3, 0, 0])


def test_contributions_3d_match_moocore_and_need_two_objectives() -> None:
    rng = np.random.default_rng(5)
    F = rng.random((40, 3))
    expected = moocore.hv_contributions(F, ref=np.ones(3))
    np.testing.assert_allclose(ind.hypervolume_contributions(F, np.ones(3)), expected)
    with pytest.raises(ValueError, match="at least 2 objective"):
        ind.hypervolume_contributions([[1.0], [2.0]], [3.0])


# --------------------------------------------------------------------------------------- traces


@pytest.mark.parametrize(("m", "integer"), [(2, False), (2, True), (3, False), (3, True)])
def test_hypervolume_trace_equals_recomputation(m: int, integer: bool) -> None:
    rng = np.random.default_rng(20 + m + integer)
    F = random_front(rng, 150, m, integer)
    ref = np.full(m, 4.5 if integer else 0.95)
    trace = ind.hypervolume_trace(F, ref)
    expected = [moocore.hypervolume(F[: t + 1], ref=ref) for t in range(len(F))]
    np.testing.assert_allclose(trace, expected, rtol=1e-9, atol=1e-12)
    assert np.all(np.diff(trace) >= -1e-12)
    if m == 2:
        for t in (0, 10, 75, 149):
            assert trace[t] == pytest.approx(brute_hv_2d(F[: t + 1], ref), rel=1e-9, abs=1e-12)


def test_hypervolume_trace_hand_made() -> None:
    F = [[2, 2], [3, 3], [1, 3], [0.5, 5], [2, 2], [1, 1]]
    np.testing.assert_allclose(ind.hypervolume_trace(F, [4, 4]), [4, 4, 5, 5, 5, 9])
    with pytest.raises(ValueError, match="`F_history`"):
        ind.hypervolume_trace([[1.0, np.nan]], [4, 4])


# ------------------------------------------------------------------------------------ attainment


def test_attainment_three_runs_hand_made() -> None:
    fronts = [np.array([[1.0, 3.0], [3.0, 1.0]]), np.array([[2.0, 2.0]]), np.array([[4.0, 4.0]])]
    surfaces = ind.attainment_surfaces(fronts, levels=(25, 50, 75))
    assert [s.level for s in surfaces.values()] == [1, 2, 3]
    np.testing.assert_array_equal(surfaces[25].points, [[1, 3], [2, 2], [3, 1]])  # best of all runs
    np.testing.assert_array_equal(surfaces[50].points, [[2, 3], [3, 2]])  # attained by 2 of 3 runs
    np.testing.assert_array_equal(surfaces[75].points, [[4, 4]])  # attained by every run
    x, y = surfaces[50].staircase((5, 5))
    np.testing.assert_array_equal(x, [2, 2, 3, 3, 5])
    np.testing.assert_array_equal(y, [5, 3, 3, 2, 2])


def test_attainment_with_an_empty_run_and_unreachable_level() -> None:
    fronts = [np.array([[1.0, 3.0], [3.0, 1.0]]), np.zeros((0, 2)), np.array([[4.0, 4.0]])]
    surfaces = ind.attainment_surfaces(fronts, levels=(50, 100))
    np.testing.assert_array_equal(surfaces[50].points, [[4, 4]])
    assert surfaces[100].points.shape == (0, 2) and surfaces[100].level == 3
    assert surfaces[100].staircase((5, 5))[0].size == 0


def test_attainment_matches_brute_force_eaf() -> None:
    rng = np.random.default_rng(11)
    for _ in range(10):
        fronts = [random_front(rng, int(rng.integers(1, 8)), 2, integer=bool(rng.integers(2))) for _ in range(5)]
        surfaces = ind.attainment_surfaces(fronts, levels=(20, 40, 50, 60, 100))
        for p, surface in surfaces.items():
            level = int(np.ceil(5 * p / 100 - 1e-9))
            assert surface.level == level
            np.testing.assert_allclose(surface.points, brute_attainment(fronts, level))


def test_attainment_validation() -> None:
    with pytest.raises(ValueError, match="`levels`"):
        ind.attainment_surfaces([np.ones((1, 2))], levels=(0,))
    with pytest.raises(ValueError, match=r"`fronts\[1\]` must have 2 objective"):
        ind.attainment_surfaces([np.ones((1, 2)), np.ones((1, 3))])
    with pytest.raises(ValueError, match="`fronts` must hold at least one run"):
        ind.attainment_surfaces([])
    with pytest.raises(ValueError, match="single 2-D array"):
        ind.attainment_surfaces(np.ones((3, 2)))
    with pytest.raises(ValueError, match="`upper`"):
        ind.attainment_surfaces([np.array([[1.0, 3.0]])])[50].staircase((0.5, 5))


# ------------------------------------------------------------------------------ extremes, knee


def test_extremes_with_ties() -> None:
    F = np.array([[0.1, 0.9], [0.1, 0.8], [0.5, 0.5], [0.9, 0.1], [0.95, 0.1], [0.1, 0.8]])
    assert ind.extremes(F) == (1, 3)  # ties on the best value broken by the other objective, first copy
    assert ind.extremes([[1.0, 1.0]]) == (0, 0)
    with pytest.raises(ValueError, match="`F` must have 2 objective"):
        ind.extremes(np.ones((3, 3)))
    with pytest.raises(ValueError, match="at least 1 point"):
        ind.extremes(np.zeros((0, 2)))


def test_knee_on_hand_made_convex_front() -> None:
    F = np.array([[0.0, 1.0], [0.1, 0.3], [0.5, 0.2], [1.0, 0.0], [0.6, 0.6]])
    assert ind.knee_point(F) == 1  # 1 - 0.1 - 0.3 = 0.6 beats 1 - 0.5 - 0.2 = 0.3
    scaled = F * np.array([1.0, 1000.0]) + np.array([5.0, 0.0])  # units do not matter
    assert ind.knee_point(scaled) == 1
    assert ind.knee_point(F[::-1]) == 3  # same point, reversed rows


def test_knee_ignores_dominated_points_and_small_fronts() -> None:
    F = np.array([[0.0, 1.0], [0.05, 0.05], [1.0, 0.0], [0.02, 0.02]])
    # (0.02, 0.02) dominates (0.05, 0.05) and is the knee.
    assert ind.knee_point(F) == 3
    assert ind.knee_point([[0.3, 0.3]]) == 0
    assert ind.knee_point([[0.5, 0.1], [0.2, 0.9]]) == 1  # two points: r0 (best objective 0)


def test_knee_on_concave_front_is_interior_point_nearest_the_chord() -> None:
    t = np.linspace(0.0, np.pi / 2, 7)
    F = np.c_[np.sin(t), np.cos(t)]  # concave: bulges away from the ideal point (0, 0)
    F = F[[0, 6, 1, 5, 2, 4, 3]]
    knee = ind.knee_point(F)
    assert knee not in ind.extremes(F)
    assert F[knee].tolist() in (F[2].tolist(), F[3].tolist())  # neighbours of the extremes
