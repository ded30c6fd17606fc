"""Stage ``terrain``: separate ground from objects (DTM, nDSM) and triangulate the terrain.

The ground filter and the TIN are :mod:`reconstruction.terrain`'s; a chip's TIN border is densified by
:mod:`reconstruction.chips.seams`.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from reconstruction import terrain
from reconstruction.chips.extent import Extent
from reconstruction.chips.seams import densify_border
from reconstruction.config import PipelineConfig
from reconstruction.progress import ProgressCallback
from reconstruction.stages.heights import Heights


@dataclass
class Relief:
    """Heights above ground and the terrain's TIN.

    Attributes:
        ndsm: height above the DTM, metres (NaN where the DSM is unknown).
        tin: the terrain TIN of what the run keeps (a chip's has a vertex at every border cell).
        report: the TIN's build report (vertices, triangles, largest error).
    """

    ndsm: npt.NDArray[np.float32]
    tin: terrain.Tin
    report: Any


def run_terrain(heights: Heights, extent: Extent, cfg: PipelineConfig, on_progress: ProgressCallback) -> Relief:
    """Set ``heights.surfaces.dtm`` and build the TIN.

    The DTM is flat at 0 m for predicted heights, from the LiDAR's ground returns when it has them, else the
    ground filter's.
    """
    surfaces = heights.surfaces
    dsm = surfaces.dsm
    if surfaces.prediction is not None:  # predicted heights are already above ground
        surfaces.dtm = np.zeros_like(dsm)
    elif heights.ground_z is not None:
        surfaces.dtm, _ = terrain.dtm_from_ground_points(heights.ground_z, dsm)
    else:
        surfaces.dtm, _ = terrain.extract_dtm(dsm, surfaces.grid.resolution, cfg.ground, on_progress)
    ndsm = np.where(np.isfinite(dsm), np.maximum(dsm - surfaces.dtm, 0), np.nan).astype(np.float32)
    on_progress("terrain", 0.9, "Triangulating the terrain (TIN)")
    tin, report = _terrain_tin(surfaces.dtm, extent, cfg)
    return Relief(ndsm, tin, report)


def _terrain_tin(dtm: npt.NDArray[np.float32], extent: Extent, cfg: PipelineConfig) -> tuple[terrain.Tin, Any]:
    """The terrain TIN of what the run keeps; a chip's gets a vertex at every border cell (see chips.seams)."""
    tin_dtm, tin_grid = dtm[extent.tin_cells()], extent.tin_grid()
    tin, report = terrain.build_tin(tin_dtm, tin_grid, cfg.tin)
    return (tin if extent.chip is None else densify_border(tin, tin_grid, tin_dtm)), report
