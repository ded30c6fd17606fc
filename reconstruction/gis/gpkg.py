"""Write features with their attributes as a GeoPackage layer, and read them back."""

import math
from pathlib import Path
from typing import Any

import geopandas as gpd
from pyproj import CRS

from reconstruction.errors import InputError
from reconstruction.objects.feature import Feature


def write_gpkg(features: list[Feature], path: Path, crs: CRS, layer: str) -> Path:
    """Write ``features`` (geometry in ``crs``) to ``path``, one row each, attributes as columns."""
    rows = [{"kind": f.kind, **f.attributes} for f in features]
    frame = gpd.GeoDataFrame(rows, geometry=[f.geometry for f in features], crs=crs)
    frame.to_file(path, layer=layer, driver="GPKG", engine="pyogrio")
    return path


def read_gpkg(path: Path) -> list[Feature]:
    """Read the features :func:`write_gpkg` wrote (first layer), in file order; empty values become None.

    Raises:
        InputError: The file cannot be read as a GeoPackage.
    """
    try:
        frame = gpd.read_file(path, engine="pyogrio")
    except Exception as err:  # noqa: BLE001 - pyogrio raises several unrelated types; translate once here
        raise InputError(f"{Path(path).name} cannot be read as a GeoPackage ({err}).") from err
    columns = [c for c in frame.columns if c not in ("kind", frame.geometry.name)]
    features = []
    for row in frame.itertuples(index=False):
        values = row._asdict()
        attributes = {c: _plain(values[c]) for c in columns}
        features.append(Feature(str(values.get("kind", "")), values[frame.geometry.name], attributes))
    return features


def _plain(value: Any) -> Any:
    """Turn numpy scalars into Python values and NaN into None."""
    value = value.item() if hasattr(value, "item") else value
    return None if isinstance(value, float) and math.isnan(value) else value
