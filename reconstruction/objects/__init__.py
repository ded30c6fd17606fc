"""Objects: land-cover classes and mapped features with attributes.

- :func:`classify_by_rules` -- ASPRS classes from nDSM and vegetation index.
- :func:`extract_buildings` -- buildings with LoD1 parts of one height and GIS attributes.
- :class:`Building`, :class:`BuildingPart` -- footprint, LoD1 parts, attributes.
- :class:`BuildingConfig` -- building extraction thresholds.
- :class:`Feature` -- kind, geometry, attributes.
- :class:`RulesConfig` -- classifier thresholds.
- :func:`detect_trees` -- individual trees (tops, heights, crowns) from a tree mask and an nDSM.
- :class:`Tree` -- top position, height, crown outline and diameter, ground height.
- :class:`TreeConfig` -- tree detection thresholds.
- :func:`low_vegetation_areas` -- outlines of low-vegetation patches.
"""

from reconstruction.config import RulesConfig
from reconstruction.objects.buildings import Building, BuildingConfig, BuildingPart, extract_buildings
from reconstruction.objects.feature import Feature
from reconstruction.objects.rules import classify_by_rules
from reconstruction.objects.trees import Tree, TreeConfig, detect_trees, low_vegetation_areas

__all__ = [
    "Building",
    "BuildingConfig",
    "BuildingPart",
    "Feature",
    "RulesConfig",
    "Tree",
    "TreeConfig",
    "classify_by_rules",
    "detect_trees",
    "extract_buildings",
    "low_vegetation_areas",
]
