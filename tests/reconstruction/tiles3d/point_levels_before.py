"""point_levels as it was before its speed-up (commit bd5edcd), kept to pin the faster one to the same answer."""

import numpy as np

from reconstruction.errors import ConfigError
from reconstruction.tiles3d.point_levels import PointLevels, cells_at


def reference_point_levels(xyz, grid, max_leaf_points, max_depth):
    """The tiles of ``xyz`` as the plain statement computes them (the module docstring of point_levels).

    Raises:
        ConfigError: ``grid`` or ``max_leaf_points`` is below 1, or ``max_depth`` is negative.
    """
    if grid < 1 or max_leaf_points < 1 or max_depth < 0:
        raise ConfigError(
            f"Point tiles need grid and max_leaf_points >= 1 and max_depth >= 0 (got {grid}, "
            f"{max_leaf_points}, {max_depth})."
        )
    origin = xyz.min(axis=0)
    side = max(float(np.ptp(xyz[:, :2], axis=0).max()), 1e-3) * (1 + 1e-9)
    spacing0 = side / grid
    while len(np.unique(_voxels(xyz, origin, spacing0)[0])) > grid**2:
        spacing0 *= 2
    depth = np.full(len(xyz), -1, np.int8)
    leaves = {}
    shown = np.zeros(0, np.int64)  # points of inner tiles so far
    for d in range(max_depth + 1):
        left = np.flatnonzero(depth < 0)
        if not len(left):
            break
        cells, inverse, counts = np.unique(
            cells_at(xyz[left, :2], origin, side, d), return_inverse=True, return_counts=True
        )
        small = counts <= max_leaf_points if d < max_depth else np.ones(len(cells), bool)
        leaves[d] = cells[small]
        depth[left[small[inverse]]] = d
        rest = left[~small[inverse]]
        if not len(rest):
            break
        spacing = spacing0 / 2**d
        keys, frac = _voxels(xyz[rest], origin, spacing)
        free = ~np.isin(keys, _voxels(xyz[shown], origin, spacing)[0])
        candidates, keys = rest[free], keys[free]
        chosen = candidates[_nearest_centre_per_voxel(keys, ((frac[free] - 0.5) ** 2).sum(axis=1))]
        depth[chosen] = d
        shown = np.concatenate([shown, chosen])
    cell = np.empty(len(xyz), np.int64)
    for d in np.unique(depth):
        here = depth == d
        cell[here] = cells_at(xyz[here, :2], origin, side, int(d))
    return PointLevels(depth, cell, origin, side, spacing0, leaves)


def _nearest_centre_per_voxel(keys, off_centre):
    """Index of the point nearest its voxel's centre in each voxel (first such point on ties).

    One stable sort by voxel (fast on points that come in scan or raster order, as files keep them) and a
    minimum per run, rather than a two-key lexsort, which costs about three times as much.
    """
    if not len(keys):
        return np.zeros(0, np.int64)
    order = np.argsort(keys, kind="stable")
    by_voxel = keys[order]
    starts = np.flatnonzero(np.r_[True, by_voxel[1:] != by_voxel[:-1]])
    runs = np.diff(np.r_[starts, len(order)])
    off = off_centre[order]
    best = np.flatnonzero(off == np.repeat(np.minimum.reduceat(off, starts), runs))
    run = np.repeat(np.arange(len(starts)), runs)[best]
    return order[best[np.r_[True, run[1:] != run[:-1]]]]


def _voxels(xyz, origin, spacing):
    """One int64 key per point for its voxel of side ``spacing``, and its place in the voxel (0..1 per axis)."""
    scaled = (xyz - origin) / spacing
    ijk = np.floor(scaled).astype(np.int64)
    # 2**21 voxels per axis fit a 63-bit key; MAX_DEPTH 12 and GRID 128 need 2**19 across the square (a cloud
    # more than 4 times as tall as wide would share its top voxels).
    ijk = np.clip(ijk, 0, (1 << 21) - 1)
    return (ijk[:, 0] << 42) | (ijk[:, 1] << 21) | ijk[:, 2], scaled - ijk
