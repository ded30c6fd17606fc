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
