"""Headless Chromium against the live app: the viewer's filter, slice, measure and share tools.

Each test checks an outcome against the database rows of one reconstructed area: which buildings the
active style shows (``window.rs3d``, computed from the loaded tiles and the style), what the canvas
draws, what a click-measured distance is, and what a shared URL restores.
"""

import math
import re
from functools import partial
from urllib.parse import quote

import pytest
from PIL import Image, ImageChops, ImageStat
from playwright.sync_api import Browser, Page

from devtools.chromium import wait_until
from tests.conftest import ROOT
from tests.integration.conftest import Stack
from tests.integration.test_browser import Watched, canvas_picture

pytestmark = [pytest.mark.integration, pytest.mark.browser]

ARTIFACTS = ROOT / "tests" / "_artifacts"
VIEWPORT = {"width": 1366, "height": 768}
MATCH_COLOUR, OTHER_COLOUR = "#ff7043", "#c9ced6"  # frontend/src/filter/filterModel.js
TYPE_COLOURS = {
    "house": "#f6c85f",
    "apartment block": "#e15759",
    "commercial/industrial hall": "#4e79a7",
    "high-rise": "#b07aa1",
    "annex": "#9c9c9c",
}
#: The tiles' own colours per type (reconstruction/tiles3d/buildings.py), the layer panel's swatches.
TILE_TYPE_COLOURS = {
    "house": "#ecd6b6",
    "apartment block": "#cca082",
    "commercial/industrial hall": "#a0aab8",
    "high-rise": "#8ca4cc",
    "annex": "#c8c6bc",
}


@pytest.fixture(scope="module")
def area(town: dict) -> dict:
    """The reconstructed town with its API description and its database buildings (shared, read only)."""
    return town


def _open(browser: Browser, stack: Stack, area: dict, hash_: str = "", modules: bool = False) -> Watched:
    """The area's viewer in a browser logged in as the test user, once it reports ready.

    ``modules``: the test imports modules of ``frontend/src`` into the page (``/static/rs3d/...``), which import
    Cesium's whole build (``viewer/cesium.js``, as with RS3D_DEBUG), whose Knockout evaluates a string when it
    loads. The bundled viewer's Content-Security-Policy has no 'unsafe-eval' and refuses that, so such a page
    is opened with the policy bypassed; every other test sees the page under its policy.
    """
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True, bypass_csp=modules)
    context.add_cookies([{"name": c.name, "value": c.value or "", "url": stack.url} for c in stack.session.cookies])
    watched = Watched(context.new_page(), stack.url)
    watched.page.goto(f"{stack.url}/areas/{area['id']}/view/{hash_}")
    watched.page.wait_for_selector('#status[data-state="ready"]', timeout=180_000)
    return watched


def _close(watched: Watched) -> None:
    context = watched.page.context
    watched.page.close()
    context.close()


def _open_tool(page: Page, name: str) -> None:
    tool = page.locator(f'details[data-tool="{name}"]')
    if tool.get_attribute("open") is None:
        tool.locator("summary").click()


def _set_layer(page: Page, name: str, visible: bool) -> None:
    page.locator(f'[data-layer="{name}"] input[type=checkbox]').first.set_checked(visible)


def _apply_filter(page: Page, prop: str, operator: str, value: str, action: str) -> None:
    _open_tool(page, "filter")
    page.select_option('[data-field="property"] select', prop)
    page.select_option('[data-field="operator"] select', operator)
    if page.locator('[data-field="value"]').is_visible():
        page.fill('[data-field="value"] input', value)
    else:
        page.select_option('[data-field="enum-value"] select', value)
    page.select_option('[data-field="action"] select', action)
    page.click('[data-action="apply"]')
    page.wait_for_selector('.rs3d-results-summary[data-state="ready"]', timeout=30_000)


#: The canvas left of the panel, in grey levels.
_canvas = partial(canvas_picture, left_of_panel=True)


def _ids(buildings: list[dict], keep) -> list[int]:
    return sorted(b["properties"]["building_id"] for b in buildings if keep(b["properties"]))


def _most_common_type(buildings: list[dict]) -> tuple[str, list[int]]:
    """The most common building type, and the ids of the buildings of other types."""
    kinds = [b["properties"]["building_type"] for b in buildings]
    common = max(set(kinds), key=kinds.count)
    return common, _ids(buildings, lambda p: p["building_type"] != common)


def _threshold(buildings: list[dict]) -> float:
    """A height between two building heights near the middle: some buildings pass, some fail."""
    heights = sorted({b["properties"]["height_m"] for b in buildings})
    assert len(heights) >= 2, "the town needs buildings of different heights"
    middle = len(heights) // 2
    return round((heights[middle - 1] + heights[middle]) / 2, 2)


