"""Outlines of connected patches of a class mask (low vegetation, water, road networks)."""

import math

import numpy as np
import numpy.typing as npt
from affine import Affine
from rasterio import features as rio_features
from scipy import ndimage
from shapely.geometry import Polygon, shape

from reconstruction.errors import ConfigError, InputError
from reconstruction.io.grid import Grid

_CROSS = ndimage.generate_binary_structure(2, 1)


def patch_polygons(mask: npt.NDArray[np.bool_], grid: Grid, min_area_m2: float, what: str = "mask") -> list[Polygon]:
    """Outline the 4-connected patches of a mask as polygons (their holes stay holes).

    Args:
        mask: (H, W) cells of the class on ``grid``.
        grid: the north-up grid of the mask (metric CRS, square cells).
        min_area_m2: smaller patches are dropped, square metres.
        what: the mask's name for error messages.

    Returns:
        Polygons in the grid CRS, in reading order of their first cell.

    Raises:
        ConfigError: ``min_area_m2`` is negative or not finite.
        InputError: the mask does not match the grid or the grid is not north-up.
    """
    if not (isinstance(min_area_m2, int | float) and math.isfinite(min_area_m2) and min_area_m2 >= 0):
        raise ConfigError(f"min_area_m2 must be a finite number >= 0 (square metres), got {min_area_m2!r}")
    if np.shape(mask) != grid.shape:
        raise InputError(f"The {what} has shape {np.shape(mask)} but the grid is {grid.shape}; resample it first.")
    t = grid.transform
    if t.b != 0 or t.d != 0 or t.e != -t.a:
        raise InputError(f"Outlining the {what} needs a north-up grid with square cells; resample the rasters first.")
    patches, count = ndimage.label(np.asarray(mask, bool), structure=_CROSS)
    areas = np.bincount(patches.ravel(), minlength=count + 1) * grid.resolution**2
    polygons = []
    for label, window in enumerate(ndimage.find_objects(patches), start=1):
        if window is None or areas[label] < min_area_m2:
            continue
        cells = patches[window] == label
        transform = grid.transform @ Affine.translation(window[1].start, window[0].start)
        shapes = rio_features.shapes(cells.astype(np.uint8), mask=cells, transform=transform, connectivity=4)
        polygons.append(max((shape(geometry) for geometry, _ in shapes), key=lambda p: p.area))
    return polygons
