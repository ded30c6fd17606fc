"""Road carriageways to a 3D Tiles 1.1 tileset: thin surfaces draped on the terrain, coloured by grade.

Each road polygon is cut into ``CELL_M`` squares and its rings are densified to ``SEGMENT_M``, so that no
triangle spans much terrain; the pieces are triangulated with earcut (``mapbox_earcut``), and every vertex
takes the DTM's height there (bilinear) plus ``lift_m``, so that the road shows above the terrain mesh.
Normals are smooth (area-weighted over the triangles at a vertex), pointing up. The hierarchy and glb
layout are those of :func:`reconstruction.tiles3d.tileset.write_feature_tileset`.

Parent tiles (distance levels of detail) show the widest roads simplified: the polygon simplified
(Douglas-Peucker, ``COARSE_SIMPLIFY_M``), cut into ``COARSE_CELL_M`` squares with rings densified to
``COARSE_SEGMENT_M``, draped the same way. The stand-in's error is the larger of the outline's Hausdorff
distance and the largest vertical gap, at the full mesh's vertices, between the full and the coarse surface.
A road left out of a parent costs its width (``width_m``, else the narrow side of its extent).
"""

import functools
from collections.abc import Sequence
from pathlib import Path

import mapbox_earcut
import numpy as np
import numpy.typing as npt
from scipy import ndimage
from scipy.interpolate import LinearNDInterpolator
from shapely import box, hausdorff_distance, segmentize
from shapely.geometry import MultiPolygon, Polygon

from reconstruction.errors import ConfigError, InputError
from reconstruction.io.grid import Grid
from reconstruction.objects.feature import Feature
from reconstruction.objects.roads import GRADES
from reconstruction.tiles3d.frame import EnuFrame, Float64s, Int64s, face_normals, linear_rgba, smooth_normals
from reconstruction.tiles3d.metadata import MetadataClass, Property
from reconstruction.tiles3d.tileset import Coarse, FeatureMesh, TileFeature, write_feature_tileset

#: Size of the squares roads are cut into, and the longest ring segment, metres.
CELL_M, SEGMENT_M = 10.0, 5.0
#: The same for the coarse stand-ins of parent tiles, and their outline simplification tolerance, metres.
COARSE_CELL_M, COARSE_SEGMENT_M, COARSE_SIMPLIFY_M = 40.0, 20.0, 1.0

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
        colour = linear_rgba(GRADE_SRGB.get(str(road.attributes.get("grade")), LOCAL_SRGB))
        mesh = _mesh(frame, vertices, triangles, colour)
        coarse = functools.cache(
            functools.partial(_coarse_road, road.geometry, vertices, filled, grid, lift_m, frame, colour)
        )
        x0, y0, x1, y1 = road.geometry.bounds
        width = road.attributes.get("width_m")
        drop = float(width) if isinstance(width, int | float) and width > 0 else min(x1 - x0, y1 - y0)
        label = f"Road {road.attributes.get('road_id')}"
        features.append(TileFeature(mesh, road.attributes, label, coarse, drop))
    return write_feature_tileset(features, ROAD, frame, out_dir, max_features_per_tile)


def _mesh(frame: EnuFrame, vertices: Float64s, triangles: Int64s, colour: npt.NDArray[np.uint8]) -> FeatureMesh:
    enu = frame(vertices)
    return FeatureMesh(enu, smooth_normals(enu, triangles), triangles, np.tile(colour, (len(enu), 1)))


def _coarse_road(
    geometry: Polygon | MultiPolygon,
    full: Float64s,
    dtm: Float64s,
    grid: Grid,
    lift_m: float,
    frame: EnuFrame,
    colour: npt.NDArray[np.uint8],
) -> tuple[Coarse, ...]:
    """The simplified, coarsely draped road and its error against the full mesh ``full`` (CRS), metres.

    There is no stand-in when the simplified outline has no area to triangulate.
    """
    simple = geometry.simplify(COARSE_SIMPLIFY_M, preserve_topology=True)
    if simple.is_empty or not simple.area > 0:
        return ()
    xy, triangles = _triangulate(simple, COARSE_CELL_M, COARSE_SEGMENT_M)
    if not len(triangles) or len(xy) < 3:
        return ()
    z = _heights(dtm, grid, xy) + lift_m
    try:
        between = LinearNDInterpolator(xy, z)(full[:, 0], full[:, 1])
    except ValueError:  # a degenerate (collinear) outline: no surface to compare
        return ()
    gaps = np.abs(between - full[:, 2])
    vertical = float(np.nanmax(gaps)) if np.isfinite(gaps).any() else 0.0
    error = max(float(hausdorff_distance(geometry, simple, densify=0.25)), vertical)
    return (Coarse(_mesh(frame, np.column_stack([xy, z]), triangles, colour), error),)


def _triangulate(
    geometry: Polygon | MultiPolygon, cell_m: float = CELL_M, segment_m: float = SEGMENT_M
) -> tuple[Float64s, Int64s]:
    """Vertices (shared, (N, 2)) and counter-clockwise triangles of the polygon cut into ``cell_m`` squares."""
    x0, y0, x1, y1 = geometry.bounds
    points: list[Float64s] = []
    triangles: list[Int64s] = []
    count = 0
    for gx in np.arange(np.floor(x0 / cell_m) * cell_m, x1, cell_m):
        for gy in np.arange(np.floor(y0 / cell_m) * cell_m, y1, cell_m):
            piece = geometry.intersection(box(gx, gy, gx + cell_m, gy + cell_m))
            for polygon in getattr(piece, "geoms", [piece]):
                if not isinstance(polygon, Polygon) or polygon.area <= 1e-6:
                    continue
                polygon = segmentize(polygon, segment_m)
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
