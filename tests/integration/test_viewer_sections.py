"""Headless Chromium against the live app: the slice tool's vertical section and polygon clip.

The camera looks straight down on the generated town (a shared ``#view=`` hash) with only the LoD1 buildings
shown (the draped map layers off too), so a building's pixels are where the canvas changes when the buildings
layer is toggled. Each test clicks its line or polygon on the ground, then checks which share of those pixels
still differs from the canvas without buildings, on each side of the cut.
"""

import json
import math
from collections.abc import Iterator
from functools import partial

import pytest
from PIL import Image, ImageChops, ImageDraw
from playwright.sync_api import Browser, Page, sync_playwright

from devtools.chromium import CHROMIUM_ARGS
from tests.conftest import ROOT
from tests.integration.conftest import Stack
from tests.integration.test_browser import Watched, canvas_picture
from tests.integration.test_viewer_tools import _click_at, _close, _open, _open_tool, _set_layer

pytestmark = [pytest.mark.integration, pytest.mark.browser]

CAMERA_HEIGHT_M = 300
#: Only the buildings: the other layers would change where the buildings are cut, or hide the ground.
ONLY_BUILDINGS = "orthophoto:0,pointcloud:0,terrain:0,trees:0,roads:0,buildings:1"
MARGIN_PX = 25  # left out on each side of a cut line: the line, its edges and leaning walls
DIFFERENT = 30  # a pixel differs when one of its channels changes by more than this
M_PER_DEG = 111_320.0
ARTIFACTS = ROOT / "tests" / "_artifacts"


@pytest.fixture
def browser(chromium: str) -> Iterator[Browser]:
    """A fresh headless Chromium per test (a few seconds each): a browser left wedged by one test (seen here
    while static files changed under a run: later pages never booted) costs that test, not the module."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def area(town: dict) -> dict:
    """The reconstructed town with its API description and its database buildings (shared, read only)."""
    return town


def _centre(area: dict) -> tuple[float, float]:
    west, south, east, north = area["bbox_wgs84"]
    return (west + east) / 2, (south + north) / 2


def _top_down(browser, stack: Stack, area: dict) -> Watched:
    """The viewer looking straight down on the area's centre, only the buildings shown."""
    lon, lat = _centre(area)
    view = f"{lon:.7f},{lat:.7f},{CAMERA_HEIGHT_M:.2f},0.000,-90.000,0.000"
    watched = _open(browser, stack, area, f"#view={view}&layers={ONLY_BUILDINGS}")
    page = watched.page
    for toggle in page.locator("[data-map-layer] input[type=checkbox]").all():
        toggle.set_checked(False)
    return watched


#: The canvas left of the panel, in colour.
_canvas = partial(canvas_picture, mode="RGB", left_of_panel=True)


def _differs(a: Image.Image, b: Image.Image) -> Image.Image:
    """255 where any channel of ``a`` and ``b`` differs by more than DIFFERENT, else 0."""
    r, g, b_ = ImageChops.difference(a, b).split()
    return ImageChops.lighter(ImageChops.lighter(r, g), b_).point(lambda v: 255 if v > DIFFERENT else 0)


def _building_mask(page: Page) -> tuple[Image.Image, Image.Image]:
    """(the canvas without buildings, the mask of the pixels the buildings change)."""
    _set_layer(page, "buildings", False)  # one round first: every tile of both states is loaded
    _canvas(page)
    _set_layer(page, "buildings", True)
    with_buildings = _canvas(page)
    _set_layer(page, "buildings", False)
    without = _canvas(page)
    _set_layer(page, "buildings", True)
    return without, _differs(with_buildings, without)


def _region(mask: Image.Image, box: tuple[float, float, float, float]) -> Image.Image:
    """``mask`` limited to the pixel box (left, top, right, bottom)."""
    inside = Image.new("L", mask.size, 0)
    ImageDraw.Draw(inside).rectangle(box, fill=255)
    return ImageChops.multiply(mask, inside)


def _pixels(where: Image.Image) -> int:
    return where.histogram()[255]


def _shown(now: Image.Image, without: Image.Image, where: Image.Image) -> float:
    """The share of the building pixels in ``where`` that ``now`` still draws (differ from no buildings)."""
    return _pixels(ImageChops.multiply(where, _differs(now, without))) / _pixels(where)


def _ground_clicks(page: Page, points: list[tuple[float, float]], last_double: bool = False) -> None:
    """Click points on the ground (the buildings hidden, so that the picks land on the globe)."""
    _set_layer(page, "buildings", False)
    page.wait_for_timeout(500)
    for i, (lon, lat) in enumerate(points):
        if last_double and i == len(points) - 1:
            xy = page.evaluate("([lon, lat]) => rs3d.toWindow(lon, lat, 0)", [lon, lat])
            box = page.locator("#viewer canvas").first.bounding_box()
            page.mouse.dblclick(box["x"] + xy[0], box["y"] + xy[1])
            page.wait_for_timeout(500)
        else:
            _click_at(page, lon, lat, 0.0)
    _set_layer(page, "buildings", True)


