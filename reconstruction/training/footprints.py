"""Training samples from an orthophoto and the building footprints a user already has ("use the map you have").

A cadastre or OpenStreetMap export says where buildings are and nothing else: footprint cells get the
building class and every other cell is *unknown* (label 255, which the losses ignore), not "ground" --
a footprint file is silent about trees, roads and unmapped sheds. Heights are unknown (NaN, ignored by
the height losses) unless a height raster of the same place is given. Such samples teach what
buildings look like in the user's own imagery; mix them with fully labelled ones (generated towns or
LiDAR areas), since alone they only ever show one class.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from reconstruction.errors import ConfigError, InputError
from reconstruction.training.samples import IGNORE, Sample

if TYPE_CHECKING:
    from shapely.geometry import Polygon

    from reconstruction.io import Grid

#: Class channel of buildings (``models.CLASSES``).
BUILDING = 2


def footprint_labels(polygons: list[Polygon], grid: Grid) -> npt.NDArray[np.int64]:
    """Rasterise footprints onto a grid: building where a cell centre lies in a footprint, unknown elsewhere.

    Args:
        polygons: footprints in the grid's CRS.
        grid: the sample's grid.

    Returns:
        ``(H, W)`` int64: :data:`BUILDING` or :data:`~reconstruction.training.samples.IGNORE`.
    """
    from rasterio import features

    labels = np.full(grid.shape, IGNORE, dtype=np.int64)
    if polygons:
        inside = features.geometry_mask(polygons, grid.shape, grid.transform, invert=True)
        labels[inside] = BUILDING
    return labels


def samples_from_footprints(
    ortho_path: Path,
    footprints_path: Path,
    resolution: float = 0.5,
    epsg: int | None = None,
    height_path: Path | None = None,
) -> list[Sample]:
    """An orthophoto labelled by a footprint file: buildings known, everything else ignored.

    The sample's grid covers the orthophoto at ``resolution`` metres in its CRS; the image is the
    orthophoto averaged onto it (R, G, B, plus NIR when the file has a fourth band; 16-bit bands
    stretched as :func:`reconstruction.io.to_rgb8` does). Footprints are read with
    :mod:`reconstruction.io.footprints` (GeoPackage, GeoJSON, Shapefile, CSV with a ``WKT`` column)
    and reprojected to the orthophoto's CRS.

    Args:
        ortho_path: the orthophoto GeoTIFF (RGB or RGB + NIR).
        footprints_path: the footprint polygons.
        resolution: cell size in metres.
        epsg: CRS of an orthophoto or footprint file that carries none.
        height_path: optional GeoTIFF of height above ground (nDSM, metres) of the same place; without
            it every height is unknown.

    Returns:
        One :class:`Sample`, region = the orthophoto's file name without extension.

    Raises:
        ConfigError: ``resolution`` is not positive.
        InputError: unreadable files, or no footprint touches the orthophoto.
    """
    from rasterio.enums import Resampling

    from reconstruction.io import Grid, inspect_footprints, inspect_raster, read_footprints, read_onto_grid, to_rgb8

    if not resolution > 0:
        raise ConfigError(f"resolution must be positive metres, got {resolution}")
    ortho = inspect_raster(Path(ortho_path), "orthophoto", epsg, max_pixels=400_000_000)
    left, bottom, right, top = ortho.bounds_in(ortho.crs)
    grid = Grid.covering(ortho.crs, (left, bottom, right, top), resolution, anchor=(left, top))
    bands = read_onto_grid(ortho, grid, Resampling.average)[:4]
    covered = np.asarray(np.isfinite(bands).all(axis=0), dtype=bool)
    image = to_rgb8(bands, ortho.dtype).astype(np.float32) / 255.0
    info = inspect_footprints(Path(footprints_path), epsg)
    polygons = read_footprints(info, grid.crs, grid.bounds)
    if not polygons:
        raise InputError(f"no footprint of the {info.label} touches the orthophoto {Path(ortho_path).name}")
    labels = footprint_labels(polygons, grid)
    height = np.full(grid.shape, np.nan, dtype=np.float32)
    if height_path is not None:
        ndsm = inspect_raster(Path(height_path), "DSM", epsg, max_pixels=400_000_000)
        height = np.maximum(read_onto_grid(ndsm, grid, Resampling.average)[0], 0.0).astype(np.float32)
    labels[~covered] = IGNORE
    height[~covered] = np.nan
    return [Sample(image, labels, height, Path(ortho_path).stem)]
