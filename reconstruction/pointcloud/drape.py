"""What to drape over the terrain when the LiDAR carries no colour: its classes in map colours, shaded by relief.

Without colour there is no orthophoto to show, but the points still say what stands where: a map of the
top return's class per cell (ASPRS colours: ground tan, vegetation green, buildings red, water blue),
shaded by a hillshade of the surface so roofs and crowns read as relief. A file classified as nothing
but ground and unclassified gets the grey hillshade alone.
"""

import numpy as np
import numpy.typing as npt

from reconstruction.io.grid import Grid
from reconstruction.pointcloud.true_ortho import sampling_gaps, top_surface
from reconstruction.terrain.fill import fill_holes

#: Map colours of the ASPRS classes (others, and class 1, are light grey).
CLASS_COLOURS: dict[int, tuple[int, int, int]] = {
    2: (178, 160, 128),  # ground
    3: (150, 200, 110),  # low vegetation
    4: (90, 170, 70),  # medium vegetation
    5: (40, 120, 40),  # high vegetation
    6: (200, 90, 70),  # building
    9: (70, 120, 200),  # water
    11: (120, 120, 120),  # road surface
    17: (150, 150, 150),  # bridge deck
}
_OTHER = (190, 190, 190)
#: Sun of the hillshade: from the north-west, 45 degrees up (the cartographic convention).
SUN_AZIMUTH_DEG, SUN_ALTITUDE_DEG = 315.0, 45.0


def has_object_classes(classification: npt.NDArray[np.uint8]) -> bool:
    """Whether the points are classified beyond ground / unclassified (so their classes are worth a map)."""
    return bool(np.isin(classification, [3, 4, 5, 6, 9, 11, 17]).any())


def class_drape(
    xyz: npt.NDArray[np.float64], classification: npt.NDArray[np.uint8], grid: Grid
) -> npt.NDArray[np.uint8]:
    """``(3, H, W)`` uint8: the top return's class colour per cell, shaded by the surface's hillshade; 0 unknown."""
    idx, top = top_surface(xyz, grid)
    cells = grid.width * grid.height
    order = np.argsort(xyz[top, 2], kind="stable")  # the highest return of each cell is written last
    top_class = np.zeros(cells, dtype=np.uint8)
    top_class[idx[top][order]] = classification[top][order]
    palette = np.array([CLASS_COLOURS.get(code, _OTHER) for code in range(256)], dtype=np.float32)
    colours = palette[top_class].T.reshape(3, grid.height, grid.width)
    known = np.bincount(idx[top], minlength=cells).reshape(grid.height, grid.width) > 0
    shade = _shade(xyz, grid, known)
    return _with_gaps(colours * (0.45 + 0.55 * shade), known)


def relief_drape(xyz: npt.NDArray[np.float64], grid: Grid) -> npt.NDArray[np.uint8]:
    """``(3, H, W)`` uint8: a grey hillshade of the highest returns; 0 unknown."""
    idx = top_surface(xyz, grid)[0]
    known = np.bincount(idx[idx >= 0], minlength=grid.width * grid.height).reshape(grid.height, grid.width) > 0
    grey = 40.0 + 215.0 * _shade(xyz, grid, known)
    return _with_gaps(np.repeat(grey[None], 3, axis=0), known)


def hillshade(dsm: npt.NDArray[np.float32], resolution: float) -> npt.NDArray[np.float32]:
    """Lambertian shading (0 dark .. 1 lit) of a gap-free surface under the sun of :data:`SUN_AZIMUTH_DEG`."""
    dz_dy, dz_dx = np.gradient(dsm.astype(np.float64), resolution)
    # Rows run south, so the northward slope is -dz_dy; the sun's direction vector points to the light.
    azimuth, altitude = np.radians(SUN_AZIMUTH_DEG), np.radians(SUN_ALTITUDE_DEG)
    sun = np.array([np.sin(azimuth) * np.cos(altitude), np.cos(azimuth) * np.cos(altitude), np.sin(altitude)])
    normal = np.stack([-dz_dx, dz_dy, np.ones_like(dz_dx)])
    shade = np.tensordot(sun, normal, axes=1) / np.linalg.norm(normal, axis=0)
    return np.clip(shade, 0.0, 1.0).astype(np.float32)


def _shade(xyz: npt.NDArray[np.float64], grid: Grid, known: npt.NDArray[np.bool_]) -> npt.NDArray[np.float32]:
    from reconstruction.pointcloud.rasterize import rasterize_points

    dsm = rasterize_points(xyz, grid, keep="highest")
    return hillshade(fill_holes(dsm, known), grid.resolution)


def _with_gaps(values: npt.NDArray[np.float32], known: npt.NDArray[np.bool_]) -> npt.NDArray[np.uint8]:
    """Round to 1..255 where known or a sampling gap (filled from neighbours), 0 elsewhere."""
    gaps = sampling_gaps(known)
    out = np.zeros(values.shape, dtype=np.uint8)
    for band, plane in enumerate(values):
        filled = np.where(gaps, fill_holes(plane.astype(np.float32), known), plane) if gaps.any() else plane
        out[band] = np.where(known | gaps, np.clip(np.rint(filled), 1, 255), 0).astype(np.uint8)
    return out
