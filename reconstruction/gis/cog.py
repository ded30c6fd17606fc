"""Write rasters on the working grid as Cloud-Optimised GeoTIFFs."""

from pathlib import Path

import numpy as np
import numpy.typing as npt
import rasterio

from reconstruction.io.grid import Grid


def write_cog(array: npt.NDArray[np.generic], grid: Grid, path: Path, nodata: float | None) -> Path:
    """Write a (H, W) or (B, H, W) array as a deflate-compressed COG with overviews.

    NaN values of float arrays are written as ``nodata``.
    """
    data = array[np.newaxis] if array.ndim == 2 else array
    if np.issubdtype(data.dtype, np.floating) and nodata is not None:
        data = np.where(np.isfinite(data), data, nodata).astype(data.dtype)
    profile = {
        "driver": "COG",
        "width": grid.width,
        "height": grid.height,
        "count": data.shape[0],
        "dtype": data.dtype.name,
        "crs": grid.crs,
        "transform": grid.transform,
        "nodata": nodata,
        "compress": "DEFLATE",
        "predictor": 3 if np.issubdtype(data.dtype, np.floating) else 2,
        "blocksize": 512,
        "overview_resampling": "nearest" if data.dtype == np.uint8 else "average",
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    return path
