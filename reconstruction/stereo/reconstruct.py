"""The stereo stage's entry point: 2 or 3 RPC views -> DSM, orthoimage and point cloud, through CNES CARS."""

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconstruction.io import utm_for
from reconstruction.progress import ProgressCallback
from reconstruction.stereo.cars import DEFAULT_TIMEOUT_S, geoid_undulation, run_cars, write_config
from reconstruction.stereo.elevation import write_initial_elevation
from reconstruction.stereo.inputs import check_stereo_images
from reconstruction.stereo.products import write_dsm, write_ortho, write_points

#: Views with a side under this many pixels skip CARS's coarse matching passes.
FULL_RESOLUTION_ONLY_BELOW = 1000


@dataclass(frozen=True)
class StereoProducts:
    """What a stereo reconstruction leaves in its work folder.

    Attributes:
        dsm: GeoTIFF, float32 heights in metres above the WGS84 ellipsoid, nodata -9999.
        ortho: 3-band uint8 RGB GeoTIFF on the DSM grid (grey replicated for panchromatic views).
        points: LAZ, one point per valid DSM cell with the orthoimage's colour (DSM CRS, 1 cm).
        quality: valid_share, run_seconds, cars_seconds, peak_memory_mb (CARS process tree),
            resolution (m), epsg, images, library, initial_elevation (source, median_m, tie_points).
    """

    dsm: Path
    ortho: Path
    points: Path | None
    quality: dict[str, Any] = field(default_factory=dict)


def reconstruct_stereo(
    images: list[Path],
    workdir: Path,
    *,
    epsg: int | None = None,
    resolution: float | None = None,
    progress: ProgressCallback | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> StereoProducts:
    """Reconstruct a DSM from a stereo pair or triplet of satellite images with RPC camera models.

    Checks the views, triangulates tie points into a coarse initial elevation (no external DEM is
    needed), runs CNES CARS (epipolar rectification, semi-global matching, triangulation,
    rasterisation) in its own virtualenv, then writes the products into ``workdir``.

    Args:
        images: 2 or 3 GeoTIFF/NITF views with RPCs; the first is the reference view.
        workdir: folder for the products and CARS's intermediate files (created if needed).
        epsg: output CRS (a projected EPSG code); None picks the scene's WGS84 / UTM zone.
        resolution: DSM cell size in metres; None lets CARS choose from the image resolution.
        progress: ``progress("stereo", fraction, message)`` callback; it may raise ``Cancelled``.
        timeout_s: wall-clock limit for the CARS run (seconds).

    Returns:
        The DSM, orthoimage, point cloud and a quality summary.

    Raises:
        InputError: the views are unusable (the message says why and what to upload instead).
        ProcessingError: CARS is not installed, failed or timed out.
    """
    start = time.monotonic()
    report = progress or (lambda stage, fraction, message: None)
    workdir.mkdir(parents=True, exist_ok=True)
    report("stereo", 0.0, f"checking {len(images)} images")
    views = check_stereo_images(images)
    report("stereo", 0.01, "estimating an initial elevation from tie points")
    box = views[0].ground_box
    lon, lat = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    undulation = geoid_undulation(lon, lat)
    # Pick the CRS here (the scene's UTM zone) rather than leave it to CARS, so callers know it up front.
    epsg = epsg or utm_for(lon, lat).to_epsg()
    elevation = write_initial_elevation(views, workdir / "initial_elevation.tif", undulation)
    cars_dir = workdir / "cars"
    if cars_dir.exists():
        shutil.rmtree(cars_dir)
    cars_dir.mkdir()
    small = min(min(view.width, view.height) for view in views) < FULL_RESOLUTION_ONLY_BELOW
    cpus = os.cpu_count() or 1
    config = write_config(
        [view.path for view in views],
        elevation.path,
        cars_dir / "out",
        cars_dir / "config.json",
        epsg=epsg,
        resolution=resolution,
        workers=1 if small or cpus <= 2 else min(4, cpus),
        full_resolution_only=small,
    )
    run = run_cars(config, timeout_s=timeout_s, on_progress=_scaled(report, 0.02, 0.95))
    report("stereo", 0.96, "writing DSM, orthoimage and point cloud")
    out_epsg, out_resolution, valid_share = write_dsm(run.out_dir, workdir / "dsm.tif")
    ortho = write_ortho(run.out_dir, workdir / "ortho.tif")
    points = write_points(workdir / "dsm.tif", ortho, workdir / "points.laz")
    quality: dict[str, Any] = {
        "valid_share": round(valid_share, 4),
        "run_seconds": round(time.monotonic() - start, 1),
        "cars_seconds": round(run.seconds, 1),
        "peak_memory_mb": round(run.peak_memory_mb, 1),
        "resolution": out_resolution,
        "epsg": out_epsg,
        "images": len(views),
        "library": f"cars {run.version}",
        "initial_elevation": {
            "source": elevation.source,
            "median_m": round(elevation.median_m, 2),
            "tie_points": elevation.tie_points,
            "geoid_undulation_m": round(undulation, 2),
        },
    }
    (workdir / "quality.json").write_text(json.dumps(quality, indent=2))
    report("stereo", 1.0, f"DSM {out_resolution:g} m, {100 * valid_share:.0f}% valid")
    return StereoProducts(dsm=workdir / "dsm.tif", ortho=ortho, points=points, quality=quality)


def _scaled(report: ProgressCallback, low: float, high: float) -> ProgressCallback:
    def scaled(stage: str, fraction: float, message: str) -> None:
        report(stage, low + (high - low) * fraction, message)

    return scaled