def test_filter_shows_exactly_the_matching_buildings(browser, stack, area):
    buildings = area["buildings"]
    everyone = _ids(buildings, lambda p: True)
    threshold = _threshold(buildings)
    tall = _ids(buildings, lambda p: p["height_m"] >= threshold)
    assert 0 < len(tall) < len(everyone)
    watched = _open(browser, stack, area)
    page = watched.page
    assert sorted(set(page.evaluate("rs3d.loadedBuildingIds()"))) == everyone, "every building should be loaded"
    assert sorted(set(page.evaluate("rs3d.visibleBuildingIds()"))) == everyone

    assert page.locator('details[data-tool="filter"]').get_attribute("data-schema") == "tiles"
    offered = page.eval_on_selector_all('[data-field="property"] option', "os => os.map((o) => o.value)")
    schema = {"height_m", "eave_m", "ridge_m", "floors", "area_m2", "ground_m", "building_type", "roof_type"}
    schema.add("class_confidence")  # -1 (no data) where heights were measured
    assert set(offered) == schema

    _apply_filter(page, "height_m", "ge", str(threshold), "hide")
    assert sorted(set(page.evaluate("rs3d.visibleBuildingIds()"))) == tall
    listed = page.eval_on_selector_all(".rs3d-results button", "bs => bs.map((b) => Number(b.dataset.buildingId))")
    assert listed == tall
    summary = page.locator(".rs3d-results-summary").inner_text()
    assert f"{len(tall)} of {len(everyone)} buildings match" in summary and f"{threshold} m" in summary

    _apply_filter(page, "height_m", "ge", str(threshold), "colour")
    states = page.evaluate("rs3d.buildingStates()")
    assert all(s["show"] for s in states)
    assert {s["id"] for s in states if s["colour"] == MATCH_COLOUR} == set(tall)
    assert {s["id"] for s in states if s["colour"] == OTHER_COLOUR} == set(everyone) - set(tall)
    assert "other buildings" in page.locator(".rs3d-filter-legend").inner_text().lower()

    kinds = [b["properties"]["building_type"] for b in buildings]
    common = max(set(kinds), key=kinds.count)
    _apply_filter(page, "building_type", "is", common, "hide")
    of_type = _ids(buildings, lambda p: p["building_type"] == common)
    assert sorted(set(page.evaluate("rs3d.visibleBuildingIds()"))) == of_type

    page.click('[data-action="preset-type"]')
    legend = page.locator(".rs3d-filter-legend").inner_text().lower()
    assert "building type" in legend and common in legend
    kinds_by_id = {b["properties"]["building_id"]: b["properties"]["building_type"] for b in buildings}
    for state in page.evaluate("rs3d.buildingStates()"):
        assert state["colour"] == TYPE_COLOURS[kinds_by_id[state["id"]]]
    page.click('[data-action="clear"]')
    assert sorted(set(page.evaluate("rs3d.visibleBuildingIds()"))) == everyone
    assert watched.errors == [] and watched.outside == []
    _close(watched)


def test_clicking_a_result_flies_to_the_building(browser, stack, area):
    buildings = area["buildings"]
    threshold = _threshold(buildings)
    watched = _open(browser, stack, area)
    page = watched.page
    _apply_filter(page, "height_m", "ge", str(threshold), "colour")
    target = max(buildings, key=lambda b: b["properties"]["height_m"])
    ring = target["geometry"]["coordinates"][0]
    if target["geometry"]["type"] == "MultiPolygon":
        ring = ring[0]
    lon = sum(p[0] for p in ring[:-1]) / (len(ring) - 1)
    lat = sum(p[1] for p in ring[:-1]) / (len(ring) - 1)
    middle = target["properties"]["ground_m"] + area["height_offset_m"] + target["properties"]["height_m"] / 2
    box = page.locator("#viewer canvas").first.bounding_box()
    before = page.evaluate("rs3d.camera()")
    page.click(f'.rs3d-results button[data-building-id="{target["properties"]["building_id"]}"]')
    # The flight lasts 1 s of animation; software rendering in CI makes that several seconds of wall time.
    wait_until(
        page,
        """([lon, lat, h, w, ht]) => {
            const xy = rs3d.toWindow(lon, lat, h);
            return xy && Math.abs(xy[0] - w / 2) < w * 0.1 && Math.abs(xy[1] - ht / 2) < ht * 0.1;
        }""",
        arg=[lon, lat, middle, box["width"], box["height"]],
        timeout_s=20,
    )
    page.wait_for_timeout(2000)  # settle: the flight ends with the building in the middle
    after = page.evaluate("rs3d.camera()")
    assert after["height"] < before["height"] - 20, "the camera should come closer to the building"
    x, y = page.evaluate("([lon, lat, h]) => rs3d.toWindow(lon, lat, h)", [lon, lat, middle])
    assert abs(x - box["width"] / 2) < box["width"] * 0.05 and abs(y - box["height"] / 2) < box["height"] * 0.05
    assert page.locator(".rs3d-results button[aria-current]").get_attribute("data-building-id") == str(
        target["properties"]["building_id"]
    )
    assert watched.errors == [] and watched.outside == []
    _close(watched)


def test_slice_cuts_the_layers_at_the_chosen_height(browser, stack, area):
    watched = _open(browser, stack, area)
    page = watched.page
    _set_layer(page, "pointcloud", False)
    _set_layer(page, "trees", False)  # the cut would remove trees seen behind buildings too
    with_buildings = _canvas(page)
    _set_layer(page, "buildings", False)
    without_buildings = _canvas(page)
    _set_layer(page, "buildings", True)
    assert all(not p["enabled"] for p in page.evaluate("rs3d.slicePlanes()"))

    _open_tool(page, "slice")
    page.check('[data-field="slice-enabled"] input')
    page.fill('[data-field="slice-height"] input', "0.5")
    planes = page.evaluate("rs3d.slicePlanes()")
    assert len(planes) == 5  # one per 3D layer: point cloud, buildings, terrain, trees, roads
    assert all(p["enabled"] and p["distance"] == 0.5 and p["normal"] == [0, 0, -1] for p in planes)
    assert all(p["edgeWidth"] > 0 for p in planes)
    cut_low = _canvas(page)
    # Compare only where the buildings are drawn: the draped imagery may still refine elsewhere.
    buildings = ImageChops.difference(with_buildings, without_buildings).point(lambda v: 255 if v > 20 else 0)
    assert ImageStat.Stat(buildings).mean[0] > 255 * 0.005, "the LoD1 buildings layer draws nothing"

    def change(a: Image.Image, b: Image.Image) -> float:
        return ImageStat.Stat(ImageChops.difference(a, b), buildings).mean[0]

    full = change(with_buildings, without_buildings)
    assert change(cut_low, without_buildings) < full / 3, "a cut 0.5 m above ground should remove the buildings"

    page.fill('[data-field="slice-height"] input', "6")
    assert all(p["distance"] == 6 for p in page.evaluate("rs3d.slicePlanes()"))
    cut_high = _canvas(page)
    assert change(cut_high, cut_low) > full / 10, "raising the cut should bring back the lower walls"
    page.uncheck('[data-field="slice-enabled"] input')
    assert all(not p["enabled"] for p in page.evaluate("rs3d.slicePlanes()"))
    uncut = _canvas(page)
    assert change(uncut, with_buildings) < full / 3, "without the cut the buildings are whole again"
    assert watched.errors == [] and watched.outside == []
    _close(watched)


