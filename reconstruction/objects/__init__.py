"""Objects: land-cover classes and mapped features with attributes.

- :func:`classify_by_rules` -- ASPRS classes from nDSM and vegetation index.
- :func:`classify_with_lidar` -- the same, with buildings (and vegetation) decided by the LiDAR's returns.
- :func:`water_cells`, :func:`paved_cells` -- water (class 9 and its gaps) and paved ground from LiDAR returns.
- :func:`extract_buildings` -- buildings with LoD1 parts of one height and GIS attributes.
- :class:`Building`, :class:`BuildingPart` -- footprint, LoD1 parts, attributes.
- :class:`BuildingConfig` -- building extraction thresholds.
- :class:`Feature` -- kind, geometry, attributes.
- :class:`RulesConfig` -- classifier thresholds.
- :func:`detect_trees` -- individual trees (tops, heights, crowns) from a tree mask and an nDSM.
- :class:`Tree` -- top position, height, crown outline and diameter, ground height.
- :class:`TreeConfig` -- tree detection thresholds.
- :func:`low_vegetation_areas` -- outlines of low-vegetation patches.
- :func:`extract_roads` -- road segments: carriageway polygons, centre lines, width, grade, slope.
- :func:`water_bodies`, :func:`land_use_blocks` -- water outlines; blocks between roads with land use.
- :func:`patch_polygons` -- outlines of the connected patches of any class mask.
"""

from reconstruction.config import RulesConfig
from reconstruction.objects.buildings import Building, BuildingConfig, BuildingPart, extract_buildings
from reconstruction.objects.feature import Feature
from reconstruction.objects.landuse import Block, LandUseConfig, land_use_blocks, water_bodies
from reconstruction.objects.lidar_classes import classify_with_lidar
from reconstruction.objects.lidar_ground import paved_cells, water_cells
from reconstruction.objects.patches import patch_polygons
from reconstruction.objects.roads import Road, RoadConfig, extract_roads
from reconstruction.objects.rules import classify_by_rules
from reconstruction.objects.trees import Tree, TreeConfig, detect_trees, low_vegetation_areas

__all__ = [
    "Block",
    "LandUseConfig",
    "Road",
    "RoadConfig",
    "extract_roads",
    "land_use_blocks",
    "patch_polygons",
    "water_bodies",
    "Building",
    "BuildingConfig",
    "BuildingPart",
    "Feature",
    "RulesConfig",
    "Tree",
    "TreeConfig",
    "classify_by_rules",
    "classify_with_lidar",
    "detect_trees",
    "extract_buildings",
    "low_vegetation_areas",
    "paved_cells",
    "water_cells",
]
