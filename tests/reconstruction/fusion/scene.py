"""A hand-made labelled scene (ground, road, two box buildings, a tree crown) and an exact ray caster.

The label images are rendered by intersecting each pixel's ray with the analytic surfaces (plane, boxes,
sphere) and keeping the nearest hit, so occlusion is exact and independent of the z-buffer under test.
Coordinates sit at UTM-like magnitudes (ORIGIN) so float precision is exercised too.
"""

from dataclasses import dataclass

import numpy as np

from reconstruction.fusion import Camera, View
from reconstruction.pointcloud import PointCloud

ORIGIN = np.array([574_000.0, 5_096_000.0, 170.0])
GROUND, TREE, BUILDING, ROAD = 2, 5, 6, 11
CLASSES = (GROUND, TREE, BUILDING, ROAD)
HALF = 30.0  # the ground is [-HALF, HALF]^2 (local metres)
ROAD_Y = (20.0, 24.0)  # a road strip across the ground
#: Boxes as (xmin, xmax, ymin, ymax, height), local metres.
BOXES = ((-15.0, -3.0, -10.0, 6.0, 12.0), (5.0, 17.0, -4.0, 14.0, 8.0))
TREE_CENTRE, TREE_RADIUS = np.array([2.0, -18.0, 7.0]), 4.0
SPACING = 0.5


@dataclass(frozen=True)
class Scene:
    cloud: PointCloud  # true classes
    views: list[View]


def scene_points() -> PointCloud:
    """Points every SPACING metres on every surface, with their true class."""
    grid = np.arange(-HALF + SPACING / 2, HALF, SPACING)
    gx, gy = (a.ravel() for a in np.meshgrid(grid, grid))
    under = np.zeros(gx.size, bool)
    for x0, x1, y0, y1, _ in BOXES:
        under |= (gx > x0) & (gx < x1) & (gy > y0) & (gy < y1)
    gx, gy = gx[~under], gy[~under]
    road = (gy > ROAD_Y[0]) & (gy < ROAD_Y[1])
    parts = [(np.column_stack([gx, gy, np.zeros(gx.size)]), np.where(road, ROAD, GROUND))]
    for box in BOXES:
        parts.append((_box_points(*box), BUILDING))
    parts.append((_sphere_points(), TREE))
    xyz = np.vstack([p for p, _ in parts])
    cls = np.concatenate([np.broadcast_to(np.asarray(c, np.uint8), (len(p),)) for p, c in parts]).astype(np.uint8)
    return PointCloud(xyz=xyz + ORIGIN, rgb=np.zeros((len(xyz), 3), np.uint8), classification=cls)


def _box_points(x0: float, x1: float, y0: float, y1: float, h: float) -> np.ndarray:
    xs, ys, zs = (np.arange(a + SPACING / 2, b, SPACING) for a, b in ((x0, x1), (y0, y1), (0.0, h)))
    rx, ry = (a.ravel() for a in np.meshgrid(xs, ys))
    faces = [np.column_stack([rx, ry, np.full(rx.size, h)])]
    for fixed_x in (x0, x1):
        fy, fz = (a.ravel() for a in np.meshgrid(ys, zs))
        faces.append(np.column_stack([np.full(fy.size, fixed_x), fy, fz]))
    for fixed_y in (y0, y1):
        fx, fz = (a.ravel() for a in np.meshgrid(xs, zs))
        faces.append(np.column_stack([fx, np.full(fx.size, fixed_y), fz]))
    return np.vstack(faces)


def _sphere_points() -> np.ndarray:
    n = int(4 * np.pi * TREE_RADIUS**2 / SPACING**2)
    i = np.arange(n) + 0.5
    phi, theta = np.arccos(1 - 2 * i / n), np.pi * (1 + 5**0.5) * i
    unit = np.column_stack([np.cos(theta) * np.sin(phi), np.sin(theta) * np.sin(phi), np.cos(phi)])
    return TREE_CENTRE + TREE_RADIUS * unit


