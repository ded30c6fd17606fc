"""Robust estimation of an affine or projective transform from weighted matches (weighted MSAC).

OpenCV's ``estimateAffine2D`` and ``findHomography`` count inliers: every match weighs the same. The
semantic constraint needs matches near building and road boundaries to weigh more, so this module runs
its own RANSAC, vectorised with numpy: minimal samples (3 pairs for affine, 4 for projective) give
hypotheses, each is scored by the weighted truncated squared residual (MSAC: ``sum w * min(r^2, t^2)``),
and the best is refined by weighted least squares on its inliers, a few times (local optimisation). With
all weights 1 it is plain MSAC, so the plain and semantic variants differ only by the constraint.
Coordinates are in matching-grid pixels, centred on the overlap, so the threshold is in pixels.
"""

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

Model = Literal["affine", "projective"]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Estimate:
    """A robustly estimated transform.

    Attributes:
        matrix: 3x3, moving -> reference, in the (centred, pixel-scaled) coordinates it was given.
        inliers: ``(N,)`` bool.
        residuals: ``(N,)`` distance of each match from the transform, same units.
    """

    matrix: F64
    inliers: npt.NDArray[np.bool_]
    residuals: F64


def estimate_transform(
    moving: F64,
    reference: F64,
    weights: F64,
    model: Model,
    threshold: float,
    iterations: int,
    seed: int = 0,
) -> Estimate | None:
    """Weighted MSAC: the transform that best maps ``moving`` onto ``reference`` points.

    Args:
        moving: ``(N, 2)`` points.
        reference: ``(N, 2)`` the same points in the reference.
        weights: ``(N,)`` positive weights.
        model: ``"affine"`` or ``"projective"``.
        threshold: inlier distance, same units as the points.
        iterations: hypotheses drawn.
        seed: random seed (results are reproducible).

    Returns:
        The estimate, or None when there are too few matches or every sample is degenerate.
    """
    need = 3 if model == "affine" else 4
    n = len(moving)
    if n < need + 1:
        return None
    scale = float(np.abs(np.r_[moving, reference]).max()) or 1.0  # work in -1..1 for conditioning
    moving, reference, threshold = moving / scale, reference / scale, threshold / scale
    rng = np.random.default_rng(seed)
    samples = np.array([rng.choice(n, need, replace=False) for _ in range(iterations)])
    hypotheses = _minimal(moving[samples], reference[samples], model)
    if hypotheses.shape[0] == 0:
        return None
    best, best_cost = None, np.inf
    t2 = threshold * threshold
    for start in range(0, len(hypotheses), 256):
        chunk = hypotheses[start : start + 256]
        r2 = _squared_residuals(chunk, moving, reference)
        cost = (np.minimum(r2, t2) * weights).sum(axis=1)
        i = int(np.argmin(cost))
        if cost[i] < best_cost:
            best, best_cost = chunk[i], float(cost[i])
    assert best is not None
    matrix = best
    for _ in range(5):
        inliers = _squared_residuals(matrix[None], moving, reference)[0] < t2
        if inliers.sum() < need:
            break
        refined = _fit(moving[inliers], reference[inliers], weights[inliers], model)
        if refined is None:
            break
        matrix = refined
    residuals = np.sqrt(_squared_residuals(matrix[None], moving, reference)[0])
    unscale = np.diag([scale, scale, 1.0])
    matrix = unscale @ matrix @ np.linalg.inv(unscale)
    return Estimate(matrix / matrix[2, 2], residuals < threshold, residuals * scale)


