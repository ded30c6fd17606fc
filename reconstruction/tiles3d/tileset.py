"""Feature meshes to a 3D Tiles 1.1 tileset: a quadtree of glb tiles under an ENU root transform.

Every bounding box is an axis-aligned box in the root's ENU frame (see :mod:`reconstruction.tiles3d.frame`);
child tiles carry no transform. Features are split into a quadtree by the centre of their extent until no
tile holds more than ``max_features`` features or ``max_vertices`` vertices (or the tree is ``MAX_DEPTH``
deep); each leaf is one glb of the full-detail features (geometric error 0), positions relative to its
mesh node's translation.

Inner tiles are simplified parents for distance levels of detail (``refine: "REPLACE"``): a parent ``h``
levels above the leaves holds the coarse stand-ins (:class:`Coarse`, level ``min(h, len(coarse))``) of its
subtree's most significant features, in decreasing order of the error of leaving each out
(``drop_error_m``: by default the largest side of its extent), within the tile limits and in at most
``PARENT_SHARE`` of the vertices its subtree has at full detail (about one child's worth, so each level
up is lighter: many simple stand-ins, or fewer when they are hardly simpler); the rest are left out. Its
geometric error is what that costs, in metres: the largest of the kept stand-ins' own errors, the largest
drop error of a left-out feature, and its children's errors (so errors never grow down the tree). Parents
keep the feature ids and property table rows of the features they show, so they stay pickable and
filterable. The metadata schema is embedded in every glb (EXT_structural_metadata), not in the tileset.
"""

import json
from collections.abc import Callable, Mapping, Sequence
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

#: Most of its subtree's full-detail vertex count that a parent's stand-ins may have.
PARENT_SHARE = 0.25


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
class Coarse:
    """A simplified stand-in for a feature in parent tiles.

    Attributes:
        mesh: The simplified triangles (ENU metres), or None when nothing needs drawing at this level
            (another feature's stand-in covers the place, e.g. a coarse terrain triangle).
        error_m: Largest distance between the feature and this stand-in, metres.
    """

    mesh: FeatureMesh | None
    error_m: float


@dataclass(frozen=True)
class TileFeature:
    """One feature of a layer: full-detail mesh, metadata row, coarser stand-ins for parent tiles.

    Attributes:
        mesh: The full-detail triangles in the layer's ENU frame.
        attributes: Values of the metadata class's properties.
        label: How error messages name the feature.
        coarse: Stand-ins from fine to coarse; parents ``h`` levels above the leaves use level
            ``min(h, len(coarse))``. Empty: the feature only shows in leaves. May be a function that
            makes them, called only when a parent needs them (a layer that fits one tile makes none);
            it should cache its answer, as it may be called once per parent level.
        drop_error_m: Error of leaving the feature out of a parent, metres; None: the largest side of its extent.
    """

    mesh: FeatureMesh
    attributes: Mapping[str, Any]
    label: str
    coarse: tuple[Coarse, ...] | Callable[[], tuple[Coarse, ...]] = ()
    drop_error_m: float | None = None

    def stand_ins(self) -> tuple[Coarse, ...]:
        """:attr:`coarse`, made now when it is a function."""
        return self.coarse() if callable(self.coarse) else self.coarse

    @property
    def drop_error(self) -> float:
        """:attr:`drop_error_m`, or the largest side of the mesh's extent."""
        if self.drop_error_m is not None:
            return float(self.drop_error_m)
        return float(np.ptp(self.mesh.vertices, axis=0).max())


@dataclass(frozen=True)
class _Layer:
    meta: MetadataClass
    out_dir: Path
    max_features: int
    max_vertices: int


