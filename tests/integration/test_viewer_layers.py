"""Headless Chromium: the terrain, tree and road glb layers appear in the layer list, and a tree can be inspected."""

import pytest
from PIL import ImageChops, ImageFilter, ImageStat
from playwright.sync_api import Page

from tests.integration.test_browser import ARTIFACTS, _watch, canvas_picture, uncovered

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def _toggle(page: Page, layer: str):
    return page.locator(f'[data-layer="{layer}"] input[type=checkbox]').first


def _layer_pixels(page: Page, layer: str) -> list[tuple[int, int]]:
    """Canvas pixels well inside what ``layer`` draws: where hiding it changes the picture."""
    shown = canvas_picture(page)
    _toggle(page, layer).uncheck()
    hidden = canvas_picture(page)
    _toggle(page, layer).check()
    page.wait_for_timeout(1000)
    changed = (
        ImageChops.difference(shown, hidden).point(lambda v: 255 if v > 20 else 0).filter(ImageFilter.MinFilter(3))
    )
    width, height = changed.size
    pixels = changed.load()
    return [(x, y) for y in range(0, height, 3) for x in range(0, width, 3) if pixels[x, y]]


def test_terrain_toggles_and_a_clicked_tree_shows_its_metadata(browser, stack, town):
    area = town
    assert {"terrain", "trees", "roads"} <= {layer["name"] for layer in area["layers"]}
    watched = _watch(browser, stack)
    page = watched.page
    page.goto(f"{stack.url}/areas/{area['id']}/view/")
    page.wait_for_selector('#status[data-state="ready"]', timeout=180_000)
    assert not _toggle(page, "terrain").is_checked()  # it would hide the draped orthophoto
    assert _toggle(page, "trees").is_checked() and _toggle(page, "roads").is_checked()
    for layer in ("pointcloud", "buildings"):
        _toggle(page, layer).uncheck()

    without = canvas_picture(page)
    _toggle(page, "terrain").check()
    changed = 0.0
    for _ in range(40):  # a hidden tileset loads only once shown: allow a minute on a busy machine
        changed = max(ImageStat.Stat(ImageChops.difference(without, canvas_picture(page))).mean)
        if changed > 1:
            break
    assert changed > 1, "terrain draws nothing"
    _toggle(page, "terrain").uncheck()

    box = page.locator("#viewer canvas").first.bounding_box()
    assert box is not None
    candidates = _layer_pixels(page, "trees")
    assert candidates, "the trees layer draws nothing"
    candidates = uncovered(page, box, candidates)
    for x, y in candidates[:: max(1, len(candidates) // 20)]:
        page.mouse.click(box["x"] + x, box["y"] + y)
        if page.locator('#inspector[data-kind="feature"]').count():
            break
    inspector = page.locator('#inspector[data-kind="feature"]')
    assert inspector.count() == 1, "no click on a drawn tree opened the inspector"
    assert f"Tree {inspector.get_attribute('data-feature-id')}" in inspector.inner_text().splitlines()
    height, unit = page.locator('#inspector tr[data-name="height_m"] td').inner_text().split()
    trees = stack.session.get(f"{stack.url}{area['features_url']}", params={"class": "tree"}, timeout=30).json()
    assert unit == "m" and any(abs(f["properties"]["height_m"] - float(height)) <= 0.051 for f in trees["features"])
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "inspect_tree.png"))
    assert watched.errors == []
    page.close()
