"""Resample the moving raster through the estimated transform onto the reference's extent."""

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import rasterio
from affine import Affine
from pyproj import CRS
from rasterio.enums import Resampling
from rasterio.errors import RasterioError

from reconstruction.errors import ProcessingError
from reconstruction.io import Grid, RasterInfo, read_onto_grid
from reconstruction.io.raster import HEIGHTS_IN_METRES

F64 = npt.NDArray[np.float64]


def output_grid(reference: RasterInfo, moving: RasterInfo, crs: CRS, fallback_resolution: float) -> Grid:
    """The reference's extent and lattice corner, at the moving raster's own cell size (same CRS units).

    The moving raster keeps its resolution (a 0.5 m DSM stays 0.5 m over a 0.2 m orthophoto); when its
    CRS differs from the reference's, the matching cell size is used.
    """
    resolution = moving.resolution if moving.crs == crs else fallback_resolution
    anchor = (reference.transform.c, reference.transform.f)
    return Grid.covering(crs, reference.bounds_in(crs), resolution, anchor)


def warp_raster(moving: RasterInfo, matrix: F64, grid: Grid, out: Path) -> Path:
    """Write ``moving`` resampled (bilinear) onto ``grid`` through ``matrix``; nodata outside its data.

    Args:
        moving: the validated moving raster.
        matrix: 3x3 map transform, moving georeferencing -> reference (grid CRS, metres).
        grid: the output grid.
        out: GeoTIFF to write (its folder is created); same data type and band count as ``moving``.

    Raises:
        ProcessingError: the file cannot be written.
    """
    source_grid = Grid.covering(
        grid.crs, moving.bounds_in(grid.crs), grid.resolution, (moving.transform.c, moving.transform.f)
    )
    values = read_onto_grid(moving, source_grid, Resampling.bilinear)
    to_out = _pixel_to_map(grid.transform)
    to_source = _pixel_to_map(source_grid.transform)
    inverse_map = np.linalg.inv(to_source) @ np.linalg.inv(matrix) @ to_out  # output pixel -> source pixel
    warped = np.stack(
        [
            cv2.warpPerspective(
                band,
                inverse_map,
                (grid.width, grid.height),
                flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                borderMode=cv2.BORDER_CONSTANT,
                borderValue=float("nan"),
            )
            for band in values
        ]
    )
    integer = np.dtype(moving.dtype).kind in "ui"
    nodata = moving.nodata if moving.nodata is not None else (0 if integer else -9999.0)
    missing = ~np.isfinite(warped).all(axis=0)
    if integer:
        info = np.iinfo(np.dtype(moving.dtype))
        warped = np.clip(np.rint(np.nan_to_num(warped)), info.min, info.max)
    warped[:, missing] = nodata
    out.parent.mkdir(parents=True, exist_ok=True)
    profile = {
        "driver": "GTiff",
        "width": grid.width,
        "height": grid.height,
        "count": moving.count,
        "dtype": moving.dtype,
        "crs": grid.crs,
        "transform": grid.transform,
        "nodata": nodata,
        "tiled": True,
        "compress": "deflate",
    }
    try:
        with rasterio.open(out, "w", **profile) as dst:
            dst.write(warped.astype(moving.dtype))
            if moving.role == "DSM":  # read_onto_grid gave metres: the file says so, whatever unit the input had
                dst.update_tags(**HEIGHTS_IN_METRES)
    except RasterioError as err:
        raise ProcessingError(f"register: writing '{out}' failed ({err}); check the disk space.") from err
    return out


def _pixel_to_map(transform: Affine) -> F64:
    """3x3 from OpenCV pixel coordinates (cell centres at whole numbers) to map coordinates."""
    a = np.array([[transform.a, transform.b, transform.c], [transform.d, transform.e, transform.f], [0, 0, 1]])
    return np.asarray(a @ np.array([[1, 0, 0.5], [0, 1, 0.5], [0, 0, 1]]), dtype=np.float64)
