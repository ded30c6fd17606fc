"""Levels of detail for point tiles: the quadtree tile each point is written to, for additive refinement.

The cloud's horizontal extent is a square quadtree; a tile at depth ``d`` covers a cell of side
``side / 2**d`` and, unless its subtree is small enough to be a leaf, holds a spatially uniform subsample:
one point per voxel of side ``spacing0 / 2**d`` (the point nearest the voxel's centre), taken only in voxels
that no point of an ancestor tile already occupies. ``spacing0`` is ``side / grid``, so that a tile of a
surface seen from above (a city, a terrain) holds about ``grid**2`` points at every depth, doubled until the
root holds at most ``grid**2`` (a cloud with volume, such as a forest, fills more voxels per tile).
The voxels of all depths share one origin and halve from depth to depth, so a voxel lies in exactly one
tile, and the points of a tile and its ancestors together have a point in every occupied voxel of that
tile's size: any point left out lies within a voxel diagonal (``spacing * sqrt(3)``) of a shown one. That is
the tile's geometric error, and its children only add the points it lacks (3D Tiles ``refine: ADD``): every
point is written once, and a view that stops at some depth loads no point it does not draw. A tile whose
subtree has at most ``max_leaf_points`` points not yet shown (or that sits at ``max_depth``) is a leaf: it
holds them all, geometric error 0.
"""

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from reconstruction.errors import ConfigError
from reconstruction.tiles3d.frame import Float64s

#: Voxels per side of a tile: an inner tile holds at most about grid² points of a surface seen from above.
GRID = 128

#: Most points of a leaf; a subtree with more is split.
MAX_LEAF_POINTS = 20_000

#: Deepest level of the quadtree: leaves at this depth take every point left, however many.
MAX_DEPTH = 12


@dataclass(frozen=True)
class PointLevels:
    """Which tile holds each point.

    Attributes:
        depth: (N,) depth of the tile of each point (0: the root).
        cell: (N,) index of that tile in its depth's ``2**d x 2**d`` grid of cells: ``iy * 2**d + ix``.
        origin: (3,) lower corner of the voxel grids (ENU metres).
        side: Side of the root's square cell, metres.
        spacing0: Voxel side of the root's subsample, metres.
        leaves: Per depth, the sorted cells that are leaves (they hold every point left in them).
    """

    depth: npt.NDArray[np.int8]
    cell: npt.NDArray[np.int64]
    origin: Float64s
    side: float
    spacing0: float
    leaves: dict[int, npt.NDArray[np.int64]]

    def spacing(self, depth: int) -> float:
        """Voxel side of the subsample at ``depth``, metres."""
        return self.spacing0 / 2**depth

    def geometric_error(self, depth: int) -> float:
        """Farthest a point left out of an inner tile at ``depth`` (and its ancestors) is from a shown one."""
        return self.spacing(depth) * math.sqrt(3)


def cells_at(xy: Float64s, origin: Float64s, side: float, depth: int) -> npt.NDArray[np.int64]:
    """Index ``iy * 2**depth + ix`` of the cell holding each of the (N, 2) points at ``depth``."""
    tiles = 2**depth
    ij = np.clip(np.floor((xy - origin[:2]) / (side / tiles)).astype(np.int64), 0, tiles - 1)
    return ij[:, 1] * tiles + ij[:, 0]


def point_levels(
    xyz: Float64s, grid: int = GRID, max_leaf_points: int = MAX_LEAF_POINTS, max_depth: int = MAX_DEPTH
) -> PointLevels:
    """Assign each point of ``xyz`` ((N, 3) metres, z up) to a tile of the quadtree (see the module docstring).

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
    leaves: dict[int, npt.NDArray[np.int64]] = {}
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


def _nearest_centre_per_voxel(keys: npt.NDArray[np.int64], off_centre: Float64s) -> npt.NDArray[np.int64]:
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


def _voxels(xyz: Float64s, origin: Float64s, spacing: float) -> tuple[npt.NDArray[np.int64], Float64s]:
    """One int64 key per point for its voxel of side ``spacing``, and its place in the voxel (0..1 per axis)."""
    scaled = (xyz - origin) / spacing
    ijk = np.floor(scaled).astype(np.int64)
    # 2**21 voxels per axis fit a 63-bit key; MAX_DEPTH 12 and GRID 128 need 2**19 across the square (a cloud
    # more than 4 times as tall as wide would share its top voxels).
    ijk = np.clip(ijk, 0, (1 << 21) - 1)
    return (ijk[:, 0] << 42) | (ijk[:, 1] << 21) | ijk[:, 2], scaled - ijk
