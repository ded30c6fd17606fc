"""``register_raster``: co-register a second image or a DSM to a reference raster and write it on its grid."""

import time
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from reconstruction.config import RegistrationConfig
from reconstruction.errors import InputError
from reconstruction.io import Grid, crs_label
from reconstruction.progress import ProgressCallback, silent
from reconstruction.registration.estimation import Model, degeneracy, estimate_transform
from reconstruction.registration.matching import match_keypoints
from reconstruction.registration.report import CheckPoints, RegistrationReport, check_point_errors
from reconstruction.registration.represent import represent
from reconstruction.registration.semantics import boundary_weights, class_agreement, class_map
from reconstruction.registration.sources import inspect_any, inspect_source, load_sources
from reconstruction.registration.warp import output_grid, warp_raster

F64 = npt.NDArray[np.float64]
_DEFAULT = RegistrationConfig()


def register_raster(
    reference: Path,
    moving: Path,
    out: Path,
    *,
    kind: Literal["image", "dsm"] = "image",
    model: Model | None = None,
    semantic: bool | None = None,
    progress: ProgressCallback | None = None,
    cfg: RegistrationConfig = _DEFAULT,
    check_points: CheckPoints | None = None,
    epsg: int | None = None,
    z_unit: str | None = None,
) -> RegistrationReport:
    """Register ``moving`` to ``reference`` and write it resampled onto the reference's extent.

    Keypoints (``cfg.detector``, SIFT by default) are matched on gradient-magnitude images of both
    rasters on a common grid (the coarser cell size); a weighted RANSAC fits the ``model``; with
    ``semantic``, matches whose land-cover classes disagree are dropped first and matches near building
    and road boundaries weigh ``cfg.boundary_weight``. The output keeps the moving raster's bands, data
    type and cell size; cells it does not cover are nodata.

    Args:
        reference: the raster that is right (orthophoto, or a DSM); its CRS must be metric.
        moving: the raster to correct: a 3-4 band image (``kind="image"``) or a one-band DSM (``"dsm"``).
        out: GeoTIFF to write.
        kind: what ``moving`` is.
        model: ``"affine"`` or ``"projective"``; None: ``cfg.model``.
        semantic: apply the semantic consistency constraint; None: ``cfg.semantic``.
        progress: ``progress("register", fraction, message)``.
        cfg: matching and estimation options.
        check_points: points of known truth; their errors go into the report.
        epsg: EPSG code for rasters that carry no CRS.
        z_unit: the unit of a moving DSM's heights when its file states none or a wrong one (``m``, ``ft``,
            ``us-ft``); the registered DSM is written in metres either way.

    Returns:
        The report (transform, counts, inlier RMSE and check-point errors in metres).

    Raises:
        InputError: a raster is unsuitable, the two do not overlap (OverlapError), too few matches
            agree, or the transform found is degenerate; each message says what to do.
        ConfigError: the detector is not available.
    """
    start = time.perf_counter()
    report = progress or silent
    model = model or cfg.model
    semantic = cfg.semantic if semantic is None else semantic
    report("register", 0.0, f"Registering '{moving.name}' to '{reference.name}'")
    ref_info = inspect_any(reference, epsg, "Registration reference")
    mov_info = inspect_source(moving, kind, epsg, f"Registering the {kind}", z_unit)
    ref, mov, crs, overlap = load_sources(ref_info, mov_info, cfg.max_match_pixels)
    resolution = ref.grid.resolution
    report("register", 0.2, f"Matching {cfg.detector.upper()} keypoints at {resolution:.2f} m")
    ref_rep, mov_rep = represent(ref), represent(mov)
    matches = match_keypoints(ref_rep, mov_rep, cfg.detector, cfg.max_features, cfg.ratio)
    if ref.kind != mov.kind and len(matches) < cfg.min_inliers:
        raise InputError(
            f"Registering the {mov_info.label} to the {ref_info.label} found only {len(matches)} matching keypoints "
            f"(at least {cfg.min_inliers} needed): a DSM and an image share too few keypoints. Register the DSM to a "
            "LiDAR point cloud of the area instead (give the LiDAR too), or upload a DSM that is already aligned."
        )
    _require(len(matches), cfg.min_inliers, "matching keypoints", mov_info.label, ref_info.label)
    n_matches, rejected = len(matches), 0
    weights = np.ones(len(matches))
    if semantic:
        report("register", 0.4, "Classifying both sources for the semantic constraint")
        ref_classes, mov_classes = class_map(ref, resolution), class_map(mov, resolution)
        radius = max(1, round(cfg.boundary_m / resolution))
        agree = class_agreement(ref_classes, mov_classes, matches, radius)
        rejected = int((~agree).sum())
        matches = matches.subset(agree)
        _require(len(matches), cfg.min_inliers, "class-consistent matches", mov_info.label, ref_info.label)
        weights = boundary_weights(ref_classes, mov_classes, matches, radius, cfg.boundary_weight)
    report("register", 0.7, f"Estimating a {model} transform from {len(matches)} matches")
    centre = ((overlap[0] + overlap[2]) / 2, (overlap[1] + overlap[3]) / 2)
    norm = np.array(
        [[1 / resolution, 0, -centre[0] / resolution], [0, 1 / resolution, -centre[1] / resolution], [0, 0, 1]]
    )
    ref_xy, mov_xy = _to_map(matches.reference_px, ref.grid), _to_map(matches.moving_px, mov.grid)
    estimate = estimate_transform(
        _apply(norm, mov_xy), _apply(norm, ref_xy), weights, model, cfg.threshold_px, cfg.iterations
    )
    if estimate is None:
        _require(0, cfg.min_inliers, "matches in a usable geometry", mov_info.label, ref_info.label)
    assert estimate is not None
    inliers = estimate.inliers
    _require(int(inliers.sum()), cfg.min_inliers, "matches agreeing on one transform", mov_info.label, ref_info.label)
    half_extent = max(overlap[2] - overlap[0], overlap[3] - overlap[1]) / 2 / resolution
    problem = degeneracy(estimate.matrix, half_extent) or _clustered(ref_xy[inliers], overlap)
    if problem:
        raise InputError(
            f"Registering the {mov_info.label} to the {ref_info.label} gave a transform that cannot be right: "
            f"{problem}. The images probably show too little in common (other season, cloud, large changes); "
            "try the other model (affine/projective), or upload a second source closer to the reference."
        )
    matrix = np.linalg.inv(norm) @ estimate.matrix @ norm
    matrix /= matrix[2, 2]
    report("register", 0.85, "Resampling the registered raster")
    warp_raster(mov_info, matrix, output_grid(ref_info, mov_info, crs, resolution), out)
    mid = np.array([[(mov.grid.bounds[0] + mov.grid.bounds[2]) / 2, (mov.grid.bounds[1] + mov.grid.bounds[3]) / 2]])
    shift = _apply(matrix, mid)[0] - mid[0]
    seconds = time.perf_counter() - start
    result = RegistrationReport(
        method=f"{cfg.detector}+{'semantic-' if semantic else ''}ransac",
        kind=kind,
        model=model,
        semantic=semantic,
        representation=mov_rep.description,
        match_resolution_m=round(resolution, 4),
        n_keypoints=matches.n_keypoints,
        n_matches=n_matches,
        n_class_rejected=rejected,
        n_inliers=int(inliers.sum()),
        rmse_m=round(float(np.sqrt(np.mean(estimate.residuals[inliers] ** 2)) * resolution), 4),
        matrix=tuple(tuple(round(float(v), 9) for v in row) for row in matrix),  # type: ignore[misc]
        shift_m=(round(float(shift[0]), 3), round(float(shift[1]), 3)),
        crs=crs_label(crs),
        seconds=round(seconds, 2),
        check_points=check_point_errors(matrix, check_points) if check_points is not None else None,
    )
    report("register", 1.0, f"Registered with {result.n_inliers} inliers, residual {result.rmse_m:.2f} m")
    return result


