"""The area list: a thumbnail and the sizes of each ready area, a placeholder for the others, and the same
404s for a thumbnail as for the area's other files."""

import io
import json
import re

import pytest
from django.contrib.gis.geos import Polygon
from django.test import Client
from PIL import Image

from backend.areas.models import Area, Publication
from backend.viewer import previews

pytestmark = pytest.mark.django_db

#: 200 × 100 cells of 0.5 m: 5 000 m² = 0.50 ha.
MANIFEST = {
    "imagery": {"ortho": {"path": "imagery/ortho.png", "rectangle_wgs84": [3.0, 43.0, 3.003, 43.001]}},
    "grid": {"resolution_m": 0.5, "width": 200, "height": 100},
}


def ready_area(owner, visibility=Area.Visibility.PRIVATE, name="Old town") -> tuple[Area, int]:
    """A ready area whose version holds an orthophoto preview, a tileset and its gzip copy; and its data bytes."""
    area = Area.objects.create(name=name, owner=owner, visibility=visibility, status=Area.Status.READY)
    publication = Publication.objects.create(
        area=area, version=1, manifest=MANIFEST, crs="EPSG:2154", bbox=Polygon.from_bbox((3.0, 43.0, 3.003, 43.001))
    )
    area.current = publication
    area.save()
    ortho = publication.folder / "imagery" / "ortho.png"
    ortho.parent.mkdir(parents=True)
    Image.new("RGBA", (400, 300), (40, 160, 60, 255)).save(ortho)
    tileset = publication.folder / "tiles" / "buildings" / "tileset.json"
    tileset.parent.mkdir(parents=True)
    tileset.write_bytes(b'{"asset": {"version": "1.1"}, "pad": "' + b"x" * 1_500_000 + b'"}')
    (tileset.parent / "tileset.json.gz").write_bytes(b"\x1f\x8b" + b"z" * 1000)  # a delivery copy: not counted
    return area, ortho.stat().st_size + tileset.stat().st_size


def row(html: str, area: Area) -> str:
    """The list's table row of ``area``."""
    match = re.search(rf'<tr data-area-id="{area.pk}">(.*?)</tr>', html, re.S)
    assert match, f"area {area.pk} is not listed"
    return match[1]


def test_the_list_shows_a_thumbnail_and_the_sizes_of_a_ready_area(web, user):
    area, data_bytes = ready_area(user)
    html = web.get("/").content.decode()
    cells = row(html, area)
    url = f"/areas/{area.pk}/thumbnail/1.webp"
    assert f'<img class="thumb" src="{url}"' in cells
    assert "0.50 ha" in cells
    assert f"{data_bytes / 1e6:.1f} MB" in cells and f'data-value="{data_bytes}"' in cells
    cached = json.loads((previews.cache_folder(area.current) / "sizes.json").read_text())
    assert cached == {"area_m2": 5000.0, "data_bytes": data_bytes}

    response = web.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/webp"
    assert "private" in response["Cache-Control"]
    picture = Image.open(io.BytesIO(b"".join(response.streaming_content)))
    assert picture.format == "WEBP" and picture.size == (160, 120)
    made = previews.cache_folder(area.current) / "thumbnail.webp"
    assert made.is_file() and not (area.current.folder / "thumbnail.webp").exists()
    before = made.stat().st_mtime_ns
    assert web.get(url).status_code == 200 and made.stat().st_mtime_ns == before, "made once, then cached"
    assert web.get(f"/areas/{area.pk}/thumbnail/2.webp").status_code == 404  # no such version


def test_sizes_are_computed_once_and_in_km2_for_large_areas(user):
    area, data_bytes = ready_area(user)
    publication = area.current
    publication.manifest = {**MANIFEST, "grid": {"resolution_m": 1.0, "width": 2000, "height": 1500}}
    publication.save()
    first = previews.sizes(publication)
    assert first.area_text == "3.00 km²" and first.data_bytes == data_bytes
    (publication.folder / "more.bin").write_bytes(b"0" * 10)
    assert previews.sizes(publication) == first, "read back from the cache, not summed again"


def test_a_thumbnail_is_404_for_an_area_the_user_may_not_see(web, user, django_user_model):
    bob = django_user_model.objects.create_user("bob", password="bob-pass-1234")
    secret, _ = ready_area(bob, name="Bob's private block")
    url = f"/areas/{secret.pk}/thumbnail/1.webp"
    assert web.get(url).status_code == 404
    assert Client().get(url).status_code == 404  # anonymous
    assert f'data-area-id="{secret.pk}"' not in web.get("/").content.decode()
    assert not previews.cache_folder(secret.current).exists(), "nothing is made for a refused request"
    public, _ = ready_area(bob, visibility=Area.Visibility.PUBLIC, name="Bob's public block")
    response = Client().get(f"/areas/{public.pk}/thumbnail/1.webp")
    assert response.status_code == 200 and "public" in response["Cache-Control"]


def test_an_area_without_a_version_shows_a_placeholder(web, user):
    pending = Area.objects.create(name="Still running", owner=user, status=Area.Status.PROCESSING)
    ready, _ = ready_area(user)
    html = web.get("/").content.decode()
    cells = row(html, pending)
    assert 'class="thumb thumb-empty"' in cells and "<img" not in cells and "thumbnail" not in cells
    assert "<img" in row(html, ready)