def _state(page: Page, part: str) -> dict | None:
    text = page.locator(f'[data-part="{part}"]').get_attribute(f"data-{part}")
    return json.loads(text) if text else None


def _x_of(page: Page, lon: float, lat: float) -> float:
    return page.evaluate("([lon, lat]) => rs3d.toWindow(lon, lat, 0)", [lon, lat])[0]


def test_section_cuts_one_side_flips_keeps_a_slab_and_combines_with_the_slice(browser, stack, area):
    west, south, east, north = area["bbox_wgs84"]
    lon, lat = _centre(area)
    watched = _top_down(browser, stack, area)
    page = watched.page
    without, mask = _building_mask(page)
    width, height = mask.size
    line_x = _x_of(page, lon, lat)
    assert 2 * MARGIN_PX < line_x < width - 2 * MARGIN_PX, "the area's centre should be in view"
    west_side = _region(mask, (0, 0, line_x - MARGIN_PX, height))
    east_side = _region(mask, (line_x + MARGIN_PX, 0, width, height))
    assert _pixels(west_side) > 500 and _pixels(east_side) > 500, "buildings on both sides of the line"

    _open_tool(page, "slice")
    page.click('[data-action="section-draw"]')
    assert page.locator('[data-part="section"]').get_attribute("data-state") == "drawing"
    # South to north through the centre: the plane keeps the left (west) side.
    a, b = (lon, south + 0.1 * (north - south)), (lon, north - 0.1 * (north - south))
    _ground_clicks(page, [a, b])
    section = _state(page, "section")
    assert section is not None and section["flip"] is False and section["width"] == 0
    for picked, wanted in zip(section["points"], (a, b), strict=True):
        assert math.dist(picked, wanted) < 2e-5, (picked, wanted)  # about 2 m
    planes = page.evaluate("rs3d.slicePlanes()")
    assert len(planes) == 5 and all(p["union"] and len(p["section"]) == 2 for p in planes)
    assert all(not p["enabled"] for p in planes), "the horizontal slice stays off"

    cut = _canvas(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "viewer-section.png"))
    assert _shown(cut, without, west_side) > 0.8, "the kept (west) side should still show its buildings"
    assert _shown(cut, without, east_side) < 0.2, "the cut (east) side should show no buildings"

    page.check('[data-field="section-flip"] input')
    assert _state(page, "section")["flip"] is True
    flipped = _canvas(page)
    assert _shown(flipped, without, west_side) < 0.2, "flipped: the west side is cut"
    assert _shown(flipped, without, east_side) > 0.8, "flipped: the east side is back"

    page.fill('[data-field="section-width"] input', "30")  # keep 15 m on each side of the line
    assert _state(page, "section")["width"] == 30
    metres = 25 / (M_PER_DEG * math.cos(math.radians(lat)))
    far_west = _region(mask, (0, 0, _x_of(page, lon - metres, lat) - MARGIN_PX, height))
    far_east = _region(mask, (_x_of(page, lon + metres, lat) + MARGIN_PX, 0, width, height))
    slab = _canvas(page)
    assert _pixels(far_west) > 200 and _pixels(far_east) > 200
    assert _shown(slab, without, far_west) < 0.2 and _shown(slab, without, far_east) < 0.2
    page.fill('[data-field="section-width"] input', "")

    # With the horizontal slice at 0.5 m too, both constraints apply: nothing stands on either side.
    page.check('[data-field="slice-enabled"] input')
    page.fill('[data-field="slice-height"] input', "0.5")
    both = _canvas(page)
    assert _shown(both, without, east_side) < 0.2, "the slice should cut the side the section keeps"
    assert _shown(both, without, west_side) < 0.2
    page.uncheck('[data-field="slice-enabled"] input')

    page.click('[data-action="section-clear"]')
    assert _state(page, "section") is None
    assert all(p["section"] == [] and not p["enabled"] for p in page.evaluate("rs3d.slicePlanes()"))
    cleared = _canvas(page)
    assert _shown(cleared, without, east_side) > 0.8 and _shown(cleared, without, west_side) > 0.8
    assert watched.errors == [] and watched.outside == []
    _close(watched)


def _ring(feature: dict) -> list[list[float]]:
    ring = feature["geometry"]["coordinates"][0]
    return ring[0] if feature["geometry"]["type"] == "MultiPolygon" else ring


