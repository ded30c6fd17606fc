"""Point clouds: build, rasterise and write.

- :class:`PointCloud` -- positions, colours and ASPRS classes as arrays.
- :func:`points_from_raster` -- one point per DSM cell.
- :func:`points_from_lidar` -- LiDAR returns, coloured and classified.
- :func:`rasterize_points` -- highest or lowest return per grid cell.
- :func:`write_las` -- LAS/LAZ 1.4 output.
- :func:`clean_point_cloud` -- voxel-grid downsampling and statistical outlier removal.
- :class:`FilterConfig` -- voxel size and outlier options for :func:`clean_point_cloud`.
- :class:`FilterReport` -- points in, kept and removed by :func:`clean_point_cloud`.
"""

from reconstruction.pointcloud.build import points_from_lidar, points_from_raster
from reconstruction.pointcloud.cloud import PointCloud
from reconstruction.pointcloud.filter import FilterConfig, FilterReport, clean_point_cloud
from reconstruction.pointcloud.las import write_las
from reconstruction.pointcloud.rasterize import rasterize_points

__all__ = [
    "FilterConfig",
    "FilterReport",
    "PointCloud",
    "clean_point_cloud",
    "points_from_lidar",
    "points_from_raster",
    "rasterize_points",
    "write_las",
]
