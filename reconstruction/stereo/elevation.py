"""A coarse initial elevation from the views' own tie points, for stereo without an external DEM.

CARS places its search ranges and image envelopes around an initial elevation; without one it assumes
0 m, which fails (or clips the disparity range) over mountains. No SRTM or geoid grid is reachable
offline, so we triangulate SIFT tie points between the first two views with their RPCs and grid the
heights into a smooth DEM (EPSG:4326). When too few tie points agree, the DEM is flat at the RPC
height offset.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from reconstruction.stereo.inputs import StereoImage

#: Fewest agreeing tie points for a tie-point DEM; below this the DEM is flat at the RPC height offset.
MIN_TIE_POINTS = 50
#: Largest horizontal miss (metres) between the two rays of a tie point kept for the DEM.
MAX_MISS_M = 2.0
#: Half side of the written DEM (degrees) and its cell (degrees): CARS wants a DEM covering the footprint
#: for any height in -1000..9000 m, so the grid reaches far beyond the images.
HALF_SIDE_DEG = 0.05
CELL_DEG = 0.0002
_METRES_PER_DEG = 111_320.0


@dataclass(frozen=True)
class InitialElevation:
    """The written DEM and how it was made.

    Attributes:
        path: GeoTIFF, EPSG:4326, heights in metres above the geoid given to CARS.
        median_m: median ellipsoidal height of the tie points (or the RPC height offset).
        tie_points: tie points used (0 for a flat DEM).
        source: ``"tie points"`` or ``"rpc height offset"``.
    """

    path: Path
    median_m: float
    tie_points: int
    source: str


def write_initial_elevation(images: list[StereoImage], out: Path, geoid_undulation_m: float = 0.0) -> InitialElevation:
    """Write a coarse DEM for the scene seen by ``images`` (the first two are matched).

    Args:
        images: checked views (see :func:`reconstruction.stereo.inputs.check_stereo_images`).
        out: GeoTIFF to write.
        geoid_undulation_m: geoid height above the ellipsoid at the scene (metres); subtracted so the DEM
            is above the geoid, as CARS reads it.

    Returns:
        The DEM and its provenance.
    """
    lonlat, heights = _triangulate_tie_points(images[0], images[1])
    box = images[0].ground_box
    centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
    if len(heights) >= MIN_TIE_POINTS:
        grid, transform = _grid_heights(lonlat, heights, (float(lonlat[:, 0].mean()), float(lonlat[:, 1].mean())))
        median, count, source = float(np.median(heights)), len(heights), "tie points"
    else:
        median, count, source = images[0].height_offset_m, 0, "rpc height offset"
        grid, transform = _flat(median, centre)
    _write(out, (grid - geoid_undulation_m).astype(np.float32), transform)
    return InitialElevation(path=out, median_m=median, tie_points=count, source=source)


def _read_8bit(image: StereoImage) -> tuple[npt.NDArray[np.uint8], object]:
    from reconstruction.io.user_files import STEREO_FORMATS, open_raster

    with open_raster(image.path, f"stereo image '{image.path.name}'", STEREO_FORMATS) as src:
        band = src.read(1).astype(np.float32)
        rpcs = src.rpcs
    low, high = np.percentile(band, [1, 99])
    scaled = np.clip((band - low) / max(float(high - low), 1e-6) * 255.0, 0, 255)
    return scaled.astype(np.uint8), rpcs


def _triangulate_tie_points(
    left: StereoImage, right: StereoImage
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """SIFT matches between two views, each intersected through the RPCs: (lon, lat) and ellipsoidal height."""
    import cv2

    image_l, rpc_l = _read_8bit(left)
    image_r, rpc_r = _read_8bit(right)
    sift = cv2.SIFT_create(nfeatures=4000)  # type: ignore[attr-defined]
    keys_l, desc_l = sift.detectAndCompute(image_l, None)
    keys_r, desc_r = sift.detectAndCompute(image_r, None)
    empty = np.zeros((0, 2)), np.zeros(0)
    if desc_l is None or desc_r is None or len(keys_l) < 2 or len(keys_r) < 2:
        return empty
    pairs = cv2.BFMatcher().knnMatch(desc_l, desc_r, k=2)
    good = [m for m, n in (p for p in pairs if len(p) == 2) if m.distance < 0.75 * n.distance]
    if len(good) < MIN_TIE_POINTS:
        return empty
    pix_l = np.array([keys_l[m.queryIdx].pt for m in good])
    pix_r = np.array([keys_r[m.trainIdx].pt for m in good])
    low, high = left.height_offset_m - left.height_scale_m, left.height_offset_m + left.height_scale_m
    # Along a ray, the ground position is linear in height to well under a pixel over the RPC range:
    # intersect the two rays in the horizontal plane by least squares on the height.
    gl0, gl1 = _ground(rpc_l, pix_l, low), _ground(rpc_l, pix_l, high)
    gr0, gr1 = _ground(rpc_r, pix_r, low), _ground(rpc_r, pix_r, high)
    metric = np.c_[np.cos(np.radians(gl0[:, 1])), np.ones(len(gl0))] * _METRES_PER_DEG
    start, slope = (gl0 - gr0) * metric, ((gl1 - gl0) - (gr1 - gr0)) * metric
    s = -(start * slope).sum(axis=1) / np.maximum((slope * slope).sum(axis=1), 1e-12)
    miss = np.hypot(*(start + slope * s[:, None]).T)
    heights = low + s * (high - low)
    keep = (miss < MAX_MISS_M) & (heights > low) & (heights < high)
    if keep.sum() < MIN_TIE_POINTS:
        return empty
    lonlat = gl0 + (gl1 - gl0) * s[:, None]
    q1, q99 = np.percentile(heights[keep], [1, 99])
    keep &= (heights >= q1 - 50) & (heights <= q99 + 50)
    return lonlat[keep].astype(np.float64), heights[keep].astype(np.float64)


def _ground(rpcs: object, pixels: npt.NDArray[np.float64], height: float) -> npt.NDArray[np.float64]:
    from rasterio.transform import RPCTransformer

    with RPCTransformer(rpcs) as transformer:
        lon, lat = transformer.xy(pixels[:, 1], pixels[:, 0], zs=np.full(len(pixels), height), offset="ul")
    return np.c_[lon, lat]


def _axes(centre: tuple[float, float]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    n = int(round(2 * HALF_SIDE_DEG / CELL_DEG)) + 1
    steps = np.arange(n, dtype=np.float64) * CELL_DEG
    return centre[0] - HALF_SIDE_DEG + steps, centre[1] + HALF_SIDE_DEG - steps


def _grid_heights(
    lonlat: npt.NDArray[np.float64], heights: npt.NDArray[np.float64], centre: tuple[float, float]
) -> tuple[npt.NDArray[np.float64], object]:
    from scipy.interpolate import griddata
    from scipy.ndimage import gaussian_filter

    xs, ys = _axes(centre)
    gx, gy = np.meshgrid(xs, ys)
    linear = griddata(lonlat, heights, (gx, gy), method="linear")
    nearest = griddata(lonlat, heights, (gx, gy), method="nearest")
    grid = gaussian_filter(np.where(np.isfinite(linear), linear, nearest), 2.0)
    return grid, _transform(xs, ys)


def _flat(height: float, centre: tuple[float, float]) -> tuple[npt.NDArray[np.float64], object]:
    xs, ys = _axes(centre)
    return np.full((len(ys), len(xs)), height), _transform(xs, ys)


def _transform(xs: npt.NDArray[np.float64], ys: npt.NDArray[np.float64]) -> object:
    from rasterio.transform import from_origin

    return from_origin(xs[0] - CELL_DEG / 2, ys[0] + CELL_DEG / 2, CELL_DEG, CELL_DEG)


def _write(out: Path, grid: npt.NDArray[np.float32], transform: object) -> None:
    import rasterio

    profile = {"driver": "GTiff", "width": grid.shape[1], "height": grid.shape[0], "count": 1, "dtype": "float32"}
    with rasterio.open(out, "w", crs="EPSG:4326", transform=transform, **profile) as dst:
        dst.write(grid, 1)