def write_feature_tileset(
    features: Sequence[TileFeature | tuple[FeatureMesh, Mapping[str, Any], str]],
    meta: MetadataClass,
    frame: EnuFrame,
    out_dir: Path,
    max_features: int,
    max_vertices: int = 65_535,
) -> Path:
    """Write features as a quadtree of glb tiles (simplified parents) with one property table row per feature.

    Args:
        features: :class:`TileFeature` s, or (mesh in ``frame``, attributes of ``meta``'s properties, label
            used in errors) tuples for features without stand-ins.
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
    items = [f if isinstance(f, TileFeature) else TileFeature(*f) for f in features]
    root, _ = _tile(items, "r", layer, depth=0)
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


def _tile(features: list[TileFeature], name: str, layer: _Layer, depth: int) -> tuple[TileDict, int]:
    """The tile of ``features`` and its height above the leaves: a leaf, or a parent over up to four quadrants."""
    meshes = [f.mesh for f in features]
    centres = np.array([(m.vertices[:, :2].min(axis=0) + m.vertices[:, :2].max(axis=0)) / 2 for m in meshes])
    vertices = sum(len(m.vertices) for m in meshes)
    small = len(features) <= layer.max_features and vertices <= layer.max_vertices
    if small or len(features) == 1 or depth >= MAX_DEPTH or np.ptp(centres, axis=0).max() == 0:
        return _leaf(features, name, layer), 0
    middle = (centres.min(axis=0) + centres.max(axis=0)) / 2
    quadrant = (centres[:, 0] >= middle[0]).astype(int) + 2 * (centres[:, 1] >= middle[1]).astype(int)
    built = [
        _tile([f for f, q in zip(features, quadrant, strict=True) if q == k], f"{name}{k}", layer, depth + 1)
        for k in range(4)
        if (quadrant == k).any()
    ]
    children = [child for child, _ in built]
    height = 1 + max(h for _, h in built)
    lo = np.min([_box_bounds(c)[0] for c in children], axis=0)
    hi = np.max([_box_bounds(c)[1] for c in children], axis=0)
    kept, error = _choose_stand_ins(features, height, layer)
    error = max([error] + [c["geometricError"] for c in children])
    tile = TileDict(boundingVolume=_box(lo, hi), geometricError=error, refine="REPLACE", children=children)
    if kept:
        content_lo, content_hi = _write_glb([(m, f) for f, m in kept], name, layer)
        tile["boundingVolume"] = _box(np.minimum(lo, content_lo), np.maximum(hi, content_hi))
        tile["content"] = ContentDict(uri=f"tiles/{name}.glb")
    return tile, height


def _choose_stand_ins(
    features: list[TileFeature], height: int, layer: _Layer
) -> tuple[list[tuple[TileFeature, FeatureMesh]], float]:
    """The stand-ins a parent ``height`` levels up shows, most significant first, and the error it makes, metres."""
    kept: list[tuple[TileFeature, FeatureMesh]] = []
    error, vertices, full = 0.0, 0, False
    most_vertices = min(layer.max_vertices, int(PARENT_SHARE * sum(len(f.mesh.vertices) for f in features)))
    for feature in sorted(features, key=lambda f: -f.drop_error):
        if full:  # nothing less significant may take the place of a left-out feature
            error = max(error, feature.drop_error)
            continue
        levels = feature.stand_ins()
        coarse = levels[min(height, len(levels)) - 1] if levels else None
        if coarse is None:  # shows in leaves only
            error = max(error, feature.drop_error)
        elif coarse.mesh is None:  # covered by other stand-ins
            error = max(error, coarse.error_m)
        elif len(kept) >= layer.max_features or vertices + len(coarse.mesh.vertices) > most_vertices:
            full = True
            error = max(error, feature.drop_error)
        else:
            kept.append((feature, coarse.mesh))
            vertices += len(coarse.mesh.vertices)
            error = max(error, coarse.error_m)
    return kept, error


def _leaf(features: list[TileFeature], name: str, layer: _Layer) -> TileDict:
    """Write one glb holding ``features`` at full detail and return its tile."""
    lo, hi = _write_glb([(f.mesh, f) for f in features], name, layer)
    return TileDict(
        boundingVolume=_box(lo, hi), geometricError=0.0, refine="REPLACE", content=ContentDict(uri=f"tiles/{name}.glb")
    )


def _write_glb(items: list[tuple[FeatureMesh, TileFeature]], name: str, layer: _Layer) -> tuple[Float64s, Float64s]:
    """Write ``tiles/<name>.glb`` of the meshes, one property table row each; return its ENU box corners."""
    meshes = [m for m, _ in items]
    table = PropertyTable.from_rows(layer.meta, [f.attributes for _, f in items], [f.label for _, f in items])
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
    Glb.from_mesh(mesh, table, layer.meta.schema()).save_as(layer.out_dir / f"tiles/{name}.glb")
    return lo, hi


def _box(lo: Float64s, hi: Float64s) -> BoundingVolumeDict:
    centre, half = (lo + hi) / 2, (hi - lo) / 2
    return BoundingVolumeDict(box=[float(v) for v in (*centre, half[0], 0, 0, 0, half[1], 0, 0, 0, half[2])])


def _box_bounds(tile: TileDict) -> tuple[Float64s, Float64s]:
    box = np.asarray(tile["boundingVolume"]["box"], dtype=np.float64)
    half = np.array([box[3], box[7], box[11]])
    return box[:3] - half, box[:3] + half
