"""Stage ``inputs``: check the area's files, choose the working grid (or the chip's window) and read footprints.

:func:`check_inputs` is the same check without a run, for upload forms (``python -m reconstruction check``).
"""

from dataclasses import dataclass, field
from typing import Any

from pyproj import CRS

from reconstruction.chips.extent import Extent
from reconstruction.chips.plan import Chip, ChipPlan
from reconstruction.config import PipelineConfig, PipelineInputs
from reconstruction.errors import OverlapError
from reconstruction.io import (
    Grid,
    LidarInfo,
    RasterInfo,
    inspect_footprints,
    inspect_raster,
    intersect,
    read_footprints,
)
from reconstruction.io.area import cell_size, inspect_area, working_grid
from reconstruction.io.cell_size import CELL_LADDER, CellSize
from reconstruction.progress import ProgressCallback, silent


@dataclass
class Area:
    """The checked inputs of a run and where it computes.

    Attributes:
        ortho, dsm, lidar: the inputs' information (``dsm``/``lidar`` None when not given; ``ortho`` None for
            LiDAR alone until the ``imagery`` stage has made the orthophoto from the points).
        extent: the grid every stage computes on and the core the run keeps.
        footprints: the user's building footprints on ``extent.grid`` (None without a footprint file).
        cell: the grid's cell side and why it was chosen (for the manifest and the run's log).
        warnings: the inputs' warnings for the user.
    """

    ortho: RasterInfo | None
    dsm: RasterInfo | None
    lidar: LidarInfo | None
    extent: Extent
    footprints: list[Any] | None
    cell: CellSize
    warnings: list[str] = field(default_factory=list)

    @property
    def grid(self) -> Grid:
        """The grid every stage computes on."""
        return self.extent.grid

    @property
    def measured(self) -> bool:
        """Whether heights were measured (a DSM or LiDAR was given) rather than to be predicted."""
        return self.dsm is not None or self.lidar is not None


def run_inputs(
    inputs: PipelineInputs,
    cfg: PipelineConfig,
    chip: tuple[ChipPlan, Chip] | None,
    on_progress: ProgressCallback = silent,
) -> Area:
    """Validate the inputs, derive the working grid (a chip's window of it with ``chip``), read footprints.

    Reports the cell size and its reason to ``on_progress`` (the run's log), and warns when a sparse LiDAR
    made the cells coarser than 0.5 m.

    Raises:
        InputError: an input is invalid, the inputs do not overlap, the grid is too large for one job, or
            (with ``chip``) the files changed since the chip plan was made.
    """
    ortho, dsm, lidar = inspect_area(inputs, cfg)
    warnings = [w for info in (ortho, dsm, lidar) if info for w in info.warnings]
    grid = working_grid(ortho, dsm, lidar, cfg, check_size=chip is None)
    cell = cell_size(ortho, dsm, lidar, grid.crs, cfg)
    on_progress("inputs", 0.9, cell.describe())
    if cell.source == "lidar density" and cell.resolution_m > min(CELL_LADDER) and cell.lidar_density is not None:
        warnings.append(
            f"The LiDAR holds {cell.lidar_density:.2g} points/m², too few for 0.5 m cells: the area is computed on "
            f"{cell.resolution_m:g} m cells, which the points fill. Set resolution_m to choose another size."
        )
    extent = Extent.of_run(grid, chip, cfg)
    footprints = _footprints(inputs, extent.grid, warnings)
    return Area(ortho, dsm, lidar, extent, footprints, cell, warnings)


def check_inputs(inputs: PipelineInputs, cfg: PipelineConfig) -> list[str]:
    """Validate the input files and their overlap without reconstructing anything (for upload forms).

    An orthophoto alone is valid (its heights and classes are then predicted by the model), and so is LiDAR
    alone (its points make the orthophoto).

    Returns:
        Warnings for the user (e.g. a CRS without an EPSG identity).

    Raises:
        InputError: an input is unreadable, unsuitable, has no CRS, or the inputs do not overlap.
    """
    views = []
    if inputs.stereo:
        from reconstruction.stereo import check_stereo_images

        views = check_stereo_images(list(inputs.stereo))
        if not inputs.ortho:  # the orthophoto comes from the stereo pair: nothing else to overlap yet
            return []
    ortho, dsm, lidar = inspect_area(inputs, cfg)
    if views and ortho is not None:
        intersect(ortho.bounds_in(CRS.from_epsg(4326)), views[0].ground_box, ortho.label, "the stereo pair")
    grid = working_grid(ortho, dsm, lidar, cfg)
    warnings: list[str] = []
    _footprints(inputs, grid, warnings)
    if inputs.second_image is not None and ortho is not None:
        limits = cfg.limits
        second = inspect_raster(
            inputs.second_image, "orthophoto", inputs.epsg, limits.max_raster_pixels, limits.max_raster_bytes
        )
        intersect(
            ortho.bounds_in(grid.crs), second.bounds_in(grid.crs), ortho.label, f"second image '{second.path.name}'"
        )
        warnings += second.warnings
    return [w for info in (ortho, dsm, lidar) if info for w in info.warnings] + warnings


def _footprints(inputs: PipelineInputs, grid: Grid, warnings: list[str]) -> list[Any] | None:
    """The user's building footprints on the area, in the grid's CRS (None without a footprint file).

    Raises:
        InputError: the file is unreadable, not polygons, has no CRS, or none of it touches the area.
    """
    if inputs.footprints is None:
        return None
    info = inspect_footprints(inputs.footprints, inputs.epsg)
    warnings += info.warnings
    polygons = read_footprints(info, grid.crs, grid.bounds)
    if not polygons:
        raise OverlapError(
            f"None of the {info.count:,} footprints in the {info.label} touches the area; "
            "check it is the same place (and its CRS)."
        )
    return polygons
