"""Query an area's features as GeoJSON: by class, box, point and attribute conditions."""

import json
import re
from dataclasses import dataclass
from typing import Any

from django.contrib.gis.db.models.functions import AsGeoJSON
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
) -> str:
    """The current version's features, filtered, as GeoJSON text (a FeatureCollection).

    Filters, all optional and combined: one class; intersecting a WGS 84 box; containing a WGS 84
    point; meeting every attribute condition (a feature without the attribute does not meet it).
    The database writes each geometry's GeoJSON (AsGeoJSON, 8 decimals: about 1 mm) and the text is joined
    here: parsing it into dicts only for the renderer to write it back took most of a request's time.
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
    rows = (
        features.order_by("pk")
        .annotate(geojson=AsGeoJSON("geometry"))
        .values_list("pk", "kind", "attributes", "geojson")
    )
    items = (
        f'{{"type":"Feature","id":{pk},"geometry":{geometry},"properties":{_json({"class": name, **attributes})}}}'
        for pk, name, attributes, geometry in rows
    )
    return '{"type":"FeatureCollection","features":[' + ",".join(items) + "]}"


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)