def _require(count: int, minimum: int, what: str, moving: str, reference: str) -> None:
    """Refuse a registration with too few matches, saying what to do."""
    if count < minimum:
        raise InputError(
            f"Registering the {moving} to the {reference} found only {count} {what} (at least {minimum} needed). "
            "The two rasters may show different places, or too little texture in common (water, fields, fresh "
            "snow, another season). Check that the second source covers the reference area, or try ORB/"
            "the plain variant; without registration, upload sources that are already aligned."
        )


def _clustered(points: F64, overlap: tuple[float, float, float, float]) -> str | None:
    """A transform from inliers in one small patch does not hold over the area."""
    spread = points.std(axis=0)
    size = np.array([overlap[2] - overlap[0], overlap[3] - overlap[1]])
    if (spread < 0.05 * size).any():
        return "the matches that agree on it lie in a small part of the overlap"
    return None


def _to_map(px: F64, grid: Grid) -> F64:
    """OpenCV pixel coordinates (cell centres at whole numbers) to map coordinates."""
    t = grid.transform
    col, row = px[:, 0] + 0.5, px[:, 1] + 0.5
    return np.c_[t.a * col + t.b * row + t.c, t.d * col + t.e * row + t.f]


def _apply(matrix: F64, xy: F64) -> F64:
    p = np.c_[xy, np.ones(len(xy))] @ matrix.T
    return np.asarray(p[:, :2] / p[:, 2:3], dtype=np.float64)
