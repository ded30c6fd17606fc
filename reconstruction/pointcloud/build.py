"""Build coloured, classified point clouds from a height raster or from LiDAR returns."""

import numpy as np
import numpy.typing as npt

from reconstruction.io.grid import Grid
from reconstruction.pointcloud.cloud import PointCloud
from reconstruction.pointcloud.rasterize import cell_index


def points_from_raster(
    dsm: npt.NDArray[np.float32], labels: npt.NDArray[np.uint8], rgb: npt.NDArray[np.uint8], grid: Grid
) -> PointCloud:
    """One point per valid DSM cell, at the cell centre, coloured and classified from the same cell.

    Args:
        dsm: (H, W) surface heights in metres, NaN where unknown.
        labels: (H, W) ASPRS classes.
        rgb: (3, H, W) colours on the same grid.
        grid: the grid all three share.
    """
    rows, cols = np.nonzero(np.isfinite(dsm))
    x = grid.transform.c + (cols + 0.5) * grid.resolution
    y = grid.transform.f - (rows + 0.5) * grid.resolution
    xyz = np.column_stack([x, y, dsm[rows, cols].astype(np.float64)])
    return PointCloud(xyz=xyz, rgb=rgb[:, rows, cols].T.copy(), classification=labels[rows, cols].copy())


def points_from_lidar(
    xyz: npt.NDArray[np.float64],
    classification: npt.NDArray[np.uint8] | None,
    labels: npt.NDArray[np.uint8],
    rgb: npt.NDArray[np.uint8],
    grid: Grid,
    intensity: npt.NDArray[np.uint16] | None = None,
) -> PointCloud:
    """Keep LiDAR returns as points, colour them from the orthophoto grid and classify them.

    LiDAR classes are kept where the file has them (anything but 0 never-classified and 1 unclassified);
    other points take the class of their grid cell. ``intensity`` (one per return, as in the file) is kept
    for the returns inside the grid; None when the file has none.
    """
    idx = cell_index(grid, xyz[:, 0], xyz[:, 1])
    inside = idx >= 0
    xyz, idx = xyz[inside], idx[inside]
    flat_labels = labels.reshape(-1)[idx]
    if classification is not None:
        own = classification[inside]
        flat_labels = np.where(own > 1, own, flat_labels).astype(np.uint8)
    colours = rgb.reshape(3, -1)[:, idx].T.copy()
    kept = None if intensity is None else np.asarray(intensity, dtype=np.uint16)[inside]
    return PointCloud(xyz=xyz, rgb=colours, classification=flat_labels, intensity=kept)
