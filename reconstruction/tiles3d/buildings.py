"""LoD1 buildings to a 3D Tiles 1.1 tileset: flat-shaded solids coloured by building type.

The hierarchy, ENU frame and glb layout are shared with the other mesh layers
(:func:`reconstruction.tiles3d.tileset.write_feature_tileset`); this module builds each building's
triangles and declares the ``building`` metadata class.

Parent tiles (distance levels of detail) show the largest buildings as one plain block each: the outer
ring of each polygon of the union of its parts, simplified (Douglas-Peucker, ``COARSE_SIMPLIFY_SHARE`` of
the square root of its area, at least ``COARSE_SIMPLIFY_MIN_M``; courtyards filled, never more corners than
before), extruded from the building's lowest ground to its highest roof. The block's error is the largest
of the outline's Hausdorff distance to the simplified one and the height differences to the parts' roofs
and floors, metres.
"""

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path

import mapbox_earcut
import numpy as np
import shapely
from pyproj import CRS
from shapely.geometry import MultiPolygon, Polygon

from reconstruction.errors import ConfigError, InputError
from reconstruction.objects.buildings import Building, BuildingPart
from reconstruction.objects.lod1 import lod1_solid
from reconstruction.tiles3d.frame import EnuFrame, Float64s, Int64s, face_normals, linear_rgba, unit
from reconstruction.tiles3d.metadata import MetadataClass, Property
from reconstruction.tiles3d.tileset import Coarse, FeatureMesh, TileFeature, write_feature_tileset

#: Simplification tolerance of the blocks in parent tiles: this share of the square root of the footprint
#: area, and at least this many metres.
COARSE_SIMPLIFY_SHARE, COARSE_SIMPLIFY_MIN_M = 0.1, 1.0

#: Enum values in storage order (the stored integer is the index).
BUILDING_TYPES: tuple[str, ...] = ("house", "apartment block", "commercial/industrial hall", "high-rise", "annex")
ROOF_TYPES: tuple[str, ...] = ("flat", "pitched")

#: Base colour of each building type, sRGB bytes (written to COLOR_0 as linear values).
TYPE_COLOURS_SRGB: dict[str, tuple[int, int, int]] = {
    "house": (236, 214, 182),
    "apartment block": (204, 160, 130),
    "commercial/industrial hall": (160, 170, 184),
    "high-rise": (140, 164, 204),
    "annex": (200, 198, 188),
}

BUILDING = MetadataClass(
    schema_id="rs3d_buildings",
    class_id="building",
    name="Building",
    description="An LoD1 building reconstructed by rs3d.",
    table_name="buildings",
    properties=(
        Property("id", "SCALAR", "UINT32", "Building identifier, unique within the area."),
        Property("building_type", "ENUM", "BuildingType", "Use class from size and height rules."),
        Property("roof_type", "ENUM", "RoofType", "Flat or pitched, from the slopes of the surface model."),
        Property("height_m", "SCALAR", "FLOAT32", "Height above ground (90th percentile of the nDSM), metres."),
        Property("eave_m", "SCALAR", "FLOAT32", "Eave height above ground (25th percentile), metres."),
        Property("ridge_m", "SCALAR", "FLOAT32", "Ridge height above ground (99th percentile), metres."),
        Property("area_m2", "SCALAR", "FLOAT32", "Footprint area, square metres."),
        Property("ground_m", "SCALAR", "FLOAT32", "Ground elevation (median of the DTM), metres in the CRS datum."),
        Property("floors", "SCALAR", "UINT16", "Estimated number of storeys above ground."),
        Property("class_confidence", "SCALAR", "FLOAT32", "Mean model confidence in the building class (0-1).", -1.0),
    ),
    enums={"BuildingType": (BUILDING_TYPES, "Use class of a building."), "RoofType": (ROOF_TYPES, "Roof shape.")},
)


def write_building_tileset(
    buildings: Sequence[Building],
    crs: CRS,
    out_dir: Path,
    max_features_per_tile: int = 500,
    class_confidence: Mapping[int, float] | None = None,
) -> Path:
    """Write LoD1 buildings as a 3D Tiles 1.1 tileset of glb tiles with per-building metadata.

    Each leaf glb holds one flat-shaded primitive coloured by building type, with ``EXT_mesh_features``
    feature ids into an ``EXT_structural_metadata`` table of the attributes (class ``building``).
    Buildings without parts are left out.

    Args:
        buildings: Buildings with LoD1 parts in ``crs`` metres (heights in metres).
        crs: Projected metric CRS of the footprints; heights are taken as ellipsoidal.
        out_dir: Folder to create; receives ``tileset.json`` and ``tiles/*.glb``.
        max_features_per_tile: Most buildings in one glb.
        class_confidence: The model's mean confidence in the building class by building id, for areas whose
            classes it predicted; buildings without one store the noData value -1.

    Returns:
        Path of the written ``tileset.json``.

    Raises:
        ConfigError: ``max_features_per_tile`` is below 1.
        CRSError: ``crs`` cannot be transformed to ECEF.
        InputError: There is no building with parts, or a part or attribute is invalid.
    """
    if max_features_per_tile < 1:
        raise ConfigError(f"max_features_per_tile must be at least 1, got {max_features_per_tile}.")
    with_parts = [b for b in buildings if b.parts]
    if not with_parts:
        raise InputError("There are no buildings with LoD1 parts to write; check the building extraction.")
    local = [_local_solid(b.parts, b.id) for b in with_parts]
    frame = EnuFrame.around(crs, np.concatenate([v for v, _, _ in local]))
    colours = {kind: linear_rgba(TYPE_COLOURS_SRGB[kind]) for kind in BUILDING_TYPES}
    features = []
    for building, (vertices, triangles, surfaces) in zip(with_parts, local, strict=True):
        colour = colours.get(str(building.attributes.get("building_type")), linear_rgba((200, 200, 200)))
        mesh = _mesh(frame, vertices, triangles, surfaces, colour)
        attributes = {**building.attributes, "id": building.id}
        if class_confidence and building.id in class_confidence:
            attributes["class_confidence"] = class_confidence[building.id]
        block = functools.cache(functools.partial(_coarse_blocks, building, frame, colour))
        features.append(TileFeature(mesh, attributes, f"Building {building.id}", block))
    return write_feature_tileset(features, BUILDING, frame, out_dir, max_features_per_tile)


