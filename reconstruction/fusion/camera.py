"""Pinhole camera with radial distortion: project world points to pixels and depths, and back.

Conventions (those of OpenCV): the camera frame has x to the right, y down and z forward (the viewing
direction); a world point ``X`` is ``x_cam = R @ (X - centre)``; pixel ``(u, v)`` has its origin at the
centre of the top-left pixel, ``u`` along columns and ``v`` along rows, so pixel ``(row, col)`` covers
``u`` in ``[col - 0.5, col + 0.5)``. Depth is ``z_cam`` in metres. Distortion is radial only:
``x_d = x_n * (1 + k1 r^2 + k2 r^4)`` on normalised coordinates ``x_n = x_cam / z_cam``.

Camera JSON (one object; every number in metres or pixels, the world frame is the point cloud's CRS)::

    {"width": 640, "height": 480,
     "K": [[fx, 0, cx], [0, fy, cy], [0, 0, 1]],      # or "fx", "fy", "cx", "cy"
     "R": [[...], [...], [...]],                       # world -> camera rotation (rows: camera x, y, z axes)
     "centre": [X, Y, Z],                              # or OpenCV's "t" (x_cam = R X + t, centre = -R^T t)
     "k1": 0.0, "k2": 0.0}                             # or OpenCV's "dist": [k1, k2, p1, p2, k3] (p1 = p2 = k3 = 0)
"""

import json
import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from reconstruction.errors import InputError

F64 = npt.NDArray[np.float64]

#: How far a rotation matrix may be from orthonormal before it is refused.
_ROTATION_TOLERANCE = 1e-4


@dataclass(frozen=True, eq=False)
class Camera:
    """A calibrated pinhole camera placed in the world (the point cloud's CRS, metres).

    Attributes:
        K: (3, 3) intrinsics in pixels: focal lengths ``fx``, ``fy`` and principal point ``cx``, ``cy``.
        R: (3, 3) rotation from world to camera axes (x right, y down, z forward).
        centre: (3,) projection centre in world coordinates, metres.
        width: Image width in pixels.
        height: Image height in pixels.
        k1: First radial distortion coefficient.
        k2: Second radial distortion coefficient.
    """

    K: F64
    R: F64
    centre: F64
    width: int
    height: int
    k1: float = 0.0
    k2: float = 0.0

    @classmethod
    def looking_at(
        cls,
        centre: tuple[float, float, float] | F64,
        target: tuple[float, float, float] | F64,
        focal_px: float,
        width: int,
        height: int,
        k1: float = 0.0,
        k2: float = 0.0,
    ) -> "Camera":
        """A camera at ``centre`` aimed at ``target`` with the image's top towards world +Z (north when nadir).

        Args:
            centre: Projection centre, metres.
            target: A world point that lands on the principal point, metres.
            focal_px: Focal length in pixels (both axes); the principal point is the image centre.
            width: Image width in pixels.
            height: Image height in pixels.
            k1: First radial distortion coefficient.
            k2: Second radial distortion coefficient.

        Raises:
            InputError: the target coincides with the centre.
        """
        c, t = np.asarray(centre, dtype=np.float64), np.asarray(target, dtype=np.float64)
        forward = t - c
        if not np.linalg.norm(forward) > 0:
            raise InputError("a camera cannot look at its own centre: give a target away from it")
        forward /= np.linalg.norm(forward)
        up = np.array([0.0, 0.0, 1.0]) if abs(forward[2]) < 0.999 else np.array([0.0, 1.0, 0.0])
        right = np.cross(forward, up)
        right /= np.linalg.norm(right)
        down = np.cross(forward, right)
        K = np.array([[focal_px, 0.0, (width - 1) / 2], [0.0, focal_px, (height - 1) / 2], [0.0, 0.0, 1.0]])
        return cls(K=K, R=np.vstack([right, down, forward]), centre=c, width=width, height=height, k1=k1, k2=k2)

    @classmethod
    def from_dict(cls, data: dict[str, Any], name: str = "camera") -> "Camera":
        """Build a camera from its JSON object (see the module docstring for both accepted forms).

        Raises:
            InputError: a key is missing or a value has the wrong shape, is not finite, or R is not a rotation.
        """
        try:
            return _from_dict(data)
        except (KeyError, TypeError, ValueError) as err:
            raise InputError(
                f"The {name} is not a valid camera ({type(err).__name__}: {err}). It needs width, height, K "
                "(or fx, fy, cx, cy), R and centre (or OpenCV's t), and optionally k1, k2 or dist."
            ) from err

    def to_dict(self) -> dict[str, Any]:
        """The camera as its JSON object (the native form: K, R, centre, k1, k2)."""
        return {
            "width": self.width,
            "height": self.height,
            "K": self.K.tolist(),
            "R": self.R.tolist(),
            "centre": self.centre.tolist(),
            "k1": self.k1,
            "k2": self.k2,
        }

    @property
    def focal_px(self) -> float:
        """Mean focal length in pixels."""
        return float((self.K[0, 0] + self.K[1, 1]) / 2)

    def project(self, xyz: F64) -> tuple[F64, F64]:
        """Project world points to pixels.

        Args:
            xyz: (N, 3) world points, metres.

        Returns:
            ``uv`` (N, 2) pixel coordinates (column, row) and ``depth`` (N,) along the optical axis in metres.
            Points behind the camera, or outside the field where the distortion model is valid, get
            ``uv = NaN``; their depth is still returned.
        """
        # einsum, not matmul: a (N, 3) x (3, 3) product gains nothing from BLAS threads, and on a busy machine
        # their hand-off made it 20x slower (measured 0.35 s against 0.016 s for a million points).
        cam = np.einsum("ij,kj->ik", np.asarray(xyz, dtype=np.float64) - self.centre, self.R)
        depth = cam[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            xn = cam[:, :2] / depth[:, None]
        r2 = np.einsum("ij,ij->i", xn, xn)
        if self.k1 or self.k2:
            xn *= (1.0 + r2 * (self.k1 + self.k2 * r2))[:, None]
        uv = xn * self.K[[0, 1], [0, 1]] + self.K[[0, 1], [2, 2]]
        uv[~((depth > 0) & (r2 <= self._max_r2))] = np.nan
        return uv, depth

    def unproject(self, uv: F64, depth: F64) -> F64:
        """World points at ``depth`` along the rays of pixels ``uv`` (the inverse of :meth:`project`).

        Args:
            uv: (N, 2) pixel coordinates (column, row).
            depth: (N,) depths along the optical axis, metres.

        Returns:
            (N, 3) world points, metres.
        """
        import cv2

        # Inverting the distortion polynomial has no closed form; OpenCV's iterative undistortPoints does it.
        dist = np.array([self.k1, self.k2, 0.0, 0.0])
        pts = np.ascontiguousarray(np.asarray(uv, dtype=np.float64).reshape(-1, 1, 2))
        xn = cv2.undistortPoints(
            pts, self.K, dist, criteria=(cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 50, 1e-12)
        )
        cam = np.column_stack([xn.reshape(-1, 2), np.ones(len(pts))]) * np.asarray(depth, dtype=np.float64)[:, None]
        return cam @ self.R + self.centre

    @cached_property
    def _max_r2(self) -> float:
        """Largest squared normalised radius the distortion model maps one-to-one (``inf`` without distortion).

        ``r (1 + k1 r^2 + k2 r^4)`` grows with ``r`` only until its derivative ``1 + 3 k1 r^2 + 5 k2 r^4``
        reaches zero; beyond that radius (strong barrel distortion) the polynomial folds far-away points back
        into the picture, so they are treated as unseen. Inside it, a point outside the image stays outside.
        """
        if not (self.k1 or self.k2):
            return math.inf
        roots = np.roots([5 * self.k2, 3 * self.k1, 1.0]) if self.k2 else np.array([-1 / (3 * self.k1)])
        real = [float(r.real) for r in np.atleast_1d(roots) if abs(r.imag) < 1e-12 and r.real > 0]
        return 0.95 * min(real) if real else math.inf


def read_camera(path: Path) -> Camera:
    """Read one camera JSON file (see the module docstring).

    Raises:
        InputError: the file is missing, not JSON, or not a valid camera.
    """
    return Camera.from_dict(read_json(path), f"camera file '{path.name}'")


def write_camera(camera: Camera, path: Path) -> Path:
    """Write ``camera`` as JSON (the native form) and return the path."""
    path.write_text(json.dumps(camera.to_dict(), indent=2) + "\n")
    return path


def read_json(path: Path) -> Any:
    """Parse a JSON file; raise InputError when it is missing or malformed."""
    if not path.is_file():
        raise InputError(f"The file '{path}' does not exist. Check the path.")
    try:
        return json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"The file '{path.name}' is not valid JSON ({err}).") from err


