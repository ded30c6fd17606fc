"""Registration inputs of known truth: displaced copies of a raster, off-nadir views of a generated town.

The registration tests and ``bench/bench_registration.py`` build their cases with these: a copy of a raster
whose content is moved by a known map transform (:func:`write_warped`, :func:`write_shifted`, built from
:func:`similarity` or :func:`projective`), check points that say where each point truly is
(:func:`grid_check_points`), the generated town re-rendered off nadir (:func:`write_off_nadir_view`) and a
reference DSM rasterised from LiDAR (:func:`write_lidar_dsm`). Not imported by ``reconstruction.synthetic``
itself (OpenCV and the registration package load only where these are used).
"""

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import rasterio
from affine import Affine
from pyproj import CRS
from scipy import ndimage

from reconstruction.io import Grid, inspect_lidar, read_points
from reconstruction.pointcloud import rasterize_points
from reconstruction.registration import CheckPoints
from reconstruction.synthetic.city import SyntheticScene

F64 = npt.NDArray[np.float64]
Bounds = tuple[float, float, float, float]


def pixel_to_map(transform: Affine) -> F64:
    """The 3 x 3 matrix that takes (column, row, 1) of a pixel centre to map coordinates under ``transform``."""
    a = np.array([[transform.a, transform.b, transform.c], [transform.d, transform.e, transform.f], [0, 0, 1]])
    return a @ np.array([[1, 0, 0.5], [0, 1, 0.5], [0, 0, 1]])


def similarity(
    centre: tuple[float, float],
    angle_deg: float = 0.0,
    scale: float = 1.0,
    shift: tuple[float, float] = (0.0, 0.0),
) -> F64:
    """Map transform: rotate and scale about ``centre``, then shift (metres)."""
    a = np.radians(angle_deg)
    cx, cy = centre
    r = scale * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    m = np.eye(3)
    m[:2, :2] = r
    m[:2, 2] = np.array([cx, cy]) - r @ np.array([cx, cy]) + np.asarray(shift)
    return m


def projective(
    centre: tuple[float, float], half_size: float, tilt: float = 0.04, shift: tuple[float, float] = (0.0, 0.0)
) -> F64:
    """A perspective warp about ``centre``: the scale changes by about ``2 * tilt`` across the area."""
    cx, cy = centre
    to_unit = np.array([[1 / half_size, 0, -cx / half_size], [0, 1 / half_size, -cy / half_size], [0, 0, 1]])
    h = np.array([[1.01, 0.02, shift[0] / half_size], [-0.015, 0.99, shift[1] / half_size], [tilt, -tilt / 2, 1.0]])
    return np.linalg.inv(to_unit) @ h @ to_unit


def write_warped(source: Path, out: Path, truth: F64, nodata: float | None = None) -> Path:
    """Copy ``source`` so that its content is displaced by the map transform ``truth``.

    A feature truly at ``p`` appears in the copy where its georeferencing reads ``q`` with ``truth(q) = p``,
    so a perfect registration of the copy finds ``truth``.
    """
    with rasterio.open(source) as src:
        data, profile = src.read(), src.profile
    p = pixel_to_map(profile["transform"])
    inverse = np.linalg.inv(p) @ truth @ p  # copy pixel -> source pixel
    fill = nodata if nodata is not None else (profile.get("nodata") if profile.get("nodata") is not None else 0)
    warped = np.stack(
        [
            cv2.warpPerspective(
                band.astype(np.float32),
                inverse,
                (band.shape[1], band.shape[0]),
                flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                borderMode=cv2.BORDER_CONSTANT,
                borderValue=float(fill),
            )
            for band in data
        ]
    ).astype(data.dtype)
    profile.update(nodata=fill)
    with rasterio.open(out, "w", **profile) as dst:
        dst.write(warped)
    return out


def write_shifted(source: Path, out: Path, shift: tuple[float, float]) -> tuple[Path, F64]:
    """Copy ``source`` with its georeferencing off by ``-shift`` metres (exact: no resampling).

    Returns:
        The copy and the true map transform (a translation by ``shift``).
    """
    with rasterio.open(source) as src:
        data, profile = src.read(), src.profile
    t = profile["transform"]
    profile.update(transform=Affine(t.a, t.b, t.c - shift[0], t.d, t.e, t.f - shift[1]))
    with rasterio.open(out, "w", **profile) as dst:
        dst.write(data)
    truth = np.eye(3)
    truth[:2, 2] = shift
    return out, truth


def grid_check_points(bounds: Bounds, truth: F64, n: int = 15, margin: float = 0.15) -> CheckPoints:
    """``n x n`` check points over the inner part of ``bounds`` (as the warped copy places them)."""
    left, bottom, right, top = bounds
    dx, dy = (right - left) * margin, (top - bottom) * margin
    xs, ys = np.meshgrid(np.linspace(left + dx, right - dx, n), np.linspace(bottom + dy, top - dy, n))
    q = np.c_[xs.ravel(), ys.ravel()]
    p = np.c_[q, np.ones(len(q))] @ truth.T
    return CheckPoints(q, p[:, :2] / p[:, 2:3])


