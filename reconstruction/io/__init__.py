"""Readers and validation for every input, and CRS handling.

- :func:`inspect_raster` / :class:`RasterInfo` -- validate an orthophoto or DSM.
- :func:`read_onto_grid` -- resample a raster (or its tiles, one at a time) onto the working grid.
- :mod:`~reconstruction.io.raster_tiles` -- several orthophoto or DSM tiles as one input
  (``inspect_raster_files``, ``combine_rasters``, ``write_mosaic``); :mod:`~reconstruction.io.raster_checks`
  -- the checks each raster file passes.
- :func:`inspect_lidar` / :class:`LidarInfo` -- validate a LAS/LAZ file by reading it once;
  :func:`inspect_lidar_files` / :func:`combine_lidar` -- several tiles of one area as one input.
- :func:`read_points` -- LiDAR points in the working CRS.
- :class:`Grid` -- the working grid; :func:`intersect` -- overlap of two extents.
- :func:`resolve_crs`, :func:`crs_from_epsg`, :func:`crs_label` -- CRS decisions.
- :func:`to_rgb8` -- orthophoto values to display colours.
- :func:`inspect_footprints` / :func:`read_footprints` -- building footprints a user already has.
- :mod:`~reconstruction.io.area` -- all of an area's inputs at once and the working grid they share
  (``inspect_area``, ``working_grid``; imported as ``reconstruction.io.area``, used by runs and chip plans).
- :mod:`~reconstruction.io.user_files` -- the only door a user's file comes in by (allow-listed drivers).

Importing this package first locks GDAL down for the process (:func:`~reconstruction.gdal_env.lock_down`):
only our vector drivers, no network. It must run before pyogrio registers its drivers, so it comes first.
"""

# ruff: noqa: E402 - lock_down() must run before the readers below import pyogrio
from reconstruction.gdal_env import lock_down

lock_down()

from reconstruction.io.colour import to_rgb8
from reconstruction.io.crs import crs_from_epsg, crs_label, is_metric_projected, resolve_crs, utm_for
from reconstruction.io.footprints import FootprintInfo, inspect_footprints, read_footprints
from reconstruction.io.grid import Grid, intersect
from reconstruction.io.lidar import (
    LidarInfo,
    LidarPoints,
    combine_lidar,
    inspect_lidar,
    inspect_lidar_files,
    read_points,
)
from reconstruction.io.raster import RasterInfo, inspect_raster, read_onto_grid

__all__ = [
    "FootprintInfo",
    "inspect_footprints",
    "read_footprints",
    "Grid",
    "LidarInfo",
    "LidarPoints",
    "RasterInfo",
    "crs_from_epsg",
    "crs_label",
    "combine_lidar",
    "inspect_lidar",
    "inspect_lidar_files",
    "inspect_raster",
    "intersect",
    "is_metric_projected",
    "read_onto_grid",
    "read_points",
    "resolve_crs",
    "to_rgb8",
    "utm_for",
]
