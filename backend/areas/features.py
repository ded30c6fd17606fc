"""Query an area's features as GeoJSON: by class, box, point and attribute conditions.

A class or attribute name that this version does not have is refused (:class:`UnknownFilter`, naming the
ones it has) rather than answered with an empty collection, so that a typo such as ``class=bulding`` is
not mistaken for "no buildings here".
"""

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.gis.db.models.functions import AsGeoJSON
from django.contrib.gis.geos import GEOSGeometry
from django.db.models import Count, FloatField, Max
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast

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
    classes: Sequence[str] = (),
    bbox: GEOSGeometry | None = None,
    point: GEOSGeometry | None = None,
    conditions: list[Condition] | None = None,
) -> str:
    """The current version's features, filtered, as GeoJSON text (a FeatureCollection).

    Filters, all optional and combined: one or more classes; intersecting a WGS 84 box; containing a WGS 84
    point; meeting every attribute condition (a feature without the attribute does not meet it).
    The database writes each geometry's GeoJSON (AsGeoJSON, 8 decimals: about 1 mm) and the text is joined
    here: parsing it into dicts only for the renderer to write it back took most of a request's time.

    Raises:
        UnknownFilter: a class found nothing and is not one this version has, or nothing matched and an
            attribute name is not one it has (checked only then: a query that finds features costs nothing
            more).
    """
    features = Feature.objects.filter(publication=area.current_id) if area.current_id else Feature.objects.none()
    if classes:
        features = features.filter(kind__in=list(classes))
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
    rows = list(
        features.order_by("pk")
        .annotate(geojson=AsGeoJSON("geometry"))
        .values_list("pk", "kind", "attributes", "geojson")
    )
    items = ",".join(
        f'{{"type":"Feature","id":{pk},"geometry":{geometry},"properties":{_json({"class": name, **attributes})}}}'
        for pk, name, attributes, geometry in rows
    )
    found = {name for _, name, _, _ in rows}
    missing = [name for name in classes if name not in found]
    if missing or (not items and conditions):
        _check_names(area, missing, (conditions or []) if not items else [])
    return '{"type":"FeatureCollection","features":[' + items + "]}"


def class_summary(area: Area) -> dict[str, dict[str, float]]:
    """Per class of the current version: its feature ``count``, and ``max_height_m`` where it has heights.

    One grouped query: the viewer's panel and slice need these numbers before (or without) loading the
    features themselves.
    """
    if not area.current_id:
        return {}
    rows = (
        Feature.objects.filter(publication=area.current_id)
        .values("kind")
        .annotate(count=Count("pk"), top=Max(Cast(KeyTextTransform("height_m", "attributes"), FloatField())))
        .order_by("kind")
    )
    summary: dict[str, dict[str, float]] = {}
    for row in rows:
        summary[row["kind"]] = {"count": row["count"]}
        if row["top"] is not None:
            summary[row["kind"]]["max_height_m"] = round(float(row["top"]), 2)
    return summary


def _check_names(area: Area, classes: Sequence[str], conditions: list[Condition]) -> None:
    """Refuse class or attribute names the area's current version does not have, naming those it has.

    A version without features has nothing to compare with: its empty answer stands.
    """
    rows = list(Feature.objects.filter(publication=area.current_id).values_list("kind", "attributes"))
    if not rows:
        return
    known_classes = sorted(set(FEATURE_CLASSES) | {name for name, _ in rows})
    if unknown_classes := ", ".join(f"'{name}'" for name in classes if name not in known_classes):
        raise UnknownFilter(
            "class", f"There is no feature class {unknown_classes}; the classes are {', '.join(known_classes)}."
        )
    names = sorted({name for _, attributes in rows for name in attributes})
    unknown = ", ".join(dict.fromkeys(f"'{c.name}'" for c in conditions if c.name not in names))
    if unknown:
        known = f"the attributes are {', '.join(names)}" if names else "its features have no attributes"
        raise UnknownFilter("where", f"No feature of this area has the attribute {unknown}; {known}.")


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)