def _ecef(lon: float, lat: float, h: float) -> tuple[float, float, float]:
    a, f = 6378137.0, 1 / 298.257223563
    e2 = f * (2 - f)
    lam, phi = math.radians(lon), math.radians(lat)
    n = a / math.sqrt(1 - e2 * math.sin(phi) ** 2)
    return (
        (n + h) * math.cos(phi) * math.cos(lam),
        (n + h) * math.cos(phi) * math.sin(lam),
        (n * (1 - e2) + h) * math.sin(phi),
    )


def _click_at(page: Page, lon: float, lat: float, h: float) -> None:
    xy = page.evaluate("([lon, lat, h]) => rs3d.toWindow(lon, lat, h)", [lon, lat, h])
    assert xy is not None, "the target is not in view"
    box = page.locator("#viewer canvas").first.bounding_box()
    page.mouse.click(box["x"] + xy[0], box["y"] + xy[1])
    page.wait_for_timeout(300)


def _measured(page: Page) -> float:
    return float(page.locator(".rs3d-measure-result").get_attribute("data-value"))


def test_measure_distance_area_and_height_by_clicking(browser, stack, area):
    west, south, east, north = area["bbox_wgs84"]
    watched = _open(browser, stack, area)
    page = watched.page
    _set_layer(page, "pointcloud", False)
    _set_layer(page, "buildings", False)  # clicks land on the ground (the ellipsoid, height 0)
    _open_tool(page, "measure")

    a = (west + 0.3 * (east - west), south + 0.35 * (north - south), 0.0)
    b = (west + 0.7 * (east - west), south + 0.55 * (north - south), 0.0)
    _click_at(page, *a)
    _click_at(page, *b)
    expected = math.dist(_ecef(*a), _ecef(*b))
    assert abs(_measured(page) - expected) < max(0.5, 0.01 * expected), (_measured(page), expected)
    assert "Distance:" in page.locator(".rs3d-measure-result").inner_text()
    assert page.locator("#inspector").count() == 0, "measuring must not open the inspector"
    picked = page.evaluate("rs3d.measurement()")["points"]
    assert math.dist(picked[0], _ecef(*a)) < 1.0

    page.select_option('[data-field="measure-mode"] select', "area")
    corners = [(a[0], a[1]), (b[0], a[1]), (b[0], b[1]), (a[0], b[1])]
    for lon, lat in corners:
        _click_at(page, lon, lat, 0.0)
    width = math.dist(_ecef(a[0], a[1], 0), _ecef(b[0], a[1], 0))
    depth = math.dist(_ecef(a[0], a[1], 0), _ecef(a[0], b[1], 0))
    assert abs(_measured(page) - width * depth) < 0.02 * width * depth
    assert "m²" in page.locator(".rs3d-measure-result").inner_text()

    page.select_option('[data-field="measure-mode"] select', "height")
    largest = max(area["buildings"], key=lambda f: f["properties"]["area_m2"])
    ring = largest["geometry"]["coordinates"][0]
    if largest["geometry"]["type"] == "MultiPolygon":
        ring = ring[0]
    lon = sum(p[0] for p in ring[:-1]) / (len(ring) - 1)
    lat = sum(p[1] for p in ring[:-1]) / (len(ring) - 1)
    _click_at(page, lon, lat, 0.0)  # the ground under the building (buildings hidden)
    _set_layer(page, "buildings", True)
    roof = largest["properties"]["ground_m"] + area["height_offset_m"] + largest["properties"]["height_m"]
    _click_at(page, lon, lat, roof)
    assert abs(_measured(page) - roof) < 0.5, (_measured(page), roof)

    page.click('[data-action="measure-clear"]')
    assert page.locator(".rs3d-measure-result").inner_text() == ""
    assert watched.errors == [] and watched.outside == []
    _close(watched)


def _close_to(a: dict, b: dict) -> bool:
    def angle(x: float, y: float) -> float:
        return abs((x - y + 180) % 360 - 180)

    return (
        abs(a["lon"] - b["lon"]) < 1e-6
        and abs(a["lat"] - b["lat"]) < 1e-6
        and abs(a["height"] - b["height"]) < 0.05
        and all(angle(a[k], b[k]) < 0.01 for k in ("heading", "pitch", "roll"))
    )


