"""LoD1 geometry: a building part extruded into a closed prism, and its triangulation.

Boundaries follow CityJSON: a shell is a list of surfaces, a surface a list of rings (the outer ring
first, then holes), a ring a list of vertex indices. Outer rings run counter-clockwise seen from outside
the solid, holes clockwise, so every normal from the right-hand rule points outwards.
"""

import mapbox_earcut
import numpy as np
import numpy.typing as npt
from shapely.geometry import LinearRing, Polygon
from shapely.geometry.polygon import orient

from reconstruction.errors import InputError
from reconstruction.objects.buildings import BuildingPart

Vertices = npt.NDArray[np.float64]
Triangles = npt.NDArray[np.int32]
Shell = list[list[list[int]]]


def lod1_solid(part: BuildingPart) -> tuple[Vertices, Shell]:
    """Extrude a part's footprint from ``ground_m`` to ``ground_m + height_m``.

    Args:
        part: A building part; footprint in CRS metres, heights in metres.

    Returns:
        ``(vertices, shell)``: (N, 3) float64 coordinates (the bottom ring vertices, then the same on top)
        and the surfaces of one closed shell: the bottom, the top, then one wall per footprint edge.

    Raises:
        InputError: The footprint is not a valid polygon or the height is not positive.
    """
    footprint = part.footprint
    if not isinstance(footprint, Polygon) or footprint.is_empty or not footprint.is_valid:
        raise InputError("An LoD1 part needs a valid, non-empty polygon footprint; regularise it first.")
    if not part.height_m > 0:
        raise InputError(f"An LoD1 part needs a positive height, got {part.height_m} m.")
    polygon = orient(footprint, 1.0)  # exterior counter-clockwise, holes clockwise, seen from above
    rings = [_ring_xy(polygon.exterior)] + [_ring_xy(ring) for ring in polygon.interiors]
    xy = np.concatenate(rings)
    n = len(xy)
    bottom = np.column_stack([xy, np.full(n, part.ground_m)])
    top = np.column_stack([xy, np.full(n, part.ground_m + part.height_m)])
    starts = np.cumsum([0] + [len(r) for r in rings])
    indices = [list(range(int(a), int(b))) for a, b in zip(starts[:-1], starts[1:], strict=True)]
    shell: Shell = [[ring[::-1] for ring in indices], [[i + n for i in ring] for ring in indices]]
    for ring in indices:
        for a, b in zip(ring, ring[1:] + ring[:1], strict=True):
            shell.append([[a, b, b + n, a + n]])
    return np.vstack([bottom, top]).astype(np.float64), shell


def triangulate(vertices: Vertices, shell: Shell) -> tuple[Vertices, Triangles]:
    """Triangulate every surface of a shell (ear clipping), keeping outward normals.

    Args:
        vertices: (N, 3) coordinates, metres.
        shell: Surfaces as rings of indices into ``vertices``, outer ring counter-clockwise seen from outside.

    Returns:
        ``(vertices, triangles)``: the same (N, 3) float64 vertices and (M, 3) int32 indices, each
        triangle counter-clockwise seen from outside.
    """
    points = np.asarray(vertices, dtype=np.float64)
    triangles = [_triangulate_surface(points, surface) for surface in shell]
    merged = np.concatenate(triangles) if triangles else np.empty((0, 3), np.int32)
    return points, merged.astype(np.int32)


def _ring_xy(ring: LinearRing) -> npt.NDArray[np.float64]:
    """Ring coordinates without the closing repeat or consecutive duplicates."""
    xy = np.asarray(ring.coords, dtype=np.float64)[:-1, :2]
    keep = np.any(xy != np.roll(xy, 1, axis=0), axis=1)
    return xy[keep]


def _triangulate_surface(points: Vertices, surface: list[list[int]]) -> Triangles:
    """Ear-clip one planar surface (outer ring + holes) in its own plane; orient triangles like the outer ring."""
    index = np.concatenate([np.asarray(ring, dtype=np.int64) for ring in surface])
    origin = points[index].mean(axis=0)  # work near zero: CRS coordinates are millions of metres
    xyz = points[index] - origin
    normal = _newell_normal(points[np.asarray(surface[0])] - origin)
    u = np.cross(normal, [0.0, 0.0, 1.0] if abs(normal[2]) < 0.9 else [1.0, 0.0, 0.0])
    u /= np.linalg.norm(u)
    v = np.cross(normal, u)
    uv = np.column_stack([xyz @ u, xyz @ v])
    ends = np.cumsum([len(ring) for ring in surface]).astype(np.uint32)
    local = np.asarray(mapbox_earcut.triangulate_float64(uv, ends), dtype=np.int64).reshape(-1, 3)
    a, b, c = (uv[local[:, k]] for k in range(3))
    signed = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    local[signed < 0] = local[signed < 0][:, ::-1]
    return index[local].astype(np.int32)


def _newell_normal(ring: Vertices) -> npt.NDArray[np.float64]:
    """Unit normal of a planar ring by Newell's method (right-hand rule)."""
    following = np.roll(ring, -1, axis=0)
    normal = np.sum(np.cross(ring, following), axis=0)
    length = np.linalg.norm(normal)
    return normal / length if length > 0 else np.array([0.0, 0.0, 1.0])
