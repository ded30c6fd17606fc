"""Objects: land-cover classes and mapped features with attributes.

- :func:`classify_by_rules` -- ASPRS classes from nDSM and vegetation index.
- :func:`extract_buildings` -- buildings with LoD1 parts of one height and GIS attributes.
- :class:`Building`, :class:`BuildingPart` -- footprint, LoD1 parts, attributes.
- :class:`BuildingConfig` -- building extraction thresholds.
- :func:`extract_footprints` -- polygon features (buildings, tree groups) with height and area.
- :class:`Feature` -- kind, geometry, attributes.
- :class:`RulesConfig` -- classifier thresholds.
"""

from reconstruction.config import RulesConfig
from reconstruction.objects.buildings import Building, BuildingConfig, BuildingPart, extract_buildings
from reconstruction.objects.footprints import Feature, extract_footprints
from reconstruction.objects.rules import classify_by_rules

__all__ = [
    "Building",
    "BuildingConfig",
    "BuildingPart",
    "Feature",
    "RulesConfig",
    "classify_by_rules",
    "extract_buildings",
    "extract_footprints",
]
