"""Coordinate reference systems: resolve each input's CRS, the unit of its heights, and one metric working CRS."""

from dataclasses import dataclass
from functools import cache
from typing import Any

from pyproj import CRS
from pyproj.aoi import AreaOfInterest
from pyproj.database import Unit, get_units_map, query_utm_crs_info
from pyproj.exceptions import CRSError as PyprojCRSError

from reconstruction.config import Z_UNITS
from reconstruction.errors import ConfigError, CRSError


def crs_from_epsg(epsg: int) -> CRS:
    """Return the CRS for an EPSG code a user typed.

    Raises:
        ConfigError: the code is not a known EPSG CRS.
    """
    try:
        return CRS.from_epsg(int(epsg))
    except (PyprojCRSError, ValueError, OverflowError) as err:
        raise ConfigError(
            f"EPSG:{epsg} is not a known coordinate reference system. "
            "Look up the code of your data's CRS (for example 2154 for Lambert-93, 32631 for UTM 31N)."
        ) from err


def resolve_crs(file_crs: object | None, epsg: int | None, name: str) -> tuple[CRS, list[str]]:
    """Decide which CRS an input is in.

    The file's own CRS wins; ``epsg`` is used only for a file that carries none.

    Args:
        file_crs: the CRS the file declares (pyproj, rasterio or anything with ``to_wkt``), or None.
        epsg: the EPSG code the user gave for files without a CRS, or None.
        name: how the user knows this input (e.g. "orthophoto 'city.tif'"), used in messages.

    Returns:
        The CRS and a list of warnings for the user.

    Raises:
        CRSError: the file has no CRS and no EPSG code was given.
    """
    wkt = file_crs.to_wkt() if file_crs is not None else ""  # type: ignore[attr-defined]
    if not wkt:
        if epsg is None:
            raise CRSError(
                f"The {name} carries no coordinate reference system, so rs3d cannot place it on the map. "
                "Give its EPSG code (the 'EPSG code' field, or --epsg), for example 2154 for Lambert-93."
            )
        return crs_from_epsg(epsg), [f"The {name} carries no CRS; using EPSG:{epsg} as you gave it."]
    crs = CRS.from_wkt(wkt)
    warnings: list[str] = []
    if crs.to_epsg() is None:
        warnings.append(
            f"The {name} has a CRS without an EPSG identity ('{crs.name}'); it is used exactly as defined "
            "in the file. If it is meant to be a standard CRS, check the data lines up."
        )
    return crs, warnings


def is_metric_projected(crs: CRS) -> bool:
    """True when the CRS is projected with metre axes (usable as a working grid)."""
    if not crs.is_projected:
        return False
    units = {axis.unit_name.lower() for axis in crs.axis_info[:2]}
    return units <= {"metre", "meter", "m"}


def utm_for(lon: float, lat: float) -> CRS:
    """Return the WGS 84 UTM zone CRS containing a point given in degrees."""
    infos = query_utm_crs_info(datum_name="WGS 84", area_of_interest=AreaOfInterest(lon, lat, lon, lat))
    return CRS.from_epsg(int(infos[0].code))


def crs_label(crs: CRS) -> str:
    """Return ``EPSG:<code>`` when the CRS has one, else its name."""
    code = crs.to_epsg()
    return f"EPSG:{code}" if code is not None else crs.name


@dataclass(frozen=True)
class HeightUnit:
    """The unit an input's heights are stored in, and how rs3d came to use it (for warnings and the manifest).

    Attributes:
        name: PROJ's name of the unit ("metre", "foot", "US survey foot", ...).
        to_metre: metres per unit, from PROJ's database (0.3048 for a foot, 1200/3937 for a US survey foot).
        source: where the unit comes from, in words ("its vertical CRS 'NAVD88 height (ftUS)'", ...).
        assumed: True when the file states no height unit and the horizontal one was taken instead.
    """

    name: str
    to_metre: float
    source: str
    assumed: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON for the manifest."""
        return {"unit": self.name, "to_metre": self.to_metre, "source": self.source, "assumed": self.assumed}


#: Heights that need no conversion: what rs3d writes, and what a metric CRS without a vertical part implies.
METRE = HeightUnit("metre", 1.0, "metres")


@cache
def _linear_units() -> dict[str, Unit]:
    return get_units_map(auth_name="EPSG", category="linear")


def linear_unit(spelling: str | int, source: str) -> HeightUnit | None:
    """The linear unit PROJ knows by this name, short name (``m``, ``ft``, ``us-ft``) or EPSG unit code.

    Returns:
        The unit, or None when ``spelling`` names no linear unit (a degree, a typo).
    """
    text = str(spelling).strip().lower()
    for unit in _linear_units().values():
        if text in (unit.name.lower(), (unit.proj_short_name or "").lower(), unit.code):
            return HeightUnit(unit.name, float(unit.conv_factor), source)
    if text in ("meter", "meters", "metres"):  # spellings GDAL writers use for metre
        return HeightUnit("metre", 1.0, source)
    return None


def stated_height_unit(crs: CRS) -> HeightUnit | None:
    """The unit of the CRS's vertical axis (a compound CRS's vertical part, or a 3D CRS's height), or None."""
    up = [axis for axis in crs.axis_info if axis.direction.lower() == "up"]
    if not up:
        return None
    vertical = next((sub for sub in crs.sub_crs_list if sub.is_vertical), crs)
    return HeightUnit(up[0].unit_name, float(up[0].unit_conversion_factor), f"its vertical CRS '{vertical.name}'")


