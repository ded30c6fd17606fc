"""Point clouds to 3D Tiles 1.1: a quadtree of glb point tiles with levels of detail, a pickable feature per point.

Each point is written once, to the tile :func:`~reconstruction.tiles3d.point_levels.point_levels` gives
it: inner tiles hold a spatially uniform subsample (one point per voxel of their spacing), children add the
points their ancestors lack (``refine: ADD``), and a tile's geometric error is what leaving its children out
costs: the voxel diagonal, the farthest any left-out point is from a shown one (0 for leaves). A viewer that
frames the whole area then loads the top levels only, and the leaves only when it comes close.

Positions are in the local east-north-up frame at the centre of the cloud (the root's ``transform`` places
it in ECEF, as for the mesh layers; heights are taken as ellipsoidal); boxes are axis-aligned in that frame.
Each tile is a glb of POINTS (:meth:`~reconstruction.tiles3d.content.glb.Glb.from_points`): positions as
16-bit integers on a grid over the tile's box (``KHR_mesh_quantization``; a point moves at most half a grid
step, under 8 mm for a 1 km tile), RGB bytes, and one feature per point (implicit ``EXT_mesh_features`` ids)
whose ``classification`` and, for LiDAR, ``intensity`` sit in an ``EXT_structural_metadata`` property table
(class ``point`` or ``lidar_point``), as the mesh layers carry theirs: in CesiumJS every point is then a
``Cesium3DTileFeature`` whose ``getProperty`` gives its class and intensity, and styles read them by name.
The quantized positions make a tile about 1.8 times smaller on the wire than the float32 pnts it replaced
(both brotli-compressed; docs/benchmarks.md, *3D Tiles*).
"""

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import laspy
import numpy as np
import numpy.typing as npt
from pyproj import CRS

from reconstruction.errors import InputError, ProcessingError
from reconstruction.pointcloud.cloud import PointCloud
from reconstruction.tiles3d.content.glb import QUANTUM, Glb, TilePoints
from reconstruction.tiles3d.frame import EnuFrame, Float64s, bounds
from reconstruction.tiles3d.metadata import MetadataClass, Property, PropertyTable
from reconstruction.tiles3d.point_levels import PointLevels, point_levels
from reconstruction.tiles3d.tileset import (
    BOX_MARGIN_M,
    AssetDict,
    BoundingVolumeDict,
    ContentDict,
    TileDict,
    TilesetDict,
)

#: Per-point properties of the tiles, as Cesium styles see them (``${classification}``, ``${intensity}``).
CLASS_PROPERTY, INTENSITY_PROPERTY = "classification", "intensity"

_CLASS = Property(CLASS_PROPERTY, "SCALAR", "UINT8", "ASPRS classification code of the point.")
_INTENSITY = Property(INTENSITY_PROPERTY, "SCALAR", "UINT16", "LiDAR return strength as the sensor recorded it.")

#: The metadata of points built from a DSM or a prediction: their class only.
POINT = MetadataClass(
    schema_id="rs3d_points",
    class_id="point",
    name="Point",
    description="One point of the area's point cloud.",
    table_name="points",
    properties=(_CLASS,),
)

#: The metadata of LiDAR points: their class and intensity.
LIDAR_POINT = MetadataClass(
    schema_id="rs3d_points",
    class_id="lidar_point",
    name="LiDAR point",
    description="One LiDAR point of the area's point cloud.",
    table_name="points",
    properties=(_CLASS, _INTENSITY),
)


@dataclass(frozen=True)
class _Cloud:
    """The points of a cloud in the tileset's ENU frame, with what the tiles carry of each."""

    enu: Float64s
    rgb: npt.NDArray[np.uint8] | None
    classification: npt.NDArray[np.uint8]
    intensity: npt.NDArray[np.uint16] | None


def write_pointcloud_tileset(las_path: Path, out_dir: Path, crs: CRS, jobs: int) -> Path:
    """Convert a LAS file to a 3D Tiles point tileset; see :func:`write_cloud_tileset`.

    Raises:
        InputError: The file holds no point.
        CRSError: ``crs`` cannot be placed on the globe.
        ProcessingError: The file could not be read.
    """
    xyz, (rgb, classes, intensity) = _read_las(las_path)
    return write_cloud_tileset(PointCloud(xyz, rgb, classes, intensity), out_dir, crs, jobs, name=las_path.name)  # type: ignore[arg-type]


