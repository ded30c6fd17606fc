"""Query an area's features as GeoJSON: by class, box, point and attribute conditions.

A class or attribute name that this version does not have is refused (:class:`UnknownFilter`, naming the
ones it has) rather than answered with an empty collection, so that a typo such as ``class=bulding`` is
not mistaken for "no buildings here".
"""

import json
import re
from dataclasses import dataclass
from typing import Any

from django.contrib.gis.db.models.functions import AsGeoJSON
from django.contrib.gis.geos import GEOSGeometry
from django.db.models.fields.json import KeyTransform

from backend.areas.models import Area, Feature

#: ``name OP value`` with OP one of >=, <=, !=, >, <, = (longest first so ">=" is not read as ">").
_CONDITION = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|!=|>|<|=)\s*(.+?)\s*$")
_LOOKUPS = {">=": "gte", "<=": "lte", ">": "gt", "<": "lt", "=": "exact", "!=": "exact"}
#: The feature classes a reconstruction writes (one area may have fewer of them).
FEATURE_CLASSES = ("building", "tree", "low_vegetation", "road", "water", "land_use")


class UnknownFilter(ValueError):
    """A filter names a class or attribute the version does not have; ``param`` is the query parameter."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


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

    Raises:
        UnknownFilter: nothing matched, and the class or an attribute name is not one this version has
            (checked only then: a query that finds features costs nothing more).
    """
    features = Feature.objects.filter(publication=area.current_id) if area.current_id else Feature.objects.none()
    if kind:
        features = features.filter(kind=kind)
    for shape in (bbox, point):
        if shape is not None:
            shape.srid = 4326
            features = features.filter(geometry__intersects=shape)
    for index, c in enumerate(conditions or []):
        # The name is a key, never query syntax: "h__isnull" looks for an attribute of that name.
        value = f"_condition_{index}"
        features = features.annotate(**{value: KeyTransform(c.name, "attributes")})
        features = features.filter(attributes__has_key=c.name)
        lookup = {f"{value}__{_LOOKUPS[c.op]}": c.value}
        features = features.exclude(**lookup) if c.op == "!=" else features.filter(**lookup)
    rows = (
        features.order_by("pk")
        .annotate(geojson=AsGeoJSON("geometry"))
        .values_list("pk", "kind", "attributes", "geojson")
    )
    items = ",".join(
        f'{{"type":"Feature","id":{pk},"geometry":{geometry},"properties":{_json({"class": name, **attributes})}}}'
        for pk, name, attributes, geometry in rows
    )
    if not items and (kind or conditions):
        _check_names(area, kind, conditions or [])
    return '{"type":"FeatureCollection","features":[' + items + "]}"


def _check_names(area: Area, kind: str | None, conditions: list[Condition]) -> None:
    """Refuse a class or attribute name the area's current version does not have, naming those it has.

    A version without features has nothing to compare with: its empty answer stands.
    """
    rows = list(Feature.objects.filter(publication=area.current_id).values_list("kind", "attributes"))
    if not rows:
        return
    classes = sorted(set(FEATURE_CLASSES) | {name for name, _ in rows})
    if kind and kind not in classes:
        raise UnknownFilter("class", f"There is no feature class '{kind}'; the classes are {', '.join(classes)}.")
    names = sorted({name for _, attributes in rows for name in attributes})
    unknown = ", ".join(dict.fromkeys(f"'{c.name}'" for c in conditions if c.name not in names))
    if unknown:
        known = f"the attributes are {', '.join(names)}" if names else "its features have no attributes"
        raise UnknownFilter("where", f"No feature of this area has the attribute {unknown}; {known}.")


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)
