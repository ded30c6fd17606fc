"""Write point clouds as LAS/LAZ 1.4 (point format 7: RGB) with ASPRS classes and the CRS."""

from pathlib import Path

import laspy
import numpy as np
from pyproj import CRS

from reconstruction.pointcloud.cloud import PointCloud


def write_las(cloud: PointCloud, path: Path, crs: CRS) -> Path:
    """Write ``cloud`` to ``path`` (LAZ when the suffix is .laz) with millimetre precision.

    Returns:
        The path written.
    """
    header = laspy.LasHeader(point_format=7, version="1.4")
    header.offsets = np.floor(cloud.xyz.min(axis=0)) if len(cloud) else np.zeros(3)
    header.scales = np.array([0.001, 0.001, 0.001])
    header.add_crs(crs)
    las = laspy.LasData(header)
    las.x, las.y, las.z = cloud.xyz[:, 0], cloud.xyz[:, 1], cloud.xyz[:, 2]
    # LAS colours are 16 bit; scale 0..255 to 0..65535 so readers agree on brightness.
    las.red, las.green, las.blue = (cloud.rgb[:, i].astype(np.uint16) * 257 for i in range(3))
    las.classification = cloud.classification
    if cloud.intensity is not None:
        las.intensity = cloud.intensity
    las.write(path)
    return path
