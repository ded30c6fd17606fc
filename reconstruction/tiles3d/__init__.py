"""3D Tiles and viewer imagery.

- :func:`write_cloud_tileset` -- a point cloud to a glb point tileset in ECEF, one pickable feature per point
  (class, and LiDAR intensity).
- :func:`write_pointcloud_tileset` -- the same from a LAS/LAZ file.
- :func:`write_building_tileset` -- LoD1 buildings to a glb tileset with per-building metadata and
  simplified parents (all glb layers have them: distance levels of detail).
- :func:`write_terrain_tileset` -- the terrain TIN to a glb tileset of patches with per-patch metadata.
- :func:`write_tree_tileset` -- trees to a glb tileset of low-poly trees with per-tree metadata.
- :func:`write_road_tileset` -- road polygons draped on the DTM to a glb tileset with per-road metadata.
- :func:`write_overlay_png` -- the orthophoto as a WGS 84 image for the viewer (preview and fallback).
- :func:`write_xyz_tiles` -- the orthophoto as a Web Mercator XYZ tile pyramid for the viewer.
"""

from reconstruction.tiles3d.buildings import write_building_tileset
from reconstruction.tiles3d.imagery import write_overlay_png
from reconstruction.tiles3d.pointcloud import write_cloud_tileset, write_pointcloud_tileset
from reconstruction.tiles3d.roads import write_road_tileset
from reconstruction.tiles3d.terrain import write_terrain_tileset
from reconstruction.tiles3d.trees import write_tree_tileset
from reconstruction.tiles3d.xyz import TilePyramid, write_xyz_tiles

__all__ = [
    "TilePyramid",
    "write_building_tileset",
    "write_overlay_png",
    "write_cloud_tileset",
    "write_pointcloud_tileset",
    "write_road_tileset",
    "write_terrain_tileset",
    "write_tree_tileset",
    "write_xyz_tiles",
]
