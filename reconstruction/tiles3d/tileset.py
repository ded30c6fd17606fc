"""Feature meshes to a 3D Tiles 1.1 tileset: a quadtree of glb tiles under an ENU root transform.

Every bounding box is an axis-aligned box in the root's ENU frame (see :mod:`reconstruction.tiles3d.frame`);
child tiles carry no transform. Features are split into a quadtree by the centre of their extent until no
tile holds more than ``max_features`` features or ``max_vertices`` vertices (or the tree is ``MAX_DEPTH``
deep); each leaf is one glb whose positions are relative to its mesh node's translation. Inner tiles are
empty (``refine: "ADD"``): there are no simplified LOD parents. The metadata schema is embedded in every
glb (EXT_structural_metadata), not in the tileset.
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NotRequired, TypedDict

import numpy as np
import numpy.typing as npt

from reconstruction.errors import ConfigError, InputError
from reconstruction.tiles3d.content.glb import Glb, TileMesh
from reconstruction.tiles3d.frame import EnuFrame, Float64s, Int64s, y_up
from reconstruction.tiles3d.metadata import MetadataClass, PropertyTable

#: Bounding boxes are grown by this much on each side so that float32 positions stay inside, metres.
BOX_MARGIN_M = 0.01

#: The quadtree stops splitting at this depth even when a tile is still over its limits.
MAX_DEPTH = 16


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
class FeatureMesh:
    """One feature's triangles in the ENU frame, metres.

    Attributes:
        vertices: (N, 3) ENU positions.
        normals: (N, 3) unit normals in ENU.
        triangles: (M, 3) counter-clockwise (front face) indices into ``vertices``.
        colors: (N, 4) linear RGBA bytes.
    """

    vertices: Float64s
    normals: Float64s
    triangles: Int64s
    colors: npt.NDArray[np.uint8]


@dataclass(frozen=True)
class _Layer:
    meta: MetadataClass
    out_dir: Path
    max_features: int
    max_vertices: int


def write_feature_tileset(
    features: Sequence[tuple[FeatureMesh, Mapping[str, Any], str]],
    meta: MetadataClass,
    frame: EnuFrame,
    out_dir: Path,
    max_features: int,
    max_vertices: int = 65_535,
) -> Path:
    """Write features as a quadtree of glb tiles with one property table row per feature.

    Args:
        features: (mesh in ``frame``, attributes of ``meta``'s properties, label used in errors) each.
        meta: The metadata class of the layer.
        frame: The ENU frame of the meshes; its matrix becomes the root's transform.
        out_dir: Folder to create; receives ``tileset.json`` and ``tiles/*.glb``.
        max_features: Most features in one glb.
        max_vertices: Most vertices in one glb (a single larger feature still gets its own glb).

    Returns:
        Path of the written ``tileset.json``.

    Raises:
        ConfigError: A limit is below 1.
        InputError: There is no feature, or an attribute is invalid.
    """
    if min(max_features, max_vertices) < 1:
        raise ConfigError(f"Tile limits must be at least 1, got {max_features} features, {max_vertices} vertices.")
    if not features:
        raise InputError(f"There are no {meta.table_name} to write as 3D Tiles.")
    layer = _Layer(meta, Path(out_dir), max_features, max_vertices)
    (layer.out_dir / "tiles").mkdir(parents=True, exist_ok=True)
    root = _tile(list(features), "r", layer, depth=0)
    root["transform"] = [float(v) for v in frame.matrix.T.ravel()]  # column-major
    lo, hi = _box_bounds(root)
    # Cesium renders nothing when the tileset's own error is 0 (the root's screen-space error is measured
    # with it): give it the extent's diagonal, the error of showing nothing at all.
    tileset: TilesetDict = {
        "asset": AssetDict(version="1.1", generator="rs3d"),
        "geometricError": max(root["geometricError"], float(np.linalg.norm(hi - lo))),
        "root": root,
    }
    path = layer.out_dir / "tileset.json"
    path.write_text(json.dumps(tileset, indent=1))
    return path


def _tile(features: list[tuple[FeatureMesh, Mapping[str, Any], str]], name: str, layer: _Layer, depth: int) -> TileDict:
    """The tile of ``features``: a leaf with one glb, or an empty tile over up to four quadrants."""
    meshes = [f[0] for f in features]
    centres = np.array([(m.vertices[:, :2].min(axis=0) + m.vertices[:, :2].max(axis=0)) / 2 for m in meshes])
    vertices = sum(len(m.vertices) for m in meshes)
    small = len(features) <= layer.max_features and vertices <= layer.max_vertices
    if small or len(features) == 1 or depth >= MAX_DEPTH or np.ptp(centres, axis=0).max() == 0:
        return _leaf(features, name, layer)
    middle = (centres.min(axis=0) + centres.max(axis=0)) / 2
    quadrant = (centres[:, 0] >= middle[0]).astype(int) + 2 * (centres[:, 1] >= middle[1]).astype(int)
    children = [
        _tile([f for f, q in zip(features, quadrant, strict=True) if q == k], f"{name}{k}", layer, depth + 1)
        for k in range(4)
        if (quadrant == k).any()
    ]
    lo = np.min([_box_bounds(c)[0] for c in children], axis=0)
    hi = np.max([_box_bounds(c)[1] for c in children], axis=0)
    return TileDict(
        boundingVolume=_box(lo, hi), geometricError=float(np.linalg.norm(hi - lo)), refine="ADD", children=children
    )


def _leaf(features: list[tuple[FeatureMesh, Mapping[str, Any], str]], name: str, layer: _Layer) -> TileDict:
    """Write one glb holding ``features`` and return its tile."""
    meshes = [f[0] for f in features]
    table = PropertyTable.from_rows(layer.meta, [f[1] for f in features], [f[2] for f in features])
    vertices = np.concatenate([m.vertices for m in meshes])
    lo, hi = vertices.min(axis=0) - BOX_MARGIN_M, vertices.max(axis=0) + BOX_MARGIN_M
    origin = (lo + hi) / 2
    offsets = np.cumsum([0] + [len(m.vertices) for m in meshes])
    mesh = TileMesh(
        positions=y_up(vertices - origin).astype(np.float32),
        normals=y_up(np.concatenate([m.normals for m in meshes])).astype(np.float32),
        colors=np.concatenate([m.colors for m in meshes]).astype(np.uint8),
        feature_ids=np.repeat(np.arange(len(meshes), dtype=np.uint32), np.diff(offsets)),
        indices=np.concatenate([m.triangles + o for m, o in zip(meshes, offsets[:-1], strict=True)]).astype(np.uint32),
        origin=y_up(origin[None])[0],
    )
    uri = f"tiles/{name}.glb"
    Glb.from_mesh(mesh, table, layer.meta.schema()).save_as(layer.out_dir / uri)
    return TileDict(boundingVolume=_box(lo, hi), geometricError=0.0, refine="ADD", content=ContentDict(uri=uri))


def _box(lo: Float64s, hi: Float64s) -> BoundingVolumeDict:
    centre, half = (lo + hi) / 2, (hi - lo) / 2
    return BoundingVolumeDict(box=[float(v) for v in (*centre, half[0], 0, 0, 0, half[1], 0, 0, 0, half[2])])


def _box_bounds(tile: TileDict) -> tuple[Float64s, Float64s]:
    box = np.asarray(tile["boundingVolume"]["box"], dtype=np.float64)
    half = np.array([box[3], box[7], box[11]])
    return box[:3] - half, box[:3] + half
