"""The reconstruction pipeline: ordered stages from input files to a folder of published outputs."""

import dataclasses
import json
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from pyproj import CRS, Transformer
from rasterio.enums import Resampling
from shapely.geometry.base import BaseGeometry

from reconstruction import gis, objects, pointcloud, terrain, tiles3d
from reconstruction.chips.extent import Extent
from reconstruction.chips.plan import Chip, ChipPlan
from reconstruction.chips.seams import densify_border
from reconstruction.config import LIMIT_SETTINGS, PipelineConfig, PipelineInputs
from reconstruction.errors import InputError, MissingHeightError, OverlapError
from reconstruction.io import (
    Grid,
    LidarInfo,
    RasterInfo,
    crs_label,
    inspect_footprints,
    inspect_lidar,
    inspect_raster,
    intersect,
    is_metric_projected,
    read_footprints,
    read_onto_grid,
    read_points,
    to_rgb8,
    utm_for,
)
from reconstruction.progress import ProgressCallback, silent
from reconstruction.stages import MANIFEST

#: ASPRS class of roads (from the model or LiDAR; the rules classifier has none).
ROAD, WATER = 11, 9


@dataclass
class Result:
    """What a finished run produced: the manifest (paths relative to ``out_dir``) and user warnings."""

    out_dir: Path
    manifest: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Surfaces:
    """Everything computed on the working grid."""

    grid: Grid
    dsm: npt.NDArray[np.float32]
    image: npt.NDArray[np.float32]
    rgb: npt.NDArray[np.uint8]
    dtm: npt.NDArray[np.float32] | None = None
    nir: npt.NDArray[np.uint8] | None = None  # the 4th band of an RGB+NIR orthophoto, for the model
    labels: npt.NDArray[np.uint8] | None = None
    prediction: Any = None  # reconstruction.prediction.predict.Prediction when heights were predicted
    refined_confidence: npt.NDArray[np.float32] | None = None  # the model's confidence where it refined ground


