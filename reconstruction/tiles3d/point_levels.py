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
from reconstruction.tiles3d.frame import Float64s, bounds

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

    The arithmetic is that of the plain statement (a voxel key and a cell index computed from the coordinates
    at every depth), done with fewer passes over the points; every shortcut gives the same integers:

    * ``(xyz - origin)`` is computed once. Dividing it by ``spacing * 2**k`` equals dividing by ``spacing`` and
      scaling by ``2**-k`` exactly (powers of two scale floats without rounding), and ``floor(a / 2**k)`` is
      ``floor(a) >> k`` for ``a >= 0``: so the voxels of every doubling of the root's spacing come from one
      integer array, and the cells of every depth from the cells at the deepest one.
    * Which points an inner tile shows is decided per voxel (one per voxel free of an ancestor's point), so
      the nearest-to-centre point of every voxel is found first and the occupied voxels dropped afterwards:
      the occupied test runs on voxels, not points.
    * Cell counts per depth come from ``np.bincount`` while the cells of a depth are few (``4**d``).

    Raises:
        ConfigError: ``grid`` or ``max_leaf_points`` is below 1, or ``max_depth`` is negative.
    """
    if grid < 1 or max_leaf_points < 1 or max_depth < 0:
        raise ConfigError(
            f"Point tiles need grid and max_leaf_points >= 1 and max_depth >= 0 (got {grid}, "
            f"{max_leaf_points}, {max_depth})."
        )
    origin, top = bounds(xyz)
    side = max(float((top[:2] - origin[:2]).max()), 1e-3) * (1 + 1e-9)
    rel = xyz - origin
    spacing0 = _root_spacing(rel, side / grid, grid**2)
    deep = min(max_depth, _EXACT_DEPTH)
    ij_deep = _cell_ij(rel, side, deep)
    depth = np.full(len(xyz), -1, np.int8)
    leaves: dict[int, npt.NDArray[np.int64]] = {}
    shown = np.zeros(0, np.int64)  # points of inner tiles so far
    for d in range(max_depth + 1):
        left = np.flatnonzero(depth < 0)
        if not len(left):
            break
        cells = _cells(rel, side, ij_deep, deep, d, left)
        if 4**d <= 4 * len(left):
            counts = np.bincount(cells, minlength=4**d)
            small_cells = counts <= max_leaf_points if d < max_depth else np.ones(len(counts), bool)
            leaves[d] = np.flatnonzero(small_cells & (counts > 0))
            small = small_cells[cells]
        else:
            unique, inverse, counts = np.unique(cells, return_inverse=True, return_counts=True)
            small_unique = counts <= max_leaf_points if d < max_depth else np.ones(len(unique), bool)
            leaves[d] = unique[small_unique]
            small = small_unique[inverse]
        depth[left[small]] = d
        rest = left[~small]
        if not len(rest):
            break
        spacing = spacing0 / 2**d
        keys, frac = _voxels(rel[rest], spacing)
        off = (frac - 0.5) ** 2
        best = _nearest_centre_per_voxel(keys, off[:, 0] + off[:, 1] + off[:, 2])  # as sum(axis=1), faster
        occupied = np.unique(_voxels(rel[shown], spacing)[0])
        at = np.searchsorted(occupied, keys[best])
        taken = at < len(occupied)
        taken[taken] = occupied[at[taken]] == keys[best][taken]
        chosen = rest[best[~taken]]
        depth[chosen] = d
        shown = np.concatenate([shown, chosen])
    cell = np.empty(len(xyz), np.int64)
    for d in np.unique(depth):
        here = np.flatnonzero(depth == d)
        cell[here] = _cells(rel, side, ij_deep, deep, int(d), here)
    return PointLevels(depth, cell, origin, side, spacing0, leaves)


#: Deepest level whose cell coordinates are kept as integers (deeper ones, if asked for, are computed anew).
_EXACT_DEPTH = 30


def _cell_ij(rel: Float64s, side: float, depth: int) -> npt.NDArray[np.int64]:
    """(N, 2) column and row of each point's cell at ``depth`` (``rel``: offsets from the origin), as cells_at."""
    tiles = 2**depth
    return np.clip(np.floor(rel[:, :2] / (side / tiles)).astype(np.int64), 0, tiles - 1)


def _cells(
    rel: Float64s, side: float, ij_deep: npt.NDArray[np.int64], deep: int, depth: int, which: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Cell index at ``depth`` of the points ``which``, as cells_at: the cells at depth ``deep`` shifted."""
    ij = ij_deep[which] >> (deep - depth) if depth <= deep else _cell_ij(rel[which], side, depth)
    return ij[:, 1] * 2**depth + ij[:, 0]


def _root_spacing(rel: Float64s, spacing: float, most: int) -> float:
    """``spacing`` doubled until the points (offsets ``rel``) occupy at most ``most`` voxels of that side.

    Voxels of side ``spacing * 2**k`` are those of side ``spacing`` shifted right by ``k`` per axis, so one
    ``floor`` of all the points and one ``np.unique`` answer every doubling, each on the fewer voxels of
    the doubling before.
    """
    ijk = np.floor(rel / spacing).astype(np.int64)
    if ijk.max() >= 1 << 21:  # a voxel key would clip: count as the plain statement does
        while len(np.unique(_voxels(rel, spacing)[0])) > most:
            spacing *= 2
        return spacing
    voxels = np.unique((ijk[:, 0] << 42) | (ijk[:, 1] << 21) | ijk[:, 2])
    mask = (1 << 20) - 1  # a 21-bit field shifted right by one
    while len(voxels) > most:
        spacing *= 2
        i, j, k = (voxels >> 43) & mask, (voxels >> 22) & mask, (voxels >> 1) & mask  # each field >> 1
        voxels = np.unique((i << 42) | (j << 21) | k)
    return spacing


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


def _voxels(rel: Float64s, spacing: float) -> tuple[npt.NDArray[np.int64], Float64s]:
    """One int64 key per point (``rel``: offsets from the origin) for its voxel of side ``spacing``; its place.

    The place is the point's position in its voxel, 0..1 per axis.
    """
    scaled = rel / spacing
    ijk = np.floor(scaled).astype(np.int64)
    # 2**21 voxels per axis fit a 63-bit key; MAX_DEPTH 12 and GRID 128 need 2**19 across the square (a cloud
    # more than 4 times as tall as wide would share its top voxels).
    ijk = np.clip(ijk, 0, (1 << 21) - 1)
    return (ijk[:, 0] << 42) | (ijk[:, 1] << 21) | ijk[:, 2], scaled - ijk
