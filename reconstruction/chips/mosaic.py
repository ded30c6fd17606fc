"""Stitch the chips' core rasters into one COG of the whole area, a chip at a time.

Each chip's core is written into its window of a tiled GeoTIFF on disk, then GDAL's COG driver copies
that file (it reads block by block), so memory holds one chip's raster at most, whatever the area.
"""

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import rasterio
import rasterio.shutil
from rasterio.windows import Window

from reconstruction.chips.plan import ChipPlan
from reconstruction.errors import ProcessingError


def mosaic_raster(plan: ChipPlan, parts: Sequence[Path], out: Path) -> Path:
    """Write ``parts`` (chip k's core raster at index k) as one COG of ``plan``'s grid at ``out``.

    Raises:
        ProcessingError: a part does not lie on the plan's grid where its chip's core is.
    """
    with rasterio.open(parts[0]) as first:
        profile = {"dtype": first.dtypes[0], "count": first.count, "nodata": first.nodata}
        floating = np.issubdtype(np.dtype(first.dtypes[0]), np.floating)
    grid = plan.grid
    scratch = out.with_suffix(".mosaic.tif")
    out.parent.mkdir(parents=True, exist_ok=True)
    create = {
        "driver": "GTiff",
        "width": grid.width,
        "height": grid.height,
        "crs": grid.crs,
        "transform": grid.transform,
        "tiled": True,
        "blockxsize": 512,
        "blockysize": 512,
        "compress": "DEFLATE",
        "BIGTIFF": "IF_SAFER",
        **profile,
    }
    try:
        with rasterio.open(scratch, "w", **create) as dst:
            for chip, part in zip(plan.chips, parts, strict=True):
                r0, r1, c0, c1 = chip.core
                with rasterio.open(part) as src:
                    if (src.height, src.width) != (r1 - r0, c1 - c0) or src.transform != plan.subgrid(
                        chip.core
                    ).transform:
                        raise ProcessingError(f"{part} is not chip {chip.index}'s core on the plan's grid.")
                    dst.write(src.read(), window=Window(c0, r0, c1 - c0, r1 - r0))
        rasterio.shutil.copy(
            scratch,
            out,
            driver="COG",
            compress="DEFLATE",
            predictor=3 if floating else 2,
            blocksize=512,
            overview_resampling="nearest" if profile["dtype"] == "uint8" else "average",
            BIGTIFF="IF_SAFER",
        )
    finally:
        scratch.unlink(missing_ok=True)
    return out


def read_cells(path: Path, rows: slice, cols: slice) -> npt.NDArray[np.float64]:
    """Band 1 of a raster over a window of cells, as float64 with NaN for nodata."""
    with rasterio.open(path) as src:
        data = src.read(1, window=Window(cols.start, rows.start, cols.stop - cols.start, rows.stop - rows.start))
        values = data.astype(np.float64)
        if src.nodata is not None:
            values[data == src.nodata] = np.nan
    return values
