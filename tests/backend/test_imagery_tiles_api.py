"""The area API describes the orthophoto's XYZ tiles as a URL template the viewer can fill in."""

import json

import pytest

from backend.areas.models import Area
from backend.areas.publish import publish

pytestmark = pytest.mark.django_db

TILE = "imagery/ortho/19/267785/191460.webp"
ORTHO = {"path": "imagery/ortho.png", "rectangle_wgs84": [3.87, 43.59, 3.88, 43.6]}
TILES = {
    "template": "imagery/ortho/{z}/{x}/{y}.webp",
    "minzoom": 17,
    "maxzoom": 19,
    "bounds_wgs84": ORTHO["rectangle_wgs84"],
}


def _area(user, ortho: dict) -> Area:
    area = Area.objects.create(name="Tiles", owner=user, status=Area.Status.PROCESSING)
    staging = area.folder / ".staging" / "job-1"
    for relative in ("imagery/ortho.png", TILE):
        (staging / relative).parent.mkdir(parents=True, exist_ok=True)
        (staging / relative).write_bytes(b"RIFF" + b"\x00" * 100)
    manifest = {
        "crs": "EPSG:2154",
        "bbox_wgs84": ORTHO["rectangle_wgs84"],
        "layers": {},
        "ground_height_m": 20.0,
        "vectors": {},
        "imagery": {"ortho": ortho},
    }
    (staging / "manifest.json").write_text(json.dumps(manifest))
    publish(area, staging)
    area.refresh_from_db()
    return area


def test_tiles_url_is_a_template_whose_tiles_are_served(web, user):
    area = _area(user, ORTHO | {"tiles": TILES})
    imagery = web.get(f"/api/areas/{area.pk}/").json()["imagery"]
    assert imagery["tiles_url"] == f"/areas/{area.pk}/data/1/imagery/ortho/{{z}}/{{x}}/{{y}}.webp"
    assert (imagery["minzoom"], imagery["maxzoom"]) == (17, 19)
    assert imagery["tile_size"] == 256  # a version from before 512 px tiles: its manifest does not say
    assert imagery["tiles_rectangle"] == TILES["bounds_wgs84"]
    assert imagery["url"] == f"/areas/{area.pk}/data/1/imagery/ortho.png"
    response = web.get(imagery["tiles_url"].format(z=19, x=267785, y=191460))
    assert response.status_code == 200 and response["Content-Type"] == "image/webp"


def test_a_version_without_tiles_keeps_the_single_image(web, user):
    imagery = web.get(f"/api/areas/{_area(user, ORTHO).pk}/").json()["imagery"]
    assert set(imagery) == {"url", "rectangle", "source"} and imagery["source"] == "orthophoto"  # an old version


def test_the_tile_size_the_manifest_gives_is_passed_on(web, user):
    area = _area(user, ORTHO | {"tiles": TILES | {"tile_size": 512}})
    assert web.get(f"/api/areas/{area.pk}/").json()["imagery"]["tile_size"] == 512