def cameras(width: int = 480, height: int = 360) -> list[Camera]:
    """Four obliques (45 degrees down, one per diagonal, one with barrel distortion) and a nadir view."""
    target = ORIGIN + [0.0, 0.0, 3.0]
    out = []
    for i, azimuth in enumerate((45.0, 135.0, 225.0, 315.0)):
        a = np.radians(azimuth)
        centre = ORIGIN + [60 * np.sin(a), 60 * np.cos(a), 60.0]
        out.append(Camera.looking_at(centre, target, 420.0, width, height, k1=-0.08 if i == 1 else 0.0))
    out.append(Camera.looking_at(ORIGIN + [0.0, 0.0, 110.0], ORIGIN, 420.0, width, height))
    return out


def render_labels(camera: Camera) -> np.ndarray:
    """Exact label image: the class of the nearest surface along each pixel's ray (0 where none)."""
    rows, cols = np.mgrid[0 : camera.height, 0 : camera.width]
    uv = np.column_stack([cols.ravel(), rows.ravel()]).astype(np.float64)
    ahead = camera.unproject(uv, np.ones(len(uv)))  # a point at depth 1 on each ray (distortion inverted)
    origin = camera.centre - ORIGIN
    d = ahead - camera.centre
    best = np.full(len(d), np.inf)
    label = np.zeros(len(d), np.uint8)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(d[:, 2] < 0, -origin[2] / d[:, 2], np.inf)
        hit = origin + t[:, None] * d
        on = (np.abs(hit[:, 0]) <= HALF) & (np.abs(hit[:, 1]) <= HALF)
        road = (hit[:, 1] > ROAD_Y[0]) & (hit[:, 1] < ROAD_Y[1])
        _keep(best, label, np.where(on, t, np.inf), np.where(road, ROAD, GROUND))
        for box in BOXES:
            _keep(best, label, box_entry(origin, d, box), BUILDING)
        oc = origin - TREE_CENTRE
        b, c = np.einsum("ij,j->i", d, oc), oc @ oc - TREE_RADIUS**2
        a = np.einsum("ij,ij->i", d, d)
        disc = b * b - a * c
        t_sphere = np.where(disc >= 0, (-b - np.sqrt(disc)) / a, np.inf)
        _keep(best, label, np.where(t_sphere > 0, t_sphere, np.inf), TREE)
    return label.reshape(camera.height, camera.width)


def box_entry(origin: np.ndarray, d: np.ndarray, box: tuple) -> np.ndarray:
    """Ray parameter where rays ``origin + t d`` (local metres) enter ``box``; inf where they miss it."""
    t_near, t_far = box_span(origin, d, box)
    return np.where((t_near <= t_far) & (t_far > 0), np.maximum(t_near, 0), np.inf)


def box_span(origin: np.ndarray, d: np.ndarray, box: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Slab test: the ray parameters where each ray enters and leaves the box."""
    lo = np.array([box[0], box[2], 0.0])
    hi = np.array([box[1], box[3], box[4]])
    with np.errstate(divide="ignore", invalid="ignore"):
        t0, t1 = (lo - origin) / d, (hi - origin) / d
    return np.nanmax(np.minimum(t0, t1), axis=1), np.nanmin(np.maximum(t0, t1), axis=1)


def _keep(best: np.ndarray, label: np.ndarray, t: np.ndarray, cls: np.ndarray | int) -> None:
    nearer = t < best
    best[nearer] = t[nearer]
    label[nearer] = np.broadcast_to(cls, best.shape)[nearer]


def build_scene() -> Scene:
    cloud = scene_points()
    views = [View(name=f"cam{i}", camera=cam, labels=render_labels(cam)) for i, cam in enumerate(cameras())]
    return Scene(cloud=cloud, views=views)


def corrupt(cloud: PointCloud, share: float, seed: int) -> tuple[PointCloud, np.ndarray]:
    """A copy of ``cloud`` with ``share`` of the points moved to a different class; True marks them."""
    rng = np.random.default_rng(seed)
    wrong = rng.random(len(cloud)) < share
    codes = np.asarray(CLASSES, np.uint8)
    shift = rng.integers(1, len(codes), wrong.sum())
    index = np.searchsorted(codes, cloud.classification[wrong])
    cls = cloud.classification.copy()
    cls[wrong] = codes[(index + shift) % len(codes)]
    return PointCloud(xyz=cloud.xyz, rgb=cloud.rgb, classification=cls), wrong
