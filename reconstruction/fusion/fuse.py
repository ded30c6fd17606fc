"""The stage entry: check the views, depth-test each one, vote, reclassify, report."""

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from reconstruction.errors import InputError
from reconstruction.fusion.config import SPLAT_SPACING_RATIO, FusionConfig
from reconstruction.fusion.normals import estimate_normals, point_spacing
from reconstruction.fusion.report import FusionReport, ViewReport
from reconstruction.fusion.views import View
from reconstruction.fusion.visibility import visible_points
from reconstruction.fusion.vote import Vote, VoteTally, vote_weights
from reconstruction.pointcloud.cloud import PointCloud
from reconstruction.progress import ProgressCallback, silent

_STAGE = "fusion"
_DEFAULT_CONFIG = FusionConfig()


@dataclass(frozen=True)
class FusionResult:
    """The reclassified cloud and what the vote found per point.

    Attributes:
        cloud: The input cloud with its classes replaced where the views clearly disagreed.
        vote: Winner, fused confidence and number of voting views per point.
        report: Counts and agreement.
    """

    cloud: PointCloud
    vote: Vote
    report: FusionReport


def fuse_labels(
    cloud: PointCloud,
    views: Sequence[View],
    cfg: FusionConfig = _DEFAULT_CONFIG,
    on_progress: ProgressCallback = silent,
) -> FusionResult:
    """Project the cloud into every labelled view, keep what each view sees, vote, and reclassify.

    Args:
        cloud: Points in the cameras' world frame (metres), with their current classes.
        views: Label images with their cameras.
        cfg: Splat size, depth tolerance, weights and the reclassification rule.
        on_progress: ``on_progress("fusion", fraction, message)``.

    Returns:
        The reclassified cloud, the per-point vote and the report.

    Raises:
        InputError: no views or points, a label image whose size differs from its camera's, unknown
            class codes, confidences outside [0, 1], a camera behind every point, or no point visible
            in any view.
    """
    if not views:
        raise InputError("No views were given: list at least one label image with its camera.")
    if len(cloud) == 0:
        raise InputError("The point cloud is empty: there is nothing to label.")
    if not np.all(np.isfinite(cloud.xyz)):
        raise InputError("The point cloud holds NaN or infinite coordinates; clean it before fusing labels.")
    for view in views:
        _check_view(view, cfg)
    on_progress(_STAGE, 0.0, "point spacing and normals")
    normals, splat = _geometry(cloud, cfg)
    tally = VoteTally(len(cloud), cfg.classes)
    reports: list[ViewReport] = []
    warnings: list[str] = []
    for i, view in enumerate(views):
        on_progress(_STAGE, 0.1 + 0.85 * i / len(views), f"view {view.name}")
        reports.append(_add_view(view, cloud, normals, splat, cfg, tally, warnings))
    if not any(r.voted for r in reports):
        raise InputError(
            "No point of the cloud is visible with a label in any view. Check that the cameras are in the cloud's "
            "CRS (same coordinates, metres) and that R is world-to-camera with the camera looking along +z."
        )
    vote = tally.decide(cloud.classification, cfg.majority, cfg.min_views)
    on_progress(_STAGE, 1.0, "votes counted")
    seen = vote.views > 0
    n_seen = int(seen.sum())
    report = FusionReport(
        points=len(cloud),
        seen=n_seen,
        changed=int(np.count_nonzero(vote.classification != cloud.classification)),
        agreement=float(np.mean(vote.winner[seen] == cloud.classification[seen])) if n_seen else 0.0,
        mean_views=float(vote.views[seen].mean()) if n_seen else 0.0,
        splat_radius_m=splat,
        views=tuple(reports),
        warnings=tuple(warnings),
    )
    return FusionResult(cloud=replace(cloud, classification=vote.classification), vote=vote, report=report)


def _check_view(view: View, cfg: FusionConfig) -> None:
    cam = view.camera
    if view.labels.shape != (cam.height, cam.width):
        raise InputError(
            f"The label image of view '{view.name}' is {view.labels.shape[1]} x {view.labels.shape[0]} pixels but its "
            f"camera is {cam.width} x {cam.height}. Give the image the camera was calibrated for (or fix width/height)."
        )
    present = np.flatnonzero(np.bincount(view.labels.reshape(-1), minlength=256))
    unknown = sorted(set(present.tolist()) - {cfg.nodata, *cfg.classes})
    if unknown:
        raise InputError(
            f"The label image of view '{view.name}' holds unknown class codes {unknown}; known codes are "
            f"{sorted(cfg.classes)} (and {cfg.nodata} for no label). Map the labels to ASPRS codes or list the codes "
            "in the classes option."
        )
    if view.confidence is not None:
        if view.confidence.shape != view.labels.shape:
            raise InputError(f"The confidence image of view '{view.name}' is not the size of its label image.")
        if not (np.all(np.isfinite(view.confidence)) and view.confidence.min() >= 0 and view.confidence.max() <= 1):
            raise InputError(f"The confidence image of view '{view.name}' must hold values in [0, 1].")


def _geometry(cloud: PointCloud, cfg: FusionConfig) -> tuple[npt.NDArray[np.float32] | None, float]:
    """Normals (or None) and the splat radius."""
    if cfg.normals == "pca":
        normals, spacing = estimate_normals(cloud.xyz, cfg.normal_neighbours)
    else:
        normals, spacing = None, point_spacing(cloud.xyz) if cfg.splat_radius_m is None else 0.0
    return normals, cfg.splat_radius_m if cfg.splat_radius_m is not None else SPLAT_SPACING_RATIO * spacing


def _add_view(
    view: View,
    cloud: PointCloud,
    normals: npt.NDArray[np.float32] | None,
    splat: float,
    cfg: FusionConfig,
    tally: VoteTally,
    warnings: list[str],
) -> ViewReport:
    cam = view.camera
    seen = visible_points(cam, cloud.xyz, splat, cfg.depth_tolerance, cfg.max_splat_px)
    if seen.in_front == 0:
        raise InputError(
            f"The camera of view '{view.name}' is behind every point (all depths are negative). Check its R and "
            "centre; with OpenCV's t remember that centre = -R^T t, and that R maps world to camera axes."
        )
    labels = view.labels[seen.rows, seen.cols]
    has_label = labels != cfg.nodata
    index = seen.index[has_label]
    rays = cloud.xyz[index] - cam.centre
    distance = np.linalg.norm(rays, axis=1)
    weight = vote_weights(
        view.confidence[seen.rows[has_label], seen.cols[has_label]] if view.confidence is not None else None,
        rays / np.maximum(distance, 1e-9)[:, None],
        distance,
        normals[index] if normals is not None else None,
    )
    tally.add(index, labels[has_label], weight)
    if seen.in_view == 0:
        warnings.append(f"View '{view.name}' sees none of the points: its camera looks elsewhere.")
    return ViewReport(name=view.name, in_view=seen.in_view, visible=int(seen.index.size), voted=int(index.size))
