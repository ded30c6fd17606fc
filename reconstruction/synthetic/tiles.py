"""An area's files cut into the tiles national programmes ship, for tests and benchmarks of several files.

Raster tiles (with a gap, or reprojected to another CRS) and LiDAR tiles. Imported on its own.
"""

from pathlib import Path

import laspy
import numpy as np
import rasterio
from pyproj import CRS
from rasterio.warp import Resampling, calculate_default_transform, reproject
from rasterio.windows import Window


def cut_raster(path: Path, out: Path, col: int, row: int, width: int, height: int) -> Path:
    """Write the pixels of ``path`` in the window (``col``, ``row``, ``width``, ``height``) as a GeoTIFF tile."""
    with rasterio.open(path) as src:
        window = Window(col, row, width, height)
        profile = src.profile | {"width": width, "height": height, "transform": src.window_transform(window)}
        with rasterio.open(out, "w", **profile) as dst:
            dst.write(src.read(window=window))
            dst.colorinterp = src.colorinterp
            dst.update_tags(**src.tags())
    return out


def split_raster(path: Path, folder: Path, across: int = 2, gap_px: int = 0) -> list[Path]:
    """Cut ``path`` into ``across`` x ``across`` tiles, row by row from the north-west.

    With ``gap_px``, the last tile starts that many pixels further east and south: a gap of missing pixels
    between it and its neighbours, as where a programme's tile is missing in part.
    """
    folder.mkdir(parents=True, exist_ok=True)
    with rasterio.open(path) as src:
        width, height = src.width, src.height
    cols = [round(k * width / across) for k in range(across + 1)]
    rows = [round(k * height / across) for k in range(across + 1)]
    tiles = []
    for i in range(across):
        for j in range(across):
            last = i == j == across - 1
            c0, r0 = cols[j] + (gap_px if last else 0), rows[i] + (gap_px if last else 0)
            name = f"{path.stem}_{i}{j}{path.suffix}"
            tiles.append(cut_raster(path, folder / name, c0, r0, cols[j + 1] - c0, rows[i + 1] - r0))
    return tiles


def reproject_raster(path: Path, out: Path, crs: CRS) -> Path:
    """Write ``path`` reprojected to ``crs`` (bilinear; NaN or the file's nodata outside it)."""
    with rasterio.open(path) as src:
        transform, width, height = calculate_default_transform(src.crs, crs, src.width, src.height, *src.bounds)
        nodata = src.nodata if src.nodata is not None else (0 if src.dtypes[0].startswith("uint") else np.nan)
        profile = src.profile | {"crs": crs, "transform": transform, "width": width, "height": height, "nodata": nodata}
        with rasterio.open(out, "w", **profile) as dst:
            for band in range(1, src.count + 1):
                reproject(
                    rasterio.band(src, band),
                    rasterio.band(dst, band),
                    dst_nodata=nodata,
                    resampling=Resampling.bilinear,
                )
            dst.update_tags(**src.tags())
    return out


def split_lidar(path: Path, folder: Path, across: int = 2) -> list[Path]:
    """Cut a LAS/LAZ file into ``across`` x ``across`` tiles of its header box, as a programme's kilometre tiles."""
    folder.mkdir(parents=True, exist_ok=True)
    las = laspy.read(path)
    (x0, y0), (x1, y1) = las.header.mins[:2], las.header.maxs[:2]
    col = np.minimum(((np.asarray(las.x) - x0) / (x1 - x0) * across).astype(int), across - 1)
    row = np.minimum(((y1 - np.asarray(las.y)) / (y1 - y0) * across).astype(int), across - 1)
    tiles = []
    for i in range(across):
        for j in range(across):
            tile = laspy.LasData(las.header)
            tile.points = las.points[(row == i) & (col == j)]
            tiles.append(folder / f"{path.stem}_{i}{j}{path.suffix}")
            tile.write(tiles[-1])
    return tiles