def test_shared_url_restores_the_view_and_screenshot_downloads(browser, stack, area):
    buildings = area["buildings"]
    threshold = _threshold(buildings)
    tall = _ids(buildings, lambda p: p["height_m"] >= threshold)
    watched = _open(browser, stack, area)
    page = watched.page
    _set_layer(page, "pointcloud", False)
    _apply_filter(page, "height_m", "ge", str(threshold), "hide")
    page.click('[data-action="preset-height"]')
    _open_tool(page, "slice")
    page.check('[data-field="slice-enabled"] input')
    page.fill('[data-field="slice-height"] input', "6")
    page.evaluate("document.querySelector('details[data-tool=\"slice\"]').scrollIntoView({ block: 'end' })")
    page.wait_for_timeout(1500)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "viewer-tools.png"))  # docs/viewer-tools.png is a copy of this
    box = page.locator("#viewer canvas").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -300)  # zoom in a little: the camera is no longer the default one
    page.wait_for_timeout(2500)
    _open_tool(page, "share")
    page.click('[data-action="copy-link"]')
    link = page.locator(".rs3d-link").input_value()
    assert link == page.url and "#view=" in link and "slice=6" in link and "filter=height_m:ge:" in link
    camera = page.evaluate("rs3d.camera()")

    with page.expect_download() as download:
        page.click('[data-action="screenshot"]')
    assert download.value.suggested_filename == "rs3d-town.png"
    png = Image.open(download.value.path())
    assert png.format == "PNG" and png.size[0] >= box["width"] and png.size[1] >= box["height"]
    assert max(ImageStat.Stat(png.convert("RGB")).stddev) > 10, "the screenshot is blank"
    assert watched.errors == [] and watched.outside == []
    _close(watched)

    restored = _open(browser, stack, area, "#" + link.split("#", 1)[1])
    page = restored.page
    assert _close_to(page.evaluate("rs3d.camera()"), camera), (page.evaluate("rs3d.camera()"), camera)
    assert sorted(set(page.evaluate("rs3d.visibleBuildingIds()"))) == tall
    assert all(p["enabled"] and p["distance"] == 6 for p in page.evaluate("rs3d.slicePlanes()"))
    assert not page.locator('[data-layer="pointcloud"] input[type=checkbox]').first.is_checked()
    assert page.locator('[data-layer="buildings"] input[type=checkbox]').first.is_checked()
    assert page.locator('[data-field="property"] select').input_value() == "height_m"
    assert float(page.locator('[data-field="value"] input').input_value()) == threshold
    assert page.locator('[data-field="action"] select').input_value() == "hide"
    assert "height above ground" in page.locator(".rs3d-filter-legend").inner_text().lower()
    assert page.locator('[data-field="slice-enabled"] input').is_checked()
    assert restored.errors == [] and restored.outside == []
    _close(restored)


def test_tool_models_on_known_values(browser, stack, area):
    """The measure and share models on known positions and states, in the page's own modules."""
    watched = _open(browser, stack, area, modules=True)
    results = watched.page.evaluate(
        """async () => {
            const { Cesium } = await import("/static/rs3d/viewer/cesium.js");
            const measure = await import("/static/rs3d/measure/measureModel.js");
            const share = await import("/static/rs3d/share/shareModel.js");
            const frame = Cesium.Transforms.eastNorthUpToFixedFrame(Cesium.Cartesian3.fromDegrees(3.9, 46.0, 10));
            const at = (e, n, u) =>
                Cesium.Matrix4.multiplyByPoint(frame, new Cesium.Cartesian3(e, n, u), new Cesium.Cartesian3());
            const square = [at(0, 0, 0), at(30, 0, 0), at(30, 40, 0), at(0, 40, 0)];
            const state = {
                camera: { lon: 3.9123456, lat: 46.0123456, height: 123.45, heading: 10, pitch: -45, roll: 0 },
                layers: { orthophoto: true, pointcloud: false },
                condition: { property: "building_type", operator: "is", value: "commercial/industrial hall" },
                action: "hide", colouring: "type", slice: 7.5,
            };
            return {
                distance: measure.measure("distance", [at(0, 0, 0), at(30, 40, 0)]).value,
                path: measure.pathLength(square),
                height: measure.measure("height", [at(0, 0, 0), at(5, 5, 12.5)]).value,
                area: measure.measure("area", square).value,
                missing: measure.measure("area", square.slice(0, 2)).value,
                shared: share.decodeState(share.encodeState(state)),
                state,
            };
        }"""
    )
    assert abs(results["distance"] - 50) < 1e-6
    assert abs(results["path"] - 100) < 1e-6
    assert abs(results["height"] - 12.5) < 1e-3
    assert abs(results["area"] - 1200) < 1e-3
    assert results["missing"] is None
    assert results["shared"] == results["state"]
    _close(watched)


def test_display_resolution_starts_at_half_in_software_webgl_and_is_kept_for_the_device(browser, stack, area):
    """Headless Chromium draws WebGL in SwiftShader: the viewer starts at half resolution, the Display tool's
    choice applies at once, survives a reload (this device's localStorage) and never enters the shared link."""
    watched = _open(browser, stack, area)
    page = watched.page
    models = page.evaluate(
        """async () => {
            const scale = await import("/static/rs3d/viewer/renderScale.js");
            return {
                renderer: scale.rendererName(),
                swiftshader: scale.isSoftwareRenderer("ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero)))"),
                llvmpipe: scale.isSoftwareRenderer("llvmpipe (LLVM 15.0.6, 256 bits)"),
                nvidia: scale.isSoftwareRenderer("ANGLE (NVIDIA, NVIDIA GeForce RTX 3060 Direct3D11 vs_5_0 ps_5_0)"),
                starts: [
                    scale.initialScale(null, true), scale.initialScale(null, false),
                    scale.initialScale("0.75", true), scale.initialScale("3", false), scale.initialScale("", true),
                ],
            };
        }"""
    )
    assert "swiftshader" in models["renderer"].lower(), models["renderer"]
    assert (models["swiftshader"], models["llvmpipe"], models["nvidia"]) == (True, True, False)
    assert models["starts"] == [0.5, 1, 0.75, 1, 0.5]  # a stored choice wins only if it is one of the offered
    assert page.evaluate("rs3d.renderScale()") == 0.5
    drawn = "() => { const c = document.querySelector('#viewer canvas'); return [c.width, c.clientWidth]; }"
    width, css = page.evaluate(drawn)
    assert abs(width - css / 2) <= 1, (width, css)  # half resolution: a drawn pixel per 2 × 2 CSS pixels
    _open_tool(page, "display")
    select = page.locator('[data-field="render-scale"] select')
    assert select.input_value() == "0.5"
    assert "without a graphics card" in page.locator('details[data-tool="display"]').inner_text()
    select.select_option("1")
    assert page.evaluate("rs3d.renderScale()") == 1
    wait_until(page, f"() => {{ const [w, css] = ({drawn})(); return w === css; }}", timeout_s=10)
    page.reload()
    page.wait_for_selector('#status[data-state="ready"]', timeout=180_000)
    assert page.evaluate("rs3d.renderScale()") == 1, "the choice should be kept for this device"
    _open_tool(page, "share")
    page.click('[data-action="copy-link"]')
    assert "scale" not in page.locator(".rs3d-link").input_value()
    assert watched.errors == [] and watched.outside == []
    _close(watched)


