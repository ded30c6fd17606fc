"""glTF 2.0 binary tile content: a triangle mesh or a point cloud, with feature ids and a metadata property table.

A mesh is one primitive (TRIANGLES) with ``POSITION`` (float32, with min/max), ``NORMAL``, ``COLOR_0``
(normalised RGBA bytes, linear) and ``_FEATURE_ID_0`` (float32, whole numbers) read by ``EXT_mesh_features``
as feature ids into property table 0 of ``EXT_structural_metadata``, whose schema is embedded in the glb.
Positions are in glTF axes (Y up) relative to the mesh node's ``translation``; every buffer view starts
on an 8-byte boundary.

A point cloud (:class:`TilePoints`) is one primitive (POINTS) with ``POSITION`` as 16-bit integers
(``KHR_mesh_quantization``: the node's ``scale`` is the grid step per axis, its ``translation`` the grid's
centre, so a position is within half a step of the point it stands for), ``COLOR_0`` as normalised RGB
bytes and an unlit material (``KHR_materials_unlit``). Each point is its own feature: the
``EXT_mesh_features`` feature ids are implicit (no attribute: feature id = vertex index, which CesiumJS
turns into a per-point id on the GPU), so row ``i`` of the property table is point ``i`` and the ids cost
no byte. Attributes whose rows are not a multiple of 4 bytes are strided to 4, as glTF asks.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pygltflib

from reconstruction.errors import InputError
from reconstruction.tiles3d.metadata import (
    ALIGNMENT,
    PropertyTable,
    PropertyTableDict,
    SchemaDict,
    StructuralMetadataDict,
)

MESH_FEATURES = "EXT_mesh_features"
QUANTIZATION = "KHR_mesh_quantization"
UNLIT = "KHR_materials_unlit"
STRUCTURAL_METADATA = "EXT_structural_metadata"
FEATURE_ID_ATTRIBUTE = "_FEATURE_ID_0"

_COMPONENTS: dict[int, np.dtype[Any]] = {
    pygltflib.FLOAT: np.dtype("<f4"),
    pygltflib.UNSIGNED_BYTE: np.dtype("u1"),
    pygltflib.SHORT: np.dtype("<i2"),
    pygltflib.UNSIGNED_SHORT: np.dtype("<u2"),
    pygltflib.UNSIGNED_INT: np.dtype("<u4"),
}
_WIDTH = {pygltflib.SCALAR: 1, pygltflib.VEC3: 3, pygltflib.VEC4: 4}


@dataclass(frozen=True)
class TileMesh:
    """One tile's triangles in glTF axes (Y up), metres.

    Attributes:
        positions: (N, 3) float32 vertex positions relative to ``origin``.
        normals: (N, 3) float32 unit normals.
        colors: (N, 4) uint8 linear RGBA.
        feature_ids: (N,) uint32 row of each vertex in the property table.
        indices: (M, 3) uint32 counter-clockwise triangles (front faces).
        origin: (3,) float64 translation of the mesh node.
    """

    positions: npt.NDArray[np.float32]
    normals: npt.NDArray[np.float32]
    colors: npt.NDArray[np.uint8]
    feature_ids: npt.NDArray[np.uint32]
    indices: npt.NDArray[np.uint32]
    origin: npt.NDArray[np.float64]


#: Largest magnitude of a quantized position: positions span -QUANTUM .. QUANTUM grid steps around the centre.
QUANTUM = 32767


@dataclass(frozen=True)
class TilePoints:
    """One tile's points in glTF axes (Y up), on a grid of ``step`` metres per axis around ``origin``.

    Attributes:
        positions: (N, 3) int16 grid coordinates: point ``i`` is at ``origin + positions[i] * step``.
        colors: (N, 3) uint8 RGB, or None.
        origin: (3,) float64 centre of the grid (the node's translation), metres.
        step: (3,) float64 grid step per axis (the node's scale), metres.
    """

    positions: npt.NDArray[np.int16]
    colors: npt.NDArray[np.uint8] | None
    origin: npt.NDArray[np.float64]
    step: npt.NDArray[np.float64]

    @classmethod
    def quantize(cls, xyz: npt.NDArray[np.float64], colors: npt.NDArray[np.uint8] | None) -> "TilePoints":
        """Snap (N, 3) metres (glTF axes) to the finest 16-bit grid over their box: each moves at most step / 2.

        Raises:
            InputError: There is no point.
        """
        if not len(xyz):
            raise InputError("A point tile needs at least one point.")
        lo, hi = xyz.min(axis=0), xyz.max(axis=0)
        origin = (lo + hi) / 2
        step = np.maximum((hi - lo) / 2, 1e-6) / QUANTUM
        positions = np.rint((xyz - origin) / step).clip(-QUANTUM, QUANTUM).astype(np.int16)
        return cls(positions, colors, origin, step)

    def xyz(self) -> npt.NDArray[np.float64]:
        """The (N, 3) positions in metres (glTF axes, the node's frame applied)."""
        return self.origin + self.positions.astype(np.float64) * self.step


class Glb:
    """A glb tile: wraps a :class:`pygltflib.GLTF2` whose binary blob holds every buffer view."""

    def __init__(self, gltf: pygltflib.GLTF2) -> None:
        self.gltf = gltf

    @classmethod
    def from_mesh(cls, mesh: TileMesh, table: PropertyTable, schema: SchemaDict) -> "Glb":
        """Build the glb of one mesh and the property table its feature ids point into.

        Raises:
            InputError: The arrays disagree in length, or a feature id is outside the table.
        """
        _check_mesh(mesh, table.count)
        builder = _Builder()
        position = builder.accessor(mesh.positions, pygltflib.VEC3, pygltflib.ARRAY_BUFFER, bounds=True)
        normal = builder.accessor(mesh.normals, pygltflib.VEC3, pygltflib.ARRAY_BUFFER)
        color = builder.accessor(mesh.colors, pygltflib.VEC4, pygltflib.ARRAY_BUFFER, normalized=True)
        feature = builder.accessor(mesh.feature_ids.astype(np.float32), pygltflib.SCALAR, pygltflib.ARRAY_BUFFER)
        small = len(mesh.positions) <= np.iinfo(np.uint16).max
        indices = mesh.indices.astype(np.uint16 if small else np.uint32).ravel()
        index = builder.accessor(indices, pygltflib.SCALAR, pygltflib.ELEMENT_ARRAY_BUFFER)
        first_column = len(builder.views)
        for column in table.column_bytes():
            builder.view(column, target=None)
        attributes = pygltflib.Attributes(POSITION=position, NORMAL=normal, COLOR_0=color)
        setattr(attributes, FEATURE_ID_ATTRIBUTE, feature)
        feature_ids = {"featureCount": table.count, "attribute": 0, "propertyTable": 0}
        primitive = pygltflib.Primitive(
            attributes=attributes,
            indices=index,
            mode=pygltflib.TRIANGLES,
            material=0,
            extensions={MESH_FEATURES: {"featureIds": [feature_ids]}},
        )
        metadata: StructuralMetadataDict = {"schema": schema, "propertyTables": [table.to_dict(first_column)]}
        gltf = pygltflib.GLTF2(
            asset=pygltflib.Asset(version="2.0", generator="rs3d"),
            scene=0,
            scenes=[pygltflib.Scene(nodes=[0])],
            nodes=[pygltflib.Node(mesh=0, translation=[float(v) for v in mesh.origin])],
            meshes=[pygltflib.Mesh(primitives=[primitive])],
            materials=[
                pygltflib.Material(
                    pbrMetallicRoughness=pygltflib.PbrMetallicRoughness(
                        baseColorFactor=[1.0, 1.0, 1.0, 1.0], metallicFactor=0.0, roughnessFactor=1.0
                    ),
                )
            ],
            accessors=builder.accessors,
            bufferViews=builder.views,
            buffers=[pygltflib.Buffer(byteLength=len(builder.blob))],
            extensions={STRUCTURAL_METADATA: metadata},
            extensionsUsed=[MESH_FEATURES, STRUCTURAL_METADATA],
        )
        gltf.set_binary_blob(bytes(builder.blob))
        return cls(gltf)

    @classmethod
    def from_points(cls, points: TilePoints, table: PropertyTable, schema: SchemaDict) -> "Glb":
        """Build the glb of one point tile whose point ``i`` is row ``i`` of ``table`` (implicit feature ids).

        Raises:
            InputError: The arrays disagree in length with each other or with the table.
        """
        n = len(points.positions)
        if points.positions.shape != (n, 3) or n == 0 or table.count != n:
            raise InputError(
                f"A point tile needs (N, 3) positions (N > 0) and N table rows; got {n} and {table.count}."
            )
        if points.colors is not None and points.colors.shape != (n, 3):
            raise InputError(f"The point tile has colours of shape {points.colors.shape}, expected ({n}, 3).")
        builder = _Builder()
        position = builder.accessor(points.positions, pygltflib.VEC3, pygltflib.ARRAY_BUFFER, bounds=True)
        attributes = pygltflib.Attributes(POSITION=position)
        if points.colors is not None:
            attributes.COLOR_0 = builder.accessor(
                points.colors, pygltflib.VEC3, pygltflib.ARRAY_BUFFER, normalized=True
            )
        first_column = len(builder.views)
        for column in table.column_bytes():
            builder.view(column, target=None)
        primitive = pygltflib.Primitive(
            attributes=attributes,
            mode=pygltflib.POINTS,
            material=0,
            extensions={MESH_FEATURES: {"featureIds": [{"featureCount": n, "propertyTable": 0}]}},
        )
        metadata: StructuralMetadataDict = {"schema": schema, "propertyTables": [table.to_dict(first_column)]}
        gltf = pygltflib.GLTF2(
            asset=pygltflib.Asset(version="2.0", generator="rs3d"),
            scene=0,
            scenes=[pygltflib.Scene(nodes=[0])],
            nodes=[
                pygltflib.Node(
                    mesh=0, translation=[float(v) for v in points.origin], scale=[float(v) for v in points.step]
                )
            ],
            meshes=[pygltflib.Mesh(primitives=[primitive])],
            materials=[
                pygltflib.Material(
                    pbrMetallicRoughness=pygltflib.PbrMetallicRoughness(
                        baseColorFactor=[1.0, 1.0, 1.0, 1.0], metallicFactor=0.0, roughnessFactor=1.0
                    ),
                    extensions={UNLIT: {}},
                )
            ],
            accessors=builder.accessors,
            bufferViews=builder.views,
            buffers=[pygltflib.Buffer(byteLength=len(builder.blob))],
            extensions={STRUCTURAL_METADATA: metadata},
            extensionsUsed=[MESH_FEATURES, STRUCTURAL_METADATA, QUANTIZATION, UNLIT],
            extensionsRequired=[QUANTIZATION],
        )
        gltf.set_binary_blob(bytes(builder.blob))
        return cls(gltf)

    @classmethod
    def from_bytes(cls, data: bytes) -> "Glb":
        """Parse glb bytes.

        Raises:
            InputError: The bytes are not a glb.
        """
        if data[:4] != b"glTF":
            raise InputError("The tile content is not a glb (no 'glTF' magic); rewrite the tileset.")
        return cls(pygltflib.GLTF2.load_from_bytes(data))

    @classmethod
    def from_file(cls, path: Path) -> "Glb":
        """Read a ``.glb`` file."""
        return cls.from_bytes(Path(path).read_bytes())

    def to_bytes(self) -> bytes:
        """The glb bytes."""
        return b"".join(self.gltf.save_to_bytes())

    def save_as(self, path: Path) -> None:
        """Write the glb to ``path``."""
        Path(path).write_bytes(self.to_bytes())

    def mesh(self) -> TileMesh:
        """Decode the first primitive of the first mesh back into a :class:`TileMesh`."""
        primitive = self.gltf.meshes[0].primitives[0]
        attributes = primitive.attributes
        node = self.gltf.nodes[0]
        return TileMesh(
            positions=self._read(attributes.POSITION).astype(np.float32),
            normals=self._read(attributes.NORMAL).astype(np.float32),
            colors=self._read(attributes.COLOR_0).astype(np.uint8),
            feature_ids=self._read(getattr(attributes, FEATURE_ID_ATTRIBUTE)).astype(np.uint32),
            indices=self._read(primitive.indices).astype(np.uint32).reshape(-1, 3),
            origin=np.asarray(node.translation or [0.0, 0.0, 0.0], dtype=np.float64),
        )

    def points(self) -> TilePoints:
        """Decode the first primitive of the first mesh, a point cloud, back into :class:`TilePoints`.

        Raises:
            InputError: The primitive is not points with 16-bit integer positions.
        """
        primitive = self.gltf.meshes[0].primitives[0]
        position = self.gltf.accessors[primitive.attributes.POSITION]
        if primitive.mode != pygltflib.POINTS or position.componentType != pygltflib.SHORT or position.normalized:
            raise InputError("The glb is not an rs3d point tile (POINTS with SHORT positions); rewrite the tileset.")
        node = self.gltf.nodes[0]
        color = primitive.attributes.COLOR_0
        return TilePoints(
            positions=self._read(primitive.attributes.POSITION).astype(np.int16),
            colors=self._read(color).astype(np.uint8) if color is not None else None,
            origin=np.asarray(node.translation or [0.0, 0.0, 0.0], dtype=np.float64),
            step=np.asarray(node.scale or [1.0, 1.0, 1.0], dtype=np.float64),
        )

    def property_table(self) -> PropertyTable:
        """Decode property table 0 of ``EXT_structural_metadata``.

        Raises:
            InputError: The glb has no structural metadata.
        """
        metadata = (self.gltf.extensions or {}).get(STRUCTURAL_METADATA)
        if not metadata or not metadata.get("propertyTables"):
            raise InputError("The glb has no EXT_structural_metadata property table; rewrite the tileset.")
        table: PropertyTableDict = metadata["propertyTables"][0]
        blob = self.gltf.binary_blob() or b""
        views = [blob[v.byteOffset or 0 : (v.byteOffset or 0) + v.byteLength] for v in self.gltf.bufferViews]
        return PropertyTable.from_dict(table, views, self.schema())

    def schema(self) -> SchemaDict:
        """The embedded metadata schema."""
        schema: SchemaDict = json.loads(json.dumps(self.gltf.extensions[STRUCTURAL_METADATA]["schema"]))
        return schema

    def _read(self, accessor_index: int) -> npt.NDArray[Any]:
        accessor = self.gltf.accessors[accessor_index]
        view = self.gltf.bufferViews[accessor.bufferView]
        dtype = _COMPONENTS[accessor.componentType]
        width = _WIDTH[accessor.type]
        start = (view.byteOffset or 0) + (accessor.byteOffset or 0)
        blob = self.gltf.binary_blob() or b""
        stride = view.byteStride or dtype.itemsize * width
        shape, strides = (accessor.count, width), (stride, dtype.itemsize)
        values = np.ndarray(shape, dtype, buffer=blob, offset=start, strides=strides).copy()
        return values if width > 1 else values.ravel()


class _Builder:
    """Accumulates 8-byte aligned buffer views and their accessors in one binary blob."""

    def __init__(self) -> None:
        self.blob = bytearray()
        self.views: list[pygltflib.BufferView] = []
        self.accessors: list[pygltflib.Accessor] = []

    def view(self, data: bytes, target: int | None, stride: int | None = None) -> int:
        self.blob += b"\0" * (-len(self.blob) % ALIGNMENT)
        self.views.append(
            pygltflib.BufferView(
                buffer=0, byteOffset=len(self.blob), byteLength=len(data), byteStride=stride, target=target
            )
        )
        self.blob += data
        self.blob += b"\0" * (-len(self.blob) % ALIGNMENT)  # the GLB BIN chunk must end 4-byte aligned
        return len(self.views) - 1

    def accessor(
        self,
        values: npt.NDArray[Any],
        kind: str,
        target: int,
        bounds: bool = False,
        normalized: bool = False,
    ) -> int:
        component = {np.dtype(v): k for k, v in _COMPONENTS.items()}[np.dtype(values.dtype).newbyteorder("<")]
        data = np.ascontiguousarray(values, dtype=_COMPONENTS[component])
        flat = data.reshape(len(data), -1)
        row = flat.shape[1] * data.itemsize
        if target == pygltflib.ARRAY_BUFFER and row % 4:  # a vertex attribute's elements start on 4 bytes
            stride = row + (-row % 4)
            rows = np.zeros((len(flat), stride), np.uint8)
            rows[:, :row] = flat.view(np.uint8).reshape(len(flat), row)
            view = self.view(rows.tobytes(), target, stride)
        else:
            view = self.view(data.tobytes(), target)
        accessor = pygltflib.Accessor(
            bufferView=view,
            byteOffset=0,
            componentType=component,
            normalized=normalized,
            count=len(data),
            type=kind,
            min=[float(v) for v in flat.min(axis=0)] if bounds and len(flat) else None,
            max=[float(v) for v in flat.max(axis=0)] if bounds and len(flat) else None,
        )
        self.accessors.append(accessor)
        return len(self.accessors) - 1


def _check_mesh(mesh: TileMesh, rows: int) -> None:
    n = len(mesh.positions)
    shapes = {"normals": mesh.normals.shape, "colors": mesh.colors.shape, "feature_ids": mesh.feature_ids.shape}
    expected = {"normals": (n, 3), "colors": (n, 4), "feature_ids": (n,)}
    for name, shape in shapes.items():
        if shape != expected[name]:
            raise InputError(f"The tile mesh has {name} of shape {shape}, expected {expected[name]}.")
    if mesh.positions.shape != (n, 3) or n == 0 or mesh.indices.ndim != 2 or mesh.indices.shape[1] != 3:
        raise InputError("A tile mesh needs (N, 3) positions (N > 0) and (M, 3) triangle indices.")
    if mesh.indices.size and int(mesh.indices.max()) >= n:
        raise InputError("A triangle of the tile mesh points past the last vertex.")
    if int(mesh.feature_ids.max()) >= rows:
        raise InputError(f"A feature id of the tile mesh is not a row of its {rows}-row property table.")