def _from_dict(data: dict[str, Any]) -> Camera:
    if not isinstance(data, dict):
        raise TypeError("a camera is a JSON object")
    width, height = int(data["width"]), int(data["height"])
    if width < 1 or height < 1:
        raise ValueError(f"width and height must be positive, got {width} x {height}")
    if "K" in data:
        K = _matrix(data["K"], (3, 3), "K")
    else:
        fx, fy, cx, cy = (float(data[k]) for k in ("fx", "fy", "cx", "cy"))
        K = np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
    if not (K[0, 0] > 0 and K[1, 1] > 0 and K[0, 1] == 0 and K[1, 0] == 0 and np.allclose(K[2], [0, 0, 1])):
        raise ValueError("K needs positive focal lengths, no skew and a last row of [0, 0, 1]")
    R = _matrix(data["R"], (3, 3), "R")
    if not np.allclose(R @ R.T, np.eye(3), atol=_ROTATION_TOLERANCE) or np.linalg.det(R) < 0:
        raise ValueError("R is not a rotation (orthonormal, determinant +1)")
    if "centre" in data:
        centre = _matrix(data["centre"], (3,), "centre")
    else:
        centre = -R.T @ _matrix(data["t"], (3,), "t")
    k1, k2 = float(data.get("k1", 0.0)), float(data.get("k2", 0.0))
    if "dist" in data:
        dist = [float(d) for d in data["dist"]]
        if len(dist) not in (2, 4, 5) or any(dist[2:]):
            raise ValueError(f"dist must be [k1, k2] or OpenCV's [k1, k2, p1, p2(, k3)] with p1 = p2 = k3 = 0: {dist}")
        k1, k2 = dist[0], dist[1]
    if not (math.isfinite(k1) and math.isfinite(k2)):
        raise ValueError("k1 and k2 must be finite")
    return Camera(K=K, R=R, centre=centre, width=width, height=height, k1=k1, k2=k2)


def _matrix(value: Any, shape: tuple[int, ...], key: str) -> F64:
    array = np.asarray(value, dtype=np.float64)
    if array.shape != shape:
        raise ValueError(f"{key} must have shape {shape}, got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{key} holds NaN or infinite values")
    return array
