import numpy as np
import pytest

from reconstruction.pointcloud.neighbours import NeighbourTree


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
    order = NeighbourTree(xyz).order
    assert np.array_equal(np.sort(order), np.arange(20_000))
    steps = np.linalg.norm(np.diff(xyz[order, :2], axis=0), axis=1)
    assert np.median(steps) < 0.1 * np.median(np.linalg.norm(np.diff(xyz[:, :2], axis=0), axis=1))


def test_a_cloud_wider_than_16_km_keeps_64_bit_positions():
    rng = np.random.default_rng(7)
    xyz = np.r_[rng.uniform(0, 1, (50, 3)), [[20_000.0, 0, 0]]]
    dist, _ = NeighbourTree(xyz).neighbours(np.arange(50), 2)
    expected = [_brute_force(xyz, i, 2, np.ones(51, bool))[1] for i in range(50)]
    assert dist[:, 1] == pytest.approx(expected, rel=1e-9)  # 32-bit positions 10 km out would be 1 mm apart
