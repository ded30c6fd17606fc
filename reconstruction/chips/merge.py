"""Merge the chips of a plan into one output folder, as a whole-area run would have written it.

Rasters are mosaicked, the terrain's seams closed (each chip's border vertices take the merged DTM's
heights) before it is tiled, points and vector files concatenated, each 3D Tiles layer gets a root
over the chips' tilesets, and the orthophoto's web imagery is cut once from the original. The folder
then has the same manifest shape as a whole-area run (plus ``chips``), so publishing does not care.
"""

import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from reconstruction import tiles3d
from reconstruction.chips.extent import Extent
from reconstruction.chips.mosaic import mosaic_raster, read_cells
from reconstruction.chips.plan import Chip, ChipPlan
from reconstruction.chips.points import merge_las
from reconstruction.chips.seams import snap_border_heights
from reconstruction.chips.tilesets import write_root_tileset
from reconstruction.chips.vectors import merge_cityjson, merge_geojson, merge_gpkg
from reconstruction.config import PipelineConfig
from reconstruction.errors import ConfigError
from reconstruction.io import Grid, crs_label, inspect_raster
from reconstruction.prediction.trust_report import merge_reports
from reconstruction.progress import ProgressCallback, silent
from reconstruction.stages import MANIFEST, relative_path
from reconstruction.stages.imagery import write_imagery
from reconstruction.stages.manifest import bbox_wgs84
from reconstruction.terrain import Tin

STAGE = "merge"
#: Scratch folder (inside the output folder) for the seam-closed TINs between the terrain and CityJSON steps.
SEAMED_TINS = ".seamed-tins"


def merge_chips(
    plan: ChipPlan,
    chip_dirs: Sequence[Path],
    out_dir: Path,
    cfg: PipelineConfig,
    on_progress: ProgressCallback = silent,
) -> dict[str, Any]:
    """Merge the chip folders (chip k's at index k) into ``out_dir`` (empty or absent); return the manifest.

    The chip folders are left as they were (tiles are hard-linked), so a failed merge can be run again.

    Raises:
        ConfigError: a chip folder is missing, unfinished or belongs to another chip.
    """
    start = time.perf_counter()
    manifests = _chip_manifests(plan, chip_dirs)
    out_dir.mkdir(parents=True, exist_ok=True)
    steps = 6

    def report(step: int, message: str) -> None:
        on_progress(STAGE, step / steps, message)

    report(0, f"Stitching the rasters of {len(plan.chips)} chips")
    rasters = {}
    for name in manifests[0]["rasters"]:
        parts = [d / m["rasters"][name] for d, m in zip(chip_dirs, manifests, strict=True)]
        rasters[name] = relative_path(mosaic_raster(plan, parts, out_dir / "rasters" / f"{name}.tif"), out_dir)
    report(1, "Closing the terrain's seams")
    layers = {}
    terrain_parts = []
    # Per chip, its seam-closed TIN saved for the CityJSON join: one chip's TIN in memory at a time.
    seamed: list[Path | None] = []
    for chip, folder, manifest in zip(plan.chips, chip_dirs, manifests, strict=True):
        tin = _seamed_tin(plan, chip, folder, manifest, out_dir / rasters["dtm"])
        if tin is None:
            seamed.append(None)
            continue
        target = out_dir / "tiles" / "terrain" / f"chip-{chip.index}"
        error = manifest["terrain_tin"]["max_error_m"]
        terrain_parts.append(tiles3d.write_terrain_tileset(tin, plan.grid.crs, target, error))
        saved = out_dir / SEAMED_TINS / f"chip-{chip.index}.npz"
        saved.parent.mkdir(parents=True, exist_ok=True)
        np.savez(saved, vertices=tin.vertices, triangles=tin.triangles)
        seamed.append(saved)
    if terrain_parts:
        layers["terrain"] = write_root_tileset(terrain_parts, out_dir / "tiles" / "terrain" / "tileset.json")
    report(2, "Joining the 3D Tiles layers")
    for name in sorted({layer for m in manifests for layer in m["layers"]}):
        parts = []
        for chip, folder, manifest in zip(plan.chips, chip_dirs, manifests, strict=True):
            if name in manifest["layers"]:
                source = (folder / manifest["layers"][name]).parent
                target = out_dir / "tiles" / name / f"chip-{chip.index}"
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copytree(source, target, copy_function=_link_or_copy)
                parts.append(target / "tileset.json")
        layers[name] = write_root_tileset(parts, out_dir / "tiles" / name / "tileset.json")
    report(3, "Joining the point clouds")
    points = merge_las(
        [d / m["pointclouds"]["points"] for d, m in zip(chip_dirs, manifests, strict=True)],
        out_dir / "pointcloud" / "points.laz",
        plan.grid.crs,
    )
    report(4, "Joining the vector layers")
    vectors = _merge_vectors(chip_dirs, manifests, seamed, out_dir)
    shutil.rmtree(out_dir / SEAMED_TINS, ignore_errors=True)
    report(5, "Cutting the orthophoto into web tiles")
    imagery = _imagery(plan, manifests[0], rasters, cfg, out_dir, lambda f, m: on_progress(STAGE, (5 + f) / steps, m))
    manifest = _manifest(plan, manifests, layers, rasters, vectors, imagery, out_dir, points)
    manifest["timings"][STAGE] = round(time.perf_counter() - start, 3)
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2))
    report(6, "Merged")
    return manifest