def _mesh(frame: EnuFrame, vertices: Float64s, triangles: Int64s, surfaces: Int64s, colour: np.ndarray) -> FeatureMesh:
    enu = frame(vertices)
    return FeatureMesh(enu, _surface_normals(enu, triangles, surfaces), triangles, np.tile(colour, (len(enu), 1)))


def _coarse_blocks(building: Building, frame: EnuFrame, colour: np.ndarray) -> tuple[Coarse, ...]:
    """The stand-in of a building: one simplified block per polygon, with its error in metres.

    The error is the largest distance to the LoD1 parts; there is no stand-in when the simplified outline is
    not a valid polygon.
    """
    ground = min(p.ground_m for p in building.parts)
    roof = max(p.ground_m + p.height_m for p in building.parts)
    union = shapely.union_all([p.footprint for p in building.parts])
    polygons = union.geoms if isinstance(union, MultiPolygon) else [union]
    parts, error = [], 0.0
    for polygon in polygons:
        outline = Polygon(polygon.exterior)
        tolerance = max(COARSE_SIMPLIFY_MIN_M, COARSE_SIMPLIFY_SHARE * np.sqrt(outline.area))
        simple = outline.simplify(tolerance, preserve_topology=True)
        if not isinstance(simple, Polygon) or simple.is_empty or not simple.is_valid:
            return ()
        if len(simple.exterior.coords) > len(polygon.exterior.coords):  # never more corners than the parts
            simple = Polygon(polygon.exterior)
        error = max(error, float(shapely.hausdorff_distance(polygon, simple, densify=0.25)))
        parts.append(BuildingPart(simple, ground, roof - ground))
    vertical = max(max(roof - p.ground_m - p.height_m, p.ground_m - ground) for p in building.parts)
    try:
        vertices, triangles, surfaces = _local_solid(parts, building.id)
    except InputError:
        return ()
    return (Coarse(_mesh(frame, vertices, triangles, surfaces, colour), float(max(error, vertical))),)


def _local_solid(parts: Sequence[BuildingPart], building_id: int) -> tuple[Float64s, Int64s, Int64s]:
    """CRS vertices duplicated per surface, triangles into them and the surface of each vertex.

    The bottom and the top are ear-clipped (they may be any polygon with holes); the walls are
    rectangles, so all of a part's walls become two triangles each in one numpy step: ear-clipping
    them one by one was most of the buildings' tiling time.
    """
    vertices: list[Float64s] = []
    triangles: list[Int64s] = []
    surfaces: list[Int64s] = []
    count = n_surfaces = 0
    for part in parts:
        points, shell = lod1_solid(part)
        n = len(points) // 2  # bottom ring vertices, then the same on top
        top = _horizontal_triangles(points[n:, :2], [len(ring) for ring in shell[1]])
        for layer, tri in ((points[:n], top[:, ::-1]), (points[n:], top)):  # bottom faces down, top up
            vertices.append(layer)
            triangles.append(tri + count)
            surfaces.append(np.full(n, n_surfaces, np.int64))
            count += n
            n_surfaces += 1
        walls = np.asarray([surface[0] for surface in shell[2:]], dtype=np.int64).reshape(-1, 4)  # a, b, b', a'
        first = count + 4 * np.arange(len(walls))[:, None]
        vertices.append(points[walls].reshape(-1, 3))
        # Both triangles keep the ring's order (counter-clockwise seen from outside), so normals point out.
        triangles.append(np.concatenate([first + [0, 1, 2], first + [0, 2, 3]], axis=1).reshape(-1, 3))
        surfaces.append(np.repeat(n_surfaces + np.arange(len(walls)), 4))
        count += 4 * len(walls)
        n_surfaces += len(walls)
    if not count:
        raise InputError(f"Building {building_id} has no surface to triangulate; check its footprints.")
    return np.concatenate(vertices), np.concatenate(triangles), np.concatenate(surfaces)


def _horizontal_triangles(xy: Float64s, ring_lengths: list[int]) -> Int64s:
    """Ear-clip a horizontal polygon (outer ring, then holes) into triangles counter-clockwise from above.

    Flat roofs and floors need no projection onto their plane (``objects.lod1.triangulate`` does that for
    any surface, at a cost the buildings' tiling time felt).
    """
    local = xy - xy.mean(axis=0)
    ends = np.cumsum(ring_lengths).astype(np.uint32)
    tri = np.asarray(mapbox_earcut.triangulate_float64(local, ends), dtype=np.int64).reshape(-1, 3)
    a, b, c = (local[tri[:, k]] for k in range(3))
    clockwise = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]) < 0
    tri[clockwise] = tri[clockwise][:, ::-1]
    return tri


def _surface_normals(enu: Float64s, triangles: Int64s, surfaces: Int64s) -> Float64s:
    """Every vertex gets its planar surface's outward unit normal (triangles are counter-clockwise outside)."""
    per_surface = np.zeros((int(surfaces.max()) + 1, 3))
    np.add.at(per_surface, surfaces[triangles[:, 0]], face_normals(enu, triangles))
    return unit(per_surface)[surfaces]