def degeneracy(matrix: F64, half_extent: float) -> str | None:
    """Why a transform cannot be a registration of two georeferenced rasters, or None when it is plausible.

    A registration corrects georeferencing errors: a flip, a scale change beyond 2x, a strong shear or a
    perspective that changes the scale by more than a third across the area are wrong matches, not a fix.
    """
    linear = matrix[:2, :2] / matrix[2, 2]
    if not np.isfinite(matrix).all() or np.linalg.det(linear) <= 0:
        return "it mirrors or collapses the image"
    s = np.linalg.svd(linear, compute_uv=False)
    if s[0] > 2 or s[1] < 0.5:
        return f"it scales the image by {s[1]:.2f}-{s[0]:.2f}x (more than 2x)"
    if s[1] / s[0] < 0.6:
        return f"it shears or squashes the image (axis ratio {s[1] / s[0]:.2f})"
    if np.abs(matrix[2, :2] / matrix[2, 2]).sum() * half_extent > 0.33:
        return "its perspective changes the scale by more than a third across the area"
    return None


def _minimal(moving: F64, reference: F64, model: Model) -> F64:
    """Exact transforms from ``(K, m, 2)`` minimal samples; degenerate samples are dropped."""
    k, m = moving.shape[:2]
    x, y = moving[..., 0], moving[..., 1]
    u, v = reference[..., 0], reference[..., 1]
    ones, zeros = np.ones_like(x), np.zeros_like(x)
    if model == "affine":
        a = np.stack([x, y, ones], axis=-1)  # (K, 3, 3)
        ok = np.abs(np.linalg.det(a)) > 1e-3
        sol = np.linalg.solve(a[ok], reference[ok])  # (K', 3, 2)
        out = np.zeros((len(sol), 3, 3))
        out[:, :2, :] = sol.transpose(0, 2, 1)
        out[:, 2, 2] = 1.0
        return out
    rows_u = np.stack([x, y, ones, zeros, zeros, zeros, -u * x, -u * y], axis=-1)
    rows_v = np.stack([zeros, zeros, zeros, x, y, ones, -v * x, -v * y], axis=-1)
    a = np.concatenate([rows_u, rows_v], axis=1)  # (K, 8, 8)
    b = np.concatenate([u, v], axis=1)
    ok = np.abs(np.linalg.det(a / max(1.0, np.abs(a).max()))) > 1e-12
    h = np.linalg.solve(a[ok], b[ok][..., None])[..., 0]
    out = np.concatenate([h, np.ones((len(h), 1))], axis=1).reshape(-1, 3, 3)
    return out[np.isfinite(out).all(axis=(1, 2))]


def _squared_residuals(matrices: F64, moving: F64, reference: F64) -> F64:
    """``(K, N)`` squared distances between each transformed moving point and its reference point."""
    p = np.c_[moving, np.ones(len(moving))]
    q = np.einsum("kij,nj->kni", matrices, p)
    w = q[..., 2]
    w = np.where(np.abs(w) < 1e-12, 1e-12, w)
    d = q[..., :2] / w[..., None] - reference[None]
    return np.asarray((d * d).sum(axis=-1), dtype=np.float64)


def _fit(moving: F64, reference: F64, weights: F64, model: Model) -> F64 | None:
    """Weighted least squares over all given pairs (DLT for the projective model)."""
    sw = np.sqrt(weights)[:, None]
    if model == "affine":
        a = np.c_[moving, np.ones(len(moving))] * sw
        sol, *_ = np.linalg.lstsq(a, reference * sw, rcond=None)
        out = np.eye(3)
        out[:2, :] = sol.T
        return out
    x, y = moving.T
    u, v = reference.T
    one, zero = np.ones_like(x), np.zeros_like(x)
    rows = np.concatenate(
        [
            np.stack([x, y, one, zero, zero, zero, -u * x, -u * y, -u], axis=1) * sw,
            np.stack([zero, zero, zero, x, y, one, -v * x, -v * y, -v], axis=1) * sw,
        ]
    )
    _, _, vt = np.linalg.svd(rows)
    h = vt[-1].reshape(3, 3)
    if abs(h[2, 2]) < 1e-12:
        return None
    return np.asarray(h / h[2, 2], dtype=np.float64)