def _imagery(
    plan: ChipPlan,
    first: dict[str, Any],
    rasters: dict[str, str],
    cfg: PipelineConfig,
    out_dir: Path,
    report: Callable[[float, str], None],
) -> dict[str, Any]:
    """The web imagery, cut once: from the given orthophoto, or from the chips' stitched one.

    The chips write their orthophoto (``rasters/ortho.tif`` or ``drape.tif``, stitched above) when it is
    not one given file: made from the LiDAR, or the grid's mosaic of orthophoto tiles (stages.imagery).
    """
    progress: ProgressCallback = lambda _stage, fraction, message: report(fraction, message)  # noqa: E731
    if len(plan.inputs.ortho) == 1:
        ortho = inspect_raster(plan.inputs.ortho[0], "orthophoto", plan.inputs.epsg, cfg.limits.max_raster_pixels)
        return write_imagery(ortho, cfg, out_dir, progress)
    name = next(n for n in ("ortho", "drape") if n in rasters)
    made = inspect_raster(out_dir / rasters[name], "orthophoto", None, cfg.limits.max_raster_pixels)
    return write_imagery(made, cfg, out_dir, progress, first["imagery"].get("source", "orthophoto"))


def _chip_manifests(plan: ChipPlan, chip_dirs: Sequence[Path]) -> list[dict[str, Any]]:
    if len(chip_dirs) != len(plan.chips):
        raise ConfigError(f"The plan has {len(plan.chips)} chips but {len(chip_dirs)} chip folders were given.")
    manifests = []
    for chip, folder in zip(plan.chips, chip_dirs, strict=True):
        path = folder / MANIFEST
        if not path.is_file():
            raise ConfigError(f"{folder} holds no finished chip (no {MANIFEST}); run chip {chip.index} first.")
        manifest = json.loads(path.read_text())
        if manifest.get("chip") != {"index": chip.index, "core": list(chip.core), "window": list(chip.window)}:
            raise ConfigError(f"{folder} is not chip {chip.index} of this plan.")
        manifests.append(manifest)
    return manifests


def _seamed_tin(plan: ChipPlan, chip: Chip, folder: Path, manifest: dict[str, Any], dtm: Path) -> Tin | None:
    """The chip's TIN with its border vertices at the merged DTM's heights (shared with its neighbours)."""
    if "terrain_tin" not in manifest:
        return None
    with np.load(folder / manifest["terrain_tin"]["path"]) as saved:
        tin = Tin(vertices=saved["vertices"], triangles=saved["triangles"])
    extent = Extent.of_chip(plan, chip)  # the cells the chip's TIN covers, as the chip run chose them
    rows, cols = extent.tin_cells()
    grid = extent.tin_grid()
    r0, c0 = chip.window[0], chip.window[2]
    heights = read_cells(dtm, slice(r0 + rows.start, r0 + rows.stop), slice(c0 + cols.start, c0 + cols.stop))
    return snap_border_heights(tin, grid, lambda xy: _lookup(heights, grid, xy))


