"""Write features with their attributes as a GeoPackage layer."""

from pathlib import Path

import geopandas as gpd
from pyproj import CRS

from reconstruction.objects.feature import Feature


def write_gpkg(features: list[Feature], path: Path, crs: CRS, layer: str) -> Path:
    """Write ``features`` (geometry in ``crs``) to ``path``, one row each, attributes as columns."""
    rows = [{"kind": f.kind, **f.attributes} for f in features]
    frame = gpd.GeoDataFrame(rows, geometry=[f.geometry for f in features], crs=crs)
    frame.to_file(path, layer=layer, driver="GPKG", engine="pyogrio")
    return path
