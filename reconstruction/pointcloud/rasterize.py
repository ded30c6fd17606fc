"""Points to rasters: highest (DSM) or lowest (ground) return per grid cell."""

from typing import Literal

import numpy as np
import numpy.typing as npt

from reconstruction.io.grid import Grid


def cell_index(grid: Grid, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """Flat cell index of each (x, y) in the grid; -1 outside it."""
    col = np.floor((x - grid.transform.c) / grid.resolution).astype(np.int64)
    row = np.floor((grid.transform.f - y) / grid.resolution).astype(np.int64)
    inside = (col >= 0) & (col < grid.width) & (row >= 0) & (row < grid.height)
    return np.where(inside, row * grid.width + col, -1)


def rasterize_points(
    xyz: npt.NDArray[np.float64], grid: Grid, keep: Literal["highest", "lowest"]
) -> npt.NDArray[np.float32]:
    """Grid point heights, one value per cell.

    Args:
        xyz: (N, 3) points in the grid's CRS.
        grid: target grid.
        keep: "highest" for a surface model, "lowest" for ground returns.

    Returns:
        (H, W) float32 heights in metres, NaN where no point falls.
    """
    out = np.full(grid.width * grid.height, np.nan, dtype=np.float32)
    idx = cell_index(grid, xyz[:, 0], xyz[:, 1])
    inside = idx >= 0
    idx, z = idx[inside], xyz[inside, 2]
    # Sort so that the wanted value is written last for each cell: fancy assignment keeps the last write.
    order = np.argsort(z if keep == "highest" else -z, kind="stable")
    out[idx[order]] = z[order]
    return out.reshape(grid.height, grid.width)
