"""What a registration found: the transform as plain data, match counts, residuals and check-point errors."""

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class CheckPoints:
    """Points whose true position is known, to measure a registration (tests and benchmarks).

    Attributes:
        moving_xy: ``(N, 2)`` map coordinates (reference CRS, metres) of points as the moving raster's own
            georeferencing places them.
        reference_xy: ``(N, 2)`` where those points truly are, same CRS.
    """

    moving_xy: npt.NDArray[np.float64]
    reference_xy: npt.NDArray[np.float64]


@dataclass(frozen=True)
class CheckPointErrors:
    """Registration error ``e = sqrt((x1-x2)^2 + (y1-y2)^2)`` over check points, metres."""

    count: int
    mean_m: float
    median_m: float
    p90_m: float
    max_m: float


@dataclass(frozen=True)
class RegistrationReport:
    """The result of :func:`reconstruction.registration.register_raster`.

    Attributes:
        method: e.g. ``"sift+ransac"`` or ``"sift+semantic-ransac"``.
        kind: ``"image"`` or ``"dsm"``: what the moving raster is.
        model: ``"affine"`` or ``"projective"``.
        semantic: whether the semantic consistency constraint was applied.
        representation: what was matched, e.g. ``"gradient magnitude of the band mean"``.
        match_resolution_m: cell size of the matching grid, metres.
        n_keypoints: keypoints found in (reference, moving).
        n_matches: matches passing the ratio test.
        n_class_rejected: matches dropped because the two class maps disagree there (0 when not semantic).
        n_inliers: matches the final transform explains within the RANSAC threshold.
        rmse_m: root mean square residual of the inliers, metres.
        matrix: 3x3 transform (row-major) taking map coordinates as the moving raster's georeferencing
            gives them to reference map coordinates (reference CRS, metres).
        shift_m: how far the moving raster's centre moved, (dx, dy) metres.
        crs: the reference CRS, as a label.
        seconds: wall time.
        check_points: errors on known points, when given.
    """

    method: str
    kind: str
    model: str
    semantic: bool
    representation: str
    match_resolution_m: float
    n_keypoints: tuple[int, int]
    n_matches: int
    n_class_rejected: int
    n_inliers: int
    rmse_m: float
    matrix: tuple[tuple[float, float, float], ...]
    shift_m: tuple[float, float]
    crs: str
    seconds: float
    check_points: CheckPointErrors | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (lists, floats, None)."""
        data = asdict(self)
        data["n_keypoints"] = list(self.n_keypoints)
        data["matrix"] = [list(row) for row in self.matrix]
        data["shift_m"] = list(self.shift_m)
        return data


def apply_matrix(matrix: npt.NDArray[np.float64], xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Map ``(N, 2)`` points through a 3x3 transform (projective division included)."""
    h = np.asarray(matrix, dtype=np.float64)
    pts = np.c_[np.asarray(xy, dtype=np.float64), np.ones(len(xy))] @ h.T
    return np.asarray(pts[:, :2] / pts[:, 2:3], dtype=np.float64)


def check_point_errors(matrix: npt.NDArray[np.float64], points: CheckPoints) -> CheckPointErrors:
    """Errors of a map-coordinate transform on known points, metres."""
    found = apply_matrix(matrix, points.moving_xy)
    errors = np.hypot(*(found - np.asarray(points.reference_xy, dtype=np.float64)).T)
    return CheckPointErrors(
        count=int(errors.size),
        mean_m=round(float(errors.mean()), 4),
        median_m=round(float(np.median(errors)), 4),
        p90_m=round(float(np.percentile(errors, 90)), 4),
        max_m=round(float(errors.max()), 4),
    )
