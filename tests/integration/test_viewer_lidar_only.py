"""Headless Chromium: an area made from a LiDAR file alone drapes the orthophoto made from the points' colours."""

from io import BytesIO

import pytest
from PIL import Image, ImageStat

from tests.conftest import generated_city
from tests.integration.test_browser import ARTIFACTS, _assert_buildings_are_drawn, _watch

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def test_a_lidar_only_area_shows_its_colours_as_imagery_and_its_buildings(browser, stack, tmp_path):
    city = generated_city(tmp_path, size_m=120, seed=4, lidar_density=4)
    with city["lidar"].open("rb") as points:
        response = stack.session.post(
            f"{stack.url}/api/areas/", data={"name": "Points town"}, files={"lidar": points}, timeout=120
        )
    assert response.status_code == 201, response.text
    body = response.json()
    assert stack.wait_for_job(body["job"]["id"])["status"] == "succeeded"
    watched = _watch(browser, stack)
    tiles: list[int] = []
    watched.page.on("response", lambda r: tiles.append(r.status) if "/imagery/ortho/" in r.url else None)
    watched.page.goto(f"{stack.url}/areas/{body['id']}/view/")
    watched.page.wait_for_selector('#status[data-state="ready"]', timeout=180_000)
    note = watched.page.locator('#panel [data-imagery-source="lidar colours"]')
    assert "LiDAR points' colours" in note.inner_text()
    _assert_buildings_are_drawn(watched.page)
    assert tiles and set(tiles) == {200}, "the orthophoto made from the points did not stream"
    ARTIFACTS.mkdir(exist_ok=True)
    watched.page.screenshot(path=str(ARTIFACTS / "viewer-lidar-only.png"))
    canvas = Image.open(BytesIO(watched.page.locator("#viewer canvas").first.screenshot())).convert("RGB")
    assert max(ImageStat.Stat(canvas).stddev) > 10, "the 3D canvas is blank"
    assert watched.errors == [] and watched.outside == []
    watched.page.close()
