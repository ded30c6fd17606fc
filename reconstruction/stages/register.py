"""Stage ``register``: co-register a second image to the orthophoto and a DSM to the LiDAR.

The work is :mod:`reconstruction.registration`'s; this stage picks what to register and records it.
"""

import dataclasses
from pathlib import Path
from typing import Any

from pyproj import Transformer

from reconstruction import gis, pointcloud
from reconstruction.config import PipelineConfig, PipelineInputs
from reconstruction.io import Grid, LidarInfo, inspect_lidar_files, is_metric_projected, read_points, utm_for
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
    if inputs.register_dsm and inputs.dsm is not None:
        reference = _lidar_dsm(inputs, cfg, out_dir)
        jobs.append(("dsm", reference, "lidar", inputs.dsm, out_dir / "registration" / "dsm_registered.tif"))
    if inputs.second_image is not None:
        jobs.append(
            (
                "second_image",
                inputs.reference,
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
    lidar_dsm = out_dir / "registration" / "lidar_dsm.tif"
    lidar_dsm.unlink(missing_ok=True)
    if "dsm" in entries:
        inputs = dataclasses.replace(inputs, dsm=out_dir / entries["dsm"]["path"])
    return inputs, entries


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