#: A state with every layer-panel key, odd characters in the names and values it keeps.
PANEL_STATE = {
    "layers": {"orthophoto": True, "pointcloud": False},
    "opacity": {"orthophoto": 40, "buildings": 0, "odd layer,1": 55},
    "hidden": {"buildings": ["commercial/industrial hall", "a,b:c|d", "50% & #1 +x=y", "é ü"], "roads": ["local"]},
    "classes": {"pointcloud": [2, 5]},
    "points": {"pointcloud": {"mode": "class", "size": 4}},
}
#: Malformed entries beside good ones: a bad escape, no name, no value, out of range, not a class code, a bad mode.
MALFORMED = (
    "#hide=buildings:%E0%A4%A|house,:x,roads&classes=pointcloud:2|x|-1|5.5|7|2"
    "&opacity=orthophoto:150,buildings:abc,trees:30,a:1:2&points=pointcloud:Class!:2,other:intensity:4,p:class:-1"
)
OLD_LINK = "view=3.9569544,46.0131172,130.01,0.000,-45.002,0.000&layers=orthophoto:1,pointcloud:0&colour=height&slice=6"


def test_share_model_and_layer_panel_keep_opacity_subclasses_and_point_style(browser, stack, area):
    """The share model round-trips the panel's keys; the panel sets its controls and layers, in any order."""
    watched = _open(browser, stack, area, modules=True)
    results = watched.page.evaluate(
        """async ([state, malformed, oldLink]) => {
            const share = await import("/static/rs3d/share/shareModel.js");
            const { createLayerPanel } = await import("/static/rs3d/ui/layerPanel.js");
            const { legendClasses } = await import("/static/rs3d/layers/classes.js");
            const { DEFAULT_POINT_SIZE } = await import("/static/rs3d/layers/pointcloud.js");
            const calls = [];
            const log = (name) => (...args) => calls.push([name, ...args]);
            const make = () => {
                const host = document.createElement("div");
                const panel = createLayerPanel(host, {
                    orthophoto: { setVisible: log("ortho.visible"), setAlpha: log("ortho.alpha") },
                    layers: [
                        {
                            layer: { name: "buildings", kind: "buildings" },
                            handle: { setVisible: log("b.visible"), setOpacity: log("b.opacity") },
                        },
                        {
                            layer: { name: "pointcloud", kind: "pointcloud", classes: { 2: 10, 6: 5 } },
                            handle: {
                                setVisible: log("pc.visible"), setColourMode: log("pc.mode"),
                                setPointSize: log("pc.size"), setClassVisible: log("pc.class"),
                            },
                        },
                    ],
                    onChange: log("changed"),
                    legendClasses,  // the point-cloud layer's own, as main.js passes them
                    defaultPointSize: DEFAULT_POINT_SIZE,
                });
                return { host, panel };
            };
            const subclasses = (panel, hiddenCalls) => panel.addSubclasses("buildings", {
                title: "Types",
                entries: [
                    { value: "a b|c", label: "A", colour: "#ffffff" },
                    { value: "house", label: "H", colour: "#000000" },
                ],
                onChange: (hidden) => hiddenCalls.push(hidden),
            });
            const unticked = (host) => [...host.querySelectorAll("input[type=checkbox]")]
                .filter((input) => !input.checked)
                .map((input) => {
                    const row = input.closest("[data-subclass], [data-class-code], [data-layer]");
                    return row.dataset.subclass ?? row.dataset.classCode ?? row.dataset.layer;
                });
            // A shared state restored before the sub-classes are listed; unknown layers and values ignored.
            const first = make();
            const firstHidden = [];
            first.panel.setState({
                layers: { buildings: false, nowhere: true },
                opacity: { orthophoto: 42, buildings: 30, nowhere: 5 },
                hidden: { buildings: ["a b|c", "unknown"], nowhere: ["x"] },
                classes: { pointcloud: [6, 99] },
                points: { pointcloud: { mode: "class", size: 5 }, nowhere: { mode: "class" } },
            });
            subclasses(first.panel, firstHidden);
            const restored = {
                calls: calls.splice(0),
                hiddenCalls: firstHidden.splice(0),
                state: first.panel.getState(),
                unticked: unticked(first.host),
                ranges: [...first.host.querySelectorAll("input[type=range]")].map((i) => i.value),
                outputs: [...first.host.querySelectorAll("output")].map((o) => o.textContent),
                mode: first.host.querySelector("select").value,
                legendMode: first.host.querySelector(".rs3d-legend").dataset.mode,
            };
            // The sub-classes listed first, then the link: the same result.
            const second = make();
            const secondHidden = [];
            subclasses(second.panel, secondHidden);
            calls.splice(0);
            second.panel.setState(share.decodeState(share.encodeState(first.panel.getState())));
            const again = { state: second.panel.getState(), hiddenCalls: secondHidden.splice(0) };
            // Keys given but empty: back to how the panel started; a user's click reports a change.
            second.panel.setState({ opacity: {}, hidden: {}, classes: {}, points: {} });
            const reset = { state: second.panel.getState(), calls: calls.splice(0), hiddenCalls: secondHidden };
            document.body.append(second.host);  // a detached checkbox fires no change event
            second.host.querySelector("[data-class-code='2'] input").click();
            second.host.remove();
            const clicked = calls.splice(0);
            first.panel.destroy();
            second.panel.destroy();
            return {
                restored, again, reset, clicked,
                shared: share.decodeState(share.encodeState(state)),
                hash: share.encodeState(state),
                malformed: share.decodeState(malformed),
                old: share.decodeState(oldLink),
                defaults: share.encodeState({ opacity: { buildings: 100 }, hidden: { buildings: [] }, classes: {} }),
            };
        }""",
        [PANEL_STATE, MALFORMED, OLD_LINK],
    )
    assert results["shared"] == PANEL_STATE
    hash_ = results["hash"]
    assert "opacity=orthophoto:40,buildings:0,odd%20layer%2C1:55" in hash_
    assert "hide=buildings:commercial/industrial%20hall|a%2Cb%3Ac%7Cd|" in hash_ and ",roads:local" in hash_
    assert "classes=pointcloud:2|5" in hash_ and "points=pointcloud:class:4" in hash_
    assert results["malformed"] == {
        "opacity": {"trees": 30},
        "hidden": {"buildings": ["house"]},
        "classes": {"pointcloud": [2, 7]},
        "points": {"other": {"mode": "intensity", "size": 4}, "p": {"mode": "class"}},
    }
    assert results["old"] == {
        "camera": {"lon": 3.9569544, "lat": 46.0131172, "height": 130.01, "heading": 0, "pitch": -45.002, "roll": 0},
        "layers": {"orthophoto": True, "pointcloud": False},
        "colouring": "height",
        "slice": 6,
    }
    assert results["defaults"] == "", "settings at their defaults stay out of the link"

    restored = results["restored"]
    assert restored["calls"] == [
        ["b.visible", False],
        ["ortho.alpha", 0.4],  # 42 % snaps to the slider's 5 % steps
        ["b.opacity", 0.3],
        ["pc.class", 6, False],
        ["pc.mode", "class"],
        ["pc.size", 5],
    ]
    assert restored["hiddenCalls"] == [["a b|c"]]
    assert restored["state"] == {
        "layers": {"orthophoto": True, "buildings": False, "pointcloud": True},
        "opacity": {"orthophoto": 40, "buildings": 30},
        "hidden": {"buildings": ["a b|c"], "pointcloud": []},
        "classes": {"pointcloud": [6]},
        "points": {"pointcloud": {"mode": "class", "size": 5}},
    }
    assert restored["unticked"] == ["buildings", "a b|c", "6"]
    assert restored["ranges"] == ["40", "30", "5"] and restored["outputs"] == ["40 %", "30 %", "5 px"]
    assert restored["mode"] == "class" and restored["legendMode"] == "class"
    assert results["again"]["state"] == restored["state"]
    assert results["again"]["hiddenCalls"] == [["a b|c"]]
    reset = results["reset"]
    assert reset["state"]["opacity"] == {"orthophoto": 100, "buildings": 100}
    assert reset["state"]["hidden"]["buildings"] == [] and reset["state"]["classes"] == {"pointcloud": []}
    assert reset["state"]["points"] == {"pointcloud": {"mode": "photo", "size": 3}}
    assert ["pc.class", 6, True] in reset["calls"] and ["changed"] not in reset["calls"]
    assert reset["hiddenCalls"][-1] == []
    assert results["clicked"] == [["pc.class", 2, False], ["changed"]]
    assert watched.errors == [] and watched.outside == []
    _close(watched)


