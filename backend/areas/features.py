"""Query an area's features as GeoJSON."""

import json
from typing import Any

from django.contrib.gis.geos import Polygon

from backend.areas.models import Area, Feature


def feature_collection(area: Area, kind: str | None = None, bbox: Polygon | None = None) -> dict[str, Any]:
    """The current version's features, optionally of one class and intersecting a WGS 84 box."""
    features = Feature.objects.filter(publication=area.current_id) if area.current_id else Feature.objects.none()
    if kind:
        features = features.filter(kind=kind)
    if bbox is not None:
        bbox.srid = 4326
        features = features.filter(geometry__intersects=bbox)
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": f.pk,
                "geometry": json.loads(f.geometry.geojson),
                "properties": {"class": f.kind, **f.attributes},
            }
            for f in features.order_by("pk")
        ],
    }
