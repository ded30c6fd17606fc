"""Training samples from classified LiDAR, alone or with the area's own orthophoto.

:func:`samples_from_lidar` uses the points' colours as the image (or their intensity when the file
has no colour, as every LiDAR file in ../shared/data does); :func:`samples_from_area` puts the
area's orthophoto on the LiDAR's grid instead, which is what "train on this area" needs: real
imagery, supervised by the LiDAR's classes and heights, without manual labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from pyproj import CRS

from reconstruction.errors import ConfigError, InputError
from reconstruction.training.samples import IGNORE, LIDAR_TO_CHANNEL, Sample, lookup_classes


def samples_from_lidar(laz_path: Path, resolution: float = 0.5) -> list[Sample]:
    """Rasterise a classified LAS/LAZ file into one sample.

    Cells are ``resolution`` metres on the file's own CRS, covering its header bounds. Per cell:
    image = mean point colour (16-bit LAS colours scaled to 0..1; files without colour, or with
    all-zero colour, get the 1st-99th percentile stretched intensity in all three bands);
    DSM = highest point; DTM = lowest ground (class 2) point, gaps filled by push-pull
    interpolation; height = DSM - DTM clipped at 0; label = class of the highest point, mapped by
    :data:`LIDAR_TO_CHANNEL`. Cells without points get label 255 and height NaN; their image
    values are interpolated from neighbouring cells.

    Args:
        laz_path: classified LAS or LAZ file in a projected CRS (metres).
        resolution: cell size in metres.

    Returns:
        One :class:`Sample`, region = the file name without extension.

    Raises:
        ConfigError: ``resolution`` is not positive.
        InputError: the file cannot be read, or has no ground (class 2) points.
    """
    raster = rasterise_lidar(laz_path, resolution)
    return [Sample(raster.image, raster.labels, raster.height, Path(laz_path).stem)]


def samples_from_area(
    ortho_path: Path, laz_path: Path, resolution: float = 0.5, epsg: int | None = None
) -> list[Sample]:
    """An area's orthophoto supervised by its classified LiDAR: one sample on the LiDAR's grid.

    Classes and heights come from the LiDAR exactly as in :func:`samples_from_lidar`; the image is
    the orthophoto averaged onto the same cells (8-bit bands scaled to 0..1, 16-bit ones stretched
    as :func:`reconstruction.io.to_rgb8` does; a fourth band is kept as NIR). The sample is cropped
    to the cells the orthophoto covers; cells it misses inside that box get label 255 and height NaN.

    Args:
        ortho_path: the orthophoto GeoTIFF (RGB, or RGB + NIR: the sample then has four bands).
        laz_path: classified LAS/LAZ of the same place.
        resolution: cell size in metres.
        epsg: CRS of the orthophoto when the file carries none.

    Returns:
        One :class:`Sample`, region = the LiDAR file name without extension.

    Raises:
        InputError: a file is unreadable, or the two do not overlap.
    """
    from affine import Affine
    from rasterio.enums import Resampling

    from reconstruction.io import Grid, inspect_raster, read_onto_grid, to_rgb8

    raster = rasterise_lidar(laz_path, resolution)
    if raster.crs is None:
        raise InputError(f"{laz_path} has no CRS record; rs3d needs one to put the orthophoto on its grid")
    h, w = raster.labels.shape
    grid = Grid(raster.crs, Affine(resolution, 0.0, raster.left, 0.0, -resolution, raster.top), w, h)
    ortho = inspect_raster(Path(ortho_path), "orthophoto", epsg, max_pixels=400_000_000)
    bands = read_onto_grid(ortho, grid, Resampling.average)[:4]
    covered = np.asarray(np.isfinite(bands).all(axis=0), dtype=bool)
    if not covered.any():
        raise InputError(f"the orthophoto {ortho_path} does not overlap the LiDAR {laz_path}")
    rows, cols = np.flatnonzero(covered.any(axis=1)), np.flatnonzero(covered.any(axis=0))
    window = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    image = to_rgb8(bands, ortho.dtype).astype(np.float32)[(slice(None), *window)] / 255.0
    labels, height = raster.labels[window].copy(), raster.height[window].copy()
    labels[~covered[window]] = IGNORE
    height[~covered[window]] = np.nan
    return [Sample(image, labels, height, Path(laz_path).stem)]


@dataclass(frozen=True)
class LidarRaster:
    """A classified point cloud on a north-up grid (see :func:`samples_from_lidar` for the rules)."""

    image: npt.NDArray[np.float32]
    labels: npt.NDArray[np.int64]
    height: npt.NDArray[np.float32]
    left: float
    top: float
    crs: CRS | None


def rasterise_lidar(laz_path: Path, resolution: float) -> LidarRaster:
    """A classified LAS/LAZ file on a north-up grid of its own CRS (the rules of :func:`samples_from_lidar`)."""
    import laspy

    from reconstruction.terrain import fill_holes

    if not resolution > 0:
        raise ConfigError(f"resolution must be positive metres, got {resolution}")
    try:
        las = laspy.read(str(laz_path))
    except (OSError, laspy.LaspyException) as err:
        raise InputError(f"cannot read LiDAR file {laz_path}: {err}") from err
    x, y, z = (np.asarray(v, dtype=np.float64) for v in (las.x, las.y, las.z))
    cls = np.asarray(las.classification, dtype=np.int64)
    if not (cls == 2).any():
        raise InputError(f"{laz_path} has no ground (class 2) points; classify it first")
    left, top = np.floor(x.min() / resolution) * resolution, np.ceil(y.max() / resolution) * resolution
    w = max(1, int(np.ceil(round((x.max() - left) / resolution, 6))))
    h = max(1, int(np.ceil(round((top - y.min()) / resolution, 6))))
    col = np.clip(((x - left) / resolution).astype(np.int64), 0, w - 1)
    row = np.clip(((top - y) / resolution).astype(np.int64), 0, h - 1)
    idx = row * w + col
    n = h * w

    count = np.bincount(idx, minlength=n)
    hit = count > 0
    colour = _point_colour(las)
    image = np.empty((3, h, w), dtype=np.float32)
    for band in range(3):
        mean = np.bincount(idx, weights=colour[band], minlength=n) / np.maximum(count, 1)
        image[band] = fill_holes(mean.reshape(h, w).astype(np.float32), hit.reshape(h, w))

    order = np.argsort(z, kind="stable")  # highest point written last
    dsm = np.full(n, np.nan, dtype=np.float32)
    dsm[idx[order]] = z[order]
    top_class = np.full(n, 1, dtype=np.int64)
    top_class[idx[order]] = cls[order]
    ground = cls == 2
    gorder = np.argsort(-z[ground], kind="stable")  # lowest ground point written last
    dtm = np.full(n, np.nan, dtype=np.float32)
    dtm[idx[ground][gorder]] = z[ground][gorder]
    dtm_grid = fill_holes(dtm.reshape(h, w), np.isfinite(dtm).reshape(h, w))

    height = np.maximum(dsm.reshape(h, w) - dtm_grid, 0.0).astype(np.float32)  # NaN stays NaN
    labels = lookup_classes(top_class, LIDAR_TO_CHANNEL).reshape(h, w)
    labels[~hit.reshape(h, w)] = IGNORE
    try:
        crs = las.header.parse_crs()
    except (laspy.LaspyException, ValueError):
        crs = None
    return LidarRaster(np.clip(image, 0.0, 1.0).astype(np.float32), labels, height, float(left), float(top), crs)


def _point_colour(las: object) -> npt.NDArray[np.float64]:
    """``(3, N)`` colour of every point in 0..1 (RGB, or stretched intensity when colour is missing)."""
    names = set(las.point_format.dimension_names)  # type: ignore[attr-defined]
    if {"red", "green", "blue"} <= names:
        rgb = np.stack([np.asarray(getattr(las, c), dtype=np.float64) for c in ("red", "green", "blue")])
        peak = rgb.max(initial=0.0)
        if peak > 0:
            return rgb / (255.0 if peak <= 255 else 65535.0)
    intensity = np.asarray(las.intensity, dtype=np.float64)  # type: ignore[attr-defined]
    lo, hi = np.percentile(intensity, [1, 99]) if intensity.size else (0.0, 1.0)
    grey = np.clip((intensity - lo) / max(hi - lo, 1e-6), 0.0, 1.0)
    return np.stack([grey, grey, grey])
