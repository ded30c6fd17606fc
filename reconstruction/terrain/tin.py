"""Terrain TIN: a triangulated irregular network that follows a DTM raster within a vertical error bound.

The mesh comes from pydelatin, a binding of Fogleman's ``hmm`` (Mapbox's Delatin is a port of it): greedy
insertion (Garland & Heckbert, 1995) of the cell with the largest vertical error into a Delaunay
triangulation of cell centres, until no cell is further than the bound from the surface. Flat ground gets
few large triangles and rough ground many small ones. We use the library rather than our own insertion
loop because it does exactly this in C++ (a 2000 x 2000 DTM in well under a second) and keeps the
triangulation Delaunay with exact integer predicates. It computes in float32, so :func:`build_tin`
re-measures the error at every cell in float64 on the returned triangles and tightens the bound in the
rare case that rounding let a cell slip past it.
"""

from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt

from reconstruction.config import TinConfig
from reconstruction.errors import ProcessingError
from reconstruction.io.grid import Grid
from reconstruction.terrain.fill import fill_holes

_RETRIES = 4  # tightened re-runs when float32 rounding overshoots the bound (none needed in tests or bench)
_CHUNK = 1 << 21  # (triangle, cell) pairs tested per evaluation batch, about 100 MB of temporaries
_MAX_SIDE = 32_768  # hmm rasterizes with 32-bit integer edge functions; larger sides would overflow them


@dataclass(frozen=True)
class Tin:
    """A triangulated terrain surface.

    Attributes:
        vertices: (N, 3) float64 x, y in the grid CRS and z in metres; every vertex is a DTM cell centre.
        triangles: (M, 3) int32 vertex indices, counter-clockwise seen from above (+z up).
    """

    vertices: npt.NDArray[np.float64]
    triangles: npt.NDArray[np.int32]

    def __len__(self) -> int:
        """Number of triangles."""
        return int(self.triangles.shape[0])


@dataclass(frozen=True)
class TinReport:
    """How well a TIN fits its DTM.

    Attributes:
        cells: valid (non-NaN) DTM cells the TIN was measured against.
        vertices: number of TIN vertices.
        triangles: number of TIN triangles.
        max_error_m: largest vertical distance between the TIN and a valid cell centre, metres.
        rmse_m: root-mean-square of that distance over the valid cells, metres.
        capped: refinement stopped at ``TinConfig.max_points`` before reaching ``max_error_m``.
    """

    cells: int
    vertices: int
    triangles: int
    max_error_m: float
    rmse_m: float
    capped: bool

    def to_dict(self) -> dict[str, int | float | bool]:
        """Return the report as a JSON-ready dict."""
        return asdict(self)


