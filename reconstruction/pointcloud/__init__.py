"""Point clouds: build, rasterise and write.

- :class:`PointCloud` -- positions, colours and ASPRS classes as arrays.
- :func:`points_from_raster` -- one point per DSM cell.
- :func:`points_from_lidar` -- LiDAR returns, coloured and classified.
- :func:`rasterize_points` -- highest or lowest return per grid cell.
- :func:`lidar_shares` -- per cell, the shares of returns on buildings and in vegetation (file classes or shape).
- :class:`LidarShares` -- those shares, and what decided the building returns.
- :func:`roof_returns` -- which unclassified object returns lie on roofs, by their neighbourhood's shape.
- :func:`write_las` -- LAS/LAZ 1.4 output.
- :func:`clean_point_cloud` -- voxel-grid downsampling and statistical outlier removal
  (:mod:`~reconstruction.pointcloud.outliers` holds the outlier test).
- :class:`FilterConfig` -- voxel size and outlier options for :func:`clean_point_cloud`.
- :class:`FilterReport` -- points in, kept and removed by :func:`clean_point_cloud`.
"""

from reconstruction.pointcloud.build import points_from_lidar, points_from_raster
from reconstruction.pointcloud.cloud import PointCloud
from reconstruction.pointcloud.filter import FilterConfig, FilterReport, clean_point_cloud
from reconstruction.pointcloud.las import write_las
from reconstruction.pointcloud.rasterize import rasterize_points
from reconstruction.pointcloud.roofs import roof_returns
from reconstruction.pointcloud.shares import LidarShares, lidar_shares

__all__ = [
    "FilterConfig",
    "FilterReport",
    "LidarShares",
    "PointCloud",
    "clean_point_cloud",
    "lidar_shares",
    "points_from_lidar",
    "points_from_raster",
    "rasterize_points",
    "roof_returns",
    "write_las",
]