def _lonlat_box(feature: dict) -> tuple[float, float, float, float]:
    ring = _ring(feature)
    return min(p[0] for p in ring), min(p[1] for p in ring), max(p[0] for p in ring), max(p[1] for p in ring)


def _box_geometry(box: tuple[float, float, float, float]) -> dict:
    west, south, east, north = box
    return {
        "type": "Polygon",
        "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]],
    }


def _grow(box: tuple[float, float, float, float], metres: float, lat: float) -> tuple[float, float, float, float]:
    dlon, dlat = metres / (M_PER_DEG * math.cos(math.radians(lat))), metres / M_PER_DEG
    return box[0] - dlon, box[1] - dlat, box[2] + dlon, box[3] + dlat


def _overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _isolated_building(area: dict) -> tuple[dict, list[dict]]:
    """A building with at least 4 m free around it (the largest such), and the others."""
    lat = _centre(area)[1]
    buildings = area["buildings"]
    for target in sorted(buildings, key=lambda b: -b["properties"]["area_m2"]):
        grown = _grow(_lonlat_box(target), 4, lat)
        others = [b for b in buildings if b is not target]
        if not any(_overlaps(grown, _lonlat_box(b)) for b in others):
            return target, others
    pytest.fail("no building of the town stands free")


def _screen_boxes(page: Page, area: dict, features: list[dict], image: Image.Image) -> Image.Image:
    """A mask of the buildings' roofs on screen (each footprint's box at roof height, 3 px inside)."""
    where = Image.new("L", image.size, 0)
    draw = ImageDraw.Draw(where)
    for feature in features:
        props = feature["properties"]
        roof = props["ground_m"] + area["height_offset_m"] + props["height_m"]
        w, s, e, n = _lonlat_box(feature)
        corners = [page.evaluate("([x, y, h]) => rs3d.toWindow(x, y, h)", [x, y, roof]) for x, y in ((w, s), (e, n))]
        if None in corners:
            continue
        (x0, y0), (x1, y1) = corners
        left, right, top, bottom = min(x0, x1) + 3, max(x0, x1) - 3, min(y0, y1) + 3, max(y0, y1) - 3
        if right > left and bottom > top:
            draw.rectangle((left, top, right, bottom), fill=255)
    return where


def test_polygon_keeps_the_inside_or_the_outside(browser, stack, area):
    lat = _centre(area)[1]
    target, others = _isolated_building(area)
    watched = _top_down(browser, stack, area)
    page = watched.page
    without, mask = _building_mask(page)
    inside = ImageChops.multiply(mask, _screen_boxes(page, area, [target], mask))
    # Outside: every building pixel clear of the polygon (the target's box grown by 6 m), whichever building it
    # is; the rows' own boxes need not cover what is drawn (a roof leans, a row's box can be tiny).
    polygon = _screen_boxes(
        page, area, [{**target, "geometry": _box_geometry(_grow(_lonlat_box(target), 6, lat))}], mask
    )
    outside = ImageChops.multiply(mask, ImageChops.invert(polygon))
    if not (_pixels(inside) > 100 and _pixels(outside) > 500):
        ARTIFACTS.mkdir(exist_ok=True)
        mask.save(ARTIFACTS / "viewer-polygon-mask.png")
        without.save(ARTIFACTS / "viewer-polygon-without.png")
    assert _pixels(inside) > 100 and _pixels(outside) > 500, (_pixels(inside), _pixels(outside), len(others))

    _open_tool(page, "slice")
    page.click('[data-action="polygon-draw"]')
    w, s, e, n = _grow(_lonlat_box(target), 2, lat)
    _ground_clicks(page, [(w, s), (e, s), (e, n), (w, n)], last_double=True)  # the double-click closes it
    polygon = _state(page, "polygon")
    assert polygon is not None and polygon["keep"] == "inside"
    assert len(polygon["points"]) == 4, polygon  # the double-click's own clicks add its vertex once
    assert page.locator('[data-part="polygon"]').get_attribute("data-state") == "on"

    kept_inside = _canvas(page)
    assert _shown(kept_inside, without, inside) > 0.8, "the building inside the polygon should stay"
    assert _shown(kept_inside, without, outside) < 0.2, "the buildings outside should be hidden"

    page.select_option('[data-field="polygon-keep"] select', "outside")
    assert _state(page, "polygon")["keep"] == "outside"
    kept_outside = _canvas(page)
    assert _shown(kept_outside, without, inside) < 0.2, "the building inside should be hidden"
    assert _shown(kept_outside, without, outside) > 0.8, "the buildings outside should be back"

    page.click('[data-action="polygon-clear"]')
    assert _state(page, "polygon") is None
    cleared = _canvas(page)
    assert _shown(cleared, without, inside) > 0.8 and _shown(cleared, without, outside) > 0.8

    # Finish closes a polygon as well as a double-click.
    page.click('[data-action="polygon-draw"]')
    _ground_clicks(page, [(w, s), (e, s), (e, n)])
    page.click('[data-action="polygon-finish"]')
    assert len(_state(page, "polygon")["points"]) == 3
    assert watched.errors == [] and watched.outside == []
    _close(watched)


