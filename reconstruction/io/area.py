"""An area's input files as a whole: inspect them all and derive the one working grid they share.

Both a run (:mod:`reconstruction.stages.inputs`) and a chip plan (:mod:`reconstruction.chips.plan`) start
here, so the grid a plan cuts is the grid every chip run recomputes, cell for cell.
"""

from pyproj import CRS, Transformer

from reconstruction.config import LIMIT_SETTINGS, PipelineConfig, PipelineInputs
from reconstruction.errors import InputError
from reconstruction.io.cell_size import CellSize, cell_for_density, lidar_density
from reconstruction.io.crs import is_metric_projected, utm_for
from reconstruction.io.grid import Bounds, Grid, intersect
from reconstruction.io.lidar import LidarInfo, inspect_lidar_files
from reconstruction.io.raster import RasterInfo
from reconstruction.io.raster_tiles import inspect_raster_files


def inspect_area(
    inputs: PipelineInputs, cfg: PipelineConfig
) -> tuple[RasterInfo | None, RasterInfo | None, LidarInfo | None]:
    """Validate the orthophoto, DSM and LiDAR headers against the configured limits (each tile of each).

    Returns:
        The orthophoto's (None for LiDAR alone: the run makes it from the points), the DSM's (or None)
        and the LiDAR's (or None) information.

    Raises:
        InputError: a file is unreadable, unsuitable, too large or has no CRS.
    """
    limit, size, epsg = cfg.limits.max_raster_pixels, cfg.limits.max_raster_bytes, inputs.epsg
    ortho = inspect_raster_files(inputs.reference, "orthophoto", epsg, limit, size) if inputs.has_image else None
    dsm = inspect_raster_files(inputs.dsm, "DSM", epsg, limit, size, inputs.z_unit) if inputs.dsm else None
    max_points, z_unit = cfg.limits.max_lidar_points, inputs.z_unit
    lidar = inspect_lidar_files(inputs.lidar, inputs.epsg, max_points, z_unit) if inputs.lidar else None
    return ortho, dsm, lidar


def working_grid(
    ortho: RasterInfo | None,
    dsm: RasterInfo | None,
    lidar: LidarInfo | None,
    cfg: PipelineConfig,
    check_size: bool = True,
) -> Grid:
    """One metric CRS (the height source's when metric), extent = the inputs' overlap, cells by :func:`cell_size`.

    Raises:
        InputError: the inputs do not overlap; or, with ``check_size``, the grid has more cells than one job
            processes (a chip plan checks each chip's window instead).
    """
    crs = working_crs(ortho, dsm, lidar)
    cell = cell_size(ortho, dsm, lidar, crs, cfg)
    heights = dsm or lidar  # with a DSM, the LiDAR only registers it: its extent does not cut the area's
    sources = [(info.label, _bounds_in(info, crs)) for info in (ortho, heights) if info is not None]
    label, bounds = sources[0]
    if len(sources) == 2:
        bounds = intersect(bounds, sources[1][1], label, sources[1][0])
    anchor = (0.0, 0.0)
    if dsm is not None and dsm.crs == crs and cell.resolution_m == dsm.resolution:
        anchor = (dsm.transform.c, dsm.transform.f)  # the DSM's own lattice: no resampling of its heights
    elif ortho is not None and heights is None and ortho.crs == crs:
        anchor = (ortho.transform.c, ortho.transform.f)
    grid = Grid.covering(crs, bounds, cell.resolution_m, anchor)
    if check_size:
        check_grid_size(grid, cfg, "Upload a smaller area or choose a coarser resolution")
    return grid


def working_crs(ortho: RasterInfo | None, dsm: RasterInfo | None, lidar: LidarInfo | None) -> CRS:
    """The height source's CRS when it is metric (DSM, then LiDAR, then the orthophoto's), else the UTM zone."""
    infos = [info for info in (dsm, lidar, ortho) if info is not None]
    crs = next((info.crs for info in infos if is_metric_projected(info.crs)), None)
    if crs is None:
        w, s, e, n = _bounds_in(ortho or infos[0], CRS.from_epsg(4326))
        crs = utm_for((w + e) / 2, (s + n) / 2)
    return crs


def cell_size(
    ortho: RasterInfo | None, dsm: RasterInfo | None, lidar: LidarInfo | None, crs: CRS, cfg: PipelineConfig
) -> CellSize:
    """The working grid's cell side on ``crs`` and why (reported in the manifest and the run's log).

    The configured ``resolution_m`` wins; else a DSM's own pixel (when it is on ``crs``); else, with LiDAR,
    the side its density supports (:func:`reconstruction.io.cell_size.cell_for_density`); else the
    orthophoto's pixel, not finer than the model's 0.5 m.
    """
    density = lidar_density(lidar, crs) if lidar is not None else None
    if cfg.resolution_m:
        return CellSize(cfg.resolution_m, "config", density)
    if dsm is not None:
        return CellSize(dsm.resolution, "dsm", density) if dsm.crs == crs else CellSize(0.5, "default", density)
    if density is not None:
        return CellSize(cell_for_density(density), "lidar density", density)
    assert ortho is not None  # PipelineInputs refuses an area with neither an image nor LiDAR
    if ortho.crs == crs:
        return CellSize(max(ortho.resolution, 0.5), "orthophoto")
    return CellSize(0.5, "default")


def _bounds_in(info: RasterInfo | LidarInfo, crs: CRS) -> Bounds:
    """The extent of a raster or a LiDAR file's header box in ``crs``."""
    if isinstance(info, RasterInfo):
        return info.bounds_in(crs)
    return Transformer.from_crs(info.crs, crs, always_xy=True).transform_bounds(*info.bounds)


def check_grid_size(grid: Grid, cfg: PipelineConfig, advice: str) -> None:
    """Refuse a grid with more cells than one job processes.

    Raises:
        InputError: the grid is too large; the message names the limit's setting and ends with ``advice``.
    """
    if grid.width * grid.height > cfg.limits.max_grid_pixels:
        raise InputError(
            f"The area is {grid.width} x {grid.height} cells at {grid.resolution} m, more than one job processes "
            f"({cfg.limits.max_grid_pixels:,} cells, {LIMIT_SETTINGS['max_grid_pixels']}). {advice}."
        )
