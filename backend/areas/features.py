"""Query an area's features as GeoJSON: by class, box, point and attribute conditions."""

import json
import re
from dataclasses import dataclass
from typing import Any

from django.contrib.gis.geos import GEOSGeometry

from backend.areas.models import Area, Feature

#: ``name OP value`` with OP one of >=, <=, !=, >, <, = (longest first so ">=" is not read as ">").
_CONDITION = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|!=|>|<|=)\s*(.+?)\s*$")
_LOOKUPS = {">=": "gte", "<=": "lte", ">": "gt", "<": "lt", "=": "exact", "!=": "exact"}


@dataclass(frozen=True)
class Condition:
    """One attribute condition, e.g. ``height_m >= 20`` or ``building_type = house``."""

    name: str
    op: str
    value: float | str

    @classmethod
    def parse(cls, text: str) -> "Condition":
        """Read ``name OP value``; numbers become numbers, anything else stays text.

        Raises:
            ValueError: the text is not a condition (the message shows the expected form).
        """
        match = _CONDITION.match(text)
        if not match:
            raise ValueError(f"{text!r} is not a condition; write name>=value (operators >= <= > < = !=)")
        name, op, raw = match.groups()
        try:
            value: float | str = float(raw)
        except ValueError:
            if op not in ("=", "!="):
                raise ValueError(f"{text!r}: {op} needs a number") from None
            value = raw
        return cls(name, op, value)


def feature_collection(
    area: Area,
    kind: str | None = None,
    bbox: GEOSGeometry | None = None,
    point: GEOSGeometry | None = None,
    conditions: list[Condition] | None = None,
) -> dict[str, Any]:
    """The current version's features, filtered.

    Filters, all optional and combined: one class; intersecting a WGS 84 box; containing a WGS 84
    point; meeting every attribute condition (a feature without the attribute does not meet it).
    """
    features = Feature.objects.filter(publication=area.current_id) if area.current_id else Feature.objects.none()
    if kind:
        features = features.filter(kind=kind)
    for shape in (bbox, point):
        if shape is not None:
            shape.srid = 4326
            features = features.filter(geometry__intersects=shape)
    for c in conditions or []:
        lookup = {f"attributes__{c.name}__{_LOOKUPS[c.op]}": c.value}
        features = features.filter(attributes__has_key=c.name)
        features = features.exclude(**lookup) if c.op == "!=" else features.filter(**lookup)
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