def test_shared_url_restores_the_section_and_the_polygon(browser, stack, area):
    west, south, east, north = area["bbox_wgs84"]
    lon, lat = _centre(area)
    target, _ = _isolated_building(area)
    watched = _top_down(browser, stack, area)
    page = watched.page
    _open_tool(page, "slice")
    page.click('[data-action="section-draw"]')
    _ground_clicks(page, [(west + 0.2 * (east - west), lat), (east - 0.2 * (east - west), lat)])
    page.check('[data-field="section-flip"] input')
    page.fill('[data-field="section-width"] input', "60")
    page.click('[data-action="polygon-draw"]')
    w, s, e, n = _grow(_lonlat_box(target), 2, lat)
    _ground_clicks(page, [(w, s), (e, s), (e, n), (w, n)])
    page.click('[data-action="polygon-finish"]')
    page.select_option('[data-field="polygon-keep"] select', "outside")
    section, polygon = _state(page, "section"), _state(page, "polygon")
    planes = page.evaluate("rs3d.slicePlanes()")
    _open_tool(page, "share")
    page.click('[data-action="copy-link"]')
    link = page.locator(".rs3d-link").input_value()
    assert "section=" in link and "flip=1" in link and "slab=60" in link
    assert "polygon=" in link and "keep=outside" in link
    shown = _canvas(page)
    _close(watched)

    restored = _open(browser, stack, area, "#" + link.split("#", 1)[1], modules=True)  # imports the models below
    page = restored.page
    for toggle in page.locator("[data-map-layer] input[type=checkbox]").all():
        toggle.set_checked(False)
    assert page.locator('details[data-tool="slice"]').get_attribute("open") is not None
    again_section, again_polygon = _state(page, "section"), _state(page, "polygon")
    assert again_section["flip"] is True and again_section["width"] == 60
    assert again_polygon["keep"] == "outside" and len(again_polygon["points"]) == 4
    for got, sent in ((again_section, section), (again_polygon, polygon)):
        assert all(math.dist(p, q) < 1e-6 for p, q in zip(got["points"], sent["points"], strict=True))
    for got, sent in zip(page.evaluate("rs3d.slicePlanes()"), planes, strict=True):
        for p, q in zip(got["section"], sent["section"], strict=True):
            assert math.dist(p["normal"], q["normal"]) < 1e-6 and abs(p["distance"] - q["distance"]) < 0.01
    assert page.locator('[data-field="section-flip"] input').is_checked()
    assert page.locator('[data-field="polygon-keep"] select').input_value() == "outside"
    again = _canvas(page)
    assert _pixels(_differs(shown, again)) < 0.01 * shown.width * shown.height, "the restored view should look the same"

    # The models: a link without a section or polygon (an older one) decodes as before; the planes keep sides.
    results = page.evaluate(
        """async () => {
            const share = await import("/static/rs3d/share/shareModel.js");
            const model = await import("/static/rs3d/slice/sectionModel.js");
            const state = {
                slice: 7.5,
                section: { points: [[3.9, 46.0], [3.9001, 46.0002]], flip: true, width: 12 },
                polygon: { points: [[3.9, 46.0], [3.91, 46.0], [3.91, 46.01]], keep: "outside" },
            };
            const old = "view=3.9569544,46.0131172,130.01,0.000,-45.002,0.000&slice=6";
            const oneSide = model.sectionPlanes([0, 0], [0, 10]);
            const slab = model.sectionPlanes([0, 0], [0, 10], { width: 4 });
            return {
                shared: share.decodeState(share.encodeState(state)),
                state,
                old: share.decodeState(old),
                west: model.keeps(oneSide, [-5, 5]),
                east: model.keeps(oneSide, [5, 5]),
                flippedEast: model.keeps(model.sectionPlanes([0, 0], [0, 10], { flip: true }), [5, 5]),
                slab: [model.keeps(slab, [1.5, 3]), model.keeps(slab, [-1.5, 3]), model.keeps(slab, [2.5, 3])],
            };
        }"""
    )
    assert results["shared"] == results["state"]
    assert set(results["old"]) == {"camera", "slice"}
    assert results["west"] and not results["east"] and results["flippedEast"]
    assert results["slab"] == [True, True, False]
    assert restored.errors == [] and restored.outside == []
    _close(restored)
