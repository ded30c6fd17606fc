"""Objects: land-cover classes and mapped features with attributes.

- :func:`classify_by_rules` -- ASPRS classes from nDSM and vegetation index.
- :func:`extract_footprints` -- polygon features (buildings, tree groups) with height and area.
- :class:`Feature` -- kind, geometry, attributes.
- :class:`RulesConfig` -- classifier thresholds.
"""

from reconstruction.config import RulesConfig
from reconstruction.objects.footprints import Feature, extract_footprints
from reconstruction.objects.rules import classify_by_rules

__all__ = ["Feature", "RulesConfig", "classify_by_rules", "extract_footprints"]