def run_pipeline(
    inputs: PipelineInputs,
    cfg: PipelineConfig,
    out_dir: Path,
    on_progress: ProgressCallback = silent,
    chip: tuple[ChipPlan, Chip] | None = None,
) -> Result:
    """Reconstruct one area and write every output under ``out_dir`` (created; must be empty or absent).

    With ``chip`` = (plan, chip) it reconstructs one chip of a large area instead (:mod:`reconstruction.chips`):
    every stage computes on the chip's window, the outputs keep its core, the orthophoto's web imagery and
    the terrain tiles are left to the merge (which needs the neighbours), and the TIN is kept as
    ``terrain/tin.npz``. ``inputs`` must then be the plan's.

    Raises:
        InputError: an input is invalid (the message says which and why).
        MissingHeightError: neither a DSM nor LiDAR was given and the prediction model is missing.
        ProcessingError: a stage failed on valid input.
        Cancelled: the progress callback asked to stop.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    warnings: list[str] = []

    @contextmanager
    def stage(name: str, message: str) -> Iterator[None]:
        on_progress(name, 0.0, message)
        start = time.perf_counter()
        yield
        timings[name] = round(time.perf_counter() - start, 3)
        on_progress(name, 1.0, f"{message} done in {timings[name]:.1f} s")

    with stage("stereo", "Matching the stereo images into a DSM"):
        inputs, stereo = _stereo(inputs, cfg, out_dir, on_progress)
    with stage("register", "Registering the second sources to the reference"):
        inputs, registration = _register(inputs, cfg, out_dir, on_progress)
    with stage("inputs", "Checking the input files"):
        ortho, dsm_info, lidar_info = _inspect_inputs(inputs, cfg)
        warnings += [w for info in (ortho, dsm_info, lidar_info) if info for w in info.warnings]
        extent = _extent(_working_grid(ortho, dsm_info, lidar_info, cfg, check_size=chip is None), chip, cfg)
        grid = extent.grid
        footprints = _footprints(inputs, grid, warnings)
    with stage("imagery", "Resampling the orthophoto"):
        image = read_onto_grid(ortho, grid, Resampling.average)
        rgb = to_rgb8(image[:3], ortho.dtype)
        nir = to_rgb8(image[3:4], ortho.dtype)[0] if image.shape[0] > 3 else None
        imagery = {} if chip else write_imagery(ortho, cfg, out_dir, on_progress)
    model_info = None
    if dsm_info is None and lidar_info is None:
        with stage("heights", "Predicting heights and land cover from the orthophoto"):
            try:
                prediction, model_info = _predict(rgb, _covered(image), grid, cfg, on_progress, nir=nir)
            except InputError as err:
                raise MissingHeightError(
                    f"This area has only an orthophoto and its heights cannot be predicted: {err}. "
                    "Add a DSM GeoTIFF or a LiDAR LAS/LAZ file of the same area."
                ) from err
            warnings.append(
                f"This area has no DSM or LiDAR: heights and classes were predicted from the orthophoto by "
                f"{model_info.label}. Heights are above a flat ground at 0 m and less accurate than measured ones "
                f"(see the model card); add a DSM or LiDAR for survey-grade heights."
            )
            surfaces = _Surfaces(grid, prediction.height, image, rgb, prediction=prediction, nir=nir)
            ground_z, lidar_points = None, None
    else:
        with stage("heights", "Building the surface model"):
            dsm, ground_z, lidar_points = _surface(dsm_info, lidar_info, grid)
            surfaces = _Surfaces(grid=grid, dsm=dsm, image=image, rgb=rgb, nir=nir)
    with stage("terrain", "Separating ground from objects"):
        dsm = surfaces.dsm
        if surfaces.prediction is not None:  # predicted heights are already above ground
            surfaces.dtm = np.zeros_like(dsm)
        elif ground_z is not None:
            surfaces.dtm, _ = terrain.dtm_from_ground_points(ground_z, dsm)
        else:
            surfaces.dtm, _ = terrain.extract_dtm(dsm, grid.resolution, cfg.ground, on_progress)
        ndsm = np.where(np.isfinite(dsm), np.maximum(dsm - surfaces.dtm, 0), np.nan).astype(np.float32)
        on_progress("terrain", 0.9, "Triangulating the terrain (TIN)")
        tin, tin_report = _terrain_tin(surfaces.dtm, extent, cfg)
    with stage("classify", "Classifying land cover"):
        if surfaces.prediction is not None:
            surfaces.labels = surfaces.prediction.asprs
        else:
            surfaces.labels = objects.classify_by_rules(ndsm, image, grid.resolution, cfg.rules)
            if cfg.prediction.refine_ground:
                model_info = _refine_ground(surfaces, cfg, on_progress, warnings)
    with stage("pointcloud", "Building the point cloud"):
        cloud = _point_cloud(surfaces, lidar_points, lidar_info)
        filter_report = None
        if lidar_points is not None or cfg.filter.on_dsm_points:
            cloud, filter_report = pointcloud.clean_point_cloud(cloud, cfg.filter)
        cloud = _keep_points(cloud, extent.keeps_xy(cloud.xyz[:, 0], cloud.xyz[:, 1]))
        las_path = _write_points(cloud, out_dir, grid.crs)
    with stage("features", "Modelling buildings (LoD1), trees and low vegetation"):
        vectors, feature_counts, buildings, mapped = _write_features(
            surfaces, ndsm, tin, footprints, cfg, out_dir, extent
        )
    with stage("rasters", "Writing GeoTIFF rasters"):
        rasters = _write_rasters(surfaces, ndsm, out_dir, extent)
        if "second_image" in registration:
            rasters["second_image_registered"] = registration["second_image"]["path"]
    with stage("tiles", "Writing 3D Tiles"):
        layers = {
            "pointcloud": tiles3d.write_pointcloud_tileset(
                las_path, out_dir / "tiles" / "pointcloud", grid.crs, cfg.output.tile_jobs
            )
        }
        las_path.unlink()
        if buildings:
            on_progress("tiles", 0.9, f"LoD1 buildings: {len(buildings)}")
            confidences = {
                f.attributes["building_id"]: f.attributes["class_confidence"]
                for f in mapped["buildings"]
                if "class_confidence" in f.attributes
            }
            layers["buildings"] = tiles3d.write_building_tileset(
                buildings, grid.crs, out_dir / "tiles" / "buildings", class_confidence=confidences
            )
        if len(tin) and chip is None:
            on_progress("tiles", 0.93, f"Terrain TIN: {len(tin)} triangles")
            layers["terrain"] = tiles3d.write_terrain_tileset(
                tin, grid.crs, out_dir / "tiles" / "terrain", tin_report.max_error_m
            )
        elif len(tin):  # the merge snaps the seams to its neighbours' heights, then tiles it
            (out_dir / "terrain").mkdir(exist_ok=True)
            np.savez(out_dir / "terrain" / "tin.npz", vertices=tin.vertices, triangles=tin.triangles)
        if mapped["trees"]:
            layers["trees"] = tiles3d.write_tree_tileset(mapped["trees"], grid.crs, out_dir / "tiles" / "trees")
        if mapped["roads"] and surfaces.dtm is not None:
            layers["roads"] = tiles3d.write_road_tileset(
                mapped["roads"], surfaces.dtm, grid, out_dir / "tiles" / "roads"
            )

    kept = extent.core_grid
    manifest = {
        "crs": crs_label(grid.crs),
        "crs_wkt": grid.crs.to_wkt(),
        "layers": {name: _rel(path, out_dir) for name, path in layers.items()},
        "rasters": rasters,
        "vectors": vectors,
        "pointclouds": {"points": "pointcloud/points.laz"},
        "imagery": imagery,
        "bbox_wgs84": _bbox_wgs84(kept),
        "height_source": ("stereo" if stereo else "dsm") if dsm_info else "lidar" if lidar_info else "predicted",
        "model": _describe_model(model_info),
        "ground_height_m": round(float(np.nanmedian(extent.crop(surfaces.dtm))), 3),
        "grid": {"resolution_m": kept.resolution, "width": kept.width, "height": kept.height},
        "stats": {
            "points": len(cloud),
            "point_classes": cloud.class_counts(),
            "features": feature_counts,
            "terrain_tin": tin_report.to_dict(),
            "point_filter": _finite_or_none(filter_report.to_dict()) if filter_report else None,
        },
        "registration": registration,
        "stereo": stereo,
        "warnings": warnings,
        "timings": timings,
    }
    if chip is not None:
        manifest["chip"] = {"index": chip[1].index, "core": list(chip[1].core), "window": list(chip[1].window)}
        if len(tin):
            manifest["terrain_tin"] = {"path": "terrain/tin.npz", "max_error_m": tin_report.max_error_m}
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return Result(out_dir=out_dir, manifest=manifest, warnings=warnings)


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
    ortho, dsm, lidar = _inspect_inputs(inputs, cfg)
    if views:
        intersect(ortho.bounds_in(CRS.from_epsg(4326)), views[0].ground_box, ortho.label, "the stereo pair")
    grid = _working_grid(ortho, dsm, lidar, cfg)
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


def _stereo(
    inputs: PipelineInputs, cfg: PipelineConfig, out_dir: Path, on_progress: ProgressCallback
) -> tuple[PipelineInputs, dict[str, Any]]:
    """Turn a stereo pair or triplet into the DSM (and, without an orthophoto, the orthophoto).

    Returns:
        The inputs with the stereo DSM (and orthoimage) filled in, and the ``stereo`` manifest entry:
        the quality figures and the paths of the kept products; ``{}`` without stereo images.

    Raises:
        InputError: the images are unusable. ProcessingError: CARS failed or is not installed.
    """
    if not inputs.stereo:
        on_progress("stereo", 0.5, "No stereo images")
        return inputs, {}
    from reconstruction.stereo import reconstruct_stereo

    epsg = None
    if inputs.ortho is not None:  # produce the DSM in the orthophoto's CRS when it has an EPSG code
        epsg = inspect_raster(inputs.ortho, "orthophoto", inputs.epsg, cfg.limits.max_raster_pixels).crs.to_epsg()
    folder = out_dir / "stereo"
    products = reconstruct_stereo(list(inputs.stereo), folder, epsg=epsg, progress=on_progress)
    # CARS's intermediate files (epipolar grids, disparity maps) are large and of no use afterwards.
    shutil.rmtree(folder / "cars", ignore_errors=True)
    (folder / "initial_elevation.tif").unlink(missing_ok=True)
    kept = {"dsm": products.dsm, "ortho": products.ortho, "points": products.points}
    entry = {**products.quality, "paths": {name: _rel(path, out_dir) for name, path in kept.items() if path}}
    # The pair is now the DSM (and orthophoto): later stages see an ordinary orthophoto + DSM area.
    return dataclasses.replace(inputs, ortho=inputs.ortho or products.ortho, dsm=products.dsm, stereo=()), entry


def _register(
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
    if not jobs:
        on_progress("register", 0.5, "No second source to register")
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
        )
        entries[name] = {**found.to_dict(), "path": _rel(out, out_dir), "reference": label}
    lidar_dsm = out_dir / "registration" / "lidar_dsm.tif"
    lidar_dsm.unlink(missing_ok=True)
    if "dsm" in entries:
        inputs = dataclasses.replace(inputs, dsm=out_dir / entries["dsm"]["path"])
    return inputs, entries


def _lidar_dsm(inputs: PipelineInputs, cfg: PipelineConfig, out_dir: Path) -> Path:
    """A 0.5 m DSM rasterised from the LiDAR's highest returns, the reference for registering a DSM."""
    assert inputs.lidar is not None
    info = inspect_lidar(inputs.lidar, inputs.epsg, cfg.limits.max_lidar_points)
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


