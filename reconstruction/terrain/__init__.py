"""Terrain: ground filtering and the bare-earth DTM.

- :func:`extract_dtm` -- morphological ground filter on a DSM, DTM interpolated under objects.
- :func:`dtm_from_ground_points` -- DTM from LiDAR ground returns.
- :func:`fill_holes` -- pyramid interpolation of gaps in a surface.
- :class:`GroundConfig` -- filter parameters.
- :func:`build_tin` -- terrain TIN fitted to a DTM within a vertical error bound.
- :class:`Tin` -- the triangulated surface (vertices, counter-clockwise triangles).
- :class:`TinConfig` -- error bound and vertex cap.
- :class:`TinReport` -- vertex and triangle counts and the measured error.
"""

from reconstruction.config import GroundConfig
from reconstruction.terrain.fill import fill_holes
from reconstruction.terrain.ground import dtm_from_ground_points, extract_dtm
from reconstruction.terrain.tin import Tin, TinConfig, TinReport, build_tin

__all__ = [
    "GroundConfig",
    "Tin",
    "TinConfig",
    "TinReport",
    "build_tin",
    "dtm_from_ground_points",
    "extract_dtm",
    "fill_holes",
]