def write_off_nadir_view(
    scene: SyntheticScene, out: Path, tilt_deg: float, azimuth_deg: float, truth: F64
) -> tuple[Path, CheckPoints]:
    """Render the town's orthophoto as seen from ``tilt_deg`` off nadir, then displace it by ``truth``.

    Relief displacement: a point ``h`` metres above the mean ground appears ``h * tan(tilt)`` away from the
    nadir point, towards ``azimuth`` (clockwise from north). Cells are splatted lowest first, so roofs hide
    what stands behind them; holes are filled from their neighbours. The check points are ground cells
    (class 2 or 11) away from buildings, where the truth is exact.

    Returns:
        The GeoTIFF and check points (as the view's georeferencing places them -> where they are).
    """
    ortho, t = scene.ortho, scene.ortho_transform
    res = t.a
    factor = round(scene.config.gsd_m / res)
    dsm = np.kron(scene.dsm, np.ones((factor, factor), np.float32))[: ortho.shape[1], : ortho.shape[2]]
    ground = np.nanmedian(scene.dtm)
    height = np.nan_to_num(dsm - ground)
    offset = np.tan(np.radians(tilt_deg)) * height / res  # cells
    az = np.radians(azimuth_deg)
    dcol, drow = offset * np.sin(az), -offset * np.cos(az)
    rows, cols = np.indices(height.shape)
    order = np.argsort(height, axis=None)
    r2 = np.rint(rows.ravel()[order] + drow.ravel()[order]).astype(int)
    c2 = np.rint(cols.ravel()[order] + dcol.ravel()[order]).astype(int)
    inside = (r2 >= 0) & (r2 < height.shape[0]) & (c2 >= 0) & (c2 < height.shape[1])
    view = np.zeros_like(ortho)
    filled = np.zeros(height.shape, bool)
    for b in range(3):
        view[b][r2[inside], c2[inside]] = ortho[b].ravel()[order][inside]
    filled[r2[inside], c2[inside]] = True
    holes = (~filled).astype(np.uint8)
    for b in range(3):
        view[b] = cv2.inpaint(view[b], holes, 2, cv2.INPAINT_TELEA)
    straight = out.with_name(out.stem + "-straight.tif")
    profile = {
        "driver": "GTiff",
        "width": ortho.shape[2],
        "height": ortho.shape[1],
        "count": 3,
        "dtype": "uint8",
        "crs": scene.crs,
        "transform": t,
        "nodata": 0,
    }
    with rasterio.open(straight, "w", **profile) as dst:
        dst.write(view)
    write_warped(straight, out, truth, nodata=0)
    straight.unlink()
    # Check points: ground cells far from buildings, at their true place p; the view shows them at
    # p + relief offset (ground relief), and the georeferencing error moves them to q = truth^-1(...).
    labels = scene.labels
    away = ~ndimage.binary_dilation(labels == 6, iterations=6) & np.isin(labels, (2, 11))
    rr, cc = np.nonzero(away)
    pick = np.random.default_rng(0).choice(len(rr), min(400, len(rr)), replace=False)
    rr, cc = rr[pick], cc[pick]
    dt = scene.dsm_transform
    px = dt.c + (cc + 0.5) * dt.a
    py = dt.f + (rr + 0.5) * dt.e
    h = scene.dtm[rr, cc] - ground
    shifted = np.c_[
        px + np.tan(np.radians(tilt_deg)) * h * np.sin(az), py + np.tan(np.radians(tilt_deg)) * h * np.cos(az)
    ]
    q = np.c_[shifted, np.ones(len(shifted))] @ np.linalg.inv(truth).T
    return out, CheckPoints(q[:, :2] / q[:, 2:3], np.c_[px, py])


def write_lidar_dsm(laz: Path, like: Path, folder: Path) -> Path:
    """Highest returns of ``laz`` on the grid of the raster ``like``, written to ``folder/lidar_dsm.tif``."""
    with rasterio.open(like) as src:
        grid = Grid(CRS.from_user_input(src.crs), src.transform, src.width, src.height)
        profile = src.profile
    points = read_points(inspect_lidar(laz, None, 10**9), grid.crs, grid.bounds)
    dsm = rasterize_points(points.xyz, grid, keep="highest")
    profile.update(nodata=-9999.0, dtype="float32")
    out = folder / "lidar_dsm.tif"
    with rasterio.open(out, "w", **profile) as dst:
        dst.write(np.where(np.isfinite(dsm), dsm, -9999.0).astype(np.float32)[None])
    return out
