"""Write features as RFC 7946 GeoJSON (WGS 84 longitude/latitude)."""

import json
from pathlib import Path

import shapely
from pyproj import CRS, Transformer

from reconstruction.objects.feature import Feature


def write_geojson(features: list[Feature], path: Path, crs: CRS) -> Path:
    """Write ``features`` (geometry in ``crs``) as a FeatureCollection in WGS 84, 8 decimals (~1 mm)."""
    to_wgs84 = Transformer.from_crs(crs, 4326, always_xy=True)
    records = []
    for feature in features:
        geometry = shapely.transform(feature.geometry, lambda xy: _apply(to_wgs84, xy))
        geometry = shapely.set_precision(geometry, 1e-8)
        records.append(
            {
                "type": "Feature",
                "geometry": json.loads(shapely.to_geojson(geometry)),
                "properties": {"class": feature.kind, **feature.attributes},
            }
        )
    path.write_text(json.dumps({"type": "FeatureCollection", "features": records}))
    return path


def _apply(transformer: Transformer, xy):  # noqa: ANN001, ANN202 - shapely's coordinate callback
    x, y = transformer.transform(xy[:, 0], xy[:, 1])
    xy[:, 0], xy[:, 1] = x, y
    return xy
