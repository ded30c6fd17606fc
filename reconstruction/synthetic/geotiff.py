"""Write one scene raster as a tiled, deflate-compressed GeoTIFF."""

from pathlib import Path

import numpy.typing as npt
import rasterio
from affine import Affine


def write_geotiff(path: Path, bands: npt.NDArray, transform: Affine, crs: str, nodata: float | None) -> None:
    """Write a (bands, rows, cols) array as a tiled, deflate-compressed GeoTIFF.

    Args:
        path: Destination file.
        bands: ``(count, rows, cols)`` array; three bands are written as RGB, four as R, G, B
            and an unspecified extra band (near-infrared, never alpha).
        transform: Affine of the grid (top-left origin).
        crs: CRS understood by rasterio, e.g. ``"EPSG:32631"``.
        nodata: Nodata value, or None for none.
    """
    count, height, width = bands.shape
    profile = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": count,
        "dtype": bands.dtype.name,
        "crs": crs,
        "transform": transform,
        "nodata": nodata,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "compress": "deflate",
        "predictor": 3 if bands.dtype.kind == "f" else 2,
        "num_threads": "ALL_CPUS",
        "bigtiff": "IF_SAFER",
    }
    if count == 3:
        profile["photometric"] = "RGB"
    if count == 4:
        profile |= {"photometric": "RGB", "alpha": "UNSPECIFIED"}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(bands)
