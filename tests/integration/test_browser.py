"""Headless Chromium against the live app: the 3D viewer renders offline, the job page streams progress."""

import re
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageFilter, ImageStat
from playwright.sync_api import Browser, Page

from devtools.chromium import wait_until
from tests.conftest import ROOT, sparse_lidar
from tests.integration.conftest import upload

pytestmark = [pytest.mark.integration, pytest.mark.browser]

ARTIFACTS = ROOT / "tests" / "_artifacts"


class Watched:
    """A page with its console errors, every URL it (and its workers) requested, and any that left the machine."""

    def __init__(self, page: Page, origin: str) -> None:
        self.page = page
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.requested: list[str] = []
        page.on("request", lambda r: self.requested.append(r.url))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("response", lambda r: self.errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on(
            "request", lambda r: None if r.url.startswith((origin, "data:", "blob:")) else self.outside.append(r.url)
        )


def _watch(browser: Browser, stack) -> Watched:
    """A page in a browser context logged in as the test user (the session cookie of ``stack.session``)."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    context.add_cookies([{"name": "sessionid", "value": stack.session.cookies["sessionid"], "url": stack.url}])
    return Watched(context.new_page(), stack.url)


def test_viewer_renders_the_area_offline(browser, stack, town):
    watched = _watch(browser, stack)
    watched.page.goto(f"{stack.url}/areas/{town['id']}/view/")
    watched.page.wait_for_selector('#status[data-state="ready"]', timeout=180_000)
    _assert_buildings_are_drawn(watched.page)
    legend = watched.page.locator("#panel").inner_text()
    assert "Building (" in legend and "Bridge" not in legend  # only the classes this area has, with counts
    ARTIFACTS.mkdir(exist_ok=True)
    shot = watched.page.screenshot(path=str(ARTIFACTS / "viewer.png"))
    canvas = Image.open(BytesIO(watched.page.locator("#viewer canvas").first.screenshot())).convert("RGB")
    assert max(ImageStat.Stat(canvas).stddev) > 10, "the 3D canvas is blank"
    assert shot
    assert watched.errors == []
    assert watched.outside == [], "the viewer must work offline"
    # No star SkyBox nor Moon (createViewer.js: skyBox false), and Cesium's workers come bundled, one file
    # each (frontend/build.mjs), not as Cesium's shared chunks.
    assert not [u for u in watched.requested if "/SkyBox/" in u or "moon" in u.lower()]
    workers = [u for u in watched.requested if "/static/cesium/" in u and "/Workers/" in u]
    assert any(u.endswith("/createVerticesFromHeightmap.js") for u in workers), "the globe's tiles use it"
    assert not [u for u in workers if "/chunk-" in u]
    watched.page.close()


def canvas_picture(page: Page, mode: str = "L", left_of_panel: bool = False) -> Image.Image:
    """The viewer's canvas (or its part left of the panel, whose own changes must not count) as ``mode``.

    Taken once the globe's imagery and the tilesets have loaded what the view needs (after a fixed wait the
    imagery could still refine between two pictures on a loaded machine and fail a comparison), and once a
    frame asked for after that has been drawn: a frame, not a fixed second, whatever the machine's speed.
    """
    page.evaluate("rs3d.rendered()")  # the change just made reaches the scene and asks for its tiles
    wait_until(page, "() => window.rs3d.settled()", timeout_s=60)
    page.evaluate("rs3d.rendered()")
    canvas = page.locator("#viewer canvas").first
    if not left_of_panel:
        return Image.open(BytesIO(canvas.screenshot())).convert(mode)
    box, panel = canvas.bounding_box(), page.locator("#panel").bounding_box()
    clip = {**box, "width": panel["x"] - box["x"] - 4}
    return Image.open(BytesIO(page.screenshot(clip=clip))).convert(mode)


def _rgb(page: Page) -> Image.Image:
    page.wait_for_timeout(500)
    return Image.open(BytesIO(page.locator("#viewer canvas").first.screenshot())).convert("RGB")


def _assert_buildings_are_drawn(page: Page) -> None:
    """With the point cloud hidden, toggling the LoD1 layer must change the picture."""
    cloud = page.locator('[data-layer="pointcloud"] input[type=checkbox]').first
    buildings = page.locator('[data-layer="buildings"] input[type=checkbox]').first
    cloud.uncheck()
    with_buildings = canvas_picture(page)
    buildings.uncheck()
    without = canvas_picture(page)
    buildings.check()
    cloud.check()
    changed = ImageStat.Stat(ImageChops.difference(with_buildings, without)).mean[0]
    assert changed > 1.0, "the LoD1 buildings layer draws nothing"


def test_job_page_shows_live_progress_then_the_link(browser, stack, scene):
    watched = _watch(browser, stack)
    body = upload(stack, scene, "Progress town")
    watched.page.goto(f"{stack.url}/jobs/{body['job']['id']}/")
    watched.page.wait_for_selector('#job[data-status="succeeded"]', timeout=300_000)
    link = watched.page.locator("a.open-viewer")
    assert link.is_visible() and link.get_attribute("href") == f"/areas/{body['id']}/view/"
    assert watched.page.locator("ol.log li").count() >= 10
    ids = watched.page.eval_on_selector_all("ol.log li", "items => items.map((li) => li.dataset.eventId)")
    assert None not in ids and len(ids) == len(set(ids)), "each progress event is listed once"
    watched.page.reload()
    watched.page.wait_for_selector('#job[data-status="succeeded"]')
    watched.page.wait_for_timeout(1500)  # let the socket replay the events it already rendered
    assert watched.page.locator("ol.log li").count() == len(ids)
    assert watched.page.locator("progress").get_attribute("value") in ("1", "1.0")
    assert not watched.page.locator(".cancel-job").is_visible() and not watched.page.locator(".retry-job").is_visible()
    assert watched.errors == [] and watched.outside == []
    Path(ARTIFACTS).mkdir(exist_ok=True)
    watched.page.screenshot(path=str(ARTIFACTS / "job.png"))
    watched.page.close()


def test_job_page_shows_why_a_job_failed(browser, stack, scene, tmp_path):
    lidar = sparse_lidar(scene["dsm"], tmp_path / "sparse.las")
    with scene["ortho"].open("rb") as ortho, lidar.open("rb") as points:
        files = {"ortho": ortho, "lidar": points}
        body = stack.session.post(f"{stack.url}/api/areas/", data={"name": "Sparse LiDAR"}, files=files, timeout=120)
        body = body.json()
    watched = _watch(browser, stack)
    watched.page.goto(f"{stack.url}/jobs/{body['job']['id']}/")
    watched.page.wait_for_selector('#job[data-status="failed"]', timeout=300_000)
    error = watched.page.locator("p.error")
    assert error.is_visible()
    assert "too sparse" in error.inner_text()
    assert not watched.page.locator("a.open-viewer").is_visible()
    # The owner may run it again: Cancel went away and Retry appeared as the failure arrived live.
    assert not watched.page.locator(".cancel-job").is_visible()
    with watched.page.expect_navigation():
        watched.page.locator(".retry-job button").click()
    new_job = re.search(r"/jobs/(\d+)/$", watched.page.url)
    assert new_job and int(new_job.group(1)) != body["job"]["id"], "Retry opens the new job's page"
    assert watched.page.locator("#job").get_attribute("data-status") in ("queued", "running", "failed")
    watched.page.close()


def _building_pixels(page: Page) -> list[tuple[int, int]]:
    """Canvas pixels well inside drawn buildings: where hiding the LoD1 layer changes the picture most."""
    buildings = page.locator('[data-layer="buildings"] input[type=checkbox]').first
    with_buildings = canvas_picture(page)
    buildings.uncheck()
    without = canvas_picture(page)
    buildings.check()
    page.wait_for_timeout(1000)
    changed = ImageChops.difference(with_buildings, without).point(lambda v: 255 if v > 20 else 0)
    inside = changed.filter(ImageFilter.MinFilter(9))  # drop edges and speckles
    width, height = inside.size
    pixels = inside.load()
    return [(x, y) for y in range(0, height, 6) for x in range(0, width, 6) if pixels[x, y]]


def uncovered(page: Page, box: dict, pixels: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The canvas pixels (relative to its ``box``) that no panel or control covers: a click there hits the scene."""
    on_canvas = page.evaluate(
        "points => points.map(([x, y]) => document.elementFromPoint(x, y)?.tagName === 'CANVAS')",
        [[box["x"] + x, box["y"] + y] for x, y in pixels],
    )
    return [point for point, free in zip(pixels, on_canvas, strict=True) if free]


