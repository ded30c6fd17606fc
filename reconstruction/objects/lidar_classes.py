"""Land cover where a LiDAR's classes decide: building and vegetation cells from the returns, not from colour.

Colour cannot tell a dark crown from a dark roof (in a classified AHN tile, 4 of the 6 "buildings" the
colour rules found held no building return at all), while the survey's own classes, or the shape of its
returns (:mod:`reconstruction.pointcloud.roofs`), can. :func:`classify_with_lidar` therefore starts from
:func:`~reconstruction.objects.rules.classify_by_rules` and lets the returns overrule it wherever they speak:
on every cell above ground whether it is a building, and, when the returns are sorted into vegetation too,
whether it is a tree, and on the ground whether it is low vegetation.
"""

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from reconstruction.config import RulesConfig
from reconstruction.objects.rules import (
    BUILDING,
    GROUND,
    HIGH_VEGETATION,
    LOW_VEGETATION,
    UNCLASSIFIED,
    classify_by_rules,
    remove_small,
)
from reconstruction.pointcloud.shares import LidarShares


def classify_with_lidar(
    ndsm: npt.NDArray[np.float32],
    image: npt.NDArray[np.float32],
    resolution: float,
    cfg: RulesConfig,
    shares: LidarShares,
) -> npt.NDArray[np.uint8]:
    """Label every cell with an ASPRS class, buildings (and vegetation when given) from the LiDAR's returns.

    A cell above ground (nDSM over ``cfg.above_ground_m``) is a building when most of its returns are;
    building patches are cleaned as the colour rules clean theirs (opened, small ones dropped) and, with
    ``shares.echo``, a patch whose returns mostly echoed several times is a crown, not a roof. The other
    cells above ground are trees where most returns are vegetation (or, without ``shares.vegetation``, where
    the colour rules say so), else unclassified objects. With ``shares.low_vegetation``, a ground-level cell
    is low vegetation when most of its returns are vegetation, else ground; without it colour decides.

    Args:
        ndsm: (H, W) height above ground in metres, NaN where unknown.
        image: (3 or 4, H, W) reflectances for the colour rules.
        resolution: cell size in metres.
        cfg: thresholds (``above_ground_m``, ``min_building_m2``, ``building_echo_max``, colour rules).
        shares: the returns' shares per cell.

    Returns:
        (H, W) uint8 ASPRS classes as :func:`~reconstruction.objects.rules.classify_by_rules` returns them.
    """
    labels = classify_by_rules(ndsm, image, resolution, cfg)
    known = np.isfinite(ndsm)
    above = known & (np.nan_to_num(ndsm) > cfg.above_ground_m)
    building = above & (np.nan_to_num(shares.building) > 0.5)
    building = ndimage.binary_opening(building, structure=np.ones((3, 3), bool))
    building = remove_small(building, cfg.min_building_m2 / resolution**2)
    if shares.echo is not None:
        building = _drop_echoing(building, shares.echo, cfg.building_echo_max)
    rest = above & ~building
    if shares.vegetation is not None:
        labels[rest] = np.where(np.nan_to_num(shares.vegetation[rest]) > 0.5, HIGH_VEGETATION, UNCLASSIFIED)
    else:  # colour said "not vegetation" where the rules made a building: the returns say it is not one either
        labels[rest & (labels == BUILDING)] = UNCLASSIFIED
    if shares.low_vegetation is not None:
        low = known & ~above
        labels[low] = np.where(np.nan_to_num(shares.low_vegetation[low]) > 0.5, LOW_VEGETATION, GROUND)
    labels[building] = BUILDING
    labels[~known] = 0
    return labels


def _drop_echoing(
    mask: npt.NDArray[np.bool_], echo: npt.NDArray[np.float32], max_share: float
) -> npt.NDArray[np.bool_]:
    """Drop the patches of ``mask`` whose cells' mean multiple-echo share exceeds ``max_share``."""
    components, count = ndimage.label(mask)
    if count == 0:
        return mask
    values = np.nan_to_num(echo, nan=0.0)
    known = np.isfinite(echo)
    total = np.bincount(components[known], weights=values[known], minlength=count + 1)
    cells = np.bincount(components[known], minlength=count + 1)
    mean = np.divide(total, cells, out=np.zeros_like(total), where=cells > 0)
    keep = mean <= max_share
    keep[0] = False
    return np.asarray(keep[components], dtype=bool)
