"""LoD1 buildings to a 3D Tiles 1.1 tileset: a quadtree of glb tiles in a local east-north-up frame.

The root tile's ``transform`` places a local ENU frame (origin at the centre of the buildings, heights in
the CRS's vertical datum taken as ellipsoidal heights, as for the point clouds) in ECEF. Every bounding box
is an axis-aligned box in that ENU frame; child tiles carry no transform. Each leaf holds one glb whose
positions are authored in glTF axes (ENU ``x, z, -y``) relative to its mesh node's translation, so the
Y-up to Z-up rotation that 3D Tiles applies to glTF content brings them back to ENU. Inner tiles are
empty (``refine: "ADD"``): there are no simplified LOD parents yet. The metadata schema is embedded in
every glb (EXT_structural_metadata), not in the tileset.
"""

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NotRequired, TypedDict

import numpy as np
import numpy.typing as npt
from pyproj import CRS, Transformer
from pyproj.exceptions import ProjError

from reconstruction.errors import ConfigError, CRSError, InputError
from reconstruction.objects.buildings import Building
from reconstruction.objects.lod1 import lod1_solid, triangulate
from reconstruction.tiles3d.content.glb import Glb, TileMesh
from reconstruction.tiles3d.metadata import BUILDING_TYPES, PropertyTable, building_schema

#: Base colour of each building type, sRGB bytes (written to COLOR_0 as linear values).
TYPE_COLOURS_SRGB: dict[str, tuple[int, int, int]] = {
    "house": (236, 214, 182),
    "apartment block": (204, 160, 130),
    "commercial/industrial hall": (160, 170, 184),
    "high-rise": (140, 164, 204),
    "annex": (200, 198, 188),
}

#: Bounding boxes are grown by this much on each side so that float32 positions stay inside, metres.
BOX_MARGIN_M = 0.01

#: The quadtree stops splitting at this depth even when a tile still holds too many buildings.
MAX_DEPTH = 16

Float64s = npt.NDArray[np.float64]


class AssetDict(TypedDict):
    """``asset`` of a tileset."""

    version: str
    generator: str


class BoundingVolumeDict(TypedDict):
    """An oriented box: centre, then the x, y and z half-axis vectors (12 numbers)."""

    box: list[float]


class ContentDict(TypedDict):
    """A tile's content, relative to the tileset."""

    uri: str


class TileDict(TypedDict):
    """A tile of the hierarchy."""

    boundingVolume: BoundingVolumeDict
    geometricError: float
    refine: NotRequired[Literal["ADD", "REPLACE"]]
    transform: NotRequired[list[float]]
    content: NotRequired[ContentDict]
    children: NotRequired[list["TileDict"]]


class TilesetDict(TypedDict):
    """``tileset.json``."""

    asset: AssetDict
    geometricError: float
    root: TileDict


@dataclass(frozen=True)
class _Solid:
    """One building's triangles in the ENU frame, vertices duplicated per surface."""

    building: Building
    vertices: Float64s  # (N, 3) ENU metres
    normals: Float64s  # (N, 3)
    triangles: npt.NDArray[np.int64]  # (M, 3)


