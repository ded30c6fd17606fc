"""Stage ``register``: co-register a second image to the orthophoto and a DSM to the LiDAR.

The work is :mod:`reconstruction.registration`'s; this stage picks what to register and records it.
"""

import dataclasses
import math
from pathlib import Path
from typing import Any

from pyproj import Transformer

from reconstruction import gis, pointcloud
from reconstruction.config import PipelineConfig, PipelineInputs
from reconstruction.io import (
    Grid,
    LidarInfo,
    inspect_lidar_files,
    inspect_raster,
    intersect,
    is_metric_projected,
    read_points,
    utm_for,
)
from reconstruction.io.raster import RasterRole
from reconstruction.io.raster_tiles import inspect_raster_files, write_mosaic
from reconstruction.progress import ProgressCallback
from reconstruction.stages import relative_path


def run_register(
    inputs: PipelineInputs, cfg: PipelineConfig, out_dir: Path, on_progress: ProgressCallback
) -> tuple[PipelineInputs, dict[str, Any]]:
    """Register the second image to the orthophoto and, when asked, the DSM to the LiDAR's surface.

    Returns:
        The inputs with the registered DSM in place of the original, and the ``registration`` manifest
        entry: one report (plain JSON, plus ``path`` and ``reference``) per registered source.

    Raises:
        InputError: a source cannot be registered (no overlap, too few matches, degenerate transform).
    """
    from reconstruction.registration import register_raster

    jobs: list[tuple[str, Path, str, Path, Path]] = []  # (name, reference, its label, moving, output)
    scratch = out_dir / "registration"
    if inputs.register_dsm and inputs.dsm:
        reference = _lidar_dsm(inputs, cfg, out_dir)
        dsm = _one_file(inputs.dsm, "DSM", reference, inputs, cfg, scratch / "dsm_tiles.tif")
        jobs.append(("dsm", reference, "lidar", dsm, scratch / "dsm_registered.tif"))
    if inputs.second_image is not None:
        ortho = _one_file(inputs.reference, "orthophoto", inputs.second_image, inputs, cfg, scratch / "ortho_tiles.tif")
        jobs.append(
            (
                "second_image",
                ortho,
                "orthophoto",
                inputs.second_image,
                out_dir / "rasters" / "second_image_registered.tif",
            )
        )
    if not jobs:  # nothing to say: the job's log names only stages that do work
        return inputs, {}
    entries: dict[str, Any] = {}
    for i, (name, reference, label, moving, out) in enumerate(jobs):

        def report(_stage: str, fraction: float, message: str, i: int = i) -> None:
            on_progress("register", (i + fraction) / len(jobs), message)

        found = register_raster(
            reference,
            moving,
            out,
            kind="dsm" if name == "dsm" else "image",
            model=cfg.registration.model,
            semantic=cfg.registration.semantic,
            progress=report,
            cfg=cfg.registration,
            epsg=inputs.epsg,
            z_unit=inputs.z_unit,
        )
        entries[name] = {**found.to_dict(), "path": relative_path(out, out_dir), "reference": label}
    for name in ("lidar_dsm.tif", "dsm_tiles.tif", "ortho_tiles.tif"):
        (scratch / name).unlink(missing_ok=True)
    if "dsm" in entries:
        inputs = dataclasses.replace(inputs, dsm=(out_dir / entries["dsm"]["path"],))
    return inputs, entries


def _one_file(
    paths: tuple[Path, ...], role: RasterRole, other: Path, inputs: PipelineInputs, cfg: PipelineConfig, out: Path
) -> Path:
    """The one file registration reads: the file itself, or its tiles' mosaic where they overlap ``other``.

    Registration matches two rasters, each opened as one file, so tiles are written as one GeoTIFF at their
    finest pixel over the part of ``other`` they cover (coarser when that exceeds the per-file pixel limit):
    memory stays that of one file within the limits.

    Raises:
        InputError: a tile is refused, or the tiles do not overlap ``other``.
    """
    if len(paths) == 1:
        return paths[0]
    limit = cfg.limits.max_raster_pixels
    tiles = inspect_raster_files(paths, role, inputs.epsg, limit, cfg.limits.max_raster_bytes, inputs.z_unit)
    # the reference DSM rasterised from the LiDAR (metres), or the user's second image
    beside = inspect_raster(other, "DSM" if role == "DSM" else "orthophoto", inputs.epsg, limit)
    bounds = intersect(tiles.bounds_in(tiles.crs), beside.bounds_in(tiles.crs), tiles.label, beside.label)
    area = (bounds[2] - bounds[0]) * (bounds[3] - bounds[1])
    resolution = max(tiles.resolution, math.sqrt(area / limit))
    grid = Grid.covering(tiles.crs, bounds, resolution, (tiles.transform.c, tiles.transform.f))
    return write_mosaic(tiles, grid, out).path


def _lidar_dsm(inputs: PipelineInputs, cfg: PipelineConfig, out_dir: Path) -> Path:
    """A 0.5 m DSM rasterised from the LiDAR's highest returns, the reference for registering a DSM."""
    info = inspect_lidar_files(inputs.lidar, inputs.epsg, cfg.limits.max_lidar_points, inputs.z_unit)
    crs = info.crs if is_metric_projected(info.crs) else utm_for(*_centre_wgs84(info))
    bounds = Transformer.from_crs(info.crs, crs, always_xy=True).transform_bounds(*info.bounds)
    grid = Grid.covering(crs, bounds, 0.5)
    points = read_points(info, grid.crs, grid.bounds)
    dsm = pointcloud.rasterize_points(points.xyz, grid, keep="highest")
    (out_dir / "registration").mkdir(exist_ok=True)
    return gis.write_cog(dsm, grid, out_dir / "registration" / "lidar_dsm.tif", -9999.0)


def _centre_wgs84(info: LidarInfo) -> tuple[float, float]:
    west, south, east, north = Transformer.from_crs(info.crs, 4326, always_xy=True).transform_bounds(*info.bounds)
    return (west + east) / 2, (south + north) / 2
