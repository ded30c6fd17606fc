"""Terrain: ground filtering and the bare-earth DTM.

- :func:`extract_dtm` -- morphological ground filter on a DSM, DTM interpolated under objects.
- :func:`dtm_from_ground_points` -- DTM from LiDAR ground returns.
- :func:`fill_holes` -- pyramid interpolation of gaps in a surface.
- :class:`GroundConfig` -- filter parameters.
"""

from reconstruction.config import GroundConfig
from reconstruction.terrain.fill import fill_holes
from reconstruction.terrain.ground import dtm_from_ground_points, extract_dtm

__all__ = ["GroundConfig", "dtm_from_ground_points", "extract_dtm", "fill_holes"]
