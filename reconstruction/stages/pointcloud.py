"""Stage ``pointcloud``: the classified point cloud from LiDAR or the DSM, cleaned, written as LAZ.

Built, filtered and written by :mod:`reconstruction.pointcloud`.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from pyproj import CRS

from reconstruction import pointcloud
from reconstruction.config import PipelineConfig
from reconstruction.io import LidarInfo
from reconstruction.stages.heights import Heights
from reconstruction.stages.inputs import Area
from reconstruction.stages.surfaces import Surfaces


@dataclass
class Points:
    """The run's point cloud.

    Attributes:
        cloud: the points the run keeps, classified and coloured.
        report: the outlier filter's report, or None when the cloud was not filtered.
        las_path: the uncompressed LAS the ``tiles`` stage reads (and deletes).
    """

    cloud: pointcloud.PointCloud
    report: Any
    las_path: Path


def run_pointcloud(heights: Heights, area: Area, cfg: PipelineConfig, out_dir: Path) -> Points:
    """Build the cloud (LiDAR points with the grid's classes, or one point per DSM cell), clean it, keep the core.

    Writes ``pointcloud/points.laz`` and the tiler's ``pointcloud/tiler-input.las``.
    """
    cloud = _point_cloud(heights.surfaces, heights.lidar_points, area.lidar)
    report = None
    if heights.lidar_points is not None or cfg.filter.on_dsm_points:
        cloud, report = pointcloud.clean_point_cloud(cloud, cfg.filter)
    cloud = _keep_points(cloud, area.extent.keeps_xy(cloud.xyz[:, 0], cloud.xyz[:, 1]))
    return Points(cloud, report, _write_points(cloud, out_dir, area.grid.crs))


def _point_cloud(surfaces: Surfaces, lidar_points: Any, lidar_info: LidarInfo | None) -> pointcloud.PointCloud:
    assert surfaces.labels is not None
    if lidar_points is None:
        return pointcloud.points_from_raster(surfaces.dsm, surfaces.labels, surfaces.rgb, surfaces.grid)
    classified = lidar_info is not None and set(lidar_info.class_counts) - {0, 1}
    return pointcloud.points_from_lidar(
        lidar_points.xyz,
        lidar_points.classification if classified else None,
        surfaces.labels,
        surfaces.rgb,
        surfaces.grid,
        intensity=lidar_points.intensity,
    )


def _write_points(cloud: pointcloud.PointCloud, out_dir: Path, crs: CRS) -> Path:
    """Write the downloadable LAZ and the uncompressed LAS the tiler reads."""
    (out_dir / "pointcloud").mkdir(exist_ok=True)
    pointcloud.write_las(cloud, out_dir / "pointcloud" / "points.laz", crs)
    return pointcloud.write_las(cloud, out_dir / "pointcloud" / "tiler-input.las", crs)


def _keep_points(cloud: pointcloud.PointCloud, keep: npt.NDArray[np.bool_]) -> pointcloud.PointCloud:
    if keep.all():
        return cloud
    intensity = None if cloud.intensity is None else cloud.intensity[keep]
    return pointcloud.PointCloud(cloud.xyz[keep], cloud.rgb[keep], cloud.classification[keep], intensity)