def test_shared_url_restores_opacity_subclasses_point_classes_and_colours(browser, stack, area):
    common, others = _most_common_type(area["buildings"])
    watched = _open(browser, stack, area)
    page = watched.page
    cloud = page.locator('[data-layer="pointcloud"]')
    code = cloud.locator("[data-class-code]").first.get_attribute("data-class-code")
    page.locator(f'[data-subclasses="buildings"] [data-subclass="{common}"] input').uncheck()
    # Each change rewrites the hash through the panel's onChange, as the layer toggles do.
    wait_until(page, "() => location.hash.includes('hide=buildings:')", timeout_s=30, every_s=0.2)
    cloud.locator(f'[data-class-code="{code}"] input').uncheck()
    page.locator('[data-layer="buildings"] [data-field="opacity"] input').fill("40")
    page.locator('[data-layer="orthophoto"] [data-field="opacity"] input').fill("65")
    cloud.locator("select").first.select_option("class")
    cloud.locator('[data-field="point-size"] input').fill("6")
    wait_until(page, "() => location.hash.includes('points=pointcloud:class:6')", timeout_s=30, every_s=0.2)
    _open_tool(page, "share")
    page.click('[data-action="copy-link"]')
    link = page.locator(".rs3d-link").input_value()
    hash_ = link.split("#", 1)[1]
    assert f"classes=pointcloud:{code}" in hash_ and "opacity=orthophoto:65,buildings:40" in hash_
    assert f"hide=buildings:{quote(common, safe='/')}" in hash_
    assert watched.errors == [] and watched.outside == []
    _close(watched)

    restored = _open(browser, stack, area, "#" + hash_)
    page = restored.page
    cloud = page.locator('[data-layer="pointcloud"]')
    subclasses = page.locator('[data-subclasses="buildings"] [data-subclass]')
    ticked = dict(
        subclasses.evaluate_all("es => es.map((e) => [e.dataset.subclass, e.querySelector('input').checked])")
    )
    assert ticked == {name: name != common for name in TILE_TYPE_COLOURS}
    assert sorted(set(page.evaluate("rs3d.visibleBuildingIds()"))) == others, "the filter hides the type too"
    classes = dict(
        cloud.locator("[data-class-code]").evaluate_all(
            "es => es.map((e) => [e.dataset.classCode, e.querySelector('input').checked])"
        )
    )
    assert classes[code] is False and all(checked for c, checked in classes.items() if c != code)
    assert page.locator('[data-layer="buildings"] [data-field="opacity"] input').input_value() == "40"
    assert page.locator('[data-layer="buildings"] [data-field="opacity"] output').inner_text() == "40 %"
    assert page.locator('[data-layer="orthophoto"] [data-field="opacity"] input').input_value() == "65"
    assert cloud.locator("select").first.input_value() == "class"
    assert cloud.locator(".rs3d-legend").get_attribute("data-mode") == "class"
    assert cloud.locator('[data-field="point-size"] input').input_value() == "6"
    assert restored.errors == [] and restored.outside == []
    _close(restored)


