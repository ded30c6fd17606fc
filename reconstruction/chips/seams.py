"""Close the terrain between chips: every cell centre on a TIN's border becomes a vertex, heights agree.

Greedy insertion (:mod:`reconstruction.terrain.tin`) places border vertices where the error demands,
so two chips' TINs along a shared line would have different vertices there: T-junctions and cracks.
:func:`densify_border` splits every boundary triangle edge that runs along the grid's border at every
cell centre (a fan to the opposite vertex), so both sides of a seam hold exactly the same vertices.
:func:`snap_border_heights` then gives those vertices the height of the merged DTM, which both sides read
from the same cells, so the seam closes exactly. No library does this for pydelatin meshes; it is a
few vectorised lines on the triangle list.
"""

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from reconstruction.io import Grid
from reconstruction.terrain import Tin

_EPS = 1e-6  # cells; vertices sit exactly on cell centres


def densify_border(tin: Tin, grid: Grid, dtm: npt.NDArray[np.float32]) -> Tin:
    """Make every cell centre on the border of ``grid`` a vertex of ``tin`` (which must lie on ``grid``).

    A boundary edge along the border is replaced by unit steps; its triangle becomes a fan from the
    opposite vertex. New vertices take the DTM's height, or the edge's where the DTM is NaN.
    """
    vertices = [tin.vertices]
    count = len(tin.vertices)
    col, row = _cell_coords(tin.vertices, grid)
    z = tin.vertices[:, 2].copy()
    last_col, last_row = grid.width - 1, grid.height - 1
    triangles = tin.triangles.astype(np.int64)
    for _ in range(3):  # a corner triangle has two border edges: split one per pass
        split, triangles_out = False, []
        edge_use = _boundary_edges(triangles)
        on_line = (np.abs(col) < _EPS) | (np.abs(row) < _EPS)
        on_line |= (np.abs(col - last_col) < _EPS) | (np.abs(row - last_row) < _EPS)
        candidate = on_line[triangles].sum(axis=1) >= 2  # only these can have an edge along the border
        triangles_out.append(triangles[~candidate])
        for tri in triangles[candidate]:
            for k in range(3):
                a, b, c = tri[k], tri[(k + 1) % 3], tri[(k + 2) % 3]
                line = _shared_border_line(col, row, a, b, last_col, last_row)
                steps = int(round(max(abs(col[b] - col[a]), abs(row[b] - row[a]))))
                if line is None or steps < 2 or (min(a, b), max(a, b)) not in edge_use:
                    continue
                t = np.arange(1, steps) / steps
                cols = np.rint(col[a] + t * (col[b] - col[a])).astype(np.int64)
                rows = np.rint(row[a] + t * (row[b] - row[a])).astype(np.int64)
                new = _cell_vertices(grid, dtm, rows, cols, z[a] + t * (z[b] - z[a]))
                ids = np.arange(count, count + len(new))
                vertices.append(new)
                col = np.concatenate([col, cols.astype(np.float64)])
                row = np.concatenate([row, rows.astype(np.float64)])
                z = np.concatenate([z, new[:, 2]])
                count += len(new)
                chain = np.concatenate([[a], ids, [b]])
                triangles_out.append(np.column_stack([chain[:-1], chain[1:], np.full(len(chain) - 1, c)]))
                split = True
                break
            else:
                triangles_out.append(tri[np.newaxis])
        triangles = np.concatenate(triangles_out).astype(np.int64)
        if not split:
            break
    return Tin(vertices=np.concatenate(vertices), triangles=triangles.astype(np.int32))


def snap_border_heights(
    tin: Tin, grid: Grid, height_at: Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]]
) -> Tin:
    """Give the vertices on the border of ``grid`` the heights ``height_at(xy)`` returns (NaN keeps the old one)."""
    on_border = border_mask(tin, grid)
    if not on_border.any():
        return tin
    vertices = tin.vertices.copy()
    z = height_at(vertices[on_border, :2])
    vertices[on_border, 2] = np.where(np.isfinite(z), z, vertices[on_border, 2])
    return Tin(vertices=vertices, triangles=tin.triangles)


def border_mask(tin: Tin, grid: Grid) -> npt.NDArray[np.bool_]:
    """Which vertices of ``tin`` lie on the border line of cell centres of ``grid``."""
    col, row = _cell_coords(tin.vertices, grid)
    return (
        (np.abs(col) < _EPS)
        | (np.abs(row) < _EPS)
        | (np.abs(col - (grid.width - 1)) < _EPS)
        | (np.abs(row - (grid.height - 1)) < _EPS)
    )


def _cell_coords(
    vertices: npt.NDArray[np.float64], grid: Grid
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Column and row of each vertex, in cells from the first cell centre."""
    t = grid.transform
    return (vertices[:, 0] - t.c) / t.a - 0.5, (vertices[:, 1] - t.f) / t.e - 0.5


def _shared_border_line(col, row, a: int, b: int, last_col: int, last_row: int) -> str | None:  # noqa: ANN001
    for name, values, value in (("w", col, 0), ("e", col, last_col), ("n", row, 0), ("s", row, last_row)):
        if abs(values[a] - value) < _EPS and abs(values[b] - value) < _EPS:
            return name
    return None


def _boundary_edges(triangles: npt.NDArray[np.int64]) -> set[tuple[int, int]]:
    """Edges used by exactly one triangle."""
    edges = np.sort(np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [2, 0]]]), axis=1)
    unique, counts = np.unique(edges, axis=0, return_counts=True)
    return {(int(a), int(b)) for a, b in unique[counts == 1]}


def _cell_vertices(
    grid: Grid,
    dtm: npt.NDArray[np.float32],
    rows: npt.NDArray[np.int64],
    cols: npt.NDArray[np.int64],
    fallback: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    t = grid.transform
    x = t.c + (cols + 0.5) * t.a
    y = t.f + (rows + 0.5) * t.e
    z = dtm[rows, cols].astype(np.float64)
    return np.column_stack([x, y, np.where(np.isfinite(z), z, fallback)])