def _inspect_inputs(
    inputs: PipelineInputs, cfg: PipelineConfig
) -> tuple[RasterInfo, RasterInfo | None, LidarInfo | None]:
    limit, size = cfg.limits.max_raster_pixels, cfg.limits.max_raster_bytes
    ortho = inspect_raster(inputs.reference, "orthophoto", inputs.epsg, limit, size)
    dsm = inspect_raster(inputs.dsm, "DSM", inputs.epsg, limit, size) if inputs.dsm else None
    lidar = inspect_lidar(inputs.lidar, inputs.epsg, cfg.limits.max_lidar_points) if inputs.lidar else None
    return ortho, dsm, lidar


def _working_grid(
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
        _check_size(grid, cfg, "Upload a smaller area or choose a coarser resolution")
    return grid


def _check_size(grid: Grid, cfg: PipelineConfig, advice: str) -> None:
    if grid.width * grid.height > cfg.limits.max_grid_pixels:
        raise InputError(
            f"The area is {grid.width} x {grid.height} cells at {grid.resolution} m, more than one job processes "
            f"({cfg.limits.max_grid_pixels:,} cells, {LIMIT_SETTINGS['max_grid_pixels']}). {advice}."
        )


def _extent(grid: Grid, chip: tuple[ChipPlan, Chip] | None, cfg: PipelineConfig) -> Extent:
    """The whole ``grid``, or the chip's window of it (checking the inputs still give the planned grid)."""
    if chip is None:
        return Extent.whole(grid)
    plan, one = chip
    if grid != plan.grid:
        raise InputError(
            "The input files no longer give the grid this chip plan was made on (they changed since planning); "
            "plan the area again."
        )
    extent = Extent.of_chip(plan, one)
    _check_size(extent.grid, cfg, "Plan smaller chips")
    return extent


def write_imagery(
    ortho: RasterInfo, cfg: PipelineConfig, out_dir: Path, on_progress: ProgressCallback
) -> dict[str, Any]:
    """The orthophoto as a draped overlay PNG and an XYZ tile pyramid; the manifest's ``imagery`` entry."""
    (out_dir / "imagery").mkdir(exist_ok=True)
    rectangle = tiles3d.write_overlay_png(ortho, out_dir / "imagery" / "ortho.png", cfg.output.overlay_max_px)
    pyramid = tiles3d.write_xyz_tiles(
        ortho,
        out_dir / "imagery" / "ortho",
        lambda fraction: on_progress("imagery", fraction, "Cutting the orthophoto into web tiles"),
    )
    return {
        "ortho": {
            "path": "imagery/ortho.png",
            "rectangle_wgs84": list(rectangle),
            "tiles": pyramid.to_dict("imagery/ortho"),
        }
    }


def _terrain_tin(dtm: npt.NDArray[np.float32], extent: Extent, cfg: PipelineConfig) -> tuple[terrain.Tin, Any]:
    """The terrain TIN of what the run keeps; a chip's gets a vertex at every border cell (see chips.seams)."""
    tin_dtm, tin_grid = dtm[extent.tin_cells()], extent.tin_grid()
    tin, report = terrain.build_tin(tin_dtm, tin_grid, cfg.tin)
    return (tin if extent.chip is None else densify_border(tin, tin_grid, tin_dtm)), report


def _keep_points(cloud: pointcloud.PointCloud, keep: npt.NDArray[np.bool_]) -> pointcloud.PointCloud:
    if keep.all():
        return cloud
    intensity = None if cloud.intensity is None else cloud.intensity[keep]
    return pointcloud.PointCloud(cloud.xyz[keep], cloud.rgb[keep], cloud.classification[keep], intensity)


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


def _predict(
    rgb: npt.NDArray[np.uint8],
    valid: npt.NDArray[np.bool_],
    grid: Grid,
    cfg: PipelineConfig,
    on_progress: ProgressCallback,
    stage: str = "heights",
    nir: npt.NDArray[np.uint8] | None = None,
) -> tuple[Any, Any]:
    """Land cover, heights and confidence from the orthophoto (RGB, and NIR when it has one), with the configured model.

    Raises:
        InputError: the model cannot be loaded, or the grid's resolution is outside its range.
    """
    from reconstruction.prediction.predict import predict_area
    from reconstruction.prediction.weights import load_weights

    model, info = load_weights(cfg.prediction.model)
    device = None if cfg.prediction.device == "auto" else cfg.prediction.device

    def report(_stage: str, fraction: float, message: str) -> None:
        on_progress(stage, fraction, f"{info.label}: {message}")

    return predict_area(model, info, rgb, grid.resolution, valid, device, report, nir=nir), info


def _refine_ground(s: _Surfaces, cfg: PipelineConfig, on_progress: ProgressCallback, warnings: list[str]) -> Any:
    """Measured heights, learned semantics: ground cells the model sees as road or water become so.

    Heights and the rules decide what stands above ground; on the ground itself height says nothing,
    and colour and shape (what the network learned) tell a carriageway or a pond from a lawn edge or a
    yard. Only cells the rules call ground change, and only where the model is at least
    ``cfg.prediction.min_confidence`` sure.
    """
    assert s.labels is not None
    try:
        prediction, info = _predict(s.rgb, _covered(s.image), s.grid, cfg, on_progress, "classify", s.nir)
    except InputError as err:
        warnings.append(f"Roads and water were not mapped: {err}")
        return None
    ground = (s.labels == objects.rules.GROUND) & (prediction.class_confidence >= cfg.prediction.min_confidence)
    for code in (ROAD, WATER):
        s.labels[ground & (prediction.asprs == code)] = code
    s.refined_confidence = prediction.class_confidence
    return info


def _covered(image: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_]:
    """Cells where every band of the orthophoto is known."""
    return np.asarray(np.isfinite(image).all(axis=0), dtype=bool)


def _describe_model(info: Any) -> dict[str, Any] | None:
    if info is None:
        return None
    from reconstruction.prediction.weights import describe

    return describe(info)


def _surface(
    dsm_info: RasterInfo | None, lidar_info: LidarInfo | None, grid: Grid
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32] | None, Any]:
    """DSM on the grid, plus LiDAR ground returns and points when LiDAR is the source."""
    if dsm_info is not None:
        dsm = read_onto_grid(dsm_info, grid, Resampling.bilinear)[0]
        if not np.isfinite(dsm).any():
            raise InputError(f"The {dsm_info.label} has no valid heights where it overlaps the orthophoto.")
        return dsm, None, None
    assert lidar_info is not None
    points = read_points(lidar_info, grid.crs, grid.bounds)
    dsm = pointcloud.rasterize_points(points.xyz, grid, keep="highest")
    coverage = float(np.isfinite(dsm).mean())
    if coverage < 0.1:
        raise InputError(
            f"The {lidar_info.label} covers only {coverage:.0%} of the area's {grid.resolution} m cells; "
            "it is too sparse or lies mostly outside the orthophoto."
        )
    ground_z = None
    if lidar_info.ground_share > 0.05:
        ground_z = pointcloud.rasterize_points(points.xyz[points.classification == 2], grid, keep="lowest")
    return dsm, ground_z, points