def test_roads_water_and_land_use_are_draped_and_toggle(browser, stack, area):
    counts = {}
    for kind in ("road", "water", "land_use"):
        rows = stack.session.get(f"{stack.url}{area['features_url']}", params={"class": kind}, timeout=30)
        counts[kind] = len(rows.json()["features"])
    assert counts["road"] > 0 and counts["land_use"] > 0, counts
    watched = _open(browser, stack, area)
    page = watched.page
    shown = page.evaluate("rs3d.mapLayers()")
    assert {kind: s["count"] for kind, s in shown.items()} == {k: n for k, n in counts.items() if n}
    assert shown["road"]["shown"] and not shown["land_use"]["shown"]  # blocks are off until asked for
    assert shown["road"]["loaded"] and not shown["land_use"]["loaded"]  # and load when first asked for
    legend = page.locator('[data-layer="map"]').inner_text()
    assert f"Roads ({counts['road']})" in legend and "primary" in legend and "residential" in legend
    _set_layer(page, "buildings", False)
    _set_layer(page, "pointcloud", False)  # map layers drape on the ground, under the points
    _set_layer(page, "roads", False)  # and under the 3D road surfaces and trees
    _set_layer(page, "trees", False)
    with_roads = _canvas(page)
    page.locator('[data-map-layer="road"] input').set_checked(False)
    page.wait_for_timeout(1000)
    assert not page.evaluate("rs3d.mapLayers()")["road"]["shown"]
    without_roads = _canvas(page)
    changed = ImageChops.difference(with_roads, without_roads).point(lambda v: 255 if v > 30 else 0)
    assert changed.histogram()[255] > 2000  # the roads were really drawn
    page.locator('[data-map-layer="land_use"] input').set_checked(True)
    wait_until(page, "() => rs3d.mapLayers().land_use.loaded", timeout_s=30)
    page.wait_for_timeout(1000)
    assert page.evaluate("rs3d.mapLayers()")["land_use"]["shown"]
    changed = ImageChops.difference(without_roads, _canvas(page)).point(lambda v: 255 if v > 30 else 0)
    assert changed.histogram()[255] > 2000  # the blocks were loaded and drawn
    _close(watched)


def test_building_type_toggles_under_the_layer_hide_those_types(browser, stack, area):
    buildings = area["buildings"]
    everyone = _ids(buildings, lambda p: True)
    common, others = _most_common_type(buildings)
    watched = _open(browser, stack, area)
    page = watched.page
    group = page.locator('[data-layer="buildings"] [data-subclasses="buildings"]')
    assert set(group.locator("[data-subclass]").evaluate_all("es => es.map((e) => e.dataset.subclass)")) == set(
        TILE_TYPE_COLOURS
    )
    group.locator(f'[data-subclass="{common}"] input').uncheck()
    assert sorted(set(page.evaluate("rs3d.visibleBuildingIds()"))) == others
    # The filter still applies to the rest: "hide the others" keeps the tall ones of the types still shown.
    threshold = _threshold(buildings)
    _apply_filter(page, "height_m", "ge", str(threshold), "hide")
    expected = _ids(buildings, lambda p: p["building_type"] != common and p["height_m"] >= threshold)
    assert sorted(set(page.evaluate("rs3d.visibleBuildingIds()"))) == expected
    listed = page.eval_on_selector_all(".rs3d-results button", "bs => bs.map((b) => Number(b.dataset.buildingId))")
    assert listed == expected, "the results list leaves out hidden types too"
    page.click('[data-action="clear"]')
    group.locator(f'[data-subclass="{common}"] input').check()
    assert sorted(set(page.evaluate("rs3d.visibleBuildingIds()"))) == everyone
    assert watched.errors == [] and watched.outside == []
    _close(watched)