def write_cloud_tileset(cloud: PointCloud, out_dir: Path, crs: CRS, jobs: int, name: str = "point cloud") -> Path:
    """Write a point cloud as a 3D Tiles 1.1 tileset of glb point tiles placed in ECEF, one feature per point.

    Every point carries ``classification`` (ASPRS code, UNSIGNED_BYTE) and, when any point of the file has a
    nonzero LAS intensity (LiDAR), ``intensity`` (UNSIGNED_SHORT, the sensor's value). Points built from a DSM
    or a prediction are written with intensity 0, so their tiles have no ``intensity`` at all rather than a
    made-up one.

    Args:
        cloud: points in ``crs`` with classification, RGB (None: tiles without colour) and, for LiDAR, intensity.
        out_dir: folder to create; it receives ``tileset.json`` and ``tiles/*.glb``.
        crs: CRS of the coordinates (heights are taken as ellipsoidal).
        jobs: threads encoding and writing the tiles.
        name: what the cloud is called in errors.

    Returns:
        Path of the written ``tileset.json``.

    Raises:
        InputError: The cloud holds no point.
        CRSError: ``crs`` cannot be placed on the globe.
    """
    if not len(cloud.xyz):
        raise InputError(f"The point cloud {name} holds no point: there is nothing to tile.")
    frame = EnuFrame.around(crs, cloud.xyz)
    intensity = cloud.intensity if cloud.intensity is not None and cloud.intensity.any() else None
    enu = frame(cloud.xyz, jobs)
    points = _Cloud(enu, cloud.rgb, np.asarray(cloud.classification, np.uint8), intensity)
    levels = point_levels(points.enu)
    (out_dir / "tiles").mkdir(parents=True, exist_ok=True)
    writes: list[tuple[str, npt.NDArray[np.int64]]] = []
    root = _tile_tree(points.enu, levels, writes)
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        list(pool.map(lambda w: _write_glb(points, w[1], out_dir / w[0]), writes))
    root["transform"] = [float(v) for v in frame.matrix.T.ravel()]  # column-major
    half = np.asarray(root["boundingVolume"]["box"])[[3, 7, 11]]
    # Cesium renders nothing when the tileset's own error is 0 (a one-leaf tileset): give it the box
    # diagonal, the error of showing nothing at all.
    tileset: TilesetDict = {
        "asset": AssetDict(version="1.1", generator="rs3d"),
        "geometricError": max(root["geometricError"], float(2 * np.linalg.norm(half))),
        "root": root,
    }
    path = out_dir / "tileset.json"
    path.write_text(json.dumps(tileset, indent=1))
    return path


def _read_las(
    las_path: Path,
) -> tuple[Float64s, tuple[npt.NDArray[np.uint8] | None, npt.NDArray[np.uint8], npt.NDArray[np.uint16] | None]]:
    """Coordinates, and 8-bit colours, classes and (when any is nonzero) intensities of a LAS/LAZ file."""
    try:
        las = laspy.read(las_path)
    except (OSError, laspy.errors.LaspyException) as err:
        raise ProcessingError(f"Cannot read the point cloud {las_path.name} to tile it ({err}).") from err
    if not len(las.points):
        raise InputError(f"The point cloud {las_path.name} holds no point: there is nothing to tile.")
    xyz = np.column_stack([np.asarray(las.x), np.asarray(las.y), np.asarray(las.z)])
    rgb = None
    if {"red", "green", "blue"} <= set(las.point_format.dimension_names):
        rgb16 = np.column_stack([np.asarray(las.red), np.asarray(las.green), np.asarray(las.blue)])
        # LAS colours are 16-bit (rs3d writes value * 257); some writers leave 8-bit values in them.
        rgb = (rgb16 >> 8 if rgb16.max() > 255 else rgb16).astype(np.uint8)
    classes = np.asarray(las.classification, dtype=np.uint8)
    intensity = np.asarray(las.intensity, dtype=np.uint16)
    return xyz, (rgb, classes, intensity if intensity.any() else None)


