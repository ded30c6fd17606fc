"""Coordinate reference systems: resolve each input's CRS and choose one metric working CRS."""

from pyproj import CRS
from pyproj.aoi import AreaOfInterest
from pyproj.database import query_utm_crs_info
from pyproj.exceptions import CRSError as PyprojCRSError

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
