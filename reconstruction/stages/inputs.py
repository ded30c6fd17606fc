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
from reconstruction.io.area import inspect_area, working_grid


@dataclass
class Area:
    """The checked inputs of a run and where it computes.

    Attributes:
        ortho, dsm, lidar: the inputs' information (``dsm``/``lidar`` None when not given).
        extent: the grid every stage computes on and the core the run keeps.
        footprints: the user's building footprints on ``extent.grid`` (None without a footprint file).
        warnings: the inputs' warnings for the user.
    """

    ortho: RasterInfo
    dsm: RasterInfo | None
    lidar: LidarInfo | None
    extent: Extent
    footprints: list[Any] | None
    warnings: list[str] = field(default_factory=list)

    @property
    def grid(self) -> Grid:
        """The grid every stage computes on."""
        return self.extent.grid

    @property
    def measured(self) -> bool:
        """Whether heights were measured (a DSM or LiDAR was given) rather than to be predicted."""
        return self.dsm is not None or self.lidar is not None


def run_inputs(inputs: PipelineInputs, cfg: PipelineConfig, chip: tuple[ChipPlan, Chip] | None) -> Area:
    """Validate the inputs, derive the working grid (a chip's window of it with ``chip``), read footprints.

    Raises:
        InputError: an input is invalid, the inputs do not overlap, the grid is too large for one job, or
            (with ``chip``) the files changed since the chip plan was made.
    """
    ortho, dsm, lidar = inspect_area(inputs, cfg)
    warnings = [w for info in (ortho, dsm, lidar) if info for w in info.warnings]
    extent = Extent.of_run(working_grid(ortho, dsm, lidar, cfg, check_size=chip is None), chip, cfg)
    footprints = _footprints(inputs, extent.grid, warnings)
    return Area(ortho, dsm, lidar, extent, footprints, warnings)


def check_inputs(inputs: PipelineInputs, cfg: PipelineConfig) -> list[str]:
    """Validate the input files and their overlap without reconstructing anything (for upload forms).

    An orthophoto alone is valid: its heights and classes are then predicted by the model.

    Returns:
        Warnings for the user (e.g. a CRS without an EPSG identity).

    Raises:
        InputError: an input is unreadable, unsuitable, has no CRS, or the inputs do not overlap.
    """
    views = []
    if inputs.stereo:
        from reconstruction.stereo import check_stereo_images

        views = check_stereo_images(list(inputs.stereo))
        if inputs.ortho is None:  # the orthophoto comes from the stereo pair: nothing else to overlap yet
            return []
    ortho, dsm, lidar = inspect_area(inputs, cfg)
    if views:
        intersect(ortho.bounds_in(CRS.from_epsg(4326)), views[0].ground_box, ortho.label, "the stereo pair")
    grid = working_grid(ortho, dsm, lidar, cfg)
    warnings: list[str] = []
    _footprints(inputs, grid, warnings)
    if inputs.second_image is not None:
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
