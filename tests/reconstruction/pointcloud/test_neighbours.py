import numpy as np
import pytest

from reconstruction.pointcloud import neighbours as neighbours_module
from reconstruction.pointcloud.neighbours import NeighbourTree, bounds, plan_order


def _brute_force(xyz: np.ndarray, i: int, k: int, allowed: np.ndarray) -> np.ndarray:
    return np.sort(np.linalg.norm(xyz[allowed] - xyz[i], axis=1))[:k]


@pytest.mark.parametrize("offset", [0.0, 6.5e6])  # local metres, and Lambert-93 northings
def test_neighbours_match_a_brute_force_search_far_from_the_origin(offset):
    rng = np.random.default_rng(3)
    xyz = rng.uniform(0, 300, (500, 3)) + offset
    tree = NeighbourTree(xyz)
    points = np.arange(0, 500, 7)
    dist, index = tree.neighbours(points, 5)
    for row, i in enumerate(points):
        assert dist[row] == pytest.approx(_brute_force(xyz, i, 5, np.ones(500, bool)), abs=1e-4)
        assert index[row, 0] == i  # the point itself, at distance 0
    assert dist.dtype == np.float64 and index.dtype == np.intp


def test_nearest_others_leave_out_the_point_its_skipped_ones_but_not_its_duplicates():
    rng = np.random.default_rng(4)
    xyz = rng.uniform(0, 10, (300, 3))
    xyz[100:112] = xyz[5]  # twelve duplicates of point 5: more than k + 1, so 5 may not find itself
    skip = rng.random(300) < 0.3
    skip[5] = False
    points = np.array([5, *np.flatnonzero(~skip)[:40]])
    dist, index = NeighbourTree(xyz).nearest_others(points, 8, skip)
    for row, i in enumerate(points):
        allowed = ~skip & (np.arange(300) != i)
        assert dist[row] == pytest.approx(_brute_force(xyz, i, 8, allowed), abs=1e-5)
        assert i not in index[row] and not skip[index[row]].any()
    assert (dist[0] == 0).all()  # point 5's nearest others are its duplicates


def test_too_few_points_left_give_inf_and_the_index_past_the_end():
    xyz = np.random.default_rng(5).uniform(0, 10, (20, 3))
    skip = np.ones(20, bool)
    skip[:3] = False
    dist, index = NeighbourTree(xyz).neighbours(np.array([0]), 5, skip)
    assert np.isfinite(dist[0, :3]).all() and np.isinf(dist[0, 3:]).all()
    assert (index[0, 3:] == 20).all()


def test_the_order_is_a_permutation_that_groups_points_by_place():
    rng = np.random.default_rng(6)
    xyz = rng.uniform(0, 1000, (20_000, 3))
    order = plan_order(xyz)
    assert np.array_equal(np.sort(order), np.arange(20_000))
    steps = np.linalg.norm(np.diff(xyz[order, :2], axis=0), axis=1)
    assert np.median(steps) < 0.1 * np.median(np.linalg.norm(np.diff(xyz[:, :2], axis=0), axis=1))


def test_a_cloud_wider_than_16_km_keeps_64_bit_positions():
    rng = np.random.default_rng(7)
    xyz = np.r_[rng.uniform(0, 1, (50, 3)), [[20_000.0, 0, 0]]]
    dist, _ = NeighbourTree(xyz).neighbours(np.arange(50), 2)
    expected = [_brute_force(xyz, i, 2, np.ones(51, bool))[1] for i in range(50)]
    assert dist[:, 1] == pytest.approx(expected, rel=1e-9)  # 32-bit positions 10 km out would be 1 mm apart


def test_bounds_are_each_columns_lowest_and_highest_value():
    xyz = np.random.default_rng(8).normal(size=(1000, 3)) * [1, 100, 1e4] + [6.5e6, 0, -3]
    low, high = bounds(xyz)
    assert np.array_equal(low, xyz.min(axis=0)) and np.array_equal(high, xyz.max(axis=0))
    assert low.dtype == high.dtype == np.float64
    low32, _ = bounds(xyz.astype(np.float32))
    assert low32.dtype == np.float64 and np.array_equal(low32, xyz.astype(np.float32).min(axis=0))


@pytest.mark.parametrize("spacings", [8.0, 1.0])  # 16-bit cell numbers (radix sort), and too many cells for them
def test_the_plan_order_sorts_cells_row_by_row_and_keeps_ties_in_input_order(spacings, monkeypatch):
    monkeypatch.setattr(neighbours_module, "_ORDER_CELL_SPACINGS", spacings)
    n = 80_000
    xy = np.random.default_rng(9).uniform(0, 1000, (n, 2))
    order = plan_order(xy)
    spacing = np.sqrt(np.prod(xy.max(axis=0) - xy.min(axis=0)) / n)
    cell = ((xy - xy.min(axis=0)) / (spacings * spacing)).astype(np.int64)
    key = cell[:, 1] * (cell[:, 0].max() + 1) + cell[:, 0]
    assert (key.max() < 2**16) == (spacings == 8.0)
    assert np.array_equal(order, np.lexsort((np.arange(n), key)))


def test_the_plan_view_is_the_tree_of_the_points_xy():
    rng = np.random.default_rng(10)
    xyz = rng.uniform(0, 50, (2000, 3)) + [770000.0, 6277000.0, 30.0]
    points = np.arange(0, 2000, 13)
    plan = NeighbourTree(xyz).plan_view()
    assert plan.n == 2000
    dist, index = plan.neighbours(points, 6)
    expected_dist, expected_index = NeighbourTree(xyz[:, :2]).neighbours(points, 6)
    assert np.array_equal(dist, expected_dist) and np.array_equal(index, expected_index)


def test_neighbours_of_a_range_are_the_neighbours_of_those_points():
    xyz = np.random.default_rng(11).uniform(0, 30, (700, 3))
    tree = NeighbourTree(xyz)
    dist, index = tree.neighbours_of_range(100, 350, 9)
    expected_dist, expected_index = tree.neighbours(np.arange(100, 350), 9)
    assert dist.dtype == np.float32  # the tree's own precision, not copied
    assert np.array_equal(dist, expected_dist) and np.array_equal(index, expected_index)
