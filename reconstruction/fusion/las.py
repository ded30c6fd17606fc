"""Read a LAS/LAZ cloud for fusion and write it back with the fused classes, keeping every other attribute.

The output adds two extra-bytes dimensions: ``fusion_confidence`` (float32, the winner's share of the
vote, 0 where no view saw the point) and ``fusion_views`` (uint8, views that voted for the point).
"""

from pathlib import Path

import laspy
import numpy as np

from reconstruction.errors import InputError
from reconstruction.fusion.fuse import FusionResult
from reconstruction.pointcloud.cloud import PointCloud


def read_las_cloud(path: Path) -> tuple[PointCloud, laspy.LasData]:
    """The points of a LAS/LAZ file as a :class:`PointCloud`, and the file's data (to write back).

    Raises:
        InputError: the file is missing or cannot be read as LAS/LAZ.
    """
    if not path.is_file():
        raise InputError(f"The point cloud '{path}' does not exist. Check the path.")
    try:
        las = laspy.read(path)
    except Exception as err:  # noqa: BLE001 - laspy and its LAZ backends raise many types for damaged files
        raise InputError(f"The point cloud '{path.name}' cannot be read as LAS/LAZ ({err}).") from err
    xyz = np.column_stack([np.asarray(las.x), np.asarray(las.y), np.asarray(las.z)])
    names = set(las.point_format.dimension_names)
    if {"red", "green", "blue"} <= names:
        rgb = np.column_stack([np.asarray(las[c]) >> 8 for c in ("red", "green", "blue")]).astype(np.uint8)
    else:
        rgb = np.zeros((len(xyz), 3), dtype=np.uint8)
    cloud = PointCloud(xyz=xyz, rgb=rgb, classification=np.asarray(las.classification, dtype=np.uint8))
    return cloud, las


def write_fused_las(las: laspy.LasData, result: FusionResult, path: Path) -> Path:
    """Write ``las`` with the fused classes and the two fusion dimensions to ``path`` (LAZ when .laz).

    Raises:
        InputError: the file cannot be written.
    """
    names = set(las.point_format.dimension_names)
    extra = [
        laspy.ExtraBytesParams(name="fusion_confidence", type=np.float32, description="fused label vote share"),
        laspy.ExtraBytesParams(name="fusion_views", type=np.uint8, description="views voting for the label"),
    ]
    missing = [p for p in extra if p.name not in names]
    if missing:
        las.add_extra_dims(missing)
    las.classification = result.cloud.classification
    las.fusion_confidence = result.vote.confidence
    las.fusion_views = np.minimum(result.vote.views, 255).astype(np.uint8)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        las.write(path)
    except OSError as err:
        raise InputError(
            f"The fused cloud cannot be written to '{path}' ({err.strerror}). Choose another --out."
        ) from err
    return path