def write_building_tileset(
    buildings: Sequence[Building], crs: CRS, out_dir: Path, max_features_per_tile: int = 500
) -> Path:
    """Write LoD1 buildings as a 3D Tiles 1.1 tileset of glb tiles with per-building metadata.

    Buildings are split into a quadtree by the centre of their extent until no tile holds more than
    ``max_features_per_tile`` (or the tree is ``MAX_DEPTH`` deep); each leaf is one glb (one primitive,
    flat-shaded, coloured by building type, ``EXT_mesh_features`` feature ids into an
    ``EXT_structural_metadata`` property table of the attributes). Buildings without parts are left out.

    Args:
        buildings: Buildings with LoD1 parts in ``crs`` metres (heights in metres).
        crs: Projected metric CRS of the footprints; heights are taken as ellipsoidal.
        out_dir: Folder to create; receives ``tileset.json`` and ``tiles/*.glb``.
        max_features_per_tile: Most buildings in one glb.

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
    local = [_local_solid(b) for b in with_parts]
    all_xyz = np.concatenate([v for v, _, _ in local])
    lo, hi = all_xyz.min(axis=0), all_xyz.max(axis=0)
    to_ecef, centre = _enu_frame(crs, (lo + hi) / 2)
    solids = [_to_enu(b, v, t, s, to_ecef) for b, (v, t, s) in zip(with_parts, local, strict=True)]
    out_dir = Path(out_dir)
    (out_dir / "tiles").mkdir(parents=True, exist_ok=True)
    root = _tile(solids, "r", max_features_per_tile, out_dir, depth=0)
    root["transform"] = [float(v) for v in centre.T.ravel()]  # column-major
    # Cesium renders nothing when the tileset's own error is 0 (the root's screen-space error is measured
    # with it): give it the extent's diagonal, the error of showing nothing at all.
    tileset: TilesetDict = {
        "asset": AssetDict(version="1.1", generator="rs3d"),
        "geometricError": max(root["geometricError"], float(np.linalg.norm(hi - lo))),
        "root": root,
    }
    path = out_dir / "tileset.json"
    path.write_text(json.dumps(tileset, indent=1))
    return path


def _local_solid(building: Building) -> tuple[Float64s, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """CRS vertices duplicated per surface, triangles into them and the surface of each vertex."""
    vertices: list[Float64s] = []
    triangles: list[npt.NDArray[np.int64]] = []
    surfaces: list[npt.NDArray[np.int64]] = []
    count = 0
    for part in building.parts:
        points, shell = lod1_solid(part)
        for surface in shell:
            _, tri = triangulate(points, [surface])
            if not len(tri):
                continue
            used, inverse = np.unique(tri, return_inverse=True)
            vertices.append(points[used])
            triangles.append(inverse.reshape(-1, 3).astype(np.int64) + count)
            surfaces.append(np.full(len(used), len(surfaces), np.int64))
            count += len(used)
    if not vertices:
        raise InputError(f"Building {building.id} has no surface to triangulate; check its footprints.")
    return np.concatenate(vertices), np.concatenate(triangles), np.concatenate(surfaces)


def _enu_frame(crs: CRS, centre_xyz: Float64s) -> tuple["_EnuTransform", Float64s]:
    """The CRS → ENU transform at ``centre_xyz`` (CRS metres) and the 4x4 ENU → ECEF matrix."""
    try:
        ecef = Transformer.from_crs(crs, CRS.from_epsg(4978), always_xy=True)
        geodetic = Transformer.from_crs(crs, CRS.from_epsg(4979), always_xy=True)
        lon, lat = geodetic.transform(*centre_xyz)[:2]
        origin = np.asarray(ecef.transform(*centre_xyz), dtype=np.float64)
    except ProjError as err:
        raise CRSError(f"Cannot place {crs.name} on the globe ({err}); give the buildings a projected CRS.") from err
    if not np.isfinite(origin).all():
        raise CRSError(f"The buildings' centre has no ECEF position in {crs.name}; check the CRS.")
    sl, cl = math.sin(math.radians(lon)), math.cos(math.radians(lon))
    sp, cp = math.sin(math.radians(lat)), math.cos(math.radians(lat))
    rotation = np.array([[-sl, cl, 0.0], [-sp * cl, -sp * sl, cp], [cp * cl, cp * sl, sp]])  # rows: e, n, u
    matrix = np.eye(4)
    matrix[:3, :3] = rotation.T
    matrix[:3, 3] = origin
    return _EnuTransform(ecef, origin, rotation), matrix


@dataclass(frozen=True)
class _EnuTransform:
    ecef: Transformer
    origin: Float64s
    rotation: Float64s

    def __call__(self, xyz: Float64s) -> Float64s:
        x, y, z = self.ecef.transform(xyz[:, 0], xyz[:, 1], xyz[:, 2])
        return np.asarray((np.column_stack([x, y, z]) - self.origin) @ self.rotation.T, dtype=np.float64)


def _to_enu(
    building: Building,
    vertices: Float64s,
    triangles: npt.NDArray[np.int64],
    surfaces: npt.NDArray[np.int64],
    to_enu: _EnuTransform,
) -> _Solid:
    """Move a solid into the ENU frame and give every vertex its surface's flat normal."""
    enu = to_enu(vertices)
    a, b, c = (enu[triangles[:, k]] for k in range(3))
    weighted = np.cross(b - a, c - a)  # area-weighted, outward (triangles are counter-clockwise from outside)
    per_surface = np.zeros((int(surfaces.max()) + 1, 3))
    np.add.at(per_surface, surfaces[triangles[:, 0]], weighted)
    length = np.linalg.norm(per_surface, axis=1, keepdims=True)
    unit = np.divide(per_surface, length, out=np.tile([0.0, 0.0, 1.0], (len(per_surface), 1)), where=length > 0)
    return _Solid(building, enu, unit[surfaces], triangles)


