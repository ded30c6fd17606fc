"""Building footprints a user already has (cadastre, national registry, OpenStreetMap export).

A GeoPackage, GeoJSON, zipped Shapefile, FlatGeobuf or CSV (WKT) file with polygon geometries works
(nothing else is opened: :mod:`reconstruction.io.user_files`); the first layer is used. Footprints are
reprojected to the working CRS and only those touching the area are kept. They guide building extraction
(:func:`reconstruction.objects.extract_buildings`): each becomes one building where the imagery or
LiDAR sees one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyogrio
import shapely
from pyproj import CRS
from shapely.geometry import Polygon

from reconstruction.errors import InputError, library_reason
from reconstruction.io.crs import resolve_crs
from reconstruction.io.user_files import check_vector_driver, vector_path

#: Most footprints one job reads (a large city has a few hundred thousand).
MAX_FOOTPRINTS = 2_000_000


@dataclass(frozen=True)
class FootprintInfo:
    """A checked footprint file: its CRS, feature count and extent."""

    path: Path
    crs: CRS
    count: int
    bounds: tuple[float, float, float, float]
    warnings: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """How messages name the file."""
        return f"footprint file '{self.path.name}'"


def inspect_footprints(path: Path, epsg: int | None) -> FootprintInfo:
    """Open a footprint file and check it is a polygon layer with a CRS, without reading the geometries.

    Raises:
        InputError: unreadable, not polygons, empty, too many features, or no CRS (and no ``epsg``).
    """
    name = f"footprint file '{Path(path).name}'"
    source, found = vector_path(Path(path), name)
    try:
        info = pyogrio.read_info(source, force_total_bounds=True)  # CSV (WKT) files store no extent
    except Exception as err:  # pyogrio raises its own DataSourceError/DataLayerError and OSError
        raise InputError(
            f"The {name} cannot be read as a {found} file ({library_reason(err)}). Export it again, "
            "as a GeoPackage, GeoJSON or zipped Shapefile."
        ) from err
    check_vector_driver(info.get("driver"), found, name)
    geometry = (info.get("geometry_type") or "").upper()
    if "POLYGON" not in geometry and geometry != "UNKNOWN":  # CSV WKT columns say UNKNOWN; reading keeps polygons
        raise InputError(f"The {name} holds {geometry or 'no'} geometries; building footprints must be polygons.")
    count = int(info.get("features") or 0)
    if count <= 0:
        raise InputError(f"The {name} has no features.")
    if count > MAX_FOOTPRINTS:
        raise InputError(f"The {name} has {count:,} features, more than one job reads ({MAX_FOOTPRINTS:,}).")
    crs, warnings = resolve_crs(CRS.from_user_input(info["crs"]) if info.get("crs") else None, epsg, name)
    bounds = tuple(float(v) for v in info["total_bounds"])
    return FootprintInfo(Path(path), crs, count, bounds, warnings)  # type: ignore[arg-type]


def read_footprints(info: FootprintInfo, crs: CRS, bounds: tuple[float, float, float, float]) -> list[Polygon]:
    """The footprints in ``crs`` that touch ``bounds`` (given in ``crs``); invalid ones are repaired.

    Raises:
        InputError: the file cannot be read.
    """
    source, _ = vector_path(info.path, info.label)  # checked again: the file may have changed since
    try:
        frame = pyogrio.read_dataframe(source)
    except Exception as err:
        raise InputError(f"The {info.label} cannot be read: {library_reason(err)}") from err
    geometries = frame.geometry.set_crs(info.crs, allow_override=True).to_crs(crs).values
    area = shapely.box(*bounds)
    keep = [g for g in geometries if g is not None and not g.is_empty and g.intersects(area)]
    out: list[Polygon] = []
    for geometry in keep:
        fixed = shapely.make_valid(geometry)
        out += [p for p in shapely.get_parts(fixed) if isinstance(p, Polygon) and p.area > 0]
    return out