def _tile_tree(enu: Float64s, levels: PointLevels, writes: list[tuple[str, npt.NDArray[np.int64]]]) -> TileDict:
    """The tiles of the quadtree, root first; appends (file, point indices) of every tile with points to ``writes``."""
    deepest = int(levels.depth.max())
    own: list[dict[int, npt.NDArray[np.int64]]] = []  # per depth: cell -> indices of its own points
    boxes: list[dict[int, tuple[Float64s, Float64s]]] = []  # per depth: cell -> subtree box corners
    for d in range(deepest + 1):
        here = np.flatnonzero(levels.depth == d)
        own.append(_group(levels.cell[here], here))
        boxes.append({c: bounds(enu[i]) for c, i in own[d].items()})
    for d in range(deepest, 0, -1):  # a cell's box holds its children's: each point is looked at once
        tiles = 2**d
        for cell, (lo, hi) in boxes[d].items():
            iy, ix = divmod(cell, tiles)
            parent = (iy // 2) * (tiles // 2) + ix // 2
            plo, phi = boxes[d - 1].get(parent, (lo, hi))
            boxes[d - 1][parent] = (np.minimum(plo, lo), np.maximum(phi, hi))

    def tile(d: int, cell: int) -> TileDict:
        tiles = 2**d
        iy, ix = divmod(cell, tiles)
        children = []
        if d < deepest:
            for qy in (0, 1):
                for qx in (0, 1):
                    child = (2 * iy + qy) * 2 * tiles + 2 * ix + qx
                    if child in boxes[d + 1]:
                        children.append(tile(d + 1, child))
        lo, hi = boxes[d][cell]
        error = levels.geometric_error(d) if children else 0.0
        node = TileDict(boundingVolume=_box(lo, hi), geometricError=error, refine="ADD")
        if cell in own[d]:
            name = f"tiles/{_quadrant_name(d, ix, iy)}.glb"
            node["content"] = ContentDict(uri=name)
            writes.append((name, own[d][cell]))
        if children:
            node["children"] = children
        return node

    return tile(0, 0)


def _group(keys: npt.NDArray[np.int64], values: npt.NDArray[np.int64]) -> dict[int, npt.NDArray[np.int64]]:
    """``values`` grouped by ``keys``, each group in its original order."""
    order = np.argsort(keys, kind="stable")
    unique, starts = np.unique(keys[order], return_index=True)
    return {int(k): v for k, v in zip(unique, np.split(values[order], starts[1:]), strict=True)}


def _quadrant_name(depth: int, ix: int, iy: int) -> str:
    """``r`` then one quadrant digit per level (x half + 2 * y half), as the mesh layers name their tiles."""
    digits = [((ix >> k) & 1) + 2 * ((iy >> k) & 1) for k in range(depth - 1, -1, -1)]
    return "r" + "".join(str(q) for q in digits)


def _write_glb(cloud: _Cloud, indices: npt.NDArray[np.int64], path: Path) -> None:
    """Write the points ``indices`` as one glb tile: quantized positions over its box, a feature per point."""
    enu = cloud.enu[indices]
    columns: dict[str, npt.NDArray[np.generic]] = {CLASS_PROPERTY: cloud.classification[indices]}
    meta = POINT
    if cloud.intensity is not None:
        columns[INTENSITY_PROPERTY] = cloud.intensity[indices]
        meta = LIDAR_POINT
    yup = np.column_stack([enu[:, 0], enu[:, 2], -enu[:, 1]])  # glTF axes: east, up, south
    points = TilePoints.quantize(yup, cloud.rgb[indices] if cloud.rgb is not None else None)
    table = PropertyTable(columns, meta.class_id, meta.table_name)
    Glb.from_points(points, table, meta.schema()).save_as(path)


def _box(lo: Float64s, hi: Float64s) -> BoundingVolumeDict:
    """An axis-aligned box around ``lo`` .. ``hi``, grown so that quantized positions stay inside.

    A tile's content lies within this subtree box and moves at most half its grid step (its extent / 65534).
    """
    margin = max(BOX_MARGIN_M, float((hi - lo).max()) / (2 * QUANTUM))
    lo, hi = lo - margin, hi + margin
    centre, half = (lo + hi) / 2, (hi - lo) / 2
    return BoundingVolumeDict(box=[float(v) for v in (*centre, half[0], 0, 0, 0, half[1], 0, 0, 0, half[2])])