def _click_until_building(page: Page) -> str:
    """Click candidate building pixels (spread over the canvas) until the inspector shows a building."""
    box = page.locator("#viewer canvas").first.bounding_box()
    assert box is not None
    candidates = _building_pixels(page)
    assert candidates, "the LoD1 buildings layer draws nothing"
    candidates = uncovered(page, box, candidates)
    step = max(1, len(candidates) // 15)
    for x, y in candidates[::step]:
        page.mouse.click(box["x"] + x, box["y"] + y)
        found = page.locator('#inspector[data-kind="building"]')
        if found.count():
            return found.get_attribute("data-feature-id") or ""
    raise AssertionError("no click on a drawn building opened the inspector")


#: The viewer's hover colour (frontend/src/inspect/inspect.js HOVER); Cesium multiplies a feature's colour by it.
HOVER_RGB = (0x90, 0xCA, 0xF9)


def _hover_lights_a_building_up(page: Page) -> None:
    """The building under the mouse takes the hover colour and gets it back when the mouse leaves."""
    box = page.locator("#viewer canvas").first.bounding_box()
    assert box is not None
    candidates = uncovered(page, box, _building_pixels(page))
    picture = _rgb(page)
    # The reddest free building pixel (a sunlit roof, not a wall in shade), so the multiplied red drops clearly.
    x, y = max(candidates, key=lambda point: picture.getpixel(point)[0])
    before = picture.getpixel((x, y))
    assert before[0] >= 80, f"no building pixel bright enough to show the hover colour: {before}"
    page.mouse.move(box["x"] + x, box["y"] + y)
    page.wait_for_selector('#viewer[data-hover^="building:"]', timeout=10_000)
    lit = _rgb(page).getpixel((x, y))
    expected = tuple(round(b * h / 255) for b, h in zip(before, HOVER_RGB, strict=True))
    assert all(abs(a - e) <= 10 for a, e in zip(lit, expected, strict=True)), (before, lit, expected)
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 8)  # empty space above the area
    wait_until(page, "() => !document.querySelector('#viewer').dataset.hover", timeout_s=10)
    after = _rgb(page).getpixel((x, y))
    assert all(abs(a - b) <= 12 for a, b in zip(before, after, strict=True)), (before, after)


