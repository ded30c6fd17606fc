"""Land cover by documented rules: height above ground and vegetation index.

This is the interim classifier used until the learned segmentation model is trained: a cell is
above ground when its nDSM exceeds a threshold, and vegetation when its vegetation index (NDVI with
a near-infrared band, excess-green without one) exceeds another. Above-ground vegetation is a tree,
above-ground non-vegetation a building, the rest ground or low vegetation.
"""

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from reconstruction.config import RulesConfig

UNCLASSIFIED, GROUND, LOW_VEGETATION, HIGH_VEGETATION, BUILDING = 1, 2, 3, 5, 6


def classify_by_rules(
    ndsm: npt.NDArray[np.float32],
    image: npt.NDArray[np.float32],
    resolution: float,
    cfg: RulesConfig,
) -> npt.NDArray[np.uint8]:
    """Label every cell with an ASPRS class.

    Args:
        ndsm: (H, W) height above ground in metres, NaN where unknown.
        image: (3 or 4, H, W) reflectances (R, G, B[, NIR]) on the same grid, any linear scale.
        resolution: cell size in metres.
        cfg: thresholds.

    Returns:
        (H, W) uint8: 1 unclassified object, 2 ground, 3 low vegetation, 5 high vegetation, 6 building;
        0 where nDSM is unknown.
    """
    vegetation = vegetation_index(image) > (cfg.ndvi_min if image.shape[0] >= 4 else cfg.excess_green_min)
    known = np.isfinite(ndsm)
    above = known & (np.nan_to_num(ndsm) > cfg.above_ground_m)
    building = above & ~vegetation
    # Drop speckles: a building is a compact patch, not a few stray cells on a tree edge.
    building = ndimage.binary_opening(building, structure=np.ones((3, 3), bool))
    building = remove_small(building, cfg.min_building_m2 / resolution**2)
    labels = np.where(vegetation, LOW_VEGETATION, GROUND).astype(np.uint8)
    labels[above & vegetation] = HIGH_VEGETATION
    labels[building] = BUILDING
    labels[above & ~vegetation & ~building] = UNCLASSIFIED
    labels[~known] = 0
    return labels


def vegetation_index(image: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """NDVI when a fourth (NIR) band exists, else normalised excess green; NaN-free."""
    red, green, blue = image[0], image[1], image[2]
    with np.errstate(invalid="ignore", divide="ignore"):
        if image.shape[0] >= 4:
            nir = image[3]
            index = (nir - red) / (nir + red)
        else:
            index = (2 * green - red - blue) / (red + green + blue)
    return np.nan_to_num(index, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)


def remove_small(mask: npt.NDArray[np.bool_], min_cells: float) -> npt.NDArray[np.bool_]:
    """Drop the connected patches of ``mask`` smaller than ``min_cells`` cells."""
    components, count = ndimage.label(mask)
    if count == 0:
        return mask
    sizes = np.bincount(components.ravel())
    keep = sizes >= min_cells
    keep[0] = False
    return keep[components]
