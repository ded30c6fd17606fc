"""Roofs among unclassified returns: which object returns lie on a building rather than in a crown.

For LiDAR classified only as ground / non-ground (classes 1 and 2, like many older surveys), the shape of
the returns tells a roof from a tree where colour cannot (a dark crown, a green roof, no image at all):

- **flatness**: a roof's neighbourhood fits a plane (:class:`~reconstruction.pointcloud.neighbourhood.Neighbourhood`),
  a crown's returns scatter through a volume;
- **echoes**: a pulse that hits a roof returns once, one that enters a crown returns several times
  (LAS ``number_of_returns``), so a crown's neighbourhoods are full of multiple echoes;
- **NDVI**, when the points carry near-infrared: living leaves reflect it, roofs do not;
- **majority of the neighbours**: a roof is a surface of such returns, not the odd flat cluster of leaves.

The thresholds are :class:`~reconstruction.config.RulesConfig`'s; they were chosen on Montpellier, the IGN
LiDAR HD extract and Delft's AHN3 with their building classes removed (docs/models.md has the scores).
"""

import numpy as np
import numpy.typing as npt

from reconstruction.config import RulesConfig
from reconstruction.pointcloud.neighbourhood import Neighbours


def roof_returns(
    xyz: npt.NDArray[np.float64],
    cfg: RulesConfig,
    multiple_echo: npt.NDArray[np.bool_] | None = None,
    ndvi: npt.NDArray[np.float32] | None = None,
) -> npt.NDArray[np.bool_]:
    """Which of the given object returns lie on roofs.

    Args:
        xyz: (N, 3) the returns that stand above the ground (neither ground nor water), metres; their
            neighbourhoods are taken among themselves, so ground returns must not be among them.
        cfg: ``neighbours``, ``roof_flatness_max``, ``roof_echo_max`` and ``ndvi_min``.
        multiple_echo: (N,) True for a return of a pulse with several returns; None when unrecorded.
        ndvi: (N,) the returns' NDVI from their own NIR and red; None without NIR.

    Returns:
        (N,) True for roof returns.
    """
    if len(xyz) == 0:
        return np.zeros(0, dtype=bool)
    neighbours = Neighbours(xyz, cfg.neighbours)
    shape = neighbours.features(multiple_echo)
    roof = np.nan_to_num(shape.flatness, nan=np.inf) < cfg.roof_flatness_max
    if multiple_echo is not None:
        roof &= shape.echo_share < cfg.roof_echo_max
    if ndvi is not None:
        roof &= ndvi < cfg.ndvi_min
    return np.asarray(neighbours.share(roof) > 0.5, dtype=bool)
