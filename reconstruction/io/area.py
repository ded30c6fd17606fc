"""An area's input files as a whole: inspect them all and derive the one working grid they share.

Both a run (:mod:`reconstruction.stages.inputs`) and a chip plan (:mod:`reconstruction.chips.plan`) start
here, so the grid a plan cuts is the grid every chip run recomputes, cell for cell.
"""

from pyproj import CRS, Transformer

from reconstruction.config import LIMIT_SETTINGS, PipelineConfig, PipelineInputs
from reconstruction.errors import InputError
from reconstruction.io.crs import is_metric_projected, utm_for
from reconstruction.io.grid import Grid, intersect
from reconstruction.io.lidar import LidarInfo, inspect_lidar
from reconstruction.io.raster import RasterInfo, inspect_raster


def inspect_area(inputs: PipelineInputs, cfg: PipelineConfig) -> tuple[RasterInfo, RasterInfo | None, LidarInfo | None]:
    """Validate the orthophoto, DSM and LiDAR headers against the configured limits.

    Returns:
        The orthophoto's, the DSM's (or None) and the LiDAR's (or None) information.

    Raises:
        InputError: a file is unreadable, unsuitable, too large or has no CRS.
    """
    limit, size = cfg.limits.max_raster_pixels, cfg.limits.max_raster_bytes
    ortho = inspect_raster(inputs.reference, "orthophoto", inputs.epsg, limit, size)
    dsm = inspect_raster(inputs.dsm, "DSM", inputs.epsg, limit, size, inputs.z_unit) if inputs.dsm else None
    max_points, z_unit = cfg.limits.max_lidar_points, inputs.z_unit
    lidar = inspect_lidar(inputs.lidar, inputs.epsg, max_points, z_unit) if inputs.lidar else None
    return ortho, dsm, lidar


def working_grid(
    ortho: RasterInfo, dsm: RasterInfo | None, lidar: LidarInfo | None, cfg: PipelineConfig, check_size: bool = True
) -> Grid:
    """One metric CRS (the height source's when metric), extent = orthophoto ∩ height source.

    Raises:
        InputError: with ``check_size``, the grid has more cells than one job processes (a chip plan
            checks each chip's window instead).
    """
    candidates = [info.crs for info in (dsm, lidar, ortho) if info is not None]
    crs = next((c for c in candidates if is_metric_projected(c)), None)
    if crs is None:
        w, s, e, n = ortho.bounds_in(CRS.from_epsg(4326))
        crs = utm_for((w + e) / 2, (s + n) / 2)
    ortho_bounds = ortho.bounds_in(crs)
    if dsm is not None:
        bounds = intersect(ortho_bounds, dsm.bounds_in(crs), ortho.label, dsm.label)
        same_lattice = dsm.crs == crs and cfg.resolution_m in (None, dsm.resolution)
        resolution = cfg.resolution_m or (dsm.resolution if dsm.crs == crs else 0.5)
        anchor = (dsm.transform.c, dsm.transform.f) if same_lattice else (0.0, 0.0)
    elif lidar is None:  # orthophoto alone: its own pixel size, but not finer than the model's 0.5 m
        bounds = ortho_bounds
        native = ortho.crs == crs
        resolution = cfg.resolution_m or (max(ortho.resolution, 0.5) if native else 0.5)
        anchor = (ortho.transform.c, ortho.transform.f) if native else (0.0, 0.0)
    else:
        lidar_bounds = Transformer.from_crs(lidar.crs, crs, always_xy=True).transform_bounds(*lidar.bounds)
        bounds = intersect(ortho_bounds, lidar_bounds, ortho.label, lidar.label)
        resolution, anchor = cfg.resolution_m or 0.5, (0.0, 0.0)
    grid = Grid.covering(crs, bounds, resolution, anchor)
    if check_size:
        check_grid_size(grid, cfg, "Upload a smaller area or choose a coarser resolution")
    return grid


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
