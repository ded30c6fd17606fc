"""The orthophoto as one small WGS 84 image: the viewer's preview and its fallback where a version has no XYZ tiles."""

import warnings
from pathlib import Path

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.errors import NotGeoreferencedWarning
from rasterio.vrt import WarpedVRT

from reconstruction.io.colour import to_rgb8
from reconstruction.io.raster import RasterInfo


def write_overlay_png(info: RasterInfo, path: Path, max_size: int) -> tuple[float, float, float, float]:
    """Reproject the orthophoto to WGS 84 longitude/latitude and write an RGBA PNG.

    The image is reduced so that its longer side is at most ``max_size`` pixels; nodata is transparent.

    Returns:
        The image's rectangle (west, south, east, north) in degrees.
    """
    with (
        info.open() as src,
        WarpedVRT(
            src, src_crs=info.crs, crs="EPSG:4326", resampling=Resampling.bilinear, src_nodata=info.nodata
        ) as vrt,
    ):
        scale = max(1.0, max(vrt.width, vrt.height) / max_size)
        shape = (max(1, round(vrt.height / scale)), max(1, round(vrt.width / scale)))
        bands = vrt.read([1, 2, 3], out_shape=(3, *shape), resampling=Resampling.average, masked=True)
        alpha = np.where(np.ma.getmaskarray(bands).any(axis=0), 0, 255).astype(np.uint8)
        rgb = to_rgb8(np.ma.filled(bands.astype(np.float32), np.nan), info.dtype)
        west, south, east, north = vrt.bounds
    # A PNG carries no georeferencing (the rectangle travels in the manifest): silence rasterio's warning.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", driver="PNG", width=shape[1], height=shape[0], count=4, dtype="uint8") as dst:
            dst.write(np.concatenate([rgb, alpha[np.newaxis]]))
    return (west, south, east, north)
