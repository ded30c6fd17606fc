"""A true orthophoto from colourised LiDAR: each cell takes the colour of its top surface; sampling gaps are filled.

Colourised LiDAR (LAS point formats 2, 3, 5, 7, 8 and 10; NIR in 8 and 10) carries the colour of the images
flown with it. Rasterised on the working grid, those colours are a true orthophoto: every roof over its own
footprint, no leaning walls, on the very cells of the heights. Only the points near a cell's highest return
count (a roof, a crown), so a colourisation that gave returns under a canopy the ground's colour still shows
the canopy. A cell no point fell in is a sampling gap when its empty patch is small, and takes its
neighbours' colour; a large empty patch (water that returns nothing, ground outside the survey) stays empty.
"""

from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from reconstruction.io.grid import Grid
from reconstruction.io.lidar import LidarPoints
from reconstruction.pointcloud.rasterize import cell_index, rasterize_points
from reconstruction.terrain.fill import fill_holes

#: Returns up to this far below a cell's highest one still show its top surface, metres.
TOP_SURFACE_M = 0.5
#: Empty patches of up to this many cells are sampling gaps, filled from their neighbours.
MAX_GAP_CELLS = 16

#: What colour the points carry: RGB, RGB and NIR, colour fields that are all zero, or none.
ColourState = Literal["rgb", "rgb+nir", "all zero", "absent"]


def colour_state(points: LidarPoints) -> ColourState:
    """Whether the points carry colour (and NIR) worth an orthophoto.

    A file whose point format has colour fields but never fills them (many surveys write zeros) counts
    as ``all zero``; NIR that is all zero is ignored.
    """
    if points.rgb is None:
        return "absent"
    if not points.rgb.any():
        return "all zero"
    return "rgb+nir" if points.nir is not None and points.nir.any() else "rgb"


def true_orthophoto(points: LidarPoints, grid: Grid) -> npt.NDArray[np.uint8]:
    """The points' colours on ``grid``: ``(3 or 4, H, W)`` uint8 (R, G, B[, NIR]), 0 where unknown.

    Colour values are scaled to 8 bits (LAS stores 16; files that keep 8-bit values in the 16-bit fields
    are kept as they are) and lifted to at least 1, so 0 can mark the cells no point covers (the GeoTIFF's
    nodata).

    Raises:
        ValueError: the points carry no colour (see :func:`colour_state`), or none falls on the grid.
    """
    state = colour_state(points)
    if state in ("absent", "all zero"):
        raise ValueError(f"the points' colour is {state}")
    assert points.rgb is not None
    fields = [_to_8bit(points.rgb)]
    if state == "rgb+nir":
        assert points.nir is not None
        fields.append(_to_8bit(points.nir[:, None]))
    colours = np.concatenate(fields, axis=1)
    idx, top = top_surface(points.xyz, grid)
    if not top.any():
        raise ValueError("no point falls on the grid")
    cells = grid.width * grid.height
    count = np.bincount(idx[top], minlength=cells)
    known = (count > 0).reshape(grid.height, grid.width)
    gaps = sampling_gaps(known)
    out = np.zeros((colours.shape[1], grid.height, grid.width), dtype=np.uint8)
    for band in range(colours.shape[1]):
        mean = np.bincount(idx[top], weights=colours[top, band], minlength=cells) / np.maximum(count, 1)
        values = mean.reshape(grid.height, grid.width).astype(np.float32)
        if gaps.any():
            values = np.where(gaps, fill_holes(values, known), values)
        out[band] = np.where(known | gaps, np.clip(np.rint(values), 1, 255), 0).astype(np.uint8)
    return out


def top_surface(xyz: npt.NDArray[np.float64], grid: Grid) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Each point's flat cell index (-1 off the grid), and whether it shows its cell's top surface.

    Returns:
        ``(idx, top)``: ``top`` is True for a point on the grid within :data:`TOP_SURFACE_M` of its cell's
        highest return.
    """
    idx = cell_index(grid, xyz[:, 0], xyz[:, 1])
    inside = idx >= 0
    highest = rasterize_points(xyz, grid, keep="highest").ravel()
    top = inside & (xyz[:, 2] >= highest[np.where(inside, idx, 0)] - TOP_SURFACE_M)
    return idx, top


def sampling_gaps(known: npt.NDArray[np.bool_], max_cells: int = MAX_GAP_CELLS) -> npt.NDArray[np.bool_]:
    """The unknown cells whose empty patch (4-connected) is at most ``max_cells`` cells."""
    patches, count = ndimage.label(~known)
    if count == 0:
        return np.zeros_like(known)
    small = np.bincount(patches.ravel(), minlength=count + 1) <= max_cells
    small[0] = False
    return np.asarray(small[patches], dtype=bool)


def fill_sampling_gaps(surface: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """``surface`` (NaN where no return fell) with its :func:`sampling_gaps` interpolated from their neighbours."""
    known = np.isfinite(surface)
    gaps = sampling_gaps(known)
    if not gaps.any():
        return surface
    return np.where(gaps, fill_holes(surface, known), surface).astype(np.float32)


def _to_8bit(values: npt.NDArray[np.uint16]) -> npt.NDArray[np.float64]:
    """LAS colour (16 bits by the specification; some writers keep 8-bit values) as 0..255."""
    scale = 257.0 if values.max(initial=0) > 255 else 1.0
    return values.astype(np.float64) / scale
