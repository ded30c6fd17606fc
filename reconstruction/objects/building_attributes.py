"""Attributes of a building from the nDSM inside its footprint (heights in metres above ground, areas in m²).

- ``height_m`` = 90th, ``eave_m`` = 25th, ``ridge_m`` = 99th percentile of the nDSM inside the footprint.
- ``floors`` = ``max(1, round(eave_m / storey_height_m))``: the 25th percentile is the roof of a flat building
  and lies near the eaves of a pitched one, so attics under the roof slopes do not count as floors.
- ``roof_type`` is ``"pitched"`` when ``ridge_m - eave_m >= PITCHED_MIN_RISE_M`` *and* at least
  ``PITCHED_MIN_SHARE`` of the roof cells (one cell inside the outline) slope between
  ``PITCHED_MIN_SLOPE_DEG`` and ``PITCHED_MAX_SLOPE_DEG`` (steeper is a wall); otherwise ``"flat"``.
- ``building_type``, first rule that matches (``width`` = area / long side of the minimum rotated rectangle,
  the mean width of a bar):

  ===================================  ================================================================
  type                                 rule
  ===================================  ================================================================
  ``"high-rise"``                      height_m >= HIGH_RISE_MIN_HEIGHT_M (35)
  ``"annex"``                          area_m2 < ANNEX_MAX_AREA_M2 (40) and height_m < ANNEX_MAX_HEIGHT_M (5)
  ``"commercial/industrial hall"``     area_m2 >= HALL_MIN_AREA_M2 (300), height_m <= HALL_MAX_HEIGHT_M (15)
                                       and width >= HALL_MIN_WIDTH_M (20), or >= HALL_MIN_FLAT_WIDTH_M (15)
                                       under a flat roof (narrower bars are lit from both sides: housing)
  ``"apartment block"``                eave_m >= APARTMENT_MIN_EAVE_M (10), or floors >= APARTMENT_MIN_FLOORS
                                       (2) and area_m2 >= APARTMENT_MIN_AREA_M2 (300)
  ``"house"``                          everything else
  ===================================  ================================================================

All nDSM statistics use the cells one cell in from the outline (edge cells mix roof and ground), or every
cell of the building when it is too thin to have an inside.
"""

import numpy as np
import numpy.typing as npt
import shapely
from scipy import ndimage
from shapely.geometry import MultiPolygon, Polygon

Mask = npt.NDArray[np.bool_]
Heights = npt.NDArray[np.float32]

#: nDSM percentiles of the building attributes.
HEIGHT_PERCENTILE = 90.0
EAVE_PERCENTILE = 25.0
RIDGE_PERCENTILE = 99.0

#: Roof rule: a pitched roof rises at least this much and most of it slopes within these angles.
PITCHED_MIN_RISE_M = 1.0
PITCHED_MIN_SLOPE_DEG = 12.0
PITCHED_MAX_SLOPE_DEG = 70.0
PITCHED_MIN_SHARE = 0.4

#: Building type thresholds (see the module docstring table).
HIGH_RISE_MIN_HEIGHT_M = 35.0
ANNEX_MAX_AREA_M2 = 40.0
ANNEX_MAX_HEIGHT_M = 5.0
HALL_MIN_AREA_M2 = 300.0
HALL_MAX_HEIGHT_M = 15.0
HALL_MIN_WIDTH_M = 20.0
HALL_MIN_FLAT_WIDTH_M = 15.0
APARTMENT_MIN_EAVE_M = 10.0
APARTMENT_MIN_FLOORS = 2
APARTMENT_MIN_AREA_M2 = 300.0

_CROSS = ndimage.generate_binary_structure(2, 1)


def pitched_share(inside: Mask, heights: Heights, resolution: float) -> float:
    """Share of roof cells (one cell in from the outline) sloping like a pitched roof."""
    gy, gx = np.gradient(np.where(inside, heights, np.nan).astype(np.float64), resolution)
    slope = np.degrees(np.arctan(np.hypot(gx, gy)))
    roof = ndimage.binary_erosion(inside, structure=_CROSS) & np.isfinite(slope)
    if not roof.any():
        return 0.0
    pitched = (slope[roof] >= PITCHED_MIN_SLOPE_DEG) & (slope[roof] <= PITCHED_MAX_SLOPE_DEG)
    return float(pitched.mean())


def building_attributes(
    footprint: Polygon | MultiPolygon, heights: Heights, ground_m: float, pitched_share: float, storey_m: float
) -> dict[str, float | int | str]:
    """The attribute table of one building from its roof heights (see the module docstring).

    Args:
        footprint: the outline, CRS metres.
        heights: the roof's nDSM values, metres.
        ground_m: the ground height under it, metres.
        pitched_share: the share of roof cells sloping like a pitched roof (:func:`pitched_share`).
        storey_m: the height of one storey, metres.
    """
    height, eave, ridge = (
        float(np.percentile(heights, q)) for q in (HEIGHT_PERCENTILE, EAVE_PERCENTILE, RIDGE_PERCENTILE)
    )
    pitched = ridge - eave >= PITCHED_MIN_RISE_M and pitched_share >= PITCHED_MIN_SHARE
    floors = max(1, round(eave / storey_m))
    area = float(footprint.area)
    return {
        "height_m": round(height, 2),
        "eave_m": round(eave, 2),
        "ridge_m": round(ridge, 2),
        "floors": floors,
        "area_m2": round(area, 1),
        "perimeter_m": round(float(footprint.length), 1),
        "ground_m": round(ground_m, 2),
        "roof_type": "pitched" if pitched else "flat",
        "building_type": _building_type(area, height, eave, floors, _width(footprint), not pitched),
    }


def _width(footprint: Polygon | MultiPolygon) -> float:
    """Mean width: area over the long side of the minimum rotated rectangle, metres."""
    rectangle = shapely.minimum_rotated_rectangle(footprint)
    if not isinstance(rectangle, Polygon):
        return 0.0
    corners = np.asarray(rectangle.exterior.coords)[:3]
    return float(footprint.area / max(np.hypot(*np.diff(corners, axis=0).T).max(), 1e-9))


def _building_type(area: float, height: float, eave: float, floors: int, width: float, flat: bool) -> str:
    """The first matching rule of the module docstring table."""
    if height >= HIGH_RISE_MIN_HEIGHT_M:
        return "high-rise"
    if area < ANNEX_MAX_AREA_M2 and height < ANNEX_MAX_HEIGHT_M:
        return "annex"
    wide = width >= HALL_MIN_WIDTH_M or (flat and width >= HALL_MIN_FLAT_WIDTH_M)
    if area >= HALL_MIN_AREA_M2 and height <= HALL_MAX_HEIGHT_M and wide:
        return "commercial/industrial hall"
    if eave >= APARTMENT_MIN_EAVE_M or (floors >= APARTMENT_MIN_FLOORS and area >= APARTMENT_MIN_AREA_M2):
        return "apartment block"
    return "house"
