"""Several classes in one features request (``class=road,water``) and the counts per class in the area API.

The viewer's first page asks for the classes it shows in one request, and takes each class's count (the
panel's labels) and the tallest building (the slice's range) from the area, without loading the rest.
"""

import json

import pytest

from backend.areas.models import Area
from backend.areas.publish import publish
from tests.backend.conftest import fake_run

pytestmark = pytest.mark.django_db


def _square(west: float, properties: dict) -> dict:
    ring = [[west, 43.004], [west + 0.0002, 43.004], [west + 0.0002, 43.0042], [west, 43.0042], [west, 43.004]]
    return {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]}, "properties": properties}


def _features() -> list[dict]:
    """Three buildings (5, 12.5 and 31.25 m), two roads, one water body and one land-use block."""
    buildings = [
        _square(3.001 * (1 + i / 1000), {"class": "building", "height_m": h}) for i, h in enumerate([5, 12.5, 31.25])
    ]
    roads = [
        _square(3.002 + i / 1000, {"class": "road", "grade": grade}) for i, grade in enumerate(["local", "primary"])
    ]
    water = [_square(3.008, {"class": "water"})]
    land_use = [_square(3.009, {"class": "land_use", "land_use": "residential"})]
    return buildings + roads + water + land_use


@pytest.fixture
def area(user) -> Area:
    area = Area.objects.create(name="Classes", owner=user, status=Area.Status.PROCESSING)
    staging = fake_run(area.folder / ".staging" / "job-1")
    (staging / "vectors" / "features.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": _features()})
    )
    manifest = json.loads((staging / "manifest.json").read_text())
    ortho = {"path": "imagery/ortho.png", "rectangle_wgs84": manifest["bbox_wgs84"]}
    manifest |= {"ground_height_m": 20.0, "imagery": {"ortho": ortho}}
    (staging / "manifest.json").write_text(json.dumps(manifest))
    publish(area, staging)
    area.refresh_from_db()
    return area


def _classes(client, area: Area, query: str) -> list[str]:
    response = client.get(f"/api/areas/{area.pk}/features/?{query}")
    assert response.status_code == 200, response.content
    return [f["properties"]["class"] for f in response.json()["features"]]


def test_several_classes_come_in_one_answer(api, area):
    assert sorted(_classes(api, area, "class=road,water")) == ["road", "road", "water"]
    assert _classes(api, area, "class=water,road") == _classes(api, area, "class=road,water")
    assert sorted(_classes(api, area, "class=road, water,road")) == ["road", "road", "water"]
    assert _classes(api, area, "class=water") == ["water"]


def test_a_malformed_or_unknown_class_list_answers_400_naming_the_parameter(api, area):
    for query in ("class=road,", "class=,water", "class=road,,water"):
        response = api.get(f"/api/areas/{area.pk}/features/?{query}")
        assert response.status_code == 400 and "class" in response.json(), query
    response = api.get(f"/api/areas/{area.pk}/features/?class=road,bulding")
    assert response.status_code == 400
    assert "'bulding'" in response.json()["class"][0] and "building" in response.json()["class"][0]
    # A known class the area lacks is not a typo: the others come.
    Area.objects.get(pk=area.pk).current.features.filter(kind="water").delete()
    assert _classes(api, area, "class=road,water") == ["road", "road"]


def test_the_area_gives_each_class_its_count_and_the_tallest_building(api, area):
    classes = api.get(f"/api/areas/{area.pk}/").json()["feature_classes"]
    assert classes == {
        "building": {"count": 3, "max_height_m": 31.25},
        "land_use": {"count": 1},
        "road": {"count": 2},
        "water": {"count": 1},
    }


def test_an_area_without_a_version_has_no_classes(api, user):
    area = Area.objects.create(name="Empty", owner=user, status=Area.Status.PROCESSING)
    assert api.get(f"/api/areas/{area.pk}/").json()["feature_classes"] == {}