def test_layer_panel_swatches_are_the_tiles_colours():
    # Read as text: this Django-side process must not import the library's geometry stack.
    python = (ROOT / "reconstruction" / "tiles3d" / "buildings.py").read_text()
    block = python[python.index("TYPE_COLOURS_SRGB") : python.index("}", python.index("TYPE_COLOURS_SRGB"))]
    pattern = r'"([^"]+)": \((\d+), (\d+), (\d+)\)'
    tiles = {name: "#" + "".join(f"{int(v):02x}" for v in rgb) for name, *rgb in re.findall(pattern, block)}
    assert TILE_TYPE_COLOURS == tiles
    source = (ROOT / "frontend" / "src" / "layers" / "subclasses.js").read_text()
    for name, colour in TILE_TYPE_COLOURS.items():
        assert f'{{ name: "{name}", colour: "{colour}" }}' in source


CONFIDENCE_COLOURS = [(0.5, "#d7191c"), (0.7, "#fdae61"), (0.85, "#a6d96a"), (math.inf, "#1a9641")]
NOT_PREDICTED = "#bdbdbd"  # frontend/src/filter/filterModel.js


def test_colour_by_confidence_follows_the_model_and_greys_measured_heights(browser, stack, scene, area):
    watched = _open(browser, stack, area)  # heights from a DSM: classes by rules, no model confidence
    _open_tool(watched.page, "filter")
    watched.page.click('[data-action="preset-confidence"]')
    assert {s["colour"] for s in watched.page.evaluate("rs3d.buildingStates()")} == {NOT_PREDICTED}
    assert "class confidence" in watched.page.locator(".rs3d-filter-legend").inner_text().lower()
    _close(watched)

    with scene["ortho"].open("rb") as ortho:  # the orthophoto alone: the model predicts the classes
        body = stack.session.post(
            f"{stack.url}/api/areas/", data={"name": "Predicted town"}, files={"ortho": ortho}, timeout=120
        ).json()
    assert stack.wait_for_job(body["job"]["id"])["status"] == "succeeded"
    predicted = stack.session.get(f"{stack.url}/api/areas/{body['id']}/", timeout=10).json()
    rows = stack.session.get(f"{stack.url}{predicted['features_url']}", params={"class": "building"}, timeout=30)
    confidence = {f["properties"]["building_id"]: f["properties"]["class_confidence"] for f in rows.json()["features"]}
    assert confidence, "the model should find buildings in the generated town"
    watched = _open(browser, stack, predicted)
    _open_tool(watched.page, "filter")
    watched.page.click('[data-action="preset-confidence"]')
    states = watched.page.evaluate("rs3d.buildingStates()")
    assert {s["id"] for s in states} == set(confidence)
    for state in states:
        expected = next(colour for below, colour in CONFIDENCE_COLOURS if confidence[state["id"]] < below)
        assert state["colour"] == expected, (state, confidence[state["id"]])
    assert watched.errors == [] and watched.outside == []
    _close(watched)


def _changed_share(a: Image.Image, b: Image.Image) -> float:
    """Share of the canvas whose grey level moved by more than 20."""
    changed = ImageChops.difference(a, b).point(lambda v: 255 if v > 20 else 0)
    return ImageStat.Stat(changed).mean[0] / 255


def test_layer_opacity_and_road_grade_toggles_change_what_is_drawn(browser, stack, area):
    watched = _open(browser, stack, area)
    page = watched.page
    _set_layer(page, "pointcloud", False)  # the roads lie under the points
    page.wait_for_timeout(3000)  # let the imagery settle at this zoom
    start = _canvas(page)
    opacity = page.locator('[data-layer="buildings"] [data-field="opacity"] input')
    opacity.fill("0")
    see_through = _canvas(page)
    vanished = _changed_share(start, see_through)
    assert vanished > 0.01, "buildings at 0 % opacity must vanish"
    opacity.fill("100")
    back = _canvas(page)
    # Back to opaque: what changed is a small part of what vanished (the globe's imagery may still refine).
    assert _changed_share(start, back) < 0.25 * vanished, (_changed_share(start, back), vanished)
    start = back

    grades = page.locator('[data-subclasses="roads"] [data-subclass]')
    names = grades.evaluate_all("es => es.map((e) => e.dataset.subclass)")
    assert names == ["primary", "secondary", "local"]
    present = {f["properties"]["grade"] for f in _roads(stack, area)}
    assert present, "the generated town should have roads"
    for name in present:
        page.locator(f'[data-subclasses="roads"] [data-subclass="{name}"] input').uncheck()
    assert _changed_share(start, _canvas(page)) > 0.002, "hiding every road grade must change the picture"
    for name in present:
        page.locator(f'[data-subclasses="roads"] [data-subclass="{name}"] input').check()
    assert _changed_share(start, _canvas(page)) < 0.002
    assert watched.errors == [] and watched.outside == []
    _close(watched)


def _roads(stack: Stack, area: dict) -> list[dict]:
    rows = stack.session.get(f"{stack.url}{area['features_url']}", params={"class": "road"}, timeout=30)
    return rows.json()["features"]


def test_road_grade_swatches_are_the_tiles_colours():
    python = (ROOT / "reconstruction" / "tiles3d" / "roads.py").read_text()
    pattern = r'"(\w+)": \((\d+), (\d+), (\d+)\)'
    tiles = {name: "#" + "".join(f"{int(v):02x}" for v in rgb) for name, *rgb in re.findall(pattern, python)}
    local = re.search(r"LOCAL_SRGB = \((\d+), (\d+), (\d+)\)", python)
    tiles["local"] = "#" + "".join(f"{int(v):02x}" for v in local.groups())
    source = (ROOT / "frontend" / "src" / "layers" / "subclasses.js").read_text()
    for name, colour in tiles.items():
        assert f'{{ name: "{name}", colour: "{colour}" }}' in source
