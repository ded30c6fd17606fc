"""Road carriageways to a 3D Tiles 1.1 tileset: thin surfaces draped on the terrain, coloured by grade.

Each road polygon is cut into ``CELL_M`` squares and its rings are densified to ``SEGMENT_M``, so that no
triangle spans much terrain; the pieces are triangulated with earcut (``mapbox_earcut``), and every vertex
takes the DTM's height there (bilinear) plus ``lift_m``, so that the road shows above the terrain mesh.
Normals are smooth (area-weighted over the triangles at a vertex), pointing up. The hierarchy and glb
layout are those of :func:`reconstruction.tiles3d.tileset.write_feature_tileset`.
"""

from collections.abc import Sequence
from pathlib import Path

import mapbox_earcut
import numpy as np
import numpy.typing as npt
from scipy import ndimage
from shapely import box, segmentize
from shapely.geometry import MultiPolygon, Polygon

from reconstruction.errors import ConfigError, InputError
from reconstruction.io.grid import Grid
from reconstruction.objects.feature import Feature
from reconstruction.objects.roads import GRADES
from reconstruction.tiles3d.frame import EnuFrame, Float64s, Int64s, face_normals, linear_rgba, smooth_normals
from reconstruction.tiles3d.metadata import MetadataClass, Property
from reconstruction.tiles3d.tileset import FeatureMesh, write_feature_tileset

#: Size of the squares roads are cut into, and the longest ring segment, metres.
CELL_M, SEGMENT_M = 10.0, 5.0

ROAD_GRADES: tuple[str, ...] = tuple(name for _, name in GRADES)
GRADE_SRGB: dict[str, tuple[int, int, int]] = {"primary": (84, 84, 92), "secondary": (112, 112, 118)}
LOCAL_SRGB = (140, 140, 140)

ROAD = MetadataClass(
    schema_id="rs3d_roads",
    class_id="road",
    name="Road",
    description="A road segment (stretch of carriageway between junctions) mapped by rs3d.",
    table_name="roads",
    properties=(
        Property("road_id", "SCALAR", "UINT32", "Road segment number within the area."),
        Property("grade", "ENUM", "RoadGrade", "Road grade from the carriageway width."),
        Property("width_m", "SCALAR", "FLOAT32", "Carriageway width, metres."),
        Property("length_m", "SCALAR", "FLOAT32", "Centre-line length, metres."),
        Property("area_m2", "SCALAR", "FLOAT32", "Carriageway area, square metres."),
        Property("slope_percent", "SCALAR", "FLOAT32", "Longitudinal slope, per cent.", -9999.0),
        Property("class_confidence", "SCALAR", "FLOAT32", "Mean model confidence in the class (0-1).", -1.0),
    ),
    enums={"RoadGrade": (ROAD_GRADES, "Road grade, from the carriageway width.")},
)


