import numpy as np
import pytest

from reconstruction.errors import ConfigError
from reconstruction.tiles3d.point_levels import cells_at, point_levels


def _town(n: int, seed: int = 3) -> np.ndarray:
    """A surface seen from above (ground with a few flat roofs), 200 x 120 m, and some points in the air."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform([0, 0], [200, 120], (n, 2))
    z = 30 + 0.02 * xy[:, 0] + np.where((xy[:, 0] % 40 < 15) & (xy[:, 1] % 30 < 12), 9.0, 0.0)
    z[: n // 20] += rng.uniform(0, 15, n // 20)  # trees and walls: not all on the surface
    return np.column_stack([xy, z])


def _voxel_keys(xyz, origin, spacing):
    return [tuple(v) for v in np.floor((xyz - origin) / spacing).astype(np.int64)]


def test_every_point_goes_to_one_tile_and_leaves_are_small():
    xyz = _town(120_000)
    levels = point_levels(xyz, grid=32, max_leaf_points=5_000)
    assert (levels.depth >= 0).all() and levels.depth.max() >= 2
    for d, leaves in levels.leaves.items():
        cells = cells_at(xyz[:, :2], levels.origin, levels.side, d)
        for cell in leaves:
            assert ((levels.depth >= d) & (cells == cell)).sum() <= 5_000  # what a leaf holds
            assert not ((levels.depth > d) & (cells == cell)).any()  # and nothing under it
    assert np.array_equal(levels.cell, _cells_of_own_depth(xyz, levels))


def _cells_of_own_depth(xyz, levels):
    out = np.empty(len(xyz), np.int64)
    for d in np.unique(levels.depth):
        here = levels.depth == d
        out[here] = cells_at(xyz[here, :2], levels.origin, levels.side, int(d))
    return out


def test_an_inner_tile_and_its_ancestors_hold_one_point_per_occupied_voxel():
    xyz = _town(120_000)
    levels = point_levels(xyz, grid=32, max_leaf_points=5_000)
    inner_depths = [d for d in range(int(levels.depth.max())) if (levels.depth == d).any()]
    assert inner_depths
    for d in inner_depths:
        spacing = levels.spacing(d)
        cells = cells_at(xyz[:, :2], levels.origin, levels.side, d)
        inner_cells = np.setdiff1d(cells[levels.depth >= d], levels.leaves.get(d, []))
        in_inner = np.isin(cells, inner_cells)
        inner = in_inner & (levels.depth >= d)  # every point under the inner tiles at depth d
        shown = in_inner & (levels.depth <= d)  # what those tiles and their ancestors draw there
        shown_keys = _voxel_keys(xyz[shown], levels.origin, spacing)
        assert len(set(shown_keys)) == len(shown_keys)  # no voxel holds two shown points: a uniform subsample
        under = _voxel_keys(xyz[inner], levels.origin, spacing)
        assert set(under) <= set(shown_keys)  # every occupied voxel has its shown point
        # so every point is within the voxel diagonal, the geometric error, of a shown one
        assert levels.geometric_error(d) == pytest.approx(spacing * np.sqrt(3))


def test_the_root_of_a_surface_holds_about_grid_squared_points_and_errors_halve():
    xyz = _town(200_000)
    levels = point_levels(xyz, grid=64, max_leaf_points=20_000)
    root = (levels.depth == 0).sum()
    assert 64**2 / 4 < root <= 64**2  # spacing doubled until the root fits: between a quarter and all of it
    assert levels.geometric_error(1) == pytest.approx(levels.geometric_error(0) / 2)


def test_a_small_cloud_is_one_leaf():
    xyz = _town(3_000)
    levels = point_levels(xyz, grid=32, max_leaf_points=5_000)
    assert (levels.depth == 0).all() and list(levels.leaves[0]) == [0]


def test_bad_limits_are_refused():
    with pytest.raises(ConfigError):
        point_levels(_town(100), grid=0)
    with pytest.raises(ConfigError):
        point_levels(_town(100), max_leaf_points=0)


def _needles(sites: int, seed: int = 6) -> np.ndarray:
    """Clusters of 4 points 10 µm apart in a column 20 times as tall as wide: the quadtree goes to its last
    depth, where the voxels' z index passes 2**21 and is clipped."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform([0, 0, 0], [1, 1, 20], (sites, 3))
    return np.repeat(centres, 4, axis=0) + rng.uniform(0, 1e-5, (4 * sites, 3))


@pytest.mark.parametrize(
    ("cloud", "grid", "max_leaf_points", "max_depth"),
    [
        ("town", 32, 5_000, 12),
        ("town", 128, 20_000, 12),
        ("town", 16, 300, 3),  # leaves forced at max_depth, with thousands of points
        ("town", 8, 50, 12),  # deep: more cells than points at the last depths
        ("sorted town", 32, 2_000, 12),  # points in raster order, as files keep them: ties of equal offsets
        ("grid town", 16, 1_000, 12),  # points on a lattice: many points equally near their voxel's centre
        ("needles", 128, 2, 12),
        ("flat", 32, 1_000, 12),  # one z: a single voxel layer
    ],
)
def test_the_same_tiles_as_the_plain_statement(cloud, grid, max_leaf_points, max_depth):
    """point_levels gives exactly the depths, cells, leaves and spacing of its former straightforward version."""
    from tests.reconstruction.tiles3d.point_levels_before import reference_point_levels

    if cloud == "town":
        xyz = _town(60_000, seed=11)
    elif cloud == "sorted town":
        xyz = _town(60_000, seed=12)
        xyz = xyz[np.lexsort((xyz[:, 0], np.floor(xyz[:, 1])))]
    elif cloud == "grid town":
        xyz = _town(40_000, seed=13)
        xyz[:, :2] = np.round(xyz[:, :2] * 4) / 4
    elif cloud == "needles":
        xyz = _needles(3_000)
    else:
        xyz = _town(30_000, seed=14)
        xyz[:, 2] = 12.5
    fast = point_levels(xyz, grid=grid, max_leaf_points=max_leaf_points, max_depth=max_depth)
    plain = reference_point_levels(xyz, grid, max_leaf_points, max_depth)
    assert fast.spacing0 == plain.spacing0 and fast.side == plain.side
    assert np.array_equal(fast.origin, plain.origin)
    assert np.array_equal(fast.depth, plain.depth) and np.array_equal(fast.cell, plain.cell)
    assert fast.leaves.keys() == plain.leaves.keys()
    for d, cells in plain.leaves.items():
        assert np.array_equal(fast.leaves[d], cells) and fast.leaves[d].dtype == cells.dtype
    assert fast.depth.max() >= 1  # each case has inner tiles, so the voxel choice is compared too