def _cell(page: Page, name: str) -> str:
    return page.locator(f'#inspector tr[data-name="{name}"] td').inner_text()


def test_clicking_a_building_shows_its_database_attributes(browser, stack, town):
    area = town
    watched = _watch(browser, stack)
    page = watched.page
    page.goto(f"{stack.url}/areas/{area['id']}/view/")
    page.wait_for_selector('#status[data-state="ready"]', timeout=180_000)
    page.locator('[data-layer="pointcloud"] input[type=checkbox]').first.uncheck()

    _hover_lights_a_building_up(page)
    feature_id = _click_until_building(page)
    assert feature_id.isdigit()
    rows = stack.session.get(f"{stack.url}{area['features_url']}", params={"class": "building"}, timeout=30).json()
    matches = [f for f in rows["features"] if f["properties"]["building_id"] == int(feature_id)]
    assert len(matches) == 1, f"no database building with building_id {feature_id}"
    expected = matches[0]["properties"]
    height, unit = _cell(page, "height_m").split()
    assert unit == "m" and abs(float(height) - expected["height_m"]) <= 0.051
    assert _cell(page, "floors") == f"{expected['floors']} floor{'' if expected['floors'] == 1 else 's'}"
    assert _cell(page, "building_type").lower() == expected["building_type"].replace("_", " ").lower()
    assert _cell(page, "roof_type").lower() == expected["roof_type"].replace("_", " ").lower()

    # Zoom to: the camera comes down to the building and keeps it in view.
    camera = page.evaluate("rs3d.camera()")
    page.click('#inspector [data-action="zoom-to"]')
    # The flight takes 1.2 s of clock time, but a loaded CI machine may render one frame a second.
    wait_until(page, f"() => rs3d.camera().height < {0.8 * camera['height']}", timeout_s=30)
    geometry = matches[0]["geometry"]
    ring = (geometry["coordinates"][0] if geometry["type"] == "Polygon" else geometry["coordinates"][0][0])[:-1]
    lon, lat = (sum(c[i] for c in ring) / len(ring) for i in (0, 1))
    # The viewer lowers the 3D layers so the ground meets the orthophoto on the ellipsoid (height 0).
    xy = page.evaluate(f"rs3d.toWindow({lon}, {lat}, {expected['height_m'] / 2})")
    box = page.locator("#viewer canvas").first.bounding_box()
    assert xy and 0 <= xy[0] <= box["width"] and 0 <= xy[1] <= box["height"]

    link = page.locator("#inspector a", has_text="Download as GeoJSON")
    link.wait_for(timeout=10_000)
    download = page.evaluate("href => fetch(href).then((r) => r.json())", link.get_attribute("href"))
    assert download["type"] == "Feature" and download["properties"]["building_id"] == int(feature_id)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "inspect.png"))

    # Empty space: where "Zoom to" left the camera the top of the canvas may show a tree or a roof (the tallest
    # ones stand near the area's edge), so look 20 degrees up through the link's view first: sky up there.
    page.evaluate(
        """() => {
          const [view, ...rest] = location.hash.slice(1).split("&");
          const values = view.split("=")[1].split(",");
          values[4] = "20.000";
          location.hash = ["view=" + values.join(","), ...rest].join("&");
        }"""
    )
    wait_until(page, "() => rs3d.camera().pitch > 10", timeout_s=30)
    page.evaluate("rs3d.rendered()")
    box = page.locator("#viewer canvas").first.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + 8)
    assert page.locator("#inspector").count() == 0
    assert watched.errors == []
    assert watched.outside == []
    page.close()