def resolve_height_unit(
    crs: CRS, name: str, z_unit: str | None = None, stated: HeightUnit | None = None
) -> tuple[HeightUnit, list[str]]:
    """Decide the unit of an input's heights, so they can be converted to metres.

    In order: the user's ``z_unit``; the vertical unit the file states (its CRS's vertical axis, else
    ``stated``: a LAS GeoKey, a raster band's unit); else the unit of its horizontal CRS, assumed, with a
    warning unless that unit is the metre. A file with feet on its horizontal axes and no vertical unit is
    almost always measured in the same feet; a geographic CRS (degrees) implies metres.

    Args:
        crs: the input's CRS.
        name: how the user knows this input, used in messages.
        z_unit: the user's override (one of :data:`~reconstruction.config.Z_UNITS`), or None.
        stated: a vertical unit the file states outside its CRS, or None.

    Returns:
        The unit and a list of warnings for the user (every conversion and every assumption is reported).

    Raises:
        ConfigError: ``z_unit`` is not one of the units rs3d knows.
    """
    from_file = stated_height_unit(crs) or stated
    if z_unit is not None:
        return _override(z_unit, from_file, name)
    if from_file is not None:
        if from_file.to_metre == 1.0:
            return from_file, []
        return from_file, [
            f"The {name} stores heights in {_plural(from_file)} ({from_file.source}); rs3d converts them to metres."
        ]
    axis = crs.axis_info[0] if crs.axis_info else None
    horizontal = linear_unit(axis.unit_name, "") if axis is not None else None
    if horizontal is None:  # degrees: the height of a geographic CRS is in metres by convention
        unit = HeightUnit("metre", 1.0, f"assumed: its CRS '{crs.name}' is geographic and states no height unit", True)
    else:
        unit = HeightUnit(horizontal.name, horizontal.to_metre, f"assumed from its horizontal CRS '{crs.name}'", True)
    if unit.to_metre == 1.0:  # metres on a metric or geographic CRS: the rule almost everywhere; the manifest says
        return unit, []  # it was assumed, but a warning on nearly every upload would teach users to skip warnings
    return unit, [
        f"The {name} states no vertical unit; its heights are taken to be in {_plural(unit)} ({unit.source}). "
        f"If they are not, give their unit: --z-unit {', '.join(Z_UNITS)} (the upload form's height unit)."
    ]


def _override(z_unit: str, from_file: HeightUnit | None, name: str) -> tuple[HeightUnit, list[str]]:
    unit = linear_unit(z_unit, "the height unit you gave") if z_unit in Z_UNITS else None
    if unit is None:
        raise ConfigError(
            f"'{z_unit}' is not a height unit rs3d knows; give one of {', '.join(Z_UNITS)} "
            "(metres, international feet, US survey feet)."
        )
    if from_file is None:
        return unit, [f"The {name} states no vertical unit; its heights are read in {_plural(unit)} as you gave it."]
    if from_file.to_metre != unit.to_metre:
        return unit, [
            f"The {name} states heights in {_plural(from_file)} ({from_file.source}); they are read in "
            f"{_plural(unit)} as you gave it."
        ]
    return unit, []


def _plural(unit: HeightUnit) -> str:
    """'metres', 'US survey feet', 'feet' -- how a sentence names a number of such units."""
    known = {"metre": "metres", "foot": "international feet", "US survey foot": "US survey feet"}
    return known.get(unit.name) or f"units of '{unit.name}' ({unit.to_metre:g} m)"