def write_road_tileset(
    roads: Sequence[Feature],
    dtm: npt.NDArray[np.float32],
    grid: Grid,
    out_dir: Path,
    lift_m: float = 0.2,
    max_features_per_tile: int = 500,
) -> Path:
    """Write road polygons as a 3D Tiles 1.1 tileset of draped glb surfaces with per-road metadata.

    Args:
        roads: Road features as rs3d writes them (``vectors/roads.gpkg``): a polygon in ``grid.crs`` and
            attributes ``road_id``, ``grade``, ``width_m``, ``length_m``, ``area_m2``, optionally
            ``slope_percent`` and ``class_confidence``. Roads that are not polygons with an area are left out.
        dtm: (H, W) terrain heights on ``grid``, metres (NaN where unknown).
        grid: The DTM's north-up grid; its CRS is the roads' and is placed on the globe.
        out_dir: Folder to create; receives ``tileset.json`` and ``tiles/*.glb``.
        lift_m: Height of the road surface above the DTM, metres.
        max_features_per_tile: Most roads in one glb.

    Returns:
        Path of the written ``tileset.json``.

    Raises:
        ConfigError: ``max_features_per_tile`` is below 1.
        CRSError: The grid's CRS cannot be transformed to ECEF.
        InputError: No road has an area, the DTM has no height, or an attribute is invalid.
    """
    if max_features_per_tile < 1:
        raise ConfigError(f"max_features_per_tile must be at least 1, got {max_features_per_tile}.")
    if not roads:
        raise InputError("There are no roads to write as 3D Tiles.")
    if dtm.shape != grid.shape or not np.isfinite(dtm).any():
        raise InputError(f"The DTM ({dtm.shape}) must cover the grid {grid.shape} with heights to drape roads.")
    filled = np.where(np.isfinite(dtm), dtm, np.nanmedian(dtm)).astype(np.float64)
    local = []
    for road in roads:
        if isinstance(road.geometry, Polygon | MultiPolygon) and road.geometry.area > 0:
            xy, triangles = _triangulate(road.geometry)
            if len(triangles):
                local.append((road, np.column_stack([xy, _heights(filled, grid, xy) + lift_m]), triangles))
    if not local:
        raise InputError("No road has an area to triangulate; check the road extraction.")
    frame = EnuFrame.around(grid.crs, np.concatenate([v for _, v, _ in local]))
    features = []
    for road, vertices, triangles in local:
        enu = frame(vertices)
        colour = linear_rgba(GRADE_SRGB.get(str(road.attributes.get("grade")), LOCAL_SRGB))
        mesh = FeatureMesh(enu, smooth_normals(enu, triangles), triangles, np.tile(colour, (len(enu), 1)))
        features.append((mesh, road.attributes, f"Road {road.attributes.get('road_id')}"))
    return write_feature_tileset(features, ROAD, frame, out_dir, max_features_per_tile)


def _triangulate(geometry: Polygon | MultiPolygon) -> tuple[Float64s, Int64s]:
    """Vertices (shared, (N, 2)) and counter-clockwise triangles of the polygon cut into ``CELL_M`` squares."""
    x0, y0, x1, y1 = geometry.bounds
    points: list[Float64s] = []
    triangles: list[Int64s] = []
    count = 0
    for gx in np.arange(np.floor(x0 / CELL_M) * CELL_M, x1, CELL_M):
        for gy in np.arange(np.floor(y0 / CELL_M) * CELL_M, y1, CELL_M):
            piece = geometry.intersection(box(gx, gy, gx + CELL_M, gy + CELL_M))
            for polygon in getattr(piece, "geoms", [piece]):
                if not isinstance(polygon, Polygon) or polygon.area <= 1e-6:
                    continue
                polygon = segmentize(polygon, SEGMENT_M)
                rings = [np.asarray(r.coords)[:-1, :2] for r in (polygon.exterior, *polygon.interiors)]
                xy = np.concatenate(rings)
                ends = np.cumsum([len(r) for r in rings]).astype(np.uint32)
                tri = np.asarray(mapbox_earcut.triangulate_float64(xy, ends), dtype=np.int64).reshape(-1, 3)
                points.append(xy)
                triangles.append(tri + count)
                count += len(xy)
    if not triangles:
        return np.zeros((0, 2)), np.zeros((0, 3), np.int64)
    xy, tri = np.concatenate(points), np.concatenate(triangles)
    xy, inverse = np.unique(np.round(xy, 4), axis=0, return_inverse=True)  # pieces share their cut edges
    tri = inverse.reshape(-1)[tri]
    up = face_normals(np.column_stack([xy, np.zeros(len(xy))]), tri)[:, 2]
    tri = tri[up != 0]  # earcut may leave slivers of zero area
    flip = up[up != 0] < 0
    tri[flip] = tri[flip][:, ::-1]
    return np.asarray(xy, dtype=np.float64), tri


def _heights(dtm: Float64s, grid: Grid, xy: Float64s) -> Float64s:
    """Bilinear DTM heights at CRS points (edge cells beyond the grid)."""
    t = grid.transform
    col = (xy[:, 0] - t.c) / t.a - 0.5
    row = (xy[:, 1] - t.f) / t.e - 0.5
    return np.asarray(ndimage.map_coordinates(dtm, [row, col], order=1, mode="nearest"), dtype=np.float64)
