"""A DSM rasterised from LiDAR on a DSM's grid (the reference of the DSM registration tests and bench)."""

from pathlib import Path

import numpy as np
import rasterio
from pyproj import CRS

from reconstruction.io import Grid, inspect_lidar, read_points
from reconstruction.pointcloud import rasterize_points


def write_lidar_dsm(laz: Path, like: Path, folder: Path) -> Path:
    """Highest returns of ``laz`` on the grid of the raster ``like``, written to ``folder/lidar_dsm.tif``."""
    with rasterio.open(like) as src:
        grid = Grid(CRS.from_user_input(src.crs), src.transform, src.width, src.height)
        profile = src.profile
    points = read_points(inspect_lidar(laz, None, 10**9), grid.crs, grid.bounds)
    dsm = rasterize_points(points.xyz, grid, keep="highest")
    profile.update(nodata=-9999.0, dtype="float32")
    out = folder / "lidar_dsm.tif"
    with rasterio.open(out, "w", **profile) as dst:
        dst.write(np.where(np.isfinite(dsm), dsm, -9999.0).astype(np.float32)[None])
    return out
