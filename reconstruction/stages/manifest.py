"""The run's ``manifest.json``: what was written where (paths relative to the output folder) and the run's figures."""

import json
from pathlib import Path
from typing import Any

import numpy as np
from pyproj import Transformer

from reconstruction.io import Grid, crs_label
from reconstruction.stages import MANIFEST, relative_path
from reconstruction.stages.features import Features
from reconstruction.stages.inputs import Area
from reconstruction.stages.pointcloud import Points
from reconstruction.stages.surfaces import Surfaces
from reconstruction.stages.terrain import Relief


def write_manifest(
    out_dir: Path,
    area: Area,
    surfaces: Surfaces,
    relief: Relief,
    points: Points,
    features: Features,
    outputs: dict[str, Any],
    run: dict[str, Any],
) -> dict[str, Any]:
    """Assemble the manifest and write it as ``out_dir/manifest.json``.

    Args:
        out_dir: the run's output folder.
        area: the ``inputs`` stage's result.
        surfaces: the working grid's surfaces (``dtm`` and ``model`` are read).
        relief: the ``terrain`` stage's result.
        points: the ``pointcloud`` stage's result.
        features: the ``features`` stage's result.
        outputs: ``layers`` (name -> tileset path), ``rasters``, ``imagery``, ``stereo`` and ``registration``.
        run: ``warnings`` and ``timings`` of the run.

    Returns:
        The manifest as written.
    """
    extent, tin, tin_report, cloud, filter_report = area.extent, relief.tin, relief.report, points.cloud, points.report
    kept, grid = extent.core_grid, extent.grid
    measured = ("stereo" if outputs["stereo"] else "dsm") if area.dsm else "lidar" if area.lidar else "predicted"
    assert surfaces.dtm is not None
    manifest = {
        "crs": crs_label(grid.crs),
        "crs_wkt": grid.crs.to_wkt(),
        "layers": {name: relative_path(path, out_dir) for name, path in outputs["layers"].items()},
        "rasters": outputs["rasters"],
        "vectors": features.vectors,
        "pointclouds": {"points": "pointcloud/points.laz"},
        "imagery": outputs["imagery"],
        "bbox_wgs84": bbox_wgs84(kept),
        "height_source": measured,
        "height_units": {
            name: info.height_unit.to_dict() for name, info in (("dsm", area.dsm), ("lidar", area.lidar)) if info
        },
        "model": _describe_model(surfaces.model),
        "ground_height_m": round(float(np.nanmedian(extent.crop(surfaces.dtm))), 3),
        "grid": {
            "resolution_m": kept.resolution,
            "width": kept.width,
            "height": kept.height,
            "cell_size": area.cell.to_dict(),
        },
        "stats": {
            "points": len(cloud),
            "point_classes": cloud.class_counts(),
            "features": features.counts,
            "terrain_tin": tin_report.to_dict(),
            "point_filter": finite_or_none(filter_report.to_dict()) if filter_report else None,
        },
        "registration": outputs["registration"],
        "stereo": outputs["stereo"],
        "warnings": run["warnings"],
        "timings": run["timings"],
    }
    if surfaces.prediction is not None:
        manifest["prediction"] = {"trust": surfaces.prediction.trust}
    if extent.chip is not None:
        chip = extent.chip
        manifest["chip"] = {"index": chip.index, "core": list(chip.core), "window": list(chip.window)}
        if len(tin):
            manifest["terrain_tin"] = {"path": "terrain/tin.npz", "max_error_m": tin_report.max_error_m}
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest


def bbox_wgs84(grid: Grid) -> list[float]:
    """West, south, east, north of ``grid`` in degrees (WGS 84), rounded to 8 decimals."""
    west, south, east, north = Transformer.from_crs(grid.crs, 4326, always_xy=True).transform_bounds(*grid.bounds)
    return [round(v, 8) for v in (west, south, east, north)]


def finite_or_none(values: dict[str, float | int]) -> dict[str, float | int | None]:
    """JSON has no infinity: report an unbounded threshold as null."""
    return {k: (v if not isinstance(v, float) or np.isfinite(v) else None) for k, v in values.items()}


def _describe_model(info: Any) -> dict[str, Any] | None:
    if info is None:
        return None
    from reconstruction.prediction.weights import describe  # imports torch: only when a model ran

    return describe(info)