def _point_cloud(surfaces: _Surfaces, lidar_points: Any, lidar_info: LidarInfo | None) -> pointcloud.PointCloud:
    assert surfaces.labels is not None
    if lidar_points is None:
        return pointcloud.points_from_raster(surfaces.dsm, surfaces.labels, surfaces.rgb, surfaces.grid)
    classified = lidar_info is not None and set(lidar_info.class_counts) - {0, 1}
    return pointcloud.points_from_lidar(
        lidar_points.xyz,
        lidar_points.classification if classified else None,
        surfaces.labels,
        surfaces.rgb,
        surfaces.grid,
        intensity=lidar_points.intensity,
    )


def _write_points(cloud: pointcloud.PointCloud, out_dir: Path, crs: CRS) -> Path:
    """Write the downloadable LAZ and the uncompressed LAS the tiler reads."""
    (out_dir / "pointcloud").mkdir(exist_ok=True)
    pointcloud.write_las(cloud, out_dir / "pointcloud" / "points.laz", crs)
    return pointcloud.write_las(cloud, out_dir / "pointcloud" / "tiler-input.las", crs)


def _write_features(
    s: _Surfaces,
    ndsm: npt.NDArray[np.float32],
    tin: terrain.Tin,
    footprints: list[Any] | None,
    cfg: PipelineConfig,
    out_dir: Path,
    extent: Extent,
) -> tuple[dict[str, str], dict[str, int], list[objects.Building], dict[str, list[objects.Feature]]]:
    """Buildings (LoD1, with attributes) and vegetation patches as GeoPackage, GeoJSON and CityJSON.

    Buildings and trees are modelled on the whole grid and kept when the extent keeps them (whole, never
    cut); area features (vegetation, roads, water, land use) are traced on the kept core only, so that
    a chip's pieces meet its neighbours' along the core's edge.

    Returns:
        The written files (manifest ``vectors``), counts per class, the LoD1 buildings, and the mapped
        features by layer name (``trees``, ``roads``, ...) for the 3D tiles.
    """
    assert s.labels is not None and s.dtm is not None
    folder = out_dir / "vectors"
    folder.mkdir(exist_ok=True)
    mask = s.labels == objects.rules.BUILDING
    buildings = [
        dataclasses.replace(b, id=b.id + extent.id_offset)
        for b in objects.extract_buildings(mask, ndsm, s.dtm, s.grid, cfg.buildings, footprints)
        if extent.keeps(b.footprint)
    ]
    trees = objects.detect_trees(s.labels == objects.rules.HIGH_VEGETATION, ndsm, s.dtm, s.grid, cfg.trees)
    trees = [t for t in trees if extent.keeps_xy(np.array([t.x]), np.array([t.y]))[0]]
    labels, dtm, core = extent.crop(s.labels), extent.crop(s.dtm), extent.core_grid
    low = objects.low_vegetation_areas(labels == objects.rules.LOW_VEGETATION, core, cfg.features.min_low_vegetation_m2)
    roads = [
        dataclasses.replace(r, id=r.id + extent.id_offset) for r in objects.extract_roads(labels == ROAD, dtm, core)
    ]
    water = objects.water_bodies(labels, core)
    blocks = objects.land_use_blocks(labels, core)
    confidence = _feature_confidence(s, s.prediction.class_confidence if s.prediction is not None else None)
    refined = _feature_confidence(s, s.refined_confidence)
    found = {
        # building_id is the feature id inside the 3D Tiles, so a picked building finds its database row.
        "buildings": [
            objects.Feature("building", b.footprint, {"building_id": b.id, **b.attributes, **confidence(b.footprint)})
            for b in buildings
        ],
        "trees": [objects.Feature("tree", t.crown, _tree_attributes(t) | confidence(t.crown)) for t in trees],
        "low_vegetation": [
            objects.Feature("low_vegetation", p, {"area_m2": round(float(p.area), 1), **confidence(p)}) for p in low
        ],
        "roads": [
            objects.Feature("road", r.polygon, r.attributes | confidence(r.polygon) | refined(r.polygon)) for r in roads
        ],
        "water": [
            objects.Feature("water", w, {"area_m2": round(float(w.area), 1), **confidence(w), **refined(w)})
            for w in water
        ],
        "land_use": [objects.Feature("land_use", b.polygon, b.attributes) for b in blocks],
    }
    centrelines = [objects.Feature("road_centreline", r.centreline, r.attributes) for r in roads]
    vectors: dict[str, str] = {}
    for name, features in found.items():
        if features:
            vectors[name] = _rel(gis.write_gpkg(features, folder / f"{name}.gpkg", s.grid.crs, name), out_dir)
    if centrelines:
        vectors["road_centrelines"] = _rel(
            gis.write_gpkg(centrelines, folder / "road_centrelines.gpkg", s.grid.crs, "road_centrelines"), out_dir
        )
    # A chip's TIN joins the city model at the merge, once its seams are closed.
    whole_tin = (tin.vertices, tin.triangles) if extent.chip is None else None
    city = gis.write_cityjson(buildings, folder / "city.json", s.grid.crs, tin=whole_tin)
    vectors["cityjson"] = _rel(city, out_dir)
    everything = [feature for features in found.values() for feature in features]
    counts = {
        "building": len(buildings),
        "tree": len(trees),
        "low_vegetation": len(low),
        "road": len(roads),
        "water": len(water),
        "land_use": len(blocks),
    }
    # Every feature in WGS 84 GeoJSON too: what web clients and the database loader read.
    vectors["features"] = _rel(
        gis.write_geojson(everything, out_dir / "vectors" / "features.geojson", s.grid.crs), out_dir
    )
    return vectors, counts, buildings, found