def build_tin(dtm: npt.NDArray[np.float32], grid: Grid, cfg: TinConfig) -> tuple[Tin, TinReport]:
    """Triangulate a DTM so that no valid cell centre is further than ``cfg.max_error_m`` from the surface.

    Vertices sit on cell centres and keep the cell's height. The TIN covers every valid cell; NaN cells are
    holes it need not fit: they are bridged by a smooth fill, and triangles that touch no valid cell are
    dropped, so vertices inside a hole carry the fill's height.

    Args:
        dtm: (H, W) bare-earth heights in metres on ``grid``; NaN where unknown.
        grid: the north-up grid of ``dtm`` (its CRS is the CRS of the vertices).
        cfg: error bound and vertex cap.

    Returns:
        (tin, report): the mesh, and its size and measured error.

    Raises:
        ProcessingError: the DTM does not match the grid, is smaller than 2 x 2 cells or wider than 32768,
            or has no valid cell.
    """
    if dtm.shape != grid.shape:
        raise ProcessingError(f"TIN: the DTM is {dtm.shape} cells but its grid is {grid.shape}; pass the DTM's grid.")
    if min(dtm.shape) < 2:
        raise ProcessingError(f"TIN: the DTM must be at least 2 x 2 cells to triangulate, got {dtm.shape}.")
    if max(dtm.shape) > _MAX_SIDE:
        raise ProcessingError(
            f"TIN: the DTM is {dtm.shape} cells; triangulate it in tiles of at most {_MAX_SIDE} cells a side."
        )
    valid = np.isfinite(dtm)
    if not valid.any():
        raise ProcessingError("TIN: every DTM cell is NaN, so there is no terrain to triangulate; check the DTM input.")
    # Heights relative to mid-range keep float32 rounding inside the triangulator at micrometres.
    offset = float(np.float32((float(dtm[valid].min()) + float(dtm[valid].max())) / 2))
    relative = np.where(valid, dtm.astype(np.float64) - offset, 0.0)
    if not valid.all():
        relative = np.where(valid, relative, fill_holes(relative.astype(np.float32), valid).astype(np.float64))
    cols, rows, triangles, surface, touches_valid = _fit(relative, valid, cfg)
    error = np.abs(surface[valid] - relative[valid])
    worst = float(error.max())
    capped = bool(cols.size >= cfg.max_points and worst > cfg.max_error_m)
    if not valid.all():
        triangles = triangles[touches_valid]
        cols, rows, triangles = _drop_unused(cols, rows, triangles)
    z = np.where(valid[rows, cols], dtm[rows, cols].astype(np.float64), relative[rows, cols] + offset)
    t = grid.transform
    x = t.c + (cols + 0.5) * t.a + (rows + 0.5) * t.b
    y = t.f + (cols + 0.5) * t.d + (rows + 0.5) * t.e
    vertices = np.column_stack([x, y, z])
    triangles = _counter_clockwise(vertices, triangles)
    tin = Tin(vertices=vertices, triangles=triangles)
    report = TinReport(
        cells=int(valid.sum()),
        vertices=int(vertices.shape[0]),
        triangles=len(tin),
        max_error_m=worst,
        rmse_m=float(np.sqrt(np.mean(error**2))),
        capped=capped,
    )
    return tin, report


def _fit(
    relative: npt.NDArray[np.float64], valid: npt.NDArray[np.bool_], cfg: TinConfig
) -> tuple[
    npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.float64], npt.NDArray[np.bool_]
]:
    """Run the greedy triangulator until the float64 error at valid cells is within the bound.

    Returns:
        (cols, rows, triangles, surface, touches_valid): vertex cells, (M, 3) indices, the TIN sampled at
        every cell, and which triangles cover at least one valid cell.
    """
    try:
        from pydelatin import Delatin
    except ImportError as err:
        raise ProcessingError(
            "TIN: the pydelatin package is missing; install it with `pip install -r requirements.txt`."
        ) from err
    height = relative.shape[0]
    heights = relative.astype(np.float32)
    threshold = cfg.max_error_m
    for _ in range(_RETRIES):
        mesh = Delatin(heights, max_error=threshold, max_points=cfg.max_points)
        # hmm numbers columns left to right and rows bottom to top.
        points = mesh.vertices.astype(np.int64)
        cols, rows = points[:, 0], height - 1 - points[:, 1]
        triangles = mesh.triangles.astype(np.int32)
        surface, touches_valid = _sample(cols, rows, relative[rows, cols], triangles, valid)
        worst = float(np.abs(surface[valid] - relative[valid]).max())
        if worst <= cfg.max_error_m or cols.size >= cfg.max_points:
            return cols, rows, triangles, surface, touches_valid
        threshold = max(threshold - 2 * (worst - cfg.max_error_m), threshold / 2)
    raise ProcessingError(
        f"TIN: could not reach the {cfg.max_error_m} m bound (still {worst:.6f} m after {_RETRIES} tries); "
        "raise tin max_error_m."
    )


