"""3D Tiles and viewer imagery.

- :func:`write_pointcloud_tileset` -- LAS to a pnts tileset in ECEF with per-point classes.
- :func:`write_building_tileset` -- LoD1 buildings to a glb tileset with per-building metadata.
- :func:`write_overlay_png` -- the orthophoto as a WGS 84 image for the viewer.
"""

from reconstruction.tiles3d.buildings import write_building_tileset
from reconstruction.tiles3d.imagery import write_overlay_png
from reconstruction.tiles3d.pointcloud import write_pointcloud_tileset

__all__ = ["write_building_tileset", "write_overlay_png", "write_pointcloud_tileset"]