def _lookup(heights: npt.NDArray[np.float64], grid: Grid, xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    t = grid.transform
    cols = np.clip(np.floor((xy[:, 0] - t.c) / t.a).astype(np.int64), 0, grid.width - 1)
    rows = np.clip(np.floor((xy[:, 1] - t.f) / t.e).astype(np.int64), 0, grid.height - 1)
    return heights[rows, cols]


def _merge_vectors(
    chip_dirs: Sequence[Path], manifests: list[dict[str, Any]], tins: Sequence[Path | None], out_dir: Path
) -> dict[str, str]:
    folder = out_dir / "vectors"
    folder.mkdir(parents=True, exist_ok=True)
    vectors = {}
    names = sorted({n for m in manifests for n in m["vectors"]} - {"cityjson", "features"})
    for name in names:
        parts = [d / m["vectors"][name] for d, m in zip(chip_dirs, manifests, strict=True) if name in m["vectors"]]
        vectors[name] = relative_path(merge_gpkg(parts, folder / f"{name}.gpkg", name), out_dir)
    city = [d / m["vectors"]["cityjson"] for d, m in zip(chip_dirs, manifests, strict=True)]
    vectors["cityjson"] = relative_path(merge_cityjson(city, tins, folder / "city.json"), out_dir)
    features = [d / m["vectors"]["features"] for d, m in zip(chip_dirs, manifests, strict=True)]
    vectors["features"] = relative_path(merge_geojson(features, folder / "features.geojson"), out_dir)
    return vectors


def _manifest(
    plan: ChipPlan,
    manifests: list[dict[str, Any]],
    layers: dict[str, Path],
    rasters: dict[str, str],
    vectors: dict[str, str],
    imagery: dict[str, Any],
    out_dir: Path,
    points: int,
) -> dict[str, Any]:
    """The whole area's manifest: the chips' figures summed (largest errors kept), the full grid."""
    first = manifests[0]
    stats = [m["stats"] for m in manifests]
    tins = [s["terrain_tin"] for s in stats]
    cells = sum(t["cells"] for t in tins) or 1
    return {
        "crs": crs_label(plan.grid.crs),
        "crs_wkt": plan.grid.crs.to_wkt(),
        "layers": {name: relative_path(path, out_dir) for name, path in layers.items()},
        "rasters": rasters,
        "vectors": vectors,
        "pointclouds": {"points": "pointcloud/points.laz"},
        "imagery": imagery,
        "bbox_wgs84": bbox_wgs84(plan.grid),
        "height_source": first["height_source"],
        "model": first["model"],
        # The median of the chips' medians: close to the area's, without reading the whole DTM.
        "ground_height_m": round(float(np.median([m["ground_height_m"] for m in manifests])), 3),
        "grid": {
            "resolution_m": plan.grid.resolution,
            "width": plan.grid.width,
            "height": plan.grid.height,
            # Every chip chose its cells by the same rule from the same inputs: the first one says why.
            **({"cell_size": first["grid"]["cell_size"]} if "cell_size" in first.get("grid", {}) else {}),
        },
        "stats": {
            "points": points,
            "point_classes": _sum_counts(s["point_classes"] for s in stats),
            "features": _sum_counts(s["features"] for s in stats),
            "terrain_tin": {
                "cells": cells,
                "vertices": sum(t["vertices"] for t in tins),
                "triangles": sum(t["triangles"] for t in tins),
                "max_error_m": max(t["max_error_m"] for t in tins),
                "rmse_m": float(np.sqrt(sum(t["rmse_m"] ** 2 * t["cells"] for t in tins) / cells)),
                "capped": any(t["capped"] for t in tins),
            },
            "point_filter": _merge_filter([s["point_filter"] for s in stats]),
        },
        "registration": {},
        "stereo": {},
        **_merged_prediction(manifests),
        "warnings": list(dict.fromkeys(w for m in manifests for w in m["warnings"])),
        "timings": dict(_sum_counts(m["timings"] for m in manifests)),
        "chips": {"count": len(plan.chips), "chip_m": plan.chip_m, "margin_m": plan.margin_m},
    }


def _merged_prediction(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    """The chips' trust gates as one (``prediction.trust``), where the network predicted the heights."""
    trust = merge_reports([(m.get("prediction") or {}).get("trust") for m in manifests])
    return {"prediction": {"trust": trust}} if trust else {}


def _sum_counts(dicts: Any) -> dict[str, Any]:
    total: Counter = Counter()
    for d in dicts:
        total.update({str(k): v for k, v in d.items()})
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in total.items()}


def _merge_filter(reports: list[dict[str, Any] | None]) -> dict[str, Any] | None:
    """Point counts summed; thresholds differ per chip, so the largest is reported."""
    present = [r for r in reports if r]
    if not present:
        return None
    merged: dict[str, Any] = {}
    for key in present[0]:
        values = [r[key] for r in present]
        if all(isinstance(v, int) for v in values):
            merged[key] = sum(values)
        else:
            finite = [v for v in values if v is not None]
            merged[key] = max(finite) if finite else None
    return merged


def _link_or_copy(source: str, target: str) -> None:
    """Hard-link a chip's tile into the output, or copy it where the two are on different file systems.

    Linking costs neither time nor space and leaves the chip folders whole, so a merge that fails (a full
    disk, a killed worker) can simply be run again; moving the tiles would lose them for the next attempt.
    """
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