def _sample(
    cols: npt.NDArray[np.int64],
    rows: npt.NDArray[np.int64],
    z: npt.NDArray[np.float64],
    triangles: npt.NDArray[np.int32],
    valid: npt.NDArray[np.bool_],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Interpolate the TIN at every cell centre, in float64 with exact integer inside tests.

    Returns:
        (surface, touches_valid): (H, W) heights (NaN outside the TIN), and for each triangle whether a
        valid cell lies in it or on its edge.
    """
    surface = np.full(valid.shape, np.nan)
    touches = np.zeros(len(triangles), dtype=bool)
    pc, pr = cols[triangles], rows[triangles]  # (M, 3)
    area = _edge(pc[:, 0], pr[:, 0], pc[:, 1], pr[:, 1], pc[:, 2], pr[:, 2])
    # Work unit: one bounding-box row of one triangle, so a huge flat triangle is split too.
    r0, r1 = pr.min(axis=1), pr.max(axis=1)
    c0, span = pc.min(axis=1), pc.max(axis=1) - pc.min(axis=1) + 1
    unit_tri = np.repeat(np.arange(len(triangles)), r1 - r0 + 1)
    unit_row = np.arange(unit_tri.size) - np.repeat(np.cumsum(r1 - r0 + 1) - (r1 - r0 + 1), r1 - r0 + 1)
    unit_row += r0[unit_tri]
    unit_len = span[unit_tri]
    cuts = np.flatnonzero(np.diff((np.cumsum(unit_len) - unit_len) // _CHUNK)) + 1
    for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, unit_tri.size], strict=True):
        t, length = unit_tri[lo:hi], unit_len[lo:hi]
        tri = np.repeat(t, length)
        r = np.repeat(unit_row[lo:hi], length)
        c = c0[tri] + np.arange(tri.size) - np.repeat(np.cumsum(length) - length, length)
        a, ax, ay = area[tri], pc[tri], pr[tri]
        w0 = _edge(ax[:, 1], ay[:, 1], ax[:, 2], ay[:, 2], c, r)
        w1 = _edge(ax[:, 2], ay[:, 2], ax[:, 0], ay[:, 0], c, r)
        w2 = _edge(ax[:, 0], ay[:, 0], ax[:, 1], ay[:, 1], c, r)
        sign = np.sign(a)
        inside = (w0 * sign >= 0) & (w1 * sign >= 0) & (w2 * sign >= 0)
        tri, r, c, a, w0, w1, w2 = (v[inside] for v in (tri, r, c, a, w0, w1, w2))
        zt = z[triangles[tri]]
        surface[r, c] = (w0 * zt[:, 0] + w1 * zt[:, 1] + w2 * zt[:, 2]) / a
        touches[tri[valid[r, c]]] = True
    if np.isnan(surface[valid]).any():
        raise ProcessingError("TIN: the triangulation left valid DTM cells uncovered (a bug; please report it).")
    return surface, touches


def _edge(
    ax: npt.NDArray[np.int64],
    ay: npt.NDArray[np.int64],
    bx: npt.NDArray[np.int64],
    by: npt.NDArray[np.int64],
    px: npt.NDArray[np.int64],
    py: npt.NDArray[np.int64],
) -> npt.NDArray[np.int64]:
    """Twice the signed area of (a, b, p), exact in integers: which side of a -> b the point p lies on."""
    return np.asarray((bx - ax) * (py - ay) - (by - ay) * (px - ax), dtype=np.int64)


def _drop_unused(
    cols: npt.NDArray[np.int64], rows: npt.NDArray[np.int64], triangles: npt.NDArray[np.int32]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int32]]:
    """Remove vertices no triangle uses and renumber the triangles."""
    used = np.unique(triangles)
    remap = np.full(cols.size, -1, dtype=np.int32)
    remap[used] = np.arange(used.size, dtype=np.int32)
    return cols[used], rows[used], remap[triangles]


def _counter_clockwise(vertices: npt.NDArray[np.float64], triangles: npt.NDArray[np.int32]) -> npt.NDArray[np.int32]:
    """Reorder each triangle's vertices counter-clockwise in x, y (seen from +z)."""
    p = vertices[triangles, :2]
    cross = (p[:, 1, 0] - p[:, 0, 0]) * (p[:, 2, 1] - p[:, 0, 1]) - (p[:, 1, 1] - p[:, 0, 1]) * (
        p[:, 2, 0] - p[:, 0, 0]
    )
    out = triangles.copy()
    flip = cross < 0
    out[flip] = out[flip][:, [0, 2, 1]]
    return np.ascontiguousarray(out, dtype=np.int32)
