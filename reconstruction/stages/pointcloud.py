"""Stage ``pointcloud``: the classified point cloud from LiDAR or the DSM, cleaned, written as LAZ.

Built, filtered and written by :mod:`reconstruction.pointcloud`.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

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
    """

    cloud: pointcloud.PointCloud
    report: Any


def run_pointcloud(heights: Heights, area: Area, cfg: PipelineConfig, out_dir: Path) -> Points:
    """Build the cloud (LiDAR points with the grid's classes, or one point per DSM cell), clean it, keep the core.

    Writes ``pointcloud/points.laz``; the ``tiles`` stage tiles the cloud from memory.
    """
    cloud = _point_cloud(heights.surfaces, heights.lidar_points, area.lidar)
    report = None
    if heights.lidar_points is not None or cfg.filter.on_dsm_points:
        cloud, report = pointcloud.clean_point_cloud(cloud, cfg.filter)
    cloud = _keep_points(cloud, area.extent.keeps_xy(cloud.xyz[:, 0], cloud.xyz[:, 1]))
    (out_dir / "pointcloud").mkdir(exist_ok=True)
    pointcloud.write_las(cloud, out_dir / "pointcloud" / "points.laz", area.grid.crs)
    return Points(cloud, report)


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


def _keep_points(cloud: pointcloud.PointCloud, keep: npt.NDArray[np.bool_]) -> pointcloud.PointCloud:
    if keep.all():
        return cloud
    intensity = None if cloud.intensity is None else cloud.intensity[keep]
    return pointcloud.PointCloud(cloud.xyz[keep], cloud.rgb[keep], cloud.classification[keep], intensity)
