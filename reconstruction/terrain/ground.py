"""Ground filtering: a Simple Morphological Filter (Pingel et al., 2013) on a gridded DSM."""

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from reconstruction.config import GroundConfig
from reconstruction.progress import ProgressCallback, silent
from reconstruction.terrain.fill import fill_holes


def extract_dtm(
    dsm: npt.NDArray[np.float32], resolution: float, cfg: GroundConfig, on_progress: ProgressCallback = silent
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
    """Separate ground from objects in a DSM and interpolate the bare-earth DTM under the objects.

    Args:
        dsm: (H, W) surface heights in metres; NaN where unknown.
        resolution: cell size in metres.
        cfg: filter parameters.
        on_progress: progress callback (stage "terrain").

    Returns:
        (dtm, ground): the (H, W) DTM in metres, and the mask of cells classified as ground.
    """
    valid = np.isfinite(dsm)
    surface = fill_holes(dsm, valid)
    radii = _window_radii(cfg.max_window_m / resolution)
    objects = np.zeros(dsm.shape, dtype=bool)
    last = surface
    for i, radius in enumerate(radii):
        opened = ndimage.grey_opening(last, size=(2 * radius + 1, 2 * radius + 1), mode="nearest")
        objects |= (last - opened) > cfg.slope * radius * resolution
        last = opened
        on_progress("terrain", 0.8 * (i + 1) / len(radii), f"Morphological opening, window {2 * radius + 1} cells")
    provisional = fill_holes(surface, ~objects & valid) if (~objects & valid).any() else last
    gy, gx = np.gradient(provisional, resolution)
    tolerance = cfg.elevation_threshold_m + cfg.slope_scalar * np.hypot(gx, gy)
    ground = valid & (np.abs(surface - provisional) <= tolerance)
    if not ground.any():
        ground = valid & ~objects
    dtm = fill_holes(surface, ground)
    on_progress("terrain", 1.0, f"Ground: {ground.mean():.0%} of cells")
    return np.minimum(dtm, surface).astype(np.float32), ground


def dtm_from_ground_points(
    ground_z: npt.NDArray[np.float32], dsm: npt.NDArray[np.float32]
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
    """Build a DTM from a raster of classified ground returns (lowest ground point per cell, NaN if none).

    Returns:
        (dtm, ground) as :func:`extract_dtm`.
    """
    ground = np.isfinite(ground_z)
    dtm = fill_holes(ground_z, ground)
    surface_known = np.isfinite(dsm)
    dtm = np.where(surface_known, np.minimum(dtm, np.where(surface_known, dsm, dtm)), dtm)
    return dtm.astype(np.float32), ground


def _window_radii(max_radius_px: float) -> list[int]:
    """Window radii 1, 2, 3, 5, 8, ... up to the largest, so the opening grows geometrically."""
    radii, a, b = [], 1, 2
    limit = max(1, int(round(max_radius_px)))
    while a < limit:
        radii.append(a)
        a, b = b, a + b
    radii.append(limit)
    return sorted(set(radii))
