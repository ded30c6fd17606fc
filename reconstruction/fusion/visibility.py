"""Depth test per view: a z-buffer splatted from the point cloud itself, so hidden points get no label.

Each point is drawn as a square splat whose side follows its distance (``splat_radius_m`` seen at that
depth, at most ``max_splat_px``), keeping the nearest depth per pixel. Points fall into one layer per
whole-pixel radius: each layer takes the per-pixel minimum of its points, then a separable minimum
filter (scipy) grows every pixel into its splat, and the layers' minimum is the z-buffer. A point is
visible when its own depth is within tolerance of the z-buffer at its pixel: a ground point behind a
facade lies metres behind the facade's splats and is left out.
"""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.ndimage import minimum_filter

from reconstruction.fusion.camera import Camera

I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Visibility:
    """The points one camera sees.

    Attributes:
        index: (M,) indices into the cloud of the visible points.
        rows: (M,) image row of each visible point.
        cols: (M,) image column of each visible point.
        depth: (M,) depth of each visible point along the optical axis, metres.
        in_front: Points in front of the camera (positive depth), inside the image or not.
        in_view: Points that project inside the image in front of the camera (visible or hidden).
        zbuffer: (H, W) nearest depth per pixel, metres; ``inf`` where no splat falls.
    """

    index: I64
    rows: I64
    cols: I64
    depth: F64
    in_front: int
    in_view: int
    zbuffer: F32


def visible_points(
    camera: Camera, xyz: F64, splat_radius_m: float, depth_tolerance: float, max_splat_px: int
) -> Visibility:
    """Render the cloud's z-buffer from ``camera`` and keep the points on its nearest surface.

    Args:
        camera: The view.
        xyz: (N, 3) world points, metres.
        splat_radius_m: Radius of each point's splat, metres.
        depth_tolerance: Visible when ``depth - zbuffer <= depth_tolerance * depth + splat_radius_m``.
        max_splat_px: Largest splat radius in pixels.

    Returns:
        The visible points with their pixels and depths, and the z-buffer.
    """
    uv, depth = camera.project(xyz)
    h, w = camera.height, camera.width
    with np.errstate(invalid="ignore"):
        cols_f, rows_f = np.rint(uv[:, 0]), np.rint(uv[:, 1])
        inside = (cols_f >= 0) & (cols_f < w) & (rows_f >= 0) & (rows_f < h)
    index = np.flatnonzero(inside)
    rows, cols, d = rows_f[index].astype(np.int64), cols_f[index].astype(np.int64), depth[index]
    zbuffer = render_zbuffer(rows, cols, d, (h, w), camera.focal_px * splat_radius_m / d, max_splat_px)
    behind = d - zbuffer[rows, cols]
    keep = behind <= depth_tolerance * d + splat_radius_m
    return Visibility(
        index=index[keep],
        rows=rows[keep],
        cols=cols[keep],
        depth=d[keep],
        in_front=int(np.count_nonzero(depth > 0)),
        in_view=int(index.size),
        zbuffer=zbuffer,
    )


def render_zbuffer(
    rows: I64, cols: I64, depth: F64, shape: tuple[int, int], radius_px: F64, max_splat_px: int
) -> npt.NDArray[np.float32]:
    """Nearest depth per pixel of square splats.

    Args:
        rows: (M,) image row of each point's centre.
        cols: (M,) image column of each point's centre.
        depth: (M,) depth of each point, metres.
        shape: Image ``(height, width)``.
        radius_px: (M,) splat radius of each point in pixels (rounded, capped at ``max_splat_px``).
        max_splat_px: Largest splat radius in pixels.

    Returns:
        (H, W) float32 depths, ``inf`` where no splat falls.
    """
    radius = np.minimum(np.rint(radius_px), max_splat_px).astype(np.int64)
    zbuffer = np.full(shape, np.inf, dtype=np.float32)
    order = np.argsort(radius, kind="stable")
    bounds = np.searchsorted(radius[order], np.arange(max_splat_px + 2))
    for r in range(max_splat_px + 1):
        members = order[bounds[r] : bounds[r + 1]]
        if members.size == 0:
            continue
        # Work on the window the layer's splats cover: near points (large splats) are few and bunched.
        mr, mc = rows[members], cols[members]
        r0, r1 = max(int(mr.min()) - r, 0), min(int(mr.max()) + r + 1, shape[0])
        c0, c1 = max(int(mc.min()) - r, 0), min(int(mc.max()) + r + 1, shape[1])
        layer = np.full((r1 - r0) * (c1 - c0), np.inf, dtype=np.float32)
        np.minimum.at(layer, (mr - r0) * (c1 - c0) + (mc - c0), depth[members].astype(np.float32))
        grown = layer.reshape(r1 - r0, c1 - c0)
        if r > 0:
            grown = minimum_filter(grown, size=2 * r + 1, mode="constant", cval=np.inf)
        window = zbuffer[r0:r1, c0:c1]
        np.minimum(window, grown, out=window)
    return zbuffer
