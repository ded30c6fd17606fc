"""Points to class shares per cell: what part of each cell's returns lies on buildings, in vegetation, echoed.

A classified LiDAR's building class (ASPRS 6) decides which cells are buildings, and its vegetation classes
(3, 4, 5) which are vegetation: :func:`lidar_shares` counts them per cell. A file without a building class
(classes 1 and 2 only, like many older surveys) gets its roofs from the shape of its returns
(:func:`~reconstruction.pointcloud.roofs.roof_returns`) instead.

At 0.3 points/m² most 0.5-2 m cells hold no return: an empty cell takes the shares of the nearest cell that
has returns, up to ``fill_cells`` away (``scipy.ndimage.distance_transform_edt`` finds it), and stays NaN
farther out.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from reconstruction.config import RulesConfig
from reconstruction.io.grid import Grid
from reconstruction.pointcloud.rasterize import cell_index
from reconstruction.pointcloud.roofs import roof_returns

#: ASPRS codes: building, and low / medium / high vegetation.
BUILDING_CLASS, VEGETATION_CLASSES = 6, (3, 4, 5)
#: Returns that are never objects: ground, low noise, water, high noise.
NOT_OBJECTS = (2, 7, 9, 18)
#: Returns whose shape may make them roofs: never classified, unclassified.
UNSORTED = (0, 1)


@dataclass(frozen=True)
class LidarShares:
    """Shares of each cell's returns, (H, W) float32 in [0, 1], NaN where the cell has no return near it.

    Attributes:
        building: of the returns standing above ground, those on buildings.
        vegetation: of the same returns, those in vegetation; None when the returns do not say (colour decides).
        low_vegetation: of all returns, those classified low/medium/high vegetation; None when the file has none.
        echo: of the returns above ground, those of pulses with several returns; None when unknown or when the
            building returns come from the file's own classes (which need no second opinion).
        source: what decided the building returns: "classes" (the file's class 6) or "shape" (roofs by shape).
    """

    building: npt.NDArray[np.float32]
    vegetation: npt.NDArray[np.float32] | None = None
    low_vegetation: npt.NDArray[np.float32] | None = None
    echo: npt.NDArray[np.float32] | None = None
    source: Literal["classes", "shape"] = "classes"


def lidar_shares(
    xyz: npt.NDArray[np.float64],
    classification: npt.NDArray[np.uint8],
    dtm: npt.NDArray[np.float32],
    grid: Grid,
    cfg: RulesConfig,
    file_classes: Collection[int],
    multiple_echo: npt.NDArray[np.bool_] | None = None,
    ndvi: npt.NDArray[np.float32] | None = None,
) -> LidarShares:
    """Per cell, the shares of its returns on buildings and in vegetation, from the file's classes or by shape.

    Args:
        xyz: (N, 3) returns in the grid's CRS, metres.
        classification: (N,) their ASPRS classes.
        dtm: (H, W) terrain heights on ``grid``: a return is an object more than ``cfg.above_ground_m`` above it.
        grid: the working grid.
        cfg: the rules' thresholds (and those of :func:`~reconstruction.pointcloud.roofs.roof_returns`).
        file_classes: the classes the whole file holds (``LidarInfo.class_counts``): a chip without a single
            building return in a file that has them has no building, rather than buildings by shape.
        multiple_echo: (N,) True for returns of a pulse with several returns; None when unrecorded.
        ndvi: (N,) the returns' own NDVI (LAS NIR and red); None without NIR.

    Returns:
        The shares; ``source`` says whether the file's classes or the returns' shape found the buildings.
    """
    idx = cell_index(grid, xyz[:, 0], xyz[:, 1])
    inside = idx >= 0
    height = np.full(len(xyz), -np.inf)
    height[inside] = xyz[inside, 2] - dtm.reshape(-1)[idx[inside]]
    has_vegetation = any(c in file_classes for c in VEGETATION_CLASSES)
    vegetation = np.isin(classification, VEGETATION_CLASSES)
    objects = inside & ~np.isin(classification, NOT_OBJECTS) & (height > cfg.above_ground_m)
    echo: npt.NDArray[np.bool_] | None = None
    source: Literal["classes", "shape"]
    if BUILDING_CLASS in file_classes:
        building, source = classification == BUILDING_CLASS, "classes"
    else:
        # Neighbourhoods reach down into the crowns' lower parts, so that a crown's base is not a flat slab.
        unsorted = inside & np.isin(classification, UNSORTED) & (height > cfg.above_ground_m / 2)
        building, source = np.zeros(len(xyz), dtype=bool), "shape"
        building[unsorted] = roof_returns(
            xyz[unsorted],
            cfg,
            None if multiple_echo is None else multiple_echo[unsorted],
            None if ndvi is None else ndvi[unsorted],
        )
        vegetation |= unsorted & ~building
        has_vegetation, echo = True, multiple_echo
    groups = [building[objects], vegetation[objects]] + ([] if echo is None else [echo[objects]])
    above = rasterize_shares(xyz[objects], groups, grid)
    low = None
    if any(c in file_classes for c in VEGETATION_CLASSES):
        returns = inside & ~np.isin(classification, NOT_OBJECTS[1:])  # ground counts here, noise and water not
        low = rasterize_shares(xyz[returns], [np.isin(classification[returns], VEGETATION_CLASSES)], grid)[0]
    return LidarShares(
        building=above[0],
        vegetation=above[1] if has_vegetation else None,
        low_vegetation=low,
        echo=above[2] if echo is not None else None,
        source=source,
    )


def rasterize_shares(
    xyz: npt.NDArray[np.float64], groups: Sequence[npt.NDArray[np.bool_]], grid: Grid, fill_cells: float = 2.0
) -> npt.NDArray[np.float32]:
    """Per cell, the share of its returns in each group.

    Args:
        xyz: (N, 3) returns in the grid's CRS (only x and y are used).
        groups: G masks of (N,) booleans, e.g. "class 6" and "classes 3-5".
        grid: the target grid.
        fill_cells: empty cells take the shares of the nearest cell with returns up to this many cells away.

    Returns:
        (G, H, W) float32 shares in [0, 1]; NaN where no return lies within ``fill_cells``.
    """
    size = grid.width * grid.height
    idx = cell_index(grid, xyz[:, 0], xyz[:, 1])
    inside = idx >= 0
    idx = idx[inside]
    counts = np.bincount(idx, minlength=size)
    has = counts > 0
    out = np.full((len(groups), grid.height, grid.width), np.nan, dtype=np.float32)
    if not has.any():
        return out
    for g, members in enumerate(groups):
        hits = np.bincount(idx, weights=np.asarray(members)[inside], minlength=size)
        out[g].flat[has] = hits[has] / counts[has]
    empty = ~has.reshape(grid.shape)
    if empty.any() and fill_cells > 0:
        distance, (rows, cols) = ndimage.distance_transform_edt(empty, return_indices=True)
        near = empty & (distance <= fill_cells)
        out[:, near] = out[:, rows[near], cols[near]]
    return out