def _tile(solids: list[_Solid], name: str, limit: int, out_dir: Path, depth: int) -> TileDict:
    """The tile of ``solids``: a leaf with one glb, or an empty tile over up to four quadrants."""
    centres = np.array([(s.vertices[:, :2].min(axis=0) + s.vertices[:, :2].max(axis=0)) / 2 for s in solids])
    if len(solids) <= limit or depth >= MAX_DEPTH or np.ptp(centres, axis=0).max() == 0:
        return _leaf(solids, name, out_dir)
    middle = (centres.min(axis=0) + centres.max(axis=0)) / 2
    quadrant = (centres[:, 0] >= middle[0]).astype(int) + 2 * (centres[:, 1] >= middle[1]).astype(int)
    children = [
        _tile([s for s, q in zip(solids, quadrant, strict=True) if q == k], f"{name}{k}", limit, out_dir, depth + 1)
        for k in range(4)
        if (quadrant == k).any()
    ]
    lo = np.min([_box_bounds(c)[0] for c in children], axis=0)
    hi = np.max([_box_bounds(c)[1] for c in children], axis=0)
    return TileDict(
        boundingVolume=_box(lo, hi), geometricError=float(np.linalg.norm(hi - lo)), refine="ADD", children=children
    )


def _leaf(solids: list[_Solid], name: str, out_dir: Path) -> TileDict:
    """Write one glb holding ``solids`` and return its tile."""
    table = PropertyTable.from_buildings([s.building for s in solids])  # checks the attributes first
    vertices = np.concatenate([s.vertices for s in solids])
    lo, hi = vertices.min(axis=0) - BOX_MARGIN_M, vertices.max(axis=0) + BOX_MARGIN_M
    origin = (lo + hi) / 2
    offsets = np.cumsum([0] + [len(s.vertices) for s in solids])
    colours = _linear_colours()
    mesh = TileMesh(
        positions=_y_up(vertices - origin).astype(np.float32),
        normals=_y_up(np.concatenate([s.normals for s in solids])).astype(np.float32),
        colors=np.concatenate(
            [np.tile(colours[str(s.building.attributes.get("building_type"))], (len(s.vertices), 1)) for s in solids]
        ),
        feature_ids=np.repeat(np.arange(len(solids), dtype=np.uint32), np.diff(offsets)),
        indices=np.concatenate([s.triangles + o for s, o in zip(solids, offsets[:-1], strict=True)]).astype(np.uint32),
        origin=_y_up(origin[None])[0],
    )
    uri = f"tiles/{name}.glb"
    Glb.from_mesh(mesh, table, building_schema()).save_as(out_dir / uri)
    return TileDict(boundingVolume=_box(lo, hi), geometricError=0.0, refine="ADD", content=ContentDict(uri=uri))


def _y_up(enu: Float64s) -> Float64s:
    """ENU (x east, y north, z up) to glTF axes (x, z, -y); 3D Tiles rotates glTF Y-up back to Z-up."""
    return np.column_stack([enu[:, 0], enu[:, 2], -enu[:, 1]])


def _linear_colours() -> dict[str, npt.NDArray[np.uint8]]:
    """COLOR_0 bytes per building type: the sRGB palette converted to linear values, opaque."""
    out: dict[str, npt.NDArray[np.uint8]] = {}
    for kind in BUILDING_TYPES:
        srgb = np.asarray(TYPE_COLOURS_SRGB[kind], dtype=np.float64) / 255
        linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
        out[kind] = np.append(np.round(linear * 255), 255).astype(np.uint8)
    return out


def _box(lo: Float64s, hi: Float64s) -> BoundingVolumeDict:
    centre, half = (lo + hi) / 2, (hi - lo) / 2
    return BoundingVolumeDict(box=[float(v) for v in (*centre, half[0], 0, 0, 0, half[1], 0, 0, 0, half[2])])


def _box_bounds(tile: TileDict) -> tuple[Float64s, Float64s]:
    box = np.asarray(tile["boundingVolume"]["box"], dtype=np.float64)
    half = np.array([box[3], box[7], box[11]])
    return box[:3] - half, box[:3] + half