def _feature_confidence(
    s: _Surfaces, raster: npt.NDArray[np.float32] | None
) -> Callable[[BaseGeometry], dict[str, float]]:
    """``confidence(geometry)``: the model's mean class confidence inside it ({} without a model raster)."""
    if raster is None:
        return lambda _geometry: {}

    def confidence(geometry: BaseGeometry) -> dict[str, float]:
        window, inside = s.grid.cells_of(geometry, all_touched=True)
        return {"class_confidence": round(float(raster[window][inside].mean()), 3)} if inside.any() else {}

    return confidence


def _tree_attributes(tree: objects.Tree) -> dict[str, float]:
    return {
        "height_m": round(tree.height_m, 2),
        "crown_diameter_m": round(tree.crown_diameter_m, 2),
        "ground_m": round(tree.ground_m, 2),
        "top_x": round(tree.x, 3),
        "top_y": round(tree.y, 3),
    }


def _write_rasters(s: _Surfaces, ndsm: npt.NDArray[np.float32], out_dir: Path, extent: Extent) -> dict[str, str]:
    """The kept part of the surfaces as COGs."""
    assert s.labels is not None and s.dtm is not None
    folder = out_dir / "rasters"
    folder.mkdir(exist_ok=True)
    core, crop = extent.core_grid, extent.crop
    written = {
        "dsm": gis.write_cog(crop(s.dsm), core, folder / "dsm.tif", -9999.0),
        "dtm": gis.write_cog(crop(s.dtm), core, folder / "dtm.tif", -9999.0),
        "ndsm": gis.write_cog(crop(ndsm), core, folder / "ndsm.tif", -9999.0),
        "labels": gis.write_cog(crop(s.labels), core, folder / "labels.tif", 0),
    }
    if s.prediction is not None:
        p = s.prediction
        written["confidence"] = gis.write_cog(crop(p.class_confidence), core, folder / "confidence.tif", -1.0)
        written["height_std"] = gis.write_cog(crop(p.height_std), core, folder / "height_std.tif", -9999.0)
    return {name: _rel(path, out_dir) for name, path in written.items()}


def _finite_or_none(values: dict[str, float | int]) -> dict[str, float | int | None]:
    """JSON has no infinity: report an unbounded threshold as null."""
    return {k: (v if not isinstance(v, float) or np.isfinite(v) else None) for k, v in values.items()}


def _bbox_wgs84(grid: Grid) -> list[float]:
    west, south, east, north = Transformer.from_crs(grid.crs, 4326, always_xy=True).transform_bounds(*grid.bounds)
    return [round(v, 8) for v in (west, south, east, north)]


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()
